// A replica whose disk is full (ENOSPC on an append, the leader's or a
// follower's, or on a checkpoint the append writes) resigns through the
// controller, as a corrupt one does, when another in-sync replica can serve:
// the heartbeat's resigned_replicas, reported at once. Until the disk has room
// again it writes and fetches nothing; then the resignation ends. The last
// in-sync copy never resigns and refuses produce until space returns. Nothing
// here takes the log dir offline but a failed fsync, ENOSPC included.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { applyRecords, defaultTopicConfig, MetadataImage, type MetadataRecord } from "@brook/metadata";
import { systemClock } from "@brook/protocol";
import { PartitionLog } from "@brook/storage";
import { FaultyFileSystem } from "@brook/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Partition } from "../src/partition.js";
import { ReplicaManager } from "../src/replica-manager.js";
import { brokerId, makeBatch, partitionContext, silentLogger } from "./helpers.js";

const other = brokerId + 1;
const topicId = "id-t";
let root: string;
let disk: FaultyFileSystem;
let replicas: ReplicaManager;
let image: MetadataImage;
let reports: number;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "brook-disk-full-"));
  disk = new FaultyFileSystem();
  reports = 0;
  image = MetadataImage.empty;
  replicas = new ReplicaManager({
    brokerId,
    dataDir: path.join(root, "data"),
    clock: systemClock,
    logger: silentLogger,
    fileSystem: disk,
    onReplicaFailure: () => reports++,
  });
});

afterEach(async () => {
  freeDisk();
  disk.failSyncs = undefined;
  await replicas.close().catch(() => undefined);
  fs.rmSync(root, { recursive: true, force: true });
});

const apply = (records: MetadataRecord[]) => {
  image = applyRecords(image, records, image.offset + 1);
  return replicas.applyImage(image);
};

/** Topic t, one partition on this broker and `other`, led by `leader` with `isr`. */
async function replicate(leader: number, isr: number[], flushMode = "none"): Promise<Partition> {
  await apply([
    { type: "topic", name: "t", topicId },
    { type: "topic-config", topicId, key: "flush.mode", value: flushMode },
    {
      type: "partition",
      topicId,
      partition: 0,
      replicas: [brokerId, other],
      isr,
      leader,
      leaderEpoch: 0,
      partitionEpoch: 0,
    },
  ]);
  return replicas.local("t", 0)!;
}

/** Records as the other replica, leading at epoch 0, would send them from `from`: `count` more batches of 3. */
async function leadersRecords(count: number, from = 0): Promise<Buffer> {
  const log = await PartitionLog.open(path.join(root, "leader", "t-0"), {}, { clock: systemClock });
  const state = {
    partition: 0,
    replicas: [other],
    isr: [other],
    leader: other,
    leaderEpoch: 0,
    partitionEpoch: 0,
  };
  const leader = new Partition(
    "t",
    topicId,
    0,
    log,
    state,
    { ...defaultTopicConfig, flushMode: "none" },
    {
      ...partitionContext(),
      brokerId: other,
    },
  );
  for (let i = 0; i < count; i++) leader.append(makeBatch(3));
  const { records } = leader.read(from, 1_000_000);
  await leader.close();
  return records;
}

const resignation = (partitionEpoch: number) => [{ topic: "t", partition: 0, partitionEpoch }];
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

/** The disk full: the next segment write fails part way with ENOSPC, and the disk says it has no room. */
function fillDisk(): void {
  disk.failNextWrite = { writtenBytes: 20, code: "ENOSPC", suffix: ".log" };
  disk.reportedFreeBytes = 0;
}

/** Space returned: the disk says what it really has (plenty). */
function freeDisk(): void {
  disk.failNextWrite = undefined;
  disk.failCheckpoints = undefined;
  disk.reportedFreeBytes = undefined;
}

describe("a full disk on a leader with another in-sync replica", () => {
  it("refuses the produce, resigns at once, and stops resigning once the controller moved leadership", async () => {
    const partition = await replicate(brokerId, [brokerId, other]);
    partition.append(makeBatch(3));
    fillDisk();
    expect(() => partition.append(makeBatch(2))).toThrow(/is full \(ENOSPC\)/);
    expect(reports).toBe(1);
    expect(replicas.replicaFailures).toEqual({ logDirOffline: false, resignedReplicas: resignation(0) });
    // Still full: refused the same way without a write; reported once, the heartbeats repeat it.
    expect(() => partition.append(makeBatch(2))).toThrow(/ENOSPC/);
    expect(partition.logEndOffset).toBe(3);
    expect(reports).toBe(1);
    // What planReplicaResignations decides: the other in-sync replica leads, this one leaves the ISR.
    await apply([{ type: "partition-change", topicId, partition: 0, leader: other, isr: [other] }]);
    expect(partition.isFollower).toBe(true);
    expect(replicas.replicaFailures.resignedReplicas).toEqual([]);
    // Out of the ISR it fetches nothing until the disk has room: caught up, it would be taken back in.
    expect(partition.waitsForSpace).toBe(true);
    freeDisk();
    expect(partition.waitsForSpace).toBe(false);
  });

  it("a full disk met while writing the leader-epoch checkpoint resigns too, and takes nothing offline", async () => {
    const partition = await replicate(brokerId, [brokerId, other]);
    partition.append(makeBatch(3));
    disk.failCheckpoints = "ENOSPC";
    disk.reportedFreeBytes = 0;
    // A new leader epoch: becoming its leader records it in the leader-epoch checkpoint.
    await apply([{ type: "partition-change", topicId, partition: 0, leader: other }]);
    await apply([{ type: "partition-change", topicId, partition: 0, leader: brokerId }]);
    expect(partition.isLeader).toBe(true);
    expect(replicas.replicaFailures).toEqual({ logDirOffline: false, resignedReplicas: resignation(2) });
    freeDisk();
    expect(partition.append(makeBatch(2))).toMatchObject({ baseOffset: 3 });
    expect(replicas.replicaFailures.resignedReplicas).toEqual([]);
  });
});

describe("a full disk on a follower in the ISR", () => {
  it("resigns at once (acks=all need not wait for the lag time), and stops once the disk has room", async () => {
    const partition = await replicate(other, [other, brokerId]);
    const records = await leadersRecords(2);
    fillDisk();
    expect(() => partition.appendAsFollower(records)).toThrow(/is full \(ENOSPC\)/);
    await settle();
    expect(reports).toBe(1);
    expect(replicas.replicaFailures).toEqual({ logDirOffline: false, resignedReplicas: resignation(0) });
    // A nearly full disk would take these few bytes into a block it has: still full, nothing is tried.
    expect(() => partition.appendAsFollower(records)).toThrow(/is full \(ENOSPC\)/);
    expect(partition.logEndOffset).toBe(0);
    expect(replicas.replicaFailures.resignedReplicas).toEqual(resignation(0));
    freeDisk();
    expect(replicas.replicaFailures.resignedReplicas).toEqual([]);
    expect(partition.appendAsFollower(records)).toMatchObject({ baseOffset: 0, lastOffset: 5 });
  });

  it("a checkpoint that finds the disk full (the leader-epoch cache) is a full disk, not a failing one", async () => {
    const partition = await replicate(other, [other, brokerId]);
    const records = await leadersRecords(1);
    disk.failCheckpoints = "ENOSPC";
    disk.reportedFreeBytes = 0;
    expect(() => partition.appendAsFollower(records)).toThrow(/is full \(ENOSPC\)/);
    expect(partition.logEndOffset).toBe(0);
    expect(replicas.replicaFailures).toEqual({ logDirOffline: false, resignedReplicas: resignation(0) });
    freeDisk();
    partition.appendAsFollower(records);
    expect(partition.logEndOffset).toBe(3);
    expect(replicas.replicaFailures).toEqual({ logDirOffline: false, resignedReplicas: [] });
    // The periodic high-watermark checkpoint: it fails (the maintenance timer logs it), nothing goes offline.
    partition.followLeaderHighWatermark(3);
    disk.failCheckpoints = "ENOSPC";
    expect(() => partition.checkpointHighWatermark()).toThrow(/ENOSPC/);
    expect(replicas.replicaFailures).toEqual({ logDirOffline: false, resignedReplicas: [] });
  });

  it("an fsync that fails with ENOSPC is a failing disk: the log dir goes offline", async () => {
    const partition = await replicate(other, [other, brokerId], "fsync");
    partition.appendAsFollower(await leadersRecords(1));
    disk.failSyncs = "ENOSPC";
    await expect(partition.flushForReplication()).rejects.toMatchObject({ code: "STORAGE_ERROR" });
    expect(replicas.replicaFailures.logDirOffline).toBe(true);
  });
});

describe("the last in-sync copy with a full disk", () => {
  it("does not resign, keeps leading and refusing produce, and takes produce again once space returns", async () => {
    const partition = await replicate(brokerId, [brokerId]);
    fillDisk();
    expect(() => partition.append(makeBatch(2))).toThrow(/is full \(ENOSPC\)/);
    expect(replicas.replicaFailures).toEqual({ logDirOffline: false, resignedReplicas: [] });
    expect(partition.isLeader).toBe(true);
    expect(() => partition.append(makeBatch(2))).toThrow(/is full \(ENOSPC\)/);
    freeDisk();
    expect(partition.append(makeBatch(2))).toMatchObject({ baseOffset: 0, lastOffset: 1 });
  });
});

describe("a follower's truncation on a full disk", () => {
  it("cuts the log (high watermark and producer state follow), resigns, and goes on once the disk has room", async () => {
    const partition = await replicate(other, [other, brokerId], "fsync");
    partition.appendAsFollower(await leadersRecords(2));
    await partition.flushForReplication();
    partition.followLeaderHighWatermark(6);
    partition.checkpointHighWatermark(); // the recovery point on disk: 6, above the cut
    disk.failCheckpoints = "ENOSPC";
    disk.reportedFreeBytes = 0;
    expect(() => partition.truncateTo(3)).toThrow(/is full \(ENOSPC\)/);
    expect(partition.logEndOffset).toBe(3);
    expect(partition.highWatermark).toBe(3);
    expect(replicas.replicaFailures).toEqual({ logDirOffline: false, resignedReplicas: resignation(0) });
    // Still full: the lowered checkpoints are not on disk, so nothing is appended.
    const rest = await leadersRecords(2, 3);
    expect(() => partition.appendAsFollower(rest)).toThrow(/ENOSPC/);
    freeDisk();
    expect(partition.appendAsFollower(rest)).toMatchObject({ baseOffset: 3 });
    expect(replicas.replicaFailures).toEqual({ logDirOffline: false, resignedReplicas: [] });
  });
});
