// Chaos for exactly-once: a transactional consume-transform-produce pipeline (processor.mjs, Brook's SDK)
// copies IN to OUT, committing the group's offsets in each transaction, while CHAOS_KILLS rounds (default
// 3; `make chaos` runs 50) each SIGKILL or SIGSTOP the transaction coordinator, SIGKILL the leader of an
// input or output partition, or SIGKILL the processor itself, and bring it back. Input keeps arriving
// throughout. At the end the output, read read_committed, must hold every input record exactly once:
//
//   pipeline: lost=0 duplicates=0 phantoms=0
//
// Faults come from a seeded PRNG (CHAOS_SEED, printed); CHAOS_REPORT=<file> also appends the report.
import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { Brook, type ConsumedMessage, silentLogger } from "@brook/client";
import { type Cluster, Random, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../wait.js";
import { bounce, coordinatorOf, healthy, leaderOf, pauseFor } from "./cluster-faults.js";
import { chaosSeed } from "./faults.js";
import {
  auditPipeline,
  choosePipelineFault,
  formatPipelineReport,
  type PipelineFault,
  type PipelineFaultKind,
} from "./pipeline.js";

const faultsPlanned = Number(process.env.CHAOS_PIPELINE_KILLS ?? process.env.CHAOS_KILLS ?? 3);
const seed = chaosSeed();
const IN = "pipeline-in";
const OUT = "pipeline-out";
const GROUP = "pipeline";
const TRANSACTIONAL_ID = "pipeline-processor";
const partitions = 3;
/** Input records per second while the rounds run. */
const inputPerSecond = 200;
const processorScript = new URL("./processor.mjs", import.meta.url).pathname;

const limits = {
  clusterStartMs: 60_000,
  healthyMs: 30_000,
  /** A killed node stays down this long (leaders and the coordinator move meanwhile). */
  downMs: 2_000,
  /** Work between faults, so every round catches transactions in flight. */
  betweenMs: 2_500,
  /** After the input stops: the processor's committed offsets reach the input's end. */
  drainMs: 90_000,
  readBackMs: 60_000,
} as const;
const testTimeoutMs = limits.clusterStartMs + faultsPlanned * 20_000 + limits.drainMs + limits.readBackMs;

/** Keeps one processor running: a new one starts whenever the last exits, until stop(). */
class Supervisor {
  starts = 0;
  transactions = 0;
  readonly errors: string[] = [];
  private child: ReturnType<typeof spawn> | undefined;
  private stopping = false;

  constructor(private readonly bootstrap: string) {}

  start(): void {
    if (this.stopping) return;
    this.starts++;
    const child = spawn(process.execPath, [processorScript], {
      env: { ...process.env, BOOTSTRAP: this.bootstrap, IN, OUT, GROUP, TRANSACTIONAL_ID },
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.child = child;
    let partial = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "") continue;
        const parsed = JSON.parse(line) as { kind: string; message?: string };
        if (parsed.kind === "committed") this.transactions++;
        if (parsed.kind === "error" && this.errors.length < 20) this.errors.push(parsed.message ?? "");
      }
    });
    child.on("exit", () => {
      if (this.child === child) this.child = undefined;
      if (!this.stopping) setTimeout(() => this.start(), 200);
    });
  }

  kill(): void {
    this.child?.kill("SIGKILL");
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }
}

/** Sends input records at a steady pace with the idempotent producer until stop(). */
class InputLoad {
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(private readonly brook: Brook) {}

  start(): void {
    const producer = this.brook.producer();
    this.loop = (async () => {
      let n = 0;
      while (this.running) {
        const batch = Array.from({ length: inputPerSecond / 10 }, () => ({ key: `k${n}`, value: `v${n++}` }));
        // A send that fails under a fault is not retried: whatever reached the log is the input.
        await producer.send({ topic: IN, messages: batch }).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await producer.close();
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** What was done, or undefined when the fault found no target (a partition without a leader, say). */
async function applyPipelineFault(
  cluster: Cluster,
  supervisor: Supervisor,
  fault: PipelineFault,
): Promise<string | undefined> {
  switch (fault.kind) {
    case "kill-processor":
      supervisor.kill();
      return "SIGKILL the processor";
    case "pause-coordinator":
    case "kill-coordinator": {
      const node = await coordinatorOf(cluster, { transactionalId: TRANSACTIONAL_ID });
      if (node === undefined) return undefined;
      if (fault.kind === "kill-coordinator") {
        await bounce(node, limits.downMs);
        return `SIGKILL node ${node.id} (kill-coordinator)`;
      }
      await pauseFor(node, fault.pauseMs);
      return `SIGSTOP node ${node.id}, the transaction coordinator, for ${fault.pauseMs} ms`;
    }
    case "kill-input-leader":
    case "kill-output-leader": {
      const node = await leaderOf(cluster, fault.kind === "kill-output-leader" ? OUT : IN, fault.partition);
      if (node === undefined) return undefined;
      await bounce(node, limits.downMs);
      return `SIGKILL node ${node.id} (${fault.kind}, partition ${fault.partition})`;
    }
  }
}

/** Every record of `topic`, read from the start with `isolationLevel`, until none arrives for 2 s. */
async function readBack(
  brook: Brook,
  topic: string,
  isolationLevel: "read_committed" | "read_uncommitted",
): Promise<ConsumedMessage[]> {
  const consumer = brook.consumer({ fromBeginning: true, maxWaitMs: 100, isolationLevel });
  await consumer.assign([{ topic, fromBeginning: true }]);
  const messages: ConsumedMessage[] = [];
  const deadline = Date.now() + limits.readBackMs;
  let quiet = setTimeout(() => void consumer.stop(), 4_000);
  const hardStop = setTimeout(() => void consumer.stop(), limits.readBackMs);
  for await (const message of consumer) {
    messages.push(message);
    clearTimeout(quiet);
    quiet = setTimeout(() => void consumer.stop(), 2_000);
    if (Date.now() > deadline) break;
  }
  clearTimeout(quiet);
  clearTimeout(hardStop);
  await consumer.close();
  return messages;
}

describe("chaos: a transactional consume-transform-produce pipeline", () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3 });
  }, limits.clusterStartMs);

  afterAll(async () => {
    await cluster?.stop();
  });

  it(
    `copies every input record exactly once through ${faultsPlanned} faults`,
    async () => {
      const startedMs = Date.now();
      const random = new Random(seed);
      console.log(`chaos pipeline: seed=${seed} faults=${faultsPlanned} (replay with CHAOS_SEED=${seed})`);
      const brook = new Brook({
        brokers: cluster.bootstrap.split(","),
        clientId: "chaos",
        logger: silentLogger,
      });
      const admin = brook.admin();
      await admin.createTopics({
        topics: [IN, OUT].map((topic) => ({
          topic,
          numPartitions: partitions,
          replicationFactor: 3,
          configEntries: [{ name: "min.insync.replicas", value: "2" }],
        })),
      });
      const supervisor = new Supervisor(cluster.bootstrap);
      const input = new InputLoad(brook);
      const applied = Object.fromEntries(
        (
          [
            "kill-coordinator",
            "kill-output-leader",
            "kill-input-leader",
            "kill-processor",
            "pause-coordinator",
          ] as PipelineFaultKind[]
        ).map((kind) => [kind, 0]),
      ) as Record<PipelineFaultKind, number>;
      const notes: string[] = [];
      input.start();
      supervisor.start();
      try {
        await waitFor("the first committed transaction", 30_000, async () =>
          supervisor.transactions > 0 ? true : undefined,
        );
        for (let round = 1; round <= faultsPlanned; round++) {
          await new Promise((resolve) => setTimeout(resolve, limits.betweenMs));
          const fault = choosePipelineFault(random, partitions);
          const what = await applyPipelineFault(cluster, supervisor, fault);
          applied[fault.kind]++;
          console.log(
            `chaos pipeline: round ${round}/${faultsPlanned} at +${Date.now() - startedMs} ms: ${what}`,
          );
          await healthy(cluster, limits.healthyMs).catch((error: Error) =>
            notes.push(`round ${round}: ${error.message}`),
          );
        }
      } finally {
        await input.stop();
      }

      // Let the processor catch up: its committed offsets reach the input's end.
      const ends = await admin.fetchTopicOffsets(IN);
      const caughtUp = await waitFor("the processor to commit the whole input", limits.drainMs, async () => {
        const committed = await admin.fetchOffsets({ groupId: GROUP, topics: [IN] }).catch(() => []);
        const done = ends.every(
          (end) => (committed.find((c) => c.partition === end.partition)?.offset ?? -1) >= end.high,
        );
        return done ? true : undefined;
      }).catch((error: Error) => {
        notes.push(error.message);
        return false;
      });
      await supervisor.stop();

      const inputRecords = await readBack(brook, IN, "read_uncommitted");
      const output = await readBack(brook, OUT, "read_committed");
      await admin.close();
      const audit = auditPipeline(
        inputRecords.map((m) => `${m.partition}:${m.offset}`),
        output.map((m) => m.value?.toString() ?? ""),
      );
      if (supervisor.errors.length > 0)
        notes.push(`processor errors, e.g.: ${supervisor.errors.slice(0, 3).join(" | ")}`);
      const report = formatPipelineReport({
        seed,
        faultsPlanned,
        faultsApplied: applied,
        processorStarts: supervisor.starts,
        transactions: supervisor.transactions,
        durationMs: Date.now() - startedMs,
        audit,
        notes,
      }).join("\n");
      console.log(report);
      if (process.env.CHAOS_REPORT) appendFileSync(process.env.CHAOS_REPORT, `${report}\n`);

      expect.soft(caughtUp, "the processor committed the whole input").toBe(true);
      expect.soft(audit.input, "input records").toBeGreaterThan(0);
      expect.soft(audit.lost, "input records missing from the output").toBe(0);
      expect.soft(audit.duplicates, "input records in the output more than once").toBe(0);
      expect.soft(audit.phantoms, "output records naming no input record").toBe(0);
    },
    testTimeoutMs,
  );
});
