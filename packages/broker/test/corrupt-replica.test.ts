// A replica whose log holds a corrupt batch: it never serves it (to consumers
// or followers), resigns through the controller when another in-sync replica
// can lead (the heartbeat's resigned_replicas, reported at once), truncates to
// the corruption point and refetches once it follows from outside the ISR; as
// the last in-sync copy it stays and serves what verifies. Also the partition invariants an assert guards.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { applyRecords, MetadataImage, type MetadataRecord } from "@brook/metadata";
import { ATTRIBUTES_OFFSET, systemClock } from "@brook/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ReplicaManager } from "../src/replica-manager.js";
import { batchOffsets, brokerId, makeBatch, silentLogger } from "./helpers.js";

const follower = brokerId + 1;
const topicId = "id-t";
let root: string;
let replicas: ReplicaManager;
let image: MetadataImage;
let reports: number;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "brook-corrupt-replica-"));
  reports = 0;
  image = MetadataImage.empty;
  replicas = new ReplicaManager({
    brokerId,
    dataDir: path.join(root, "data"),
    clock: systemClock,
    logger: silentLogger,
    onReplicaFailure: () => reports++,
  });
});

afterEach(async () => {
  await replicas.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const apply = (records: MetadataRecord[]) => {
  image = applyRecords(image, records, image.offset + 1);
  return replicas.applyImage(image);
};

/** Topic t, one partition this broker leads with `isr`; a segment per batch, so the first is sealed. */
async function leadWith(isr: number[]): Promise<void> {
  await apply([
    { type: "topic", name: "t", topicId },
    { type: "topic-config", topicId, key: "flush.mode", value: "none" },
    { type: "topic-config", topicId, key: "segment.bytes", value: "1024" },
    {
      type: "partition",
      topicId,
      partition: 0,
      replicas: [brokerId, follower],
      isr,
      leader: brokerId,
      leaderEpoch: 0,
      partitionEpoch: 0,
    },
  ]);
}

/** Three batches of three records; then one bit of the second (offsets 3-5) flipped on disk. */
function writeAndRot(): void {
  const partition = replicas.local("t", 0)!;
  for (let i = 0; i < 3; i++) partition.append(makeBatch(3, 200));
  const dir = path.join(root, "data", "t-0");
  const file = path.join(
    dir,
    fs
      .readdirSync(dir)
      .filter((name) => name.endsWith(".log"))
      .sort()[1],
  );
  const bytes = fs.readFileSync(file);
  bytes[ATTRIBUTES_OFFSET + 30] ^= 0x10;
  fs.writeFileSync(file, bytes);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe("a corrupt batch on a leader with another in-sync replica", () => {
  it("is never sent to a follower, and the replica resigns at once", async () => {
    await leadWith([brokerId, follower]);
    writeAndRot();
    const partition = replicas.local("t", 0)!;
    // The follower is at 3: the read reaches the bad batch and sends nothing of it.
    expect(() => partition.readForReplica(follower, 3, 1_000_000, true, 0)).toThrow(
      expect.objectContaining({ code: "CORRUPT_LOG" }),
    );
    // Below it, only verified batches.
    expect(batchOffsets(partition.readForReplica(follower, 0, 1_000_000, true, 0).records)).toEqual([
      { baseOffset: 0, lastOffset: 2 },
    ]);
    await settle();
    expect(reports).toBeGreaterThan(0);
    expect(replicas.replicaFailures.resignedReplicas).toEqual([
      { topic: "t", partition: 0, partitionEpoch: 0 },
    ]);
  });

  it("once the controller moved leadership and took it out of the ISR, it truncates to the corruption point", async () => {
    await leadWith([brokerId, follower]);
    writeAndRot();
    const partition = replicas.local("t", 0)!;
    expect(() => partition.readForReplica(follower, 3, 1_000_000, true, 0)).toThrow(/corrupt/);
    await settle();
    // What planReplicaResignations decides: the other in-sync replica leads, this one leaves the ISR.
    await apply([{ type: "partition-change", topicId, partition: 0, leader: follower, isr: [follower] }]);
    expect(partition.isFollower).toBe(true);
    expect(partition.logEndOffset).toBe(3);
    expect(partition.log.damage).toBeUndefined();
    expect(replicas.replicaFailures.resignedReplicas).toEqual([]);
  });
});

describe("the last in-sync copy", () => {
  it("does not resign, keeps leading and serves what verifies", async () => {
    await leadWith([brokerId]);
    writeAndRot();
    const partition = replicas.local("t", 0)!;
    expect(() => partition.read(3, 1_000_000)).toThrow(expect.objectContaining({ code: "CORRUPT_LOG" }));
    await settle();
    expect(replicas.replicaFailures.resignedReplicas).toEqual([]);
    expect(partition.isLeader).toBe(true);
    expect(partition.log.damage?.offset).toBe(3);
    expect(batchOffsets(partition.read(0, 1_000_000).records)).toEqual([{ baseOffset: 0, lastOffset: 2 }]);
  });

  it("takes no appends while damaged: what it appended past the corruption point could never be read", async () => {
    await leadWith([brokerId]);
    writeAndRot();
    const partition = replicas.local("t", 0)!;
    expect(() => partition.read(3, 1_000_000)).toThrow(expect.objectContaining({ code: "CORRUPT_LOG" }));
    const end = partition.logEndOffset;
    expect(() => partition.append(makeBatch(1, 10))).toThrow(
      expect.objectContaining({ code: "CORRUPT_LOG", retriable: true }),
    );
    expect(partition.logEndOffset).toBe(end);
  });
});

describe("a replica found damaged when it opens", () => {
  it("as a follower in the ISR it resigns at once, and repairs once out of the ISR", async () => {
    await leadWith([brokerId]);
    writeAndRot();
    await replicas.close();
    replicas = new ReplicaManager({
      brokerId,
      dataDir: path.join(root, "data"),
      clock: systemClock,
      logger: silentLogger,
      onReplicaFailure: () => reports++,
    });
    // Reopened as a follower in the ISR: the producer-state scan at open reads the log and finds the rot.
    await apply([
      { type: "partition-change", topicId, partition: 0, leader: follower, isr: [follower, brokerId] },
    ]);
    await settle();
    const partition = replicas.local("t", 0)!;
    expect(partition.log.damage?.offset).toBe(3);
    expect(replicas.replicaFailures.resignedReplicas).toEqual([
      { topic: "t", partition: 0, partitionEpoch: 1 },
    ]);
    await apply([{ type: "partition-change", topicId, partition: 0, isr: [follower] }]);
    expect(partition.logEndOffset).toBe(3);
    expect(partition.log.damage).toBeUndefined();
  });
});

describe("partition invariants", () => {
  it("a leader outside its ISR stops the process (an AssertionError), never serves", async () => {
    await leadWith([brokerId, follower]);
    const partition = replicas.local("t", 0)!;
    const state = image.partition("t", 0)!;
    expect(() => partition.update({ ...state, isr: [follower] }, partition.topicConfig)).toThrow(
      /leads at epoch 0 but is not in the ISR/,
    );
  });
});
