import { BrookError } from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { type Brook, type ConsumedMessage, type Consumer, consumerDefaults } from "../src/index.js";
import type { FakeCluster } from "./fake-cluster.js";
import { brookFor, eventually, startFake } from "./helpers.js";

let cluster: FakeCluster;
let brook: Brook;
let consumer: Consumer | undefined;

afterEach(async () => {
  await consumer?.close();
  consumer = undefined;
  await cluster?.stop();
});

/** Produces `count` records to one partition in batches of `perBatch`: values "m<offset>". */
async function produce(topic: string, partition: number, count: number, perBatch = count, first = 0) {
  const producer = brook.producer({ acks: 1, lingerMs: 0 });
  for (let start = first; start < first + count; start += perBatch) {
    const messages = Array.from({ length: Math.min(perBatch, first + count - start) }, (_, index) => ({
      key: `k${start + index}`,
      value: `m${start + index}`,
      partition,
      headers: { source: "test" },
    }));
    await producer.send({ topic, messages });
  }
  await producer.close();
}

async function take(source: AsyncIterable<ConsumedMessage>, count: number): Promise<ConsumedMessage[]> {
  const messages: ConsumedMessage[] = [];
  for await (const message of source) {
    messages.push(message);
    if (messages.length === count) break;
  }
  return messages;
}

async function setup(partitions = 1, brokers = 1) {
  cluster = await startFake(brokers);
  cluster.createTopic("log", partitions);
  brook = brookFor(cluster);
}

describe("consumer reading", () => {
  it("for await delivers every message in offset order, from the beginning", async () => {
    await setup();
    await produce("log", 0, 30, 10);
    consumer = brook.consumer({ maxWaitMs: 50 });
    await consumer.subscribe({ topic: "log", fromBeginning: true });

    const messages = await take(consumer, 30);

    expect(messages.map((message) => message.offset)).toEqual(
      Array.from({ length: 30 }, (_, index) => index),
    );
    expect(messages[7]).toMatchObject({ topic: "log", partition: 0, offset: 7 });
    expect(messages[7].value!.toString()).toBe("m7");
    expect(messages[7].key!.toString()).toBe("k7");
    expect(messages[7].headers.source!.toString()).toBe("test");
    expect(consumer.position({ topic: "log", partition: 0 })).toBe(30);
  });

  it("run({ eachMessage }) delivers in order from the assigned offset and resolves after stop()", async () => {
    await setup();
    await produce("log", 0, 20, 5);
    consumer = brook.consumer({ maxWaitMs: 50 });
    await consumer.assign([{ topic: "log", partition: 0, offset: 12 }]);

    const offsets: number[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        offsets.push(message.offset);
        if (offsets.length === 8) await consumer!.stop();
      },
    });

    expect(offsets).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
    expect(consumer.position({ topic: "log", partition: 0 })).toBe(20);
  });

  it("never hands out records below the fetch offset, though the batch holding them starts earlier", async () => {
    await setup();
    await produce("log", 0, 10); // one batch, offsets 0-9
    expect(cluster.partition("log", 0)!.batches).toHaveLength(1);
    consumer = brook.consumer({ maxWaitMs: 50 });
    await consumer.assign([{ topic: "log", partition: 0, offset: 4 }]);

    const messages = await take(consumer, 6);
    expect(messages.map((message) => message.offset)).toEqual([4, 5, 6, 7, 8, 9]);
  });

  it("seek() moves the next message to the given offset, dropping what was buffered", async () => {
    await setup();
    await produce("log", 0, 40, 10);
    consumer = brook.consumer({ maxWaitMs: 50 });
    await consumer.assign([{ topic: "log", partition: 0, offset: 0 }]);

    const offsets: number[] = [];
    for await (const message of consumer) {
      offsets.push(message.offset);
      if (message.offset === 2) consumer.seek({ topic: "log", partition: 0, offset: 30 });
      if (offsets.length === 6) break;
    }
    expect(offsets).toEqual([0, 1, 2, 30, 31, 32]);
  });

  it("seek() drops the partition's buffered batches at once, so repeated seeks do not pile them up", async () => {
    await setup();
    await produce("log", 0, 40, 10);
    // One batch per fetch, so each seek is followed by prefetchResponsesMax fetches.
    consumer = brook.consumer({ maxWaitMs: 50, maxBytesPerPartition: 1 });
    await consumer.assign([{ topic: "log", partition: 0, offset: 0 }]);
    const buffered = () => (consumer as unknown as { fetcher: { buffer: unknown[] } }).fetcher.buffer.length;

    const offsets: number[] = [];
    for await (const message of consumer) {
      offsets.push(message.offset);
      if (offsets.length > 1) break;
      for (let seeks = 0; seeks < 5; seeks++) {
        consumer.seek({ topic: "log", partition: 0, offset: 20 });
        await new Promise((resolve) => setTimeout(resolve, 30)); // the application is busy; fetches land
      }
      expect(buffered()).toBeLessThanOrEqual(consumerDefaults.prefetchResponsesMax);
    }
    expect(offsets).toEqual([0, 20]);
  });

  it("run({ eachBatch }) gets KafkaJS-shaped batches with the high watermark", async () => {
    await setup();
    await produce("log", 0, 12, 4);
    consumer = brook.consumer({ maxWaitMs: 50, fromBeginning: true });
    await consumer.subscribe({ topic: "log" });

    const seen: { first: number | null; last: number; highWatermark: number; lag: number }[] = [];
    let delivered = 0;
    await consumer.run({
      eachBatch: async ({ batch, isRunning }) => {
        expect(isRunning()).toBe(true);
        seen.push({
          first: batch.firstOffset(),
          last: batch.lastOffset(),
          highWatermark: batch.highWatermark,
          lag: batch.offsetLag(),
        });
        delivered += batch.messages.length;
        if (delivered === 12) await consumer!.stop();
      },
    });
    expect(seen[0]).toMatchObject({ first: 0, highWatermark: 12 });
    expect(seen.at(-1)).toMatchObject({ last: 11, lag: 0 });
    expect(consumer.position({ topic: "log", partition: 0 })).toBe(12);
  });

  it("starts at the latest offset by default and sees only what is produced afterwards", async () => {
    await setup();
    await produce("log", 0, 5);
    consumer = brook.consumer({ maxWaitMs: 50 });
    await consumer.assign([{ topic: "log", partition: 0 }]);

    const reading = take(consumer, 3);
    await eventually(() => consumer!.position({ topic: "log", partition: 0 }) === 5);
    await produce("log", 0, 3, 3, 5);
    expect((await reading).map((message) => message.offset)).toEqual([5, 6, 7]);
  });

  it("fetches all of a broker's partitions in one request, from each partition's leader", async () => {
    await setup(4, 2);
    for (let partition = 0; partition < 4; partition++) await produce("log", partition, 3);
    consumer = brook.consumer({ maxWaitMs: 50, fromBeginning: true });
    await consumer.subscribe({ topic: "log" });

    const messages = await take(consumer, 12);
    const firstFetches = [1, 2].map((brokerId) =>
      cluster.callsOf("Fetch").find((call) => call.brokerId === brokerId),
    );
    for (const fetch of firstFetches) {
      const partitions = (fetch!.request as { topics: { partitions: { partition: number }[] }[] }).topics[0]
        .partitions;
      expect(partitions.map((partition) => partition.partition % 2)).toEqual([
        (fetch!.brokerId - 1) % 2,
        (fetch!.brokerId - 1) % 2,
      ]);
    }
    for (let partition = 0; partition < 4; partition++) {
      const offsets = messages
        .filter((message) => message.partition === partition)
        .map((message) => message.offset);
      expect(offsets).toEqual([0, 1, 2]);
    }
  });

  it("stop() ends a for await loop that is waiting for messages", async () => {
    await setup();
    consumer = brook.consumer({ maxWaitMs: 1_000 });
    await consumer.subscribe({ topic: "log" });
    const reading = take(consumer, 1);
    await eventually(() => cluster.callsOf("Fetch").length > 0);
    await consumer.stop();
    expect(await reading).toEqual([]);
  });

  it("follows a partition whose leader moves (NOT_LEADER → refresh → new leader)", async () => {
    await setup(1, 2);
    await produce("log", 0, 3);
    consumer = brook.consumer({ maxWaitMs: 20, fromBeginning: true });
    await consumer.subscribe({ topic: "log" });
    const reading = take(consumer, 6);
    await eventually(() => consumer!.position({ topic: "log", partition: 0 }) === 3);

    cluster.moveLeader("log", 0, 2);
    await produce("log", 0, 3, 3, 3);
    expect((await reading).map((message) => message.offset)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(cluster.callsOf("Fetch").some((call) => call.brokerId === 2)).toBe(true);
  });
});

describe("consumer offsets", () => {
  it("resets to the earliest offset on OFFSET_OUT_OF_RANGE when autoOffsetReset is earliest", async () => {
    await setup();
    await produce("log", 0, 10, 5);
    cluster.truncateBefore("log", 0, 5);
    consumer = brook.consumer({ maxWaitMs: 50, autoOffsetReset: "earliest" });
    await consumer.assign([{ topic: "log", partition: 0, offset: 2 }]);

    const messages = await take(consumer, 5);
    expect(messages.map((message) => message.offset)).toEqual([5, 6, 7, 8, 9]);
  });

  it("fails with OFFSET_OUT_OF_RANGE when autoOffsetReset is none", async () => {
    await setup();
    await produce("log", 0, 3);
    consumer = brook.consumer({ maxWaitMs: 50, autoOffsetReset: "none" });
    await consumer.assign([{ topic: "log", partition: 0, offset: 99 }]);

    const error = await take(consumer, 1).catch((e) => e);
    expect(error).toBeInstanceOf(BrookError);
    expect(error.code).toBe("OFFSET_OUT_OF_RANGE");
  });

  it("reports end offsets so a reader can stop at the end", async () => {
    await setup(2);
    await produce("log", 0, 4);
    await produce("log", 1, 2);
    consumer = brook.consumer();
    await consumer.subscribe({ topic: "log" });
    expect(await consumer.endOffsets()).toEqual([
      { topic: "log", partition: 0, offset: 4 },
      { topic: "log", partition: 1, offset: 2 },
    ]);
  });

  it("refuses group-only calls and unassigned partitions with clear errors", async () => {
    await setup();
    consumer = brook.consumer();
    expect(consumer.groupId).toBeUndefined();
    await expect(consumer.commit()).rejects.toThrow(/needs a consumer with a groupId/);
    await expect(consumer.commitOffsets([{ topic: "log", partition: 0, offset: 1 }])).rejects.toThrow(
      /groupId/,
    );
    expect(() => consumer!.seek({ topic: "log", partition: 0, offset: 0 })).toThrow(/not assigned/);
    await expect(consumer.subscribe({ topic: "missing" })).rejects.toMatchObject({ code: "UNKNOWN_TOPIC" });
  });
});
