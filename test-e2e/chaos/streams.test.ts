// Chaos for Brook Streams: an exactly-once count by key (test-e2e/streams/app.mjs) runs as two supervised
// application instances while CHAOS_STREAMS_KILLS rounds (default 3; `make chaos` runs 50) each SIGKILL an
// instance, SIGKILL the group coordinator or the leader of an input or output partition, or SIGSTOP the
// group coordinator, and bring it back. Input keeps arriving throughout. At the end every key's updates on
// the output, read read_committed, must be exactly 1..n, n its number of input records:
//
//   streams: lost=0 duplicates=0 wrong=0
//
// Faults come from a seeded PRNG (CHAOS_SEED, printed); CHAOS_REPORT=<file> also appends the report.
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { Brook, silentLogger } from "@brook/client";
import { type Cluster, Random, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../wait.js";
import { bounce, coordinatorOf, healthy, leaderOf, pauseFor } from "./cluster-faults.js";
import { chaosSeed } from "./faults.js";
import {
  auditCounts,
  chooseStreamsFault,
  type StreamsFault,
  type StreamsFaultKind,
} from "./streams-audit.js";

const faultsPlanned = Number(process.env.CHAOS_STREAMS_KILLS ?? process.env.CHAOS_KILLS ?? 3);
const seed = chaosSeed();
const IN = "streams-chaos-in";
const OUT = "streams-chaos-out";
const APP_ID = "streams-chaos";
const partitions = 4;
const instances = 2;
const keys = 50;
/** Input records per second while the rounds run. */
const inputPerSecond = 200;
const appScript = new URL("../streams/app.mjs", import.meta.url).pathname;

const limits = {
  clusterStartMs: 60_000,
  healthyMs: 30_000,
  downMs: 2_000,
  betweenMs: 3_000,
  drainMs: 120_000,
  readBackMs: 60_000,
} as const;
const testTimeoutMs = limits.clusterStartMs + faultsPlanned * 20_000 + limits.drainMs + limits.readBackMs;

/** Keeps one application instance running in a slot: a new one starts whenever the last exits. */
class Instance {
  starts = 0;
  running = false;
  private child: ChildProcess | undefined;
  private stopping = false;

  constructor(private readonly bootstrap: string) {}

  start(): void {
    if (this.stopping) return;
    this.starts++;
    const child = spawn(process.execPath, [appScript], {
      env: {
        ...process.env,
        BOOTSTRAP: this.bootstrap,
        APP_ID,
        IN,
        OUT,
        GUARANTEE: "exactly_once",
        STANDBYS: "1",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.child = child;
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes('"state":"running"')) this.running = true;
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
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Sends keyed input at a steady pace until stop(); counts per key what the input topic took. */
class InputLoad {
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(private readonly brook: Brook) {}

  start(): void {
    const producer = this.brook.producer();
    this.loop = (async () => {
      let n = 0;
      while (this.running) {
        const batch = Array.from({ length: inputPerSecond / 10 }, () => ({
          key: `k${n++ % keys}`,
          value: "1",
        }));
        // A send that fails under a fault is not retried: the input is what reached the log (read back).
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

async function applyFault(
  cluster: Cluster,
  slots: Instance[],
  fault: StreamsFault,
): Promise<string | undefined> {
  switch (fault.kind) {
    case "kill-instance":
      slots[fault.index]?.kill();
      return `SIGKILL instance ${fault.index}`;
    case "kill-group-coordinator":
    case "pause-group-coordinator": {
      const node = await coordinatorOf(cluster, { groupId: APP_ID });
      if (node === undefined) return undefined;
      if (fault.kind === "kill-group-coordinator") {
        await bounce(node, limits.downMs);
        return `SIGKILL node ${node.id} (kill-group-coordinator)`;
      }
      await pauseFor(node, fault.pauseMs);
      return `SIGSTOP node ${node.id}, the group coordinator, for ${fault.pauseMs} ms`;
    }
    case "kill-input-leader":
    case "kill-output-leader": {
      const node = await leaderOf(cluster, fault.kind === "kill-output-leader" ? OUT : IN, fault.index);
      if (node === undefined) return undefined;
      await bounce(node, limits.downMs);
      return `SIGKILL node ${node.id} (${fault.kind}, partition ${fault.index})`;
    }
  }
}

/** Every record of `topic` from the start, until none arrives for 3 s; calls `each` per record. */
async function readBack(
  brook: Brook,
  topic: string,
  each: (key: string, value: Buffer | null) => void,
): Promise<void> {
  const consumer = brook.consumer({ maxWaitMs: 100, isolationLevel: "read_committed" });
  await consumer.assign([{ topic, fromBeginning: true }]);
  let quiet = setTimeout(() => void consumer.stop(), 5_000);
  const hardStop = setTimeout(() => void consumer.stop(), limits.readBackMs);
  for await (const message of consumer) {
    each(message.key?.toString() ?? "", message.value);
    clearTimeout(quiet);
    quiet = setTimeout(() => void consumer.stop(), 3_000);
  }
  clearTimeout(quiet);
  clearTimeout(hardStop);
  await consumer.close();
}

describe("chaos: an exactly-once streams application", () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3 });
  }, limits.clusterStartMs);

  afterAll(async () => {
    await cluster?.stop();
  });

  it(
    `counts every input record exactly once through ${faultsPlanned} faults`,
    async () => {
      const startedMs = Date.now();
      const random = new Random(seed);
      console.log(`chaos streams: seed=${seed} faults=${faultsPlanned} (replay with CHAOS_SEED=${seed})`);
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
      const slots = Array.from({ length: instances }, () => new Instance(cluster.bootstrap));
      const input = new InputLoad(brook);
      const applied = {} as Record<StreamsFaultKind, number>;
      const notes: string[] = [];
      for (const slot of slots) slot.start();
      await waitFor("an instance to run", 30_000, async () =>
        slots.some((s) => s.running) ? true : undefined,
      );
      input.start();
      try {
        for (let round = 1; round <= faultsPlanned; round++) {
          await new Promise((resolve) => setTimeout(resolve, limits.betweenMs));
          const fault = chooseStreamsFault(random, instances, partitions);
          const what = await applyFault(cluster, slots, fault);
          applied[fault.kind] = (applied[fault.kind] ?? 0) + 1;
          console.log(
            `chaos streams: round ${round}/${faultsPlanned} at +${Date.now() - startedMs} ms: ${what}`,
          );
          await healthy(cluster, limits.healthyMs).catch((error: Error) =>
            notes.push(`round ${round}: ${error.message}`),
          );
        }
      } finally {
        await input.stop();
      }

      const ends = await admin.fetchTopicOffsets(IN);
      const caughtUp = await waitFor(
        "the application to commit the whole input",
        limits.drainMs,
        async () => {
          const committed = await admin.fetchOffsets({ groupId: APP_ID, topics: [IN] }).catch(() => []);
          const done = ends.every(
            (end) => (committed.find((c) => c.partition === end.partition)?.offset ?? -1) >= end.high,
          );
          return done ? true : undefined;
        },
      ).catch((error: Error) => {
        notes.push(error.message);
        return false;
      });
      for (const slot of slots) await slot.stop();

      const inputCounts = new Map<string, number>();
      await readBack(brook, IN, (key) => inputCounts.set(key, (inputCounts.get(key) ?? 0) + 1));
      const updates = new Map<string, number[]>();
      await readBack(brook, OUT, (key, value) => {
        updates.set(key, [...(updates.get(key) ?? []), Number(value?.readBigInt64BE() ?? -1)]);
      });
      await admin.close();
      const audit = auditCounts(inputCounts, updates);
      const faults = Object.entries(applied)
        .map(([kind, n]) => `${kind} ${n}`)
        .join(", ");
      const report = [
        `chaos streams report (seed ${seed}; replay with CHAOS_SEED=${seed} CHAOS_STREAMS_KILLS=${faultsPlanned}; exactly-once count by key, ${instances} instances, 1 standby)`,
        `  ${faults} in ${((Date.now() - startedMs) / 1000).toFixed(1)} s; instances started ${slots.map((s) => s.starts).join(" and ")} times`,
        `  ${audit.inputs} input records over ${audit.keys} keys, ${audit.updates} updates read read_committed`,
        ...audit.examples.map((example) => `  e.g. ${example}`),
        ...notes.map((note) => `  note: ${note}`),
        `streams: seed=${seed} faults=${faultsPlanned} input=${audit.inputs} updates=${audit.updates} lost=${audit.lost} duplicates=${audit.duplicates} wrong=${audit.wrong}`,
      ].join("\n");
      console.log(report);
      if (process.env.CHAOS_REPORT) appendFileSync(process.env.CHAOS_REPORT, `${report}\n`);

      expect.soft(caughtUp, "the application committed the whole input").toBe(true);
      expect.soft(audit.inputs, "input records").toBeGreaterThan(0);
      expect.soft(audit.lost, "updates missing").toBe(0);
      expect.soft(audit.duplicates, "updates doubled").toBe(0);
      expect.soft(audit.wrong, "updates out of order or unknown").toBe(0);
    },
    testTimeoutMs,
  );
});
