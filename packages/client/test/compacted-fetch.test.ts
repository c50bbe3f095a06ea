// A compacted log (docs/compaction.md) as the consumer sees it: batches that hold fewer records than their
// offsets span, and empty filler batches. Only the surviving records are delivered, with their own offsets,
// and the position moves to a batch's lastOffset + 1 even when its last records (or all) were removed.
import { decodeRecordBatches, encodeEmptyBatch, encodeRecordBatch, rewriteBatch } from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { readableBatches } from "../src/consumer/isolation.js";
import type { Brook, ConsumedMessage, Consumer } from "../src/index.js";
import type { FakeCluster } from "./fake-cluster.js";
import { brookFor, eventually, startFake } from "./helpers.js";

let cluster: FakeCluster | undefined;
let consumer: Consumer | undefined;

afterEach(async () => {
  await consumer?.close();
  consumer = undefined;
  await cluster?.stop();
  cluster = undefined;
});

/** Offsets 0-4, keys k0..k4, with only the records at `kept` left, as the cleaner leaves them. */
function thinned(...kept: number[]): Buffer {
  const batch = encodeRecordBatch(
    [0, 1, 2, 3, 4].map((i) => ({ key: `k${i}`, value: `v${i}` })),
    { nowMs: 1 },
  );
  return rewriteBatch(batch, 0, (_, index) => kept.includes(index));
}

function filler(offsets: number): Buffer {
  return encodeEmptyBatch({
    baseOffset: 0,
    lastOffsetDelta: offsets - 1,
    partitionLeaderEpoch: 0,
    attributes: 0,
    baseTimestamp: 1,
    maxTimestamp: 1,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
  });
}

function withOffsets(batches: Buffer[]): Buffer {
  let offset = 0;
  return Buffer.concat(
    batches.map((batch) => {
      const copy = Buffer.from(batch);
      copy.writeBigInt64BE(BigInt(offset), 0);
      offset += copy.readInt32BE(23) + 1;
      return copy;
    }),
  );
}

describe("readableBatches over a compacted log", () => {
  it("moves past a thinned batch's and a filler's lastOffset, delivering only what survived", () => {
    // 0-4 holds 1 and 3; 5-14 is a filler; 15-19 holds 19 only; 20-22 is a filler that ends the log.
    const decoded = decodeRecordBatches(withOffsets([thinned(1, 3), filler(10), thinned(4), filler(3)]));
    const result = readableBatches(decoded, "read_uncommitted", [], 0);
    expect(result.batches.flatMap((b) => b.records.map((r) => [r.offset, r.value!.toString()]))).toEqual([
      [1, "v1"],
      [3, "v3"],
      [19, "v4"],
    ]);
    expect(result.nextOffset).toBe(23);
  });
});

describe("consumer on a compacted log", () => {
  async function reader(offset: number): Promise<{ brook: Brook; source: Consumer }> {
    cluster = await startFake();
    cluster.createTopic("compacted", 1);
    for (const batch of [thinned(1, 3), filler(10), thinned(4), filler(3)])
      cluster.appendRaw("compacted", 0, batch);
    const brook = brookFor(cluster);
    consumer = brook.consumer({ maxWaitMs: 20 });
    await consumer.assign([{ topic: "compacted", partition: 0, offset }]);
    return { brook, source: consumer };
  }

  async function take(source: Consumer, count: number): Promise<ConsumedMessage[]> {
    const messages: ConsumedMessage[] = [];
    for await (const message of source) {
      messages.push(message);
      if (messages.length === count) break;
    }
    return messages;
  }

  it("delivers the surviving records with their offsets and ends past the last filler", async () => {
    const { source } = await reader(0);
    const messages = await take(source, 3);
    expect(messages.map((m) => [m.offset, m.key!.toString()])).toEqual([
      [1, "k1"],
      [3, "k3"],
      [19, "k4"],
    ]);
    const run = source.run({ eachMessage: async () => {} });
    await eventually(() => source.position({ topic: "compacted", partition: 0 }) === 23);
    await source.stop();
    await run;
  });

  it("starting inside a filler, skips to the next surviving record", async () => {
    const { source } = await reader(7);
    const [first] = await take(source, 1);
    expect(first.offset).toBe(19);
  });
});
