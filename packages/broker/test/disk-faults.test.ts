// Disk faults on a broker, on the faulty disk of @brook/testkit: a full disk
// (ENOSPC) refuses the produce with a clear, retriable error and passes once
// space returns, nothing lost or doubled; any other failed write, read or
// fsync takes the log dir offline: every replica stops leading and following
// at once and the controller is told (the heartbeat's log_dir_offline).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PartitionImage } from "@brook/metadata";
import { defaultTopicConfig } from "@brook/metadata";
import { type BrookError, systemClock } from "@brook/protocol";
import { PartitionLog } from "@brook/storage";
import { FaultyFileSystem } from "@brook/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Partition } from "../src/partition.js";
import { ReplicaManager } from "../src/replica-manager.js";
import {
  batchOffsets,
  brokerId,
  makeBatch,
  partitionContext,
  silentLogger,
  TestMetadata,
  topicRecords,
} from "./helpers.js";

let root: string;
const closers: (() => Promise<void>)[] = [];

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "brook-disk-faults-"));
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
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

/** A leader on the faulty disk; `failed` collects what it reports as a failing log dir. */
async function openLeader(fileSystem: FaultyFileSystem, flushMode: "fsync" | "none" = "none") {
  const log = await PartitionLog.open(path.join(root, "orders-0"), {}, { clock: systemClock, fileSystem });
  const failed: BrookError[] = [];
  const context = {
    ...partitionContext(),
    logDirFailed: (_: Partition, error: BrookError) => failed.push(error),
  };
  const config = { ...defaultTopicConfig, flushMode };
  const partition = new Partition("orders", "id-1", 0, log, leaderState, config, context);
  closers.push(() => partition.close());
  return { partition, failed };
}

describe("a full disk (ENOSPC)", () => {
  it("refuses the produce with a retriable STORAGE_ERROR naming the full disk, and takes nothing offline", async () => {
    const disk = new FaultyFileSystem();
    const { partition, failed } = await openLeader(disk);
    partition.append(makeBatch(3));
    disk.failNextWrite = { writtenBytes: 20, code: "ENOSPC", suffix: ".log" };
    let refusal: unknown;
    try {
      partition.append(makeBatch(2));
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toMatchObject({ code: "STORAGE_ERROR", retriable: true });
    expect((refusal as Error).message).toMatch(/orders-0 .* is full \(ENOSPC\): nothing was written/);
    expect(failed).toEqual([]);
    expect(partition.isLeader).toBe(true);
  });

  it("passes once space returns: the partial write was cut back, so offsets go on with nothing lost or doubled", async () => {
    const disk = new FaultyFileSystem();
    const { partition } = await openLeader(disk, "fsync");
    partition.append(makeBatch(3));
    disk.failNextWrite = { writtenBytes: 20, code: "ENOSPC", suffix: ".log" };
    expect(() => partition.append(makeBatch(2))).toThrow(/ENOSPC/);
    expect(partition.logEndOffset).toBe(3);
    expect(partition.append(makeBatch(4))).toMatchObject({ baseOffset: 3, lastOffset: 6 });
    await partition.waitForHighWatermark(7, 5_000);
    expect(batchOffsets(partition.read(0, 1_000_000).records)).toEqual([
      { baseOffset: 0, lastOffset: 2 },
      { baseOffset: 3, lastOffset: 6 },
    ]);
  });
});

describe("a full disk on a follower", () => {
  it("refuses the leader's batches without taking anything offline, and takes them once space returns", async () => {
    const { partition: leader } = await openLeader(new FaultyFileSystem());
    leader.append(makeBatch(3));
    const disk = new FaultyFileSystem();
    const log = await PartitionLog.open(
      path.join(root, "follower", "orders-0"),
      {},
      { clock: systemClock, fileSystem: disk },
    );
    const failed: BrookError[] = [];
    const context = {
      ...partitionContext(),
      logDirFailed: (_: Partition, error: BrookError) => failed.push(error),
    };
    const followerState = { ...leaderState, leader: brokerId + 1 };
    const follower = new Partition(
      "orders",
      "id-1",
      0,
      log,
      followerState,
      { ...defaultTopicConfig, flushMode: "none" },
      context,
    );
    closers.push(() => follower.close());
    const { records } = leader.read(0, 1_000_000);
    disk.failNextWrite = { writtenBytes: 20, code: "ENOSPC", suffix: ".log" };
    expect(() => follower.appendAsFollower(records)).toThrow(/is full \(ENOSPC\)/);
    expect(failed).toEqual([]);
    expect(follower.logEndOffset).toBe(0);
    follower.appendAsFollower(records);
    expect(follower.logEndOffset).toBe(3);
  });
});

describe("a failing disk (EIO)", () => {
  it("a failed write refuses the produce and reports the log dir failing", async () => {
    const disk = new FaultyFileSystem();
    const { partition, failed } = await openLeader(disk);
    disk.failNextWrite = { writtenBytes: 20, code: "EIO", suffix: ".log" };
    expect(() => partition.append(makeBatch(2))).toThrow(expect.objectContaining({ code: "STORAGE_ERROR" }));
    expect(failed).toHaveLength(1);
    expect(failed[0].message).toMatch(/EIO/);
  });

  it("a failed fsync reports the log dir failing", async () => {
    const disk = new FaultyFileSystem();
    const { partition, failed } = await openLeader(disk, "fsync");
    disk.failSyncs = "EIO";
    partition.append(makeBatch(2));
    await expect(partition.waitForHighWatermark(2, 5_000)).rejects.toMatchObject({ code: "STORAGE_ERROR" });
    expect(failed).toHaveLength(1);
  });
});

describe("the log dir offline", () => {
  async function startReplicas(disk: FaultyFileSystem) {
    const metadata = new TestMetadata();
    let reports = 0;
    const replicas = new ReplicaManager({
      brokerId,
      dataDir: path.join(root, "data"),
      clock: systemClock,
      logger: silentLogger,
      fileSystem: disk,
      onReplicaFailure: () => reports++,
    });
    closers.push(() => replicas.close());
    await replicas.applyImage(metadata.apply(topicRecords("orders", { partitions: 2 })));
    return { replicas, metadata, reports: () => reports };
  }

  it("one replica's failed fsync stops every replica here from leading, at once, and reports it once", async () => {
    const disk = new FaultyFileSystem();
    const { replicas, metadata, reports } = await startReplicas(disk);
    const [first, second] = [replicas.local("orders", 0)!, replicas.local("orders", 1)!];
    expect(first.isLeader && second.isLeader).toBe(true);
    expect(replicas.replicaFailures.logDirOffline).toBe(false);

    disk.failSyncs = "EIO";
    first.append(makeBatch(1));
    await expect(first.waitForHighWatermark(1, 5_000)).rejects.toMatchObject({ code: "STORAGE_ERROR" });
    await replicas.applyImage(metadata.image);
    expect(replicas.replicaFailures.logDirOffline).toBe(true);
    expect(reports()).toBe(1);
    expect(first.isLeader || second.isLeader).toBe(false);
    expect(() => second.append(makeBatch(1))).toThrow(expect.objectContaining({ code: "NOT_LEADER" }));
  });

  it("a partition assigned after the failure is not opened on the failed disk", async () => {
    const disk = new FaultyFileSystem();
    const { replicas, metadata } = await startReplicas(disk);
    disk.failNextWrite = { writtenBytes: 0, code: "EIO", suffix: ".log" };
    expect(() => replicas.local("orders", 0)!.append(makeBatch(1))).toThrow(/EIO/);
    await replicas.applyImage(metadata.apply(topicRecords("later")));
    expect(replicas.local("later", 0)).toBeUndefined();
    expect(() => replicas.get(metadata.image, "later", 0)).toThrow(
      expect.objectContaining({ code: "STORAGE_ERROR" }),
    );
    expect(fs.existsSync(path.join(root, "data", "later-0"))).toBe(false);
  });
});
