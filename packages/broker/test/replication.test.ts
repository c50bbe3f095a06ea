// Replication through the Partition API, leader and followers in one process:
// followers' fetches move the high watermark, acks=all waits for the ISR and
// is refused below min.insync.replicas, stale and unknown leader epochs are
// refused, laggards leave the ISR and caught-up followers rejoin it, a
// follower truncates a diverging tail, and a broker out of service neither
// leads nor follows.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defaultTopicConfig, type PartitionImage, type TopicConfig } from "@brook/metadata";
import { type AlterPartitionRequest__Output, ManualClock, systemClock } from "@brook/protocol";
import { PartitionLog } from "@brook/storage";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Partition } from "../src/partition.js";
import { batchOffsets, makeBatch, partitionContext } from "./helpers.js";

let root: string;
const open: Partition[] = [];

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "brook-replication-"));
});

afterEach(async () => {
  for (const partition of open.splice(0)) await partition.close().catch(() => undefined);
  fs.rmSync(root, { recursive: true, force: true });
});

const state = (overrides: Partial<PartitionImage> = {}): PartitionImage => ({
  partition: 0,
  replicas: [1, 2, 3],
  isr: [1, 2, 3],
  leader: 1,
  leaderEpoch: 0,
  partitionEpoch: 0,
  ...overrides,
});

interface Replica {
  readonly partition: Partition;
  readonly alters: AlterPartitionRequest__Output[];
}

async function replica(
  brokerId: number,
  partitionState: PartitionImage,
  options: { config?: Partial<TopicConfig>; clock?: ManualClock; serving?: boolean } = {},
): Promise<Replica> {
  const log = await PartitionLog.open(
    path.join(root, `b${brokerId}`, "orders-0"),
    {},
    { clock: systemClock },
  );
  const alters: AlterPartitionRequest__Output[] = [];
  const context = {
    ...partitionContext({ clock: options.clock, replicaLagTimeMaxMs: 5_000 }),
    brokerId,
    alterPartition: async (request: AlterPartitionRequest__Output) => {
      alters.push(request);
      return {};
    },
  };
  const config = { ...defaultTopicConfig, minInsyncReplicas: 2, ...options.config };
  const partition = new Partition("orders", "id-1", 0, log, partitionState, config, context, options.serving);
  open.push(partition);
  return { partition, alters };
}

/** Copies what the leader has beyond the follower's end to it, as one fetch round would, then fsyncs. */
async function replicate(leader: Partition, follower: Partition, followerId: number): Promise<void> {
  const { records, highWatermark } = leader.readForReplica(
    followerId,
    follower.logEndOffset,
    1 << 20,
    true,
    leader.leaderEpoch,
  );
  if (records.length > 0) follower.appendAsFollower(records);
  follower.followLeaderHighWatermark(highWatermark);
  await follower.flushForReplication();
}

/** A follower's next fetch, which reports the durable end it reached. */
function report(leader: Partition, follower: Partition, followerId: number): void {
  leader.readForReplica(followerId, follower.logEndOffset, 1 << 20, true, leader.leaderEpoch);
}

describe("the high watermark follows the ISR", () => {
  it("advances only when every ISR member has the records durably, and consumers see only below it", async () => {
    const { partition: leader } = await replica(1, state());
    const { partition: f2 } = await replica(2, state());
    const { partition: f3 } = await replica(3, state());
    const acked = leader.waitForHighWatermark(3, 5_000);
    leader.append(makeBatch(3), -1);
    await leader.log.flush();
    expect(leader.highWatermark).toBe(0); // followers have not reported yet

    await replicate(leader, f2, 2);
    await replicate(leader, f3, 3);
    report(leader, f2, 2);
    expect(leader.highWatermark).toBe(0); // follower 3 has not reported its end yet
    expect(leader.read(0, 1 << 20).records.length).toBe(0);
    report(leader, f3, 3);
    expect(leader.highWatermark).toBe(3);
    await acked;
    expect(batchOffsets(leader.read(0, 1 << 20).records)).toEqual([{ baseOffset: 0, lastOffset: 2 }]);

    // Followers learn the high watermark on their next fetch.
    await replicate(leader, f2, 2);
    expect(f2.highWatermark).toBe(3);
  });

  it("followers read up to the leader's log end, beyond the high watermark", async () => {
    const { partition: leader } = await replica(1, state());
    leader.append(makeBatch(2));
    const { records } = leader.readForReplica(2, 0, 1 << 20, true, 0);
    expect(batchOffsets(records)).toEqual([{ baseOffset: 0, lastOffset: 1 }]);
    expect(leader.read(0, 1 << 20).records.length).toBe(0);
  });

  it("with flush.mode=none a follower's end counts at once", async () => {
    const { partition: leader } = await replica(1, state({ isr: [1, 2] }), { config: { flushMode: "none" } });
    const { partition: f2 } = await replica(2, state({ isr: [1, 2] }), { config: { flushMode: "none" } });
    leader.append(makeBatch(4));
    await replicate(leader, f2, 2);
    report(leader, f2, 2);
    expect(leader.highWatermark).toBe(4);
  });
});

describe("acks=all and min.insync.replicas", () => {
  it("is refused before the append while the ISR is below min.insync.replicas; acks=1 is not", async () => {
    const { partition: leader } = await replica(1, state({ isr: [1] }));
    expect(() => leader.append(makeBatch(1), -1)).toThrow(
      /NOT_ENOUGH_REPLICAS.*\[1\].*min\.insync\.replicas=2/,
    );
    expect(leader.logEndOffset).toBe(0);
    leader.append(makeBatch(1), 1);
    expect(leader.logEndOffset).toBe(1);
    // KIP-966: the high watermark does not advance below min.insync.replicas.
    await leader.log.flush();
    expect(leader.highWatermark).toBe(0);
  });

  it("a waiting acks=all produce fails as soon as the ISR falls below min.insync.replicas", async () => {
    const { partition: leader } = await replica(1, state());
    leader.append(makeBatch(1), -1);
    const acked = leader.waitForHighWatermark(1, 5_000);
    leader.update(state({ isr: [1], partitionEpoch: 1 }), { ...defaultTopicConfig, minInsyncReplicas: 2 });
    await expect(acked).rejects.toMatchObject({ code: "NOT_ENOUGH_REPLICAS" });
  });

  it("a single-replica topic stays writable whatever min.insync.replicas says", async () => {
    const { partition: leader } = await replica(1, state({ replicas: [1], isr: [1] }));
    leader.append(makeBatch(2), -1);
    await leader.waitForHighWatermark(2, 5_000);
  });
});

describe("leader epochs", () => {
  it("a fetch with an older epoch is fenced, a newer one is unknown, -1 is not checked", async () => {
    const { partition: leader } = await replica(1, state({ leaderEpoch: 5 }));
    expect(() => leader.readForReplica(2, 0, 100, true, 4)).toThrow(/FENCED_LEADER_EPOCH/);
    expect(() => leader.readForReplica(2, 0, 100, true, 6)).toThrow(/UNKNOWN_LEADER_EPOCH/);
    expect(() => leader.read(0, 100, true, 4)).toThrow(/FENCED_LEADER_EPOCH/);
    expect(leader.read(0, 100, true, -1).records.length).toBe(0);
  });

  it("a deposed leader refuses produce and fetch, and says who leads", async () => {
    const { partition: old } = await replica(1, state());
    old.update(state({ leader: 2, leaderEpoch: 1, isr: [2, 3], partitionEpoch: 1 }), defaultTopicConfig);
    expect(() => old.append(makeBatch(1))).toThrow(/NOT_LEADER.*leader is 2/);
    expect(() => old.read(0, 100)).toThrow(/NOT_LEADER/);
    expect(() => old.readForReplica(3, 0, 100, true, 1)).toThrow(/NOT_LEADER/);
  });

  it("a new leader records where its epoch starts, so followers can ask where an older epoch ends", async () => {
    const { partition: p } = await replica(2, state());
    // As follower of epoch 0 it copied 3 records; then it becomes the leader of epoch 1.
    const { partition: leader0 } = await replica(1, state());
    leader0.append(makeBatch(3));
    await replicate(leader0, p, 2);
    p.update(state({ leader: 2, leaderEpoch: 1, partitionEpoch: 1 }), defaultTopicConfig);
    expect(p.log.leaderEpochs).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 1, startOffset: 3 },
    ]);
    expect(p.endOffsetForEpoch(1, 0)).toEqual({ leaderEpoch: 0, endOffset: 3 });
  });
});

describe("a new leader's high watermark", () => {
  it("is not shown to consumers until it reaches the start of the new epoch (it never goes backwards)", async () => {
    const { partition: old } = await replica(1, state());
    const { partition: f2 } = await replica(2, state());
    const { partition: f3 } = await replica(3, state());
    old.append(makeBatch(3));
    await old.log.flush();
    await replicate(old, f2, 2);
    await replicate(old, f3, 3);
    report(old, f2, 2);
    report(old, f3, 3);
    expect(old.highWatermark).toBe(3); // consumers of the old leader saw 3; f2 still believes 0

    const next = state({ leader: 2, leaderEpoch: 1, isr: [2, 3], partitionEpoch: 1 });
    f2.update(next, { ...defaultTopicConfig, minInsyncReplicas: 2 });
    f3.update(next, { ...defaultTopicConfig, minInsyncReplicas: 2 });
    expect(f2.highWatermark).toBe(0);
    expect(() => f2.offsets()).toThrow(/OFFSET_NOT_AVAILABLE/);
    expect(() => f2.read(0, 1 << 20)).toThrow(/OFFSET_NOT_AVAILABLE/);
    f2.readForReplica(3, f3.logEndOffset, 1 << 20, true, 1); // broker 3 confirms it holds 0-2
    expect(f2.offsets().highWatermark).toBe(3);
  });
});

describe("ISR changes", () => {
  it("a follower not caught up within replica.lag.time.max.ms is dropped through AlterPartition", async () => {
    const clock = new ManualClock();
    const { partition: leader, alters } = await replica(1, state(), { clock });
    leader.append(makeBatch(2));
    leader.readForReplica(2, 2, 100, true, 0); // follower 2 keeps up
    clock.advance(4_000);
    leader.checkIsr();
    expect(alters).toEqual([]);
    clock.advance(1_001);
    leader.readForReplica(2, 2, 100, true, 0);
    leader.checkIsr();
    expect(alters).toEqual([
      { topic: "orders", partition: 0, leaderId: 1, leaderEpoch: 0, partitionEpoch: 0, newIsr: [1, 2] },
    ]);
    // One request at a time: nothing more until the metadata shows it.
    leader.checkIsr();
    expect(alters).toHaveLength(1);
  });

  it("a follower that caught up rejoins the ISR, and counts for the high watermark while the change is pending", async () => {
    const { partition: leader, alters } = await replica(1, state({ isr: [1, 3] }));
    const { partition: f2 } = await replica(2, state({ isr: [1, 3] }));
    leader.append(makeBatch(3));
    await leader.log.flush();
    leader.readForReplica(3, 3, 100, true, 0);
    expect(leader.highWatermark).toBe(3);
    leader.append(makeBatch(1));
    await leader.log.flush();
    await replicate(leader, f2, 2); // copies 0-3; reported end 0 < HW 3: not yet
    expect(alters).toEqual([]);
    report(leader, f2, 2); // end 4 ≥ HW 3 and ≥ the epoch start
    expect(alters.map((a) => a.newIsr)).toEqual([[1, 3, 2]]);
    // Pending: the maximal ISR counts follower 2, so the high watermark waits for both.
    leader.readForReplica(3, 3, 100, true, 0);
    expect(leader.highWatermark).toBe(3);
    leader.readForReplica(3, 4, 100, true, 0);
    expect(leader.highWatermark).toBe(4);
  });
});

describe("a follower", () => {
  it("truncates a diverging tail and then continues the leader's log", async () => {
    const { partition: follower } = await replica(2, state({ leader: 1 }));
    const { partition: leader } = await replica(1, state());
    leader.append(makeBatch(2));
    leader.append(makeBatch(3));
    await replicate(leader, follower, 2);
    expect(follower.logEndOffset).toBe(5);
    // Suppose offsets 2.. were never committed and the new leader does not have them: the follower drops them.
    follower.truncateTo(2);
    expect(follower.logEndOffset).toBe(2);
    expect(follower.highWatermark).toBeLessThanOrEqual(2);
    expect(() => follower.appendAsFollower(makeBatch(1))).toThrow(/continue the log at offset 2/);
  });

  it("a broker not in service neither leads nor follows", async () => {
    const { partition: notYet } = await replica(1, state(), { serving: false });
    expect(notYet.isLeader).toBe(false);
    expect(() => notYet.append(makeBatch(1))).toThrow(/NOT_LEADER/);
    const { partition: follower } = await replica(2, state(), { serving: false });
    expect(follower.isFollower).toBe(false);
    follower.update(state(), defaultTopicConfig, true);
    expect(follower.isFollower).toBe(true);
  });
});
