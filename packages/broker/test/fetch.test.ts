// Fetch: reads stop below the high watermark, a long poll wakes on new data or
// returns at max_wait_ms, min_bytes is respected, and max_bytes holds across
// partitions with only the first batch of the response allowed past it (KIP-74).

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fetch } from "../src/fetch.js";
import {
  batchOffsets,
  fetchRequest,
  makeBatch,
  startTestBroker,
  type TestBroker,
  topicRecords,
} from "./helpers.js";

let broker: TestBroker;

beforeEach(() => {
  broker = startTestBroker();
});

afterEach(async () => {
  await broker.close();
});

/** Creates `name` with flush.mode=none, so appended records are visible at once. */
async function createTopic(name: string, partitions = 1, configs: Record<string, string> = {}) {
  await broker.apply(topicRecords(name, { partitions, configs: { "flush.mode": "none", ...configs } }));
}

function partitionOf(topic: string, partition = 0) {
  return broker.replicas.get(broker.metadata.image, topic, partition);
}

function recordsOf(response: Awaited<ReturnType<typeof fetch>>, partition = 0): Buffer {
  return response.topics[0].partitions[partition].records;
}

describe("reading", () => {
  it("returns whole batches from a fetch offset in the middle of a batch", async () => {
    await createTopic("orders");
    partitionOf("orders").append(makeBatch(5));
    partitionOf("orders").append(makeBatch(2));
    const response = await fetch(broker.ctx, fetchRequest("orders", { 0: 3 }));
    expect(batchOffsets(recordsOf(response))).toEqual([
      { baseOffset: 0, lastOffset: 4 },
      { baseOffset: 5, lastOffset: 6 },
    ]);
    expect(response.topics[0].partitions[0]).toMatchObject({ highWatermark: 7, logStartOffset: 0 });
  });

  it("never returns records at or above the high watermark", async () => {
    await broker.apply(topicRecords("orders")); // flush.mode=fsync: visible only once fsynced
    const partition = partitionOf("orders");
    partition.append(makeBatch(3));
    const before = await fetch(broker.ctx, fetchRequest("orders", { 0: 0 }));
    expect(recordsOf(before).length).toBe(0);
    expect(before.topics[0].partitions[0].highWatermark).toBe(0);
    await partition.waitForHighWatermark(3, 5_000);
    partition.append(makeBatch(2));
    const after = await fetch(broker.ctx, fetchRequest("orders", { 0: 0 }));
    expect(batchOffsets(recordsOf(after))).toEqual([{ baseOffset: 0, lastOffset: 2 }]);
  });

  it("answers OFFSET_OUT_OF_RANGE past the log end without waiting", async () => {
    await createTopic("orders");
    partitionOf("orders").append(makeBatch(2));
    const startedMs = Date.now();
    const response = await fetch(broker.ctx, fetchRequest("orders", { 0: 3 }, { maxWaitMs: 5_000 }));
    expect(Date.now() - startedMs).toBeLessThan(1_000);
    expect(response.topics[0].partitions[0].error.code).toBe("OFFSET_OUT_OF_RANGE");
  });

  it("answers UNKNOWN_TOPIC and UNKNOWN_PARTITION per partition", async () => {
    await createTopic("orders");
    const unknownTopic = await fetch(broker.ctx, fetchRequest("nope", { 0: 0 }));
    expect(unknownTopic.topics[0].partitions[0].error.code).toBe("UNKNOWN_TOPIC");
    const unknownPartition = await fetch(broker.ctx, fetchRequest("orders", { 3: 0 }));
    expect(unknownPartition.topics[0].partitions[0].error.code).toBe("UNKNOWN_PARTITION");
  });

  it("refuses max_bytes of zero", async () => {
    await expect(fetch(broker.ctx, fetchRequest("orders", { 0: 0 }, { maxBytes: 0 }))).rejects.toMatchObject({
      code: "INVALID_REQUEST",
    });
  });
});

describe("max_bytes", () => {
  it("returns a first batch larger than max_bytes whole (KIP-74)", async () => {
    await createTopic("orders");
    const big = makeBatch(20, 100);
    partitionOf("orders").append(big);
    partitionOf("orders").append(makeBatch(1));
    const response = await fetch(broker.ctx, fetchRequest("orders", { 0: 0 }, { maxBytes: 100 }));
    expect(batchOffsets(recordsOf(response))).toEqual([{ baseOffset: 0, lastOffset: 19 }]);
  });

  it("keeps the whole response within max_bytes once a partition has returned data", async () => {
    await createTopic("orders", 2);
    const batch = makeBatch(3, 50);
    partitionOf("orders", 0).append(Buffer.from(batch));
    partitionOf("orders", 1).append(Buffer.from(batch));
    const maxBytes = batch.length + batch.length / 2;
    const response = await fetch(broker.ctx, fetchRequest("orders", { 0: 0, 1: 0 }, { maxBytes }));
    expect(recordsOf(response, 0).length).toBe(batch.length);
    // The second partition's batch does not fit what is left: it waits for the next fetch.
    expect(recordsOf(response, 1).length).toBe(0);
    expect(response.topics[0].partitions[1]).toMatchObject({ highWatermark: 3, error: { code: "" } });
  });

  it("lets the first partition with data go past max_bytes when the earlier ones are empty", async () => {
    await createTopic("orders", 2);
    const big = makeBatch(20, 100);
    partitionOf("orders", 1).append(big);
    const response = await fetch(broker.ctx, fetchRequest("orders", { 0: 0, 1: 0 }, { maxBytes: 100 }));
    expect(recordsOf(response, 0).length).toBe(0);
    expect(recordsOf(response, 1).length).toBe(big.length);
  });

  it("caps each partition at partition_max_bytes", async () => {
    await createTopic("orders");
    const batch = makeBatch(1);
    for (let i = 0; i < 5; i++) partitionOf("orders").append(Buffer.from(batch));
    const response = await fetch(
      broker.ctx,
      fetchRequest("orders", { 0: 0 }, { partitionMaxBytes: batch.length * 2 + 1 }),
    );
    expect(batchOffsets(recordsOf(response)).length).toBe(2);
  });
});

describe("long poll", () => {
  it("wakes as soon as records arrive", async () => {
    await createTopic("orders");
    const startedMs = Date.now();
    const waiting = fetch(broker.ctx, fetchRequest("orders", { 0: 0 }, { maxWaitMs: 10_000 }));
    setTimeout(() => partitionOf("orders").append(makeBatch(2)), 50);
    const response = await waiting;
    expect(Date.now() - startedMs).toBeLessThan(5_000);
    expect(batchOffsets(recordsOf(response))).toEqual([{ baseOffset: 0, lastOffset: 1 }]);
    expect(partitionOf("orders").waiterCount).toBe(0);
  });

  it("wakes once the fsync that makes records visible completes", async () => {
    await broker.apply(topicRecords("orders"));
    const waiting = fetch(broker.ctx, fetchRequest("orders", { 0: 0 }, { maxWaitMs: 10_000 }));
    partitionOf("orders").append(makeBatch(2));
    const response = await waiting;
    expect(batchOffsets(recordsOf(response))).toEqual([{ baseOffset: 0, lastOffset: 1 }]);
  });

  it("returns empty at max_wait_ms and leaves no listener behind", async () => {
    await createTopic("orders", 2);
    const startedMs = Date.now();
    const response = await fetch(broker.ctx, fetchRequest("orders", { 0: 0, 1: 0 }, { maxWaitMs: 100 }));
    const elapsedMs = Date.now() - startedMs;
    expect(elapsedMs).toBeGreaterThanOrEqual(95);
    expect(elapsedMs).toBeLessThan(2_000);
    expect(recordsOf(response, 0).length + recordsOf(response, 1).length).toBe(0);
    expect(partitionOf("orders", 0).waiterCount).toBe(0);
    expect(partitionOf("orders", 1).waiterCount).toBe(0);
  });

  it("keeps waiting until min_bytes are ready", async () => {
    await createTopic("orders");
    const batch = makeBatch(2, 40);
    const waiting = fetch(
      broker.ctx,
      fetchRequest("orders", { 0: 0 }, { maxWaitMs: 10_000, minBytes: batch.length * 2 }),
    );
    let settled = false;
    void waiting.then(() => {
      settled = true;
    });
    partitionOf("orders").append(Buffer.from(batch));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    partitionOf("orders").append(Buffer.from(batch));
    const response = await waiting;
    expect(batchOffsets(recordsOf(response)).length).toBe(2);
  });

  it("returns at once when the topic is deleted while it waits", async () => {
    await createTopic("orders");
    const [topic] = broker.metadata.image.topics();
    const startedMs = Date.now();
    const waiting = fetch(broker.ctx, fetchRequest("orders", { 0: 0 }, { maxWaitMs: 10_000 }));
    await broker.apply([{ type: "remove-topic", topicId: topic.topicId }]);
    const response = await waiting;
    expect(Date.now() - startedMs).toBeLessThan(5_000);
    expect(response.topics[0].partitions[0].error.code).toBe("UNKNOWN_TOPIC");
  });

  it("returns at once when leadership moves away while it waits", async () => {
    await createTopic("orders");
    const [topic] = broker.metadata.image.topics();
    const startedMs = Date.now();
    const waiting = fetch(broker.ctx, fetchRequest("orders", { 0: 0 }, { maxWaitMs: 10_000 }));
    await broker.apply([
      {
        type: "partition",
        topicId: topic.topicId,
        partition: 0,
        replicas: [broker.ctx.brokerId],
        isr: [],
        leader: -1,
        leaderEpoch: 1,
        partitionEpoch: 1,
      },
    ]);
    const response = await waiting;
    expect(Date.now() - startedMs).toBeLessThan(5_000);
    expect(response.topics[0].partitions[0].error.code).toBe("NOT_LEADER");
  });
});
