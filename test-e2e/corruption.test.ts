// Bit rot on one replica of a live three-node cluster under acks=all load:
// bits flipped at random places in that replica's sealed and active segments,
// indexes and checkpoints. No consumer ever sees a corrupt or missing
// acknowledged record (the replica never serves a batch that fails its CRC;
// it resigns so an in-sync replica with a good copy leads), and the replica
// heals: it truncates to the corruption point, refetches, rejoins the ISR,
// and ends with the same batches as the others, every one verifying. Then the
// same rot while the replica is down: found when it restarts, repaired the same way.
// CORRUPTION_ROUNDS=n runs n rounds of rot (default 1, about 20 s).

import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Brook } from "@brook/client";
import { scanBatches } from "@brook/protocol";
import { type Cluster, type NodeHandle, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAll } from "./read-all.js";
import { waitFor } from "./wait.js";

const topic = "rot";
const rounds = Number(process.env.CORRUPTION_ROUNDS ?? 1);
/** Small segments, so the rot lands in sealed ones as well as the active one. */
const segmentBytes = 16 * 1024;
const flipsPerRound = 6;

let cluster: Cluster;
let brook: Brook;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
  brook = new Brook({ brokers: cluster.bootstrap.split(","), retry: { retries: 200, maxRetryTimeMs: 200 } });
  const admin = brook.admin();
  await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: 1,
        replicationFactor: 3,
        configEntries: [{ name: "segment.bytes", value: String(segmentBytes) }],
      },
    ],
  });
  await admin.close();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

async function describePartition() {
  const admin = brook.admin();
  try {
    const [description] = await admin.describeTopics({ topics: [topic] });
    return description.partitions[0];
  } finally {
    await admin.close();
  }
}

/** acks=all load until stop(); the values acknowledged, in order. */
function startLoad() {
  const producer = brook.producer({ acks: -1, lingerMs: 2 });
  const acknowledged: string[] = [];
  let running = true;
  let sent = 0;
  const done = (async () => {
    while (running) {
      const values = Array.from({ length: 20 }, () => `v-${sent++}-${"x".repeat(100)}`);
      await producer.send({ topic, messages: values.map((value) => ({ value })) });
      acknowledged.push(...values);
    }
    await producer.close();
  })();
  return {
    acknowledged,
    async stop() {
      running = false;
      await done;
    },
  };
}

/** Flips one random bit at a random byte of `dir/name`; returns where. */
function flipBit(dir: string, name: string): string {
  const bytes = readFileSync(join(dir, name));
  const position = Math.floor(Math.random() * bytes.length);
  bytes[position] ^= 1 << Math.floor(Math.random() * 8);
  writeFileSync(join(dir, name), bytes);
  return `${name}@${position}`;
}

/**
 * Rot in the replica's files: one flip in a sealed segment and one in the active one (so the rot is
 * always in records), the rest anywhere among segments, indexes and checkpoints.
 */
function rot(node: NodeHandle, count: number): string[] {
  const dir = join(node.dataDir, `${topic}-0`);
  const files = readdirSync(dir).filter(
    (name) =>
      statSync(join(dir, name)).size > 0 && /\.(log|index|timeindex)$|checkpoint|high-watermark/.test(name),
  );
  const segments = files.filter((name) => name.endsWith(".log")).sort();
  const targets = [segments[0], segments[segments.length - 1]];
  while (targets.length < count) targets.push(files[Math.floor(Math.random() * files.length)]);
  return targets.map((name) => flipBit(dir, name));
}

/** Every batch in a replica's segment files as `baseOffset-lastOffset:crc`, or why one does not verify. */
function storedBatches(node: NodeHandle): { batches: string[]; problem?: string } {
  const dir = join(node.dataDir, `${topic}-0`);
  const batches: string[] = [];
  for (const name of readdirSync(dir)
    .filter((file) => file.endsWith(".log"))
    .sort()) {
    const scan = scanBatches(readFileSync(join(dir, name)), { acceptCompacted: true });
    batches.push(...scan.batches.map((b) => `${b.baseOffset}-${b.lastOffset}:${b.crc}`));
    if (scan.error) return { batches, problem: `${name}: ${scan.error.message}` };
  }
  return { batches };
}

const valuesOf = (messages: { value: Buffer | null }[]) => messages.map((m) => m.value!.toString());

describe("bit rot on one replica under acks=all load", () => {
  it("no consumer sees a corrupt or missing acknowledged record, and the replica heals", async () => {
    const victimId = (await describePartition()).replicas[0]; // the preferred leader: it leads again once healed
    const victim = cluster.nodes.find((node) => node.id === victimId)!;
    const load = startLoad();
    for (let round = 1; round <= rounds; round++) {
      await waitFor("the victim leading again", 30_000, async () => {
        const partition = await describePartition().catch(() => undefined);
        return partition?.leader === victimId && partition.isr.length === 3 ? true : undefined;
      });
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // a few segments' worth of load
      const epochBefore = (await describePartition()).leaderEpoch;
      const flipped = rot(victim, flipsPerRound);
      // Consumers read everything from the start while the load goes on: the rot is found on the way.
      const expected = load.acknowledged.slice();
      const read = valuesOf(await readAll(brook, topic, expected.length, 30_000));
      expect(read.slice(0, expected.length), `round ${round}, flipped ${flipped.join(", ")}`).toEqual(
        expected,
      );
      // The replica resigned: another in-sync replica led while it repaired.
      await waitFor("the corrupt replica to resign", 10_000, async () =>
        (await describePartition()).leaderEpoch > epochBefore ? true : undefined,
      );
    }
    // Rot found at recovery: flipped while the replica is down (killed under load), seen when it restarts.
    await victim.kill();
    const flippedAtRest = rot(victim, flipsPerRound);
    await victim.start();
    const expected = load.acknowledged.slice();
    const afterRestart = valuesOf(await readAll(brook, topic, expected.length, 30_000));
    expect(afterRestart.slice(0, expected.length), `at rest, flipped ${flippedAtRest.join(", ")}`).toEqual(
      expected,
    );
    await load.stop();

    // Healed: back in the ISR with the same batches as the others, every one verifying. Reading from the
    // start again (from whoever leads) finds any rot the first reads did not reach, until none is left.
    const all = load.acknowledged;
    await waitFor(
      "the victim to hold verified batches identical to the other replicas'",
      45_000,
      async () => {
        const read = valuesOf(await readAll(brook, topic, all.length, 10_000));
        expect(read).toEqual(all);
        const partition = await describePartition();
        if (!partition.isr.includes(victimId) || partition.highWatermark !== partition.logEndOffset) return;
        const stored = cluster.nodes.map(storedBatches);
        if (stored.some((replica) => replica.problem)) return;
        const [first, ...others] = stored.map((replica) => replica.batches.join(","));
        return others.every((batches) => batches === first) ? true : undefined;
      },
      500,
    );
  }, 150_000);
});
