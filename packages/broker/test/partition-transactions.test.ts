// The partition's side of transactions through the real Partition and log
// (docs/transactions.md, "Markers and the partition"): the LSO holds at an
// open transaction's first offset until its marker is committed; read_committed
// reads stop at the LSO and return the aborted transactions overlapping what
// they return; markers fence old epochs and deposed coordinators; clients may
// not send control batches; the coordinator's appends skip the sequence check;
// a follower, a reopened partition and a truncated follower all agree with
// the leader; and Fetch, ListOffsets and WriteTxnMarkers expose it.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defaultTopicConfig, type PartitionImage, type TopicConfig } from "@brook/metadata";
import {
  decodeRecordBatches,
  encodeControlBatch,
  encodeRecordBatch,
  systemClock,
  type WriteTxnMarkersRequest__Output,
} from "@brook/protocol";
import { PartitionLog } from "@brook/storage";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fetch } from "../src/fetch.js";
import { OFFSETS_TOPIC } from "../src/groups/records.js";
import { listOffsets } from "../src/offsets.js";
import { Partition } from "../src/partition.js";
import { produce } from "../src/produce.js";
import { writeTxnMarkers } from "../src/txn-markers.js";
import {
  batchOffsets,
  fetchRequest,
  partitionContext,
  produceRequest,
  startTestBroker,
  type TestBroker,
  topicRecords,
} from "./helpers.js";

let root: string;
const open: Partition[] = [];

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "brook-txn-partition-"));
});

afterEach(async () => {
  for (const partition of open.splice(0)) await partition.close().catch(() => undefined);
  fs.rmSync(root, { recursive: true, force: true });
});

const state = (overrides: Partial<PartitionImage> = {}): PartitionImage => ({
  partition: 0,
  replicas: [1],
  isr: [1],
  leader: 1,
  leaderEpoch: 0,
  partitionEpoch: 0,
  ...overrides,
});

/** flush.mode=none at replication factor 1: the high watermark is the log end, at once. */
async function openReplica(
  brokerId: number,
  partitionState: PartitionImage = state(),
  config: Partial<TopicConfig> = {},
  topic = "orders",
): Promise<Partition> {
  const log = await PartitionLog.open(
    path.join(root, `b${brokerId}`, `${topic}-0`),
    {},
    { clock: systemClock },
  );
  const topicConfig = { ...defaultTopicConfig, flushMode: "none" as const, minInsyncReplicas: 1, ...config };
  const partition = new Partition(topic, "id-1", 0, log, partitionState, topicConfig, {
    ...partitionContext(),
    brokerId,
  });
  open.push(partition);
  return partition;
}

let nextValue = 0;
// Record times are now, as the markers' are: a span past segment.ms would roll
// the segment between them, and one read returns one segment's batches.

/** A transactional batch of `count` records (values v0, v1, ...) from `producerId`. */
function txnBatch(producerId: number, count: number, fields: { epoch?: number; sequence?: number } = {}) {
  return encodeRecordBatch(
    Array.from({ length: count }, () => ({ value: `v${nextValue++}` })),
    {
      producerId,
      producerEpoch: fields.epoch ?? 0,
      baseSequence: fields.sequence ?? 0,
      transactional: true,
      nowMs: Date.now(),
    },
  );
}

function plainBatch(count: number): Buffer {
  return encodeRecordBatch(
    Array.from({ length: count }, () => ({ value: `v${nextValue++}` })),
    { nowMs: Date.now() },
  );
}

function marker(
  producerId: number,
  committed: boolean,
  fields: { epoch?: number; coordinatorEpoch?: number } = {},
) {
  return {
    producerId,
    producerEpoch: fields.epoch ?? 0,
    committed,
    coordinatorEpoch: fields.coordinatorEpoch ?? 0,
  };
}

/** The producer-visible state of a replica: what a new leader or a reopened broker must reproduce. */
function txnState(partition: Partition) {
  return {
    lastStableOffset: partition.lastStableOffset,
    aborted: partition.abortedTransactions(0, Number.MAX_SAFE_INTEGER),
  };
}

describe("the last stable offset", () => {
  it("holds at an open transaction's first offset and moves past it once its marker is committed", async () => {
    const p = await openReplica(1);
    p.append(plainBatch(2)); // 0-1
    p.append(txnBatch(7, 3)); // 2-4
    p.append(plainBatch(1)); // 5
    expect([p.highWatermark, p.lastStableOffset]).toEqual([6, 2]);
    const result = p.appendMarker(marker(7, true)); // 6
    expect(result).toMatchObject({ baseOffset: 6, lastOffset: 6 });
    expect([p.highWatermark, p.lastStableOffset]).toEqual([7, 7]);
  });

  it("waits with flush.mode=fsync until the high watermark covers the marker", async () => {
    const p = await openReplica(1, state(), { flushMode: "fsync" });
    p.append(txnBatch(7, 2)); // 0-1
    await p.waitForHighWatermark(2, 5_000);
    const { lastOffset } = p.appendMarker(marker(7, true)); // 2
    expect(p.lastStableOffset).toBe(0); // the marker is not committed yet
    await p.waitForHighWatermark(lastOffset + 1, 5_000);
    expect(p.lastStableOffset).toBe(3);
  });

  it("never falls below the log start, when retention deleted an open transaction's first batch", async () => {
    // One batch per segment (segment.bytes 100), and every segment but the active one may go.
    const p = await openReplica(1, state(), { segmentBytes: 100, retentionBytes: 1 });
    p.update(state(), p.topicConfig); // the log takes the config
    p.append(txnBatch(7, 1)); // 0: open
    for (let i = 0; i < 3; i++) p.append(plainBatch(1)); // 1, 2, 3
    p.applyRetention();
    expect(p.log.logStartOffset).toBe(3);
    expect(p.lastStableOffset).toBe(3); // Kafka clamps it likewise
    expect(p.read(3, 1 << 20, true, -1, "read_committed")).toMatchObject({
      lastStableOffset: 3,
      logStartOffset: 3,
    });
  });
});

describe("read_committed reads", () => {
  it("stop at the LSO; read_uncommitted reads go on to the high watermark", async () => {
    const p = await openReplica(1);
    p.append(plainBatch(2)); // 0-1
    p.append(txnBatch(7, 2)); // 2-3 open
    p.append(plainBatch(1)); // 4
    const committed = p.read(0, 1 << 20, true, -1, "read_committed");
    expect(batchOffsets(committed.records)).toEqual([{ baseOffset: 0, lastOffset: 1 }]);
    expect(committed).toMatchObject({ lastStableOffset: 2, highWatermark: 5, abortedTransactions: [] });
    expect(batchOffsets(p.read(0, 1 << 20).records)).toHaveLength(3);
    expect(p.read(2, 1 << 20, true, -1, "read_committed").records.length).toBe(0);
  });

  it("return the aborted transactions overlapping the records returned, and only those", async () => {
    const p = await openReplica(1);
    p.append(txnBatch(7, 2)); // 0-1
    p.append(txnBatch(8, 1)); // 2
    p.appendMarker(marker(7, false)); // 3: abort 7 [0..3]
    p.appendMarker(marker(8, true)); // 4
    p.append(plainBatch(1)); // 5
    p.append(txnBatch(9, 1)); // 6
    p.appendMarker(marker(9, false)); // 7: abort 9 [6..7]
    const all = p.read(0, 1 << 20, true, -1, "read_committed");
    expect(all.lastStableOffset).toBe(8);
    expect(all.abortedTransactions).toEqual([
      { producerId: 7, firstOffset: 0, lastOffset: 3 },
      { producerId: 9, firstOffset: 6, lastOffset: 7 },
    ]);
    // From offset 4: 7's marker (3) is behind the read.
    expect(
      p.read(4, 1 << 20, true, -1, "read_committed").abortedTransactions.map((t) => t.producerId),
    ).toEqual([9]);
    // One batch (offsets 0-1) only: 9 starts after what was returned.
    const first = p.read(0, 1, true, -1, "read_committed");
    expect(batchOffsets(first.records)).toEqual([{ baseOffset: 0, lastOffset: 1 }]);
    expect(first.abortedTransactions.map((t) => t.producerId)).toEqual([7]);
  });
});

describe("the aborted transactions of __consumer_offsets", () => {
  it("are not kept: no one reads it read_committed, and retention never bounds them there", async () => {
    const p = await openReplica(1, state(), {}, OFFSETS_TOPIC);
    p.append(txnBatch(7, 1, { sequence: -1 }), 1, "coordinator"); // 0
    p.appendMarker(marker(7, false)); // 1
    expect(txnState(p)).toEqual({ lastStableOffset: 2, aborted: [] });
  });
});

describe("fencing", () => {
  it("a marker with a bumped epoch fences the producer's older batches; an older marker is refused", async () => {
    const p = await openReplica(1);
    p.append(txnBatch(7, 1, { epoch: 3 })); // 0
    p.appendMarker(marker(7, false, { epoch: 4 })); // 1
    expect(() => p.append(txnBatch(7, 1, { epoch: 3, sequence: 1 }))).toThrow(
      expect.objectContaining({ code: "INVALID_PRODUCER_EPOCH" }),
    );
    expect(() => p.appendMarker(marker(7, true, { epoch: 3 }))).toThrow(
      expect.objectContaining({ code: "INVALID_PRODUCER_EPOCH" }),
    );
    expect(p.logEndOffset).toBe(2);
  });

  it("a marker from a deposed coordinator (older coordinator epoch) is refused", async () => {
    const p = await openReplica(1);
    p.append(txnBatch(7, 1));
    p.appendMarker(marker(7, true, { coordinatorEpoch: 6 }));
    p.append(txnBatch(7, 1, { sequence: 1 }));
    expect(() => p.appendMarker(marker(7, false, { coordinatorEpoch: 5 }))).toThrow(
      expect.objectContaining({ code: "TRANSACTION_COORDINATOR_FENCED" }),
    );
    expect(p.lastStableOffset).toBe(2);
  });

  it("a client may not append a control batch (INVALID_REQUEST); only the broker writes markers", async () => {
    const p = await openReplica(1);
    const forged = encodeControlBatch({
      producerId: 7,
      producerEpoch: 0,
      committed: true,
      coordinatorEpoch: 0,
    });
    expect(() => p.append(forged)).toThrow(expect.objectContaining({ code: "INVALID_REQUEST" }));
    expect(() => p.append(forged, 1, "coordinator")).toThrow(
      expect.objectContaining({ code: "INVALID_REQUEST" }),
    );
    expect(p.logEndOffset).toBe(0);
  });

  it("a follower or deposed leader refuses markers with NOT_LEADER", async () => {
    const p = await openReplica(1, state({ replicas: [1, 2], isr: [1, 2], leader: 2 }));
    expect(() => p.appendMarker(marker(7, true))).toThrow(expect.objectContaining({ code: "NOT_LEADER" }));
  });
});

describe("the coordinator's transactional offset commits (origin coordinator)", () => {
  it("are appended with sequence -1, open the transaction and are checked for the epoch only", async () => {
    const p = await openReplica(1);
    const offsets = () => txnBatch(7, 1, { epoch: 2, sequence: -1 });
    expect(() => p.append(offsets())).toThrow(expect.objectContaining({ code: "INVALID_REQUEST" }));
    p.append(offsets(), 1, "coordinator"); // 0
    p.append(offsets(), 1, "coordinator"); // 1
    expect(p.lastStableOffset).toBe(0);
    expect(() => p.append(txnBatch(7, 1, { epoch: 1, sequence: -1 }), 1, "coordinator")).toThrow(
      expect.objectContaining({ code: "INVALID_PRODUCER_EPOCH" }),
    );
    p.appendMarker(marker(7, true, { epoch: 2 }));
    expect(p.lastStableOffset).toBe(3);
  });
});

describe("the same state on every replica, after a restart and after a truncation", () => {
  async function writeHistory(p: Partition): Promise<void> {
    p.append(txnBatch(7, 2)); // 0-1
    p.append(txnBatch(8, 1)); // 2
    p.appendMarker(marker(7, false, { coordinatorEpoch: 3 })); // 3
    p.append(plainBatch(1)); // 4
    p.append(txnBatch(9, 1)); // 5 (open)
    p.appendMarker(marker(8, true)); // 6
  }

  it("a reopened partition rebuilds open transactions, the aborted list and the LSO from its log", async () => {
    const p = await openReplica(1);
    await writeHistory(p);
    const live = txnState(p);
    expect(live).toEqual({
      lastStableOffset: 5,
      aborted: [{ producerId: 7, firstOffset: 0, lastOffset: 3 }],
    });
    p.checkpointHighWatermark();
    await p.close();
    const reopened = await openReplica(1);
    expect(txnState(reopened)).toEqual(live);
    // The coordinator epoch survived too.
    reopened.append(txnBatch(7, 1, { sequence: 2 }));
    expect(() => reopened.appendMarker(marker(7, true, { coordinatorEpoch: 2 }))).toThrow(
      expect.objectContaining({ code: "TRANSACTION_COORDINATOR_FENCED" }),
    );
  });

  it("a follower's appends give it the leader's state, so as the new leader it has the same LSO", async () => {
    const replicas = [1, 2];
    const leader = await openReplica(1, state({ replicas, isr: replicas }));
    const follower = await openReplica(2, state({ replicas, isr: replicas }));
    await writeHistory(leader);
    const { records } = leader.readForReplica(2, 0, 1 << 20, true, 0);
    follower.appendAsFollower(records);
    follower.followLeaderHighWatermark(
      leader.readForReplica(2, follower.logEndOffset, 1, true, 0).highWatermark,
    );
    follower.update(state({ replicas, isr: replicas, leader: 2, leaderEpoch: 1 }), {
      ...defaultTopicConfig,
      flushMode: "none",
      minInsyncReplicas: 1,
    });
    expect(follower.isLeader).toBe(true);
    expect(txnState(follower)).toEqual(txnState(leader));
  });

  it("a follower truncating away a marker reopens its transaction", async () => {
    const replicas = [1, 2];
    const follower = await openReplica(2, state({ replicas, isr: replicas }));
    const leader = await openReplica(1, state({ replicas, isr: replicas }));
    leader.append(txnBatch(7, 2)); // 0-1
    leader.appendMarker(marker(7, false)); // 2
    follower.appendAsFollower(leader.readForReplica(2, 0, 1 << 20, true, 0).records);
    expect(follower.abortedTransactions(0, 10)).toHaveLength(1);
    follower.truncateTo(2);
    expect(follower.abortedTransactions(0, 10)).toEqual([]);
    follower.followLeaderHighWatermark(2);
    expect(follower.lastStableOffset).toBe(0);
  });
});

// ---- the request handlers ----------------------------------------------------------

describe("Fetch, ListOffsets and WriteTxnMarkers", () => {
  let broker: TestBroker;

  beforeEach(async () => {
    broker = startTestBroker();
    await broker.apply(topicRecords("orders", { configs: { "flush.mode": "none" } }));
  });

  afterEach(async () => {
    await broker.close();
  });

  const partitionOf = () => broker.replicas.get(broker.metadata.image, "orders", 0);

  function markersRequest(
    topic: string,
    partitions: number[],
    fields: Partial<WriteTxnMarkersRequest__Output["markers"][number]> = {},
  ): WriteTxnMarkersRequest__Output {
    return {
      markers: [
        {
          producerId: 7,
          producerEpoch: 0,
          committed: false,
          coordinatorEpoch: 0,
          topics: [{ topic, partitions }],
          ...fields,
        },
      ],
    };
  }

  it("a read_committed fetch reads up to the LSO, always reports it, and lists the aborted transactions", async () => {
    const p = partitionOf();
    p.append(txnBatch(7, 2)); // 0-1
    p.append(plainBatch(1)); // 2
    const uncommitted = await fetch(broker.ctx, fetchRequest("orders", { 0: 0 }));
    expect(uncommitted.topics[0].partitions[0]).toMatchObject({
      lastStableOffset: 0,
      highWatermark: 3,
      abortedTransactions: [],
    });
    const open = await fetch(broker.ctx, fetchRequest("orders", { 0: 0 }, { isolationLevel: 1 }));
    expect(open.topics[0].partitions[0].records.length).toBe(0);
    await writeTxnMarkers(broker.ctx, markersRequest("orders", [0]));
    const aborted = await fetch(broker.ctx, fetchRequest("orders", { 0: 0 }, { isolationLevel: 1 }));
    const answer = aborted.topics[0].partitions[0];
    expect(answer).toMatchObject({
      lastStableOffset: 4,
      abortedTransactions: [{ producerId: 7, firstOffset: 0 }],
    });
    // The reader gets the marker too (Kafka clients skip it) and drops producer 7's records.
    const batches = decodeRecordBatches(answer.records);
    expect(batches.map((b) => [b.header.baseOffset, b.header.isControl])).toEqual([
      [0, false],
      [2, false],
      [3, true],
    ]);
  });

  it("a read_committed long poll wakes when a marker moves the LSO", async () => {
    const p = partitionOf();
    p.append(txnBatch(7, 1));
    const polling = fetch(
      broker.ctx,
      fetchRequest("orders", { 0: 0 }, { isolationLevel: 1, maxWaitMs: 5_000 }),
    );
    const startedMs = Date.now();
    await writeTxnMarkers(broker.ctx, markersRequest("orders", [0], { committed: true }));
    const answer = (await polling).topics[0].partitions[0];
    expect(Date.now() - startedMs).toBeLessThan(2_000);
    expect(batchOffsets(answer.records)).toHaveLength(2);
  });

  it("refuses an unknown isolation level", async () => {
    await expect(
      fetch(broker.ctx, fetchRequest("orders", { 0: 0 }, { isolationLevel: 2 })),
    ).rejects.toMatchObject({
      code: "INVALID_REQUEST",
    });
  });

  it("ListOffsets latest is the LSO under read_committed, the high watermark otherwise", () => {
    const p = partitionOf();
    p.append(plainBatch(2));
    p.append(txnBatch(7, 2));
    const latest = (isolationLevel: number) =>
      listOffsets(broker.ctx, {
        isolationLevel,
        topics: [{ topic: "orders", partitions: [{ partition: 0, timestamp: -1 }] }],
      }).topics[0].partitions[0].offset;
    expect([latest(0), latest(1)]).toEqual([4, 2]);
  });

  it("WriteTxnMarkers appends, waits for the high watermark, then tells the group coordinator", async () => {
    partitionOf().append(txnBatch(7, 1));
    const response = await writeTxnMarkers(broker.ctx, markersRequest("orders", [0], { committed: true }));
    expect(response.markers).toEqual([
      {
        producerId: 7,
        topics: [{ topic: "orders", partitions: [{ partition: 0, error: { code: "", message: "" } }] }],
      },
    ]);
    expect(broker.markersWritten).toEqual([
      { topic: "orders", partition: 0, producerId: 7, committed: true },
    ]);
    expect(partitionOf().lastStableOffset).toBe(2);
  });

  it("WriteTxnMarkers answers per partition: UNKNOWN_TOPIC, UNKNOWN_PARTITION, NOT_LEADER, fencing", async () => {
    await broker.apply(topicRecords("elsewhere", { leader: 2 }));
    const codes = async (request: WriteTxnMarkersRequest__Output) =>
      (await writeTxnMarkers(broker.ctx, request)).markers![0].topics![0].partitions!.map(
        (p) => p.error!.code,
      );
    expect(await codes(markersRequest("gone", [0]))).toEqual(["UNKNOWN_TOPIC"]);
    expect(await codes(markersRequest("orders", [0, 5]))).toEqual(["", "UNKNOWN_PARTITION"]);
    expect(await codes(markersRequest("elsewhere", [0]))).toEqual(["NOT_LEADER"]);
    partitionOf().append(txnBatch(7, 1, { epoch: 4 }));
    expect(await codes(markersRequest("orders", [0], { producerEpoch: 3 }))).toEqual([
      "INVALID_PRODUCER_EPOCH",
    ]);
    expect(broker.markersWritten).toHaveLength(1);
  });

  it("WriteTxnMarkers may write to an internal topic, which Produce refuses", async () => {
    await broker.apply(topicRecords("__consumer_offsets", { configs: { "flush.mode": "none" } }));
    const produced = await produce(broker.ctx, produceRequest("__consumer_offsets", { 0: plainBatch(1) }));
    expect(produced.topics[0].partitions[0].error.code).toBe("INVALID_REQUEST");
    const response = await writeTxnMarkers(
      broker.ctx,
      markersRequest("__consumer_offsets", [0], { committed: true }),
    );
    expect(response.markers![0].topics![0].partitions![0].error!.code).toBe("");
    expect(broker.markersWritten).toEqual([
      { topic: "__consumer_offsets", partition: 0, producerId: 7, committed: true },
    ]);
  });

  it("Produce refuses a control batch from a client with INVALID_REQUEST", async () => {
    const forged = encodeControlBatch({
      producerId: 7,
      producerEpoch: 0,
      committed: true,
      coordinatorEpoch: 0,
    });
    const response = await produce(broker.ctx, produceRequest("orders", { 0: forged }));
    expect(response.topics[0].partitions[0].error.code).toBe("INVALID_REQUEST");
    expect(partitionOf().logEndOffset).toBe(0);
  });
});
