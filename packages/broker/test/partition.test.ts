// Partition at replication factor 1: the high watermark (after fsync, or at
// once with flush.mode=none), and the waiters that watch it. Replication is
// tested in replication.test.ts.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defaultTopicConfig, type PartitionImage, type TopicConfig } from "@brook/metadata";
import { systemClock } from "@brook/protocol";
import { type FileSystem, nodeFileSystem, PartitionLog } from "@brook/storage";
import { FaultyFileSystem } from "@brook/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Partition } from "../src/partition.js";
import { batchOffsets, brokerId, makeBatch, partitionContext } from "./helpers.js";

let root: string;
let partition: Partition | undefined;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "brook-partition-"));
});

afterEach(async () => {
  await partition?.close().catch(() => undefined);
  partition = undefined;
  fs.rmSync(root, { recursive: true, force: true });
});

const leaderState: PartitionImage = {
  partition: 0,
  replicas: [brokerId],
  isr: [brokerId],
  leader: brokerId,
  leaderEpoch: 0,
  partitionEpoch: 0,
};

async function openPartition(
  config: Partial<TopicConfig> = {},
  fileSystem: FileSystem = nodeFileSystem,
): Promise<Partition> {
  const log = await PartitionLog.open(path.join(root, "orders-0"), {}, { clock: systemClock, fileSystem });
  const topicConfig = { ...defaultTopicConfig, ...config };
  return new Partition("orders", "id-1", 0, log, leaderState, topicConfig, partitionContext());
}

describe("high watermark with flush.mode=fsync", () => {
  it("advances only once the appended records are fsynced, and reads stop below it", async () => {
    partition = await openPartition();
    expect(partition.append(makeBatch(3))).toMatchObject({ baseOffset: 0, lastOffset: 2 });
    // Written but not yet fsynced: not visible.
    expect(partition.highWatermark).toBe(0);
    expect(partition.read(0, 1_000_000).records.length).toBe(0);
    await partition.waitForHighWatermark(3, 5_000);
    expect(partition.highWatermark).toBe(3);
    expect(batchOffsets(partition.read(0, 1_000_000).records)).toEqual([{ baseOffset: 0, lastOffset: 2 }]);
  });

  it("counts appends made during an in-flight fsync only after the fsync that covers them", async () => {
    partition = await openPartition();
    partition.append(makeBatch(3));
    const seen: number[] = [];
    const watch = () =>
      partition!.onNextChange(() => {
        seen.push(partition!.highWatermark);
        if (partition!.highWatermark < 5) watch();
      });
    watch();
    partition.append(makeBatch(2));
    expect(partition.log.logEndOffset).toBe(5);
    await partition.waitForHighWatermark(5, 5_000);
    // Never a value past what was fsynced: first 3 (the first fsync), then 5 (the group commit after it).
    // (Appends wake watchers too, as followers long-poll on them: those see the value unchanged.)
    const moves = seen.filter((value, i) => value !== (i === 0 ? 0 : seen[i - 1]));
    expect(moves).toEqual([3, 5]);
    expect(partition.log.flushedOffset).toBe(5);
  });
});

describe("high watermark with flush.mode=none", () => {
  it("advances as soon as the records are written", async () => {
    partition = await openPartition({ flushMode: "none" });
    partition.append(makeBatch(4));
    expect(partition.highWatermark).toBe(4);
    expect(batchOffsets(partition.read(0, 1_000_000).records)).toEqual([{ baseOffset: 0, lastOffset: 3 }]);
  });
});

describe("waitForHighWatermark", () => {
  it("resolves at once when the high watermark is already there", async () => {
    partition = await openPartition({ flushMode: "none" });
    partition.append(makeBatch(1));
    await expect(partition.waitForHighWatermark(1, 10)).resolves.toBeUndefined();
    expect(partition.waiterCount).toBe(0);
  });

  it("rejects with REQUEST_TIMED_OUT after the timeout and forgets the waiter", async () => {
    partition = await openPartition({ flushMode: "none" });
    const startedMs = Date.now();
    await expect(partition.waitForHighWatermark(1, 50)).rejects.toMatchObject({ code: "REQUEST_TIMED_OUT" });
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(45);
    expect(partition.waiterCount).toBe(0);
  });

  it("rejects with NOT_LEADER when the partition closes", async () => {
    partition = await openPartition({ flushMode: "none" });
    const waiting = partition.waitForHighWatermark(1, 5_000);
    await partition.close();
    await expect(waiting).rejects.toMatchObject({ code: "NOT_LEADER" });
    expect(partition.waiterCount).toBe(0);
  });

  it("rejects with NOT_LEADER as soon as leadership moves to another broker", async () => {
    partition = await openPartition({ flushMode: "none" });
    const waiting = partition.waitForHighWatermark(1, 5_000);
    partition.update({ ...leaderState, leader: brokerId + 1, leaderEpoch: 1 }, partition.topicConfig);
    await expect(waiting).rejects.toMatchObject({ code: "NOT_LEADER" });
    expect(partition.waiterCount).toBe(0);
  });

  it("rejects with STORAGE_ERROR as soon as the fsync fails, instead of timing out", async () => {
    const fileSystem = new FaultyFileSystem();
    partition = await openPartition({}, fileSystem);
    fileSystem.failSyncs = "EIO";
    partition.append(makeBatch(2));
    await expect(partition.waitForHighWatermark(2, 5_000)).rejects.toMatchObject({ code: "STORAGE_ERROR" });
    expect(partition.highWatermark).toBe(0);
    expect(partition.waiterCount).toBe(0);
    // A later waiter learns the same at once.
    await expect(partition.waitForHighWatermark(2, 5_000)).rejects.toMatchObject({ code: "STORAGE_ERROR" });
  });
});

describe("onNextChange", () => {
  it("calls the listener once on the next high watermark move", async () => {
    partition = await openPartition({ flushMode: "none" });
    let calls = 0;
    partition.onNextChange(() => calls++);
    partition.append(makeBatch(1));
    partition.append(makeBatch(1));
    expect(calls).toBe(1);
    expect(partition.waiterCount).toBe(0);
  });

  it("does not call a listener that unsubscribed", async () => {
    partition = await openPartition({ flushMode: "none" });
    let calls = 0;
    const unsubscribe = partition.onNextChange(() => calls++);
    unsubscribe();
    expect(partition.waiterCount).toBe(0);
    partition.append(makeBatch(1));
    expect(calls).toBe(0);
  });

  it("calls the listener when the partition closes or stops leading", async () => {
    partition = await openPartition({ flushMode: "none" });
    let calls = 0;
    partition.onNextChange(() => calls++);
    partition.update({ ...leaderState, leader: brokerId + 1, leaderEpoch: 1 }, partition.topicConfig);
    expect(calls).toBe(1);
    partition.onNextChange(() => calls++);
    await partition.close();
    expect(calls).toBe(2);
  });
});

describe("update", () => {
  it("keeps the previous log config when the log refuses a new one, but still follows leadership", async () => {
    partition = await openPartition({ flushMode: "none" });
    const before = partition.log.config.segmentBytes;
    expect(() =>
      partition!.update(
        { ...leaderState, leader: brokerId + 1, leaderEpoch: 1 },
        { ...defaultTopicConfig, segmentBytes: 2 ** 32 },
      ),
    ).toThrow(expect.objectContaining({ code: "INVALID_CONFIG" }));
    expect(partition.log.config.segmentBytes).toBe(before);
    expect(partition.isLeader).toBe(false);
  });
});
