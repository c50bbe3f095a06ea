// Consumer groups end to end, on three real node processes:
// - three SDK consumers in a group share a 6-partition topic, two partitions
//   each, and no record is processed twice while membership is stable;
// - a `brook consume --group` process killed mid-stream has its partitions
//   taken over; processing resumes from the group's last commit, and the
//   only duplicates are records it processed after that commit (counted);
// - the coordinator's process killed: the group carries on, and no committed
//   offset goes backwards;
// - `brook group list|describe|reset-offsets|delete` on a real group.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Brook, type Consumer, silentLogger } from "@brook/client";
import type { FindCoordinatorResponse__Output } from "@brook/protocol";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tryBrokerCall, tryMetadata } from "./grpc.js";
import { waitFor } from "./wait.js";

const brookBin = fileURLToPath(new URL("../packages/cli/bin/brook.js", import.meta.url));
let cluster: Cluster;
let brook: Brook;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
  brook = new Brook({
    brokers: cluster.bootstrap.split(","),
    retry: { retries: 60, maxRetryTimeMs: 500 },
    logger: silentLogger,
  });
  await waitFor("three brokers", 20_000, async () =>
    (await tryMetadata(cluster.nodes[0]))?.brokers.length === 3 ? true : undefined,
  );
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

async function createTopic(topic: string): Promise<void> {
  const admin = brook.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 3 }] });
  await admin.close();
}

async function produce(topic: string, from: number, count: number): Promise<void> {
  const producer = brook.producer({ acks: -1, lingerMs: 2 });
  await producer.connect();
  for (let i = from; i < from + count; i += 500) {
    const messages = [];
    for (let j = i; j < Math.min(i + 500, from + count); j++) messages.push({ key: `k${j}`, value: `v${j}` });
    await producer.send({ topic, messages });
  }
  await producer.close();
}

/** Every record processed, by value (each produced value is unique), and the partition it came from. */
interface Seen {
  count: Map<string, number>;
  partitionOf: Map<string, number>;
}

function seenLog(): Seen {
  return { count: new Map(), partitionOf: new Map() };
}

function record(seen: Seen, partition: number, value: string): void {
  seen.count.set(value, (seen.count.get(value) ?? 0) + 1);
  seen.partitionOf.set(value, partition);
}

function duplicates(seen: Seen): number {
  let dup = 0;
  for (const n of seen.count.values()) dup += n - 1;
  return dup;
}

function groupConsumer(groupId: string, options: { sessionTimeoutMs?: number } = {}): Consumer {
  return brook.consumer({
    groupId,
    fromBeginning: true,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 6_000,
    autoCommitIntervalMs: 500,
  });
}

/** Subscribes and starts run(); `run` settles when the consumer stops. */
async function startMember(consumer: Consumer, topic: string, seen: Seen): Promise<{ run: Promise<void> }> {
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const run = consumer.run({
    eachMessage: async ({ partition, message }) => {
      record(seen, partition, message.value?.toString() ?? "");
    },
  });
  return { run };
}

function settled(consumers: Consumer[], partitions: number, each: number): Promise<true> {
  return waitFor(`group of ${consumers.length} settled`, 30_000, async () => {
    const held = consumers.map((c) => c.groupState()?.assigned.length ?? 0);
    return held.every((n) => n === each) && held.reduce((a, b) => a + b, 0) === partitions ? true : undefined;
  });
}

describe("consumer groups on three nodes", () => {
  it("brook group list, describe, reset-offsets and delete work on a real group", async () => {
    await createTopic("cli-groups");
    await produce("cli-groups", 0, 600);
    const seen = seenLog();
    const consumer = groupConsumer("cli-group");
    const { run } = await startMember(consumer, "cli-groups", seen);
    await waitFor("600 records read", 30_000, async () => (seen.count.size === 600 ? true : undefined));
    await consumer.close();
    await run;

    expect(JSON.parse(await brookCli(["group", "list", "--json"]))).toEqual(
      expect.arrayContaining([expect.objectContaining({ groupId: "cli-group", state: "empty", members: 0 })]),
    );
    const described = JSON.parse(await brookCli(["group", "describe", "cli-group", "--json"]));
    expect(described).toMatchObject({ group: "cli-group", state: "empty", members: [], totalLag: 0 });
    expect(described.partitions).toHaveLength(6);
    expect(described.partitions[0]).toEqual(
      expect.objectContaining({ topic: "cli-groups", committedOffset: expect.any(Number), lag: 0 }),
    );

    await brookCli(["group", "reset-offsets", "cli-group", "--topic", "cli-groups", "--to-earliest"]);
    const reset = JSON.parse(await brookCli(["group", "describe", "cli-group", "--json"]));
    expect(reset.totalLag).toBe(600);

    await brookCli(["group", "delete", "cli-group"]);
    const listed = JSON.parse(await brookCli(["group", "list", "--json"])) as { groupId: string }[];
    expect(listed.map((g) => g.groupId)).not.toContain("cli-group");
  }, 90_000);

  it("three members share six partitions and process each record once while membership is stable", async () => {
    await createTopic("stable");
    const seen = seenLog();
    const consumers = [0, 1, 2].map(() => groupConsumer("stable-group"));
    const runs = await Promise.all(consumers.map((c) => startMember(c, "stable", seen)));
    const started = Date.now();
    await settled(consumers, 6, 2);
    const settleMs = Date.now() - started;

    await produce("stable", 0, 6_000);
    await waitFor("every record consumed", 30_000, async () =>
      seen.count.size === 6_000 ? true : undefined,
    );
    expect(duplicates(seen)).toBe(0);
    console.log(`consumer-groups: three members settled in ${settleMs} ms from a cold start`);

    // A member joining takes two partitions without anything read twice; one leaving gives them back.
    const fourth = groupConsumer("stable-group");
    const fourthRun = await startMember(fourth, "stable", seen);
    const joinStarted = Date.now();
    await waitFor("a fourth member holds partitions", 30_000, async () =>
      (fourth.groupState()?.assigned.length ?? 0) >= 1 ? true : undefined,
    );
    const joinMs = Date.now() - joinStarted;
    await produce("stable", 6_000, 3_000);
    await waitFor("every record consumed", 30_000, async () =>
      seen.count.size === 9_000 ? true : undefined,
    );
    expect(duplicates(seen)).toBe(0);
    await fourth.close();
    await fourthRun.run;
    await settled(consumers, 6, 2);
    console.log(`consumer-groups: a joining member got its partitions in ${joinMs} ms`);

    await Promise.all(consumers.map((c) => c.close()));
    await Promise.all(runs.map((r) => r.run));
  }, 120_000);

  it("a killed member's partitions are taken over from the last commit; only uncommitted work repeats", async () => {
    await createTopic("takeover");
    const seen = seenLog();
    const members = [0, 1, 2].map((index) => cliMember(index, "takeover", "takeover-group", seen));
    try {
      const admin = brook.admin();
      await waitFor("three CLI members holding two partitions each", 40_000, async () => {
        const group = await admin.describeGroup("takeover-group").catch(() => undefined);
        const held = group?.members.map((m) => m.assignment.length) ?? [];
        return group?.state === "stable" && held.length === 3 && held.every((n) => n === 2)
          ? true
          : undefined;
      });
      await admin.close();
      await produce("takeover", 0, 3_000);
      await waitFor("the three members read everything produced so far", 40_000, async () =>
        seen.count.size === 3_000 ? true : undefined,
      );
      expect(duplicates(seen)).toBe(0);
      const victim = members[0];
      const victimPartitions = new Set(victim.partitions);
      expect(victimPartitions.size).toBe(2);
      // Kill it mid-stream: records keep coming before and after the kill.
      const linesBefore = victim.lines;
      let produced = 3_000;
      let producing = true;
      const load = (async () => {
        while (producing) {
          await produce("takeover", produced, 120);
          produced += 120;
        }
      })();
      await waitFor("the victim read some new records", 20_000, async () =>
        victim.lines > linesBefore + 300 ? true : undefined,
      );
      victim.child.kill("SIGKILL");
      const killedAt = Date.now();
      // Its last commit: read once a commit it had in flight has landed, and well before its
      // session runs out (3 s) and anybody else holds its partitions.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const offsetsAdmin = brook.admin();
      const committedAtKill = new Map(
        (await offsetsAdmin.fetchOffsets({ groupId: "takeover-group" })).map((p) => [p.partition, p.offset]),
      );
      await offsetsAdmin.close();
      await waitFor("the survivors took the victim's partitions over", 30_000, async () =>
        [...victimPartitions].every((p) => members.slice(1).some((m) => m.offsets.has(p))) ? true : undefined,
      );
      producing = false;
      await load;
      await waitFor("every record consumed after the takeover", 60_000, async () =>
        seen.count.size === produced ? true : undefined,
      );
      const takeoverMs = Date.now() - killedAt;
      // The survivors never held the victim's partitions before: they start each at its last commit.
      for (const partition of victimPartitions) {
        const taken = members.slice(1).flatMap((m) => m.offsets.get(partition) ?? []);
        expect(Math.min(...taken)).toBe(committedAtKill.get(partition));
      }
      const dup = duplicates(seen);
      // Duplicates come only from the victim's partitions: work it did after its last commit.
      for (const [value, n] of seen.count) {
        if (n > 1) expect(victimPartitions.has(seen.partitionOf.get(value) ?? -1)).toBe(true);
      }
      console.log(
        `consumer-groups: killed member's partitions (${[...victimPartitions].join(",")}) resumed; ` +
          `all ${produced} records consumed ${takeoverMs} ms after the kill, duplicates=${dup}`,
      );
    } finally {
      for (const member of members) member.child.kill("SIGKILL");
    }
  }, 150_000);

  it("the group carries on when the coordinator's process is killed, with no committed offset lost", async () => {
    await createTopic("coordinated");
    const seen = seenLog();
    const consumers = [0, 1, 2].map(() => groupConsumer("coordinated-group", { sessionTimeoutMs: 15_000 }));
    const runs = await Promise.all(consumers.map((c) => startMember(c, "coordinated", seen)));
    await settled(consumers, 6, 2);
    await produce("coordinated", 0, 3_000);
    await waitFor("first half consumed", 30_000, async () => (seen.count.size === 3_000 ? true : undefined));
    await Promise.all(consumers.map((c) => c.commit()));

    const admin = brook.admin();
    const before = await admin.fetchOffsets({ groupId: "coordinated-group" });
    expect(before.reduce((sum, p) => sum + p.offset, 0)).toBe(3_000);

    const coordinatorId = await waitFor("the coordinator", 10_000, async () => {
      const answer = await tryBrokerCall<FindCoordinatorResponse__Output>(
        cluster.nodes[0],
        "FindCoordinator",
        {
          groupId: "coordinated-group",
        },
      );
      return answer && !answer.error?.code ? answer.nodeId : undefined;
    });
    const coordinator = cluster.nodes.find((n) => n.id === coordinatorId);
    await coordinator?.kill();
    try {
      await produce("coordinated", 3_000, 3_000);
      await waitFor("everything consumed after the coordinator died", 60_000, async () =>
        seen.count.size === 6_000 ? true : undefined,
      );
      await Promise.all(consumers.map((c) => c.commit()));
      const after = await admin.fetchOffsets({ groupId: "coordinated-group" });
      const beforeBy = new Map(before.map((p) => [`${p.topic}-${p.partition}`, p.offset]));
      for (const p of after)
        expect(p.offset).toBeGreaterThanOrEqual(beforeBy.get(`${p.topic}-${p.partition}`) ?? 0);
      expect(after.reduce((sum, p) => sum + p.offset, 0)).toBe(6_000);
      console.log(`consumer-groups: coordinator ${coordinatorId} killed; duplicates=${duplicates(seen)}`);
    } finally {
      await admin.close();
      await Promise.all(consumers.map((c) => c.close()));
      await Promise.all(runs.map((r) => r.run));
      await coordinator?.start();
    }
  }, 150_000);
});

/** Runs the `brook` CLI against the test cluster; rejects with its stderr on a non-zero exit. */
function brookCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [brookBin, ...args],
      { env: { ...process.env, BROOK_BOOTSTRAP: cluster.bootstrap }, timeout: 30_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`brook ${args.join(" ")}: ${stderr}`)) : resolve(stdout),
    );
  });
}

interface CliMember {
  child: ChildProcess;
  partitions: number[];
  lines: number;
  /** Offsets it printed, by partition. */
  offsets: Map<number, number[]>;
}

/** A `brook consume --group` process; every record it prints is counted in `seen`. */
function cliMember(index: number, topic: string, groupId: string, seen: Seen): CliMember {
  const child = spawn(
    process.execPath,
    [
      brookBin,
      "consume",
      topic,
      "--group",
      groupId,
      "--from-beginning",
      "--format",
      "json",
      "--session-timeout-ms",
      "3000",
      "--commit-interval-ms",
      "200",
    ],
    { env: { ...process.env, BROOK_BOOTSTRAP: cluster.bootstrap }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const member: CliMember = { child, partitions: [], lines: 0, offsets: new Map() };
  const partitions = new Set<number>();
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    const parsed = JSON.parse(line) as { partition: number; offset: number; value: string };
    member.lines++;
    partitions.add(parsed.partition);
    member.partitions = [...partitions];
    member.offsets.set(parsed.partition, [...(member.offsets.get(parsed.partition) ?? []), parsed.offset]);
    record(seen, parsed.partition, parsed.value);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    if (process.env.DEBUG_E2E) process.stderr.write(`[member ${index}] ${chunk}`);
  });
  return member;
}
