// A source's batches: messages grouped by topic in order, and the producer's per-partition-run answer mapped
// back to each record's offset, as commitRecord (the mirror's offset syncs) needs it.
import type { RecordMetadata } from "@brook/client";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SourceRecord } from "../src/api.js";
import { landedRecords, type Outgoing, topicMessages } from "../src/runtime/source-batches.js";

function outgoing(topic: string, partition: number | undefined, n: number): Outgoing {
  const record: SourceRecord = { sourcePartition: { n }, sourceOffset: { n }, topic, value: n };
  return { record, message: { topic, partition, value: String(n) } };
}

function metadata(topic: string, partition: number, baseOffset: number, recordCount: number): RecordMetadata {
  return {
    topic,
    topicName: topic,
    partition,
    errorCode: 0,
    baseOffset,
    recordCount,
    logAppendTime: -1,
    logStartOffset: 0,
  };
}

describe("topicMessages", () => {
  it("groups by topic in first-seen order and keeps each topic's order", () => {
    const batch = [outgoing("a", 0, 1), outgoing("b", 0, 2), outgoing("a", 1, 3)];
    expect(topicMessages(batch)).toEqual([
      {
        topic: "a",
        messages: [
          { partition: 0, value: "1" },
          { partition: 1, value: "3" },
        ],
      },
      { topic: "b", messages: [{ partition: 0, value: "2" }] },
    ]);
  });
});

describe("landedRecords", () => {
  it("maps each record of a partition to the next offset of that partition's runs", () => {
    const batch = [outgoing("a", 0, 1), outgoing("a", 1, 2), outgoing("a", 0, 3), outgoing("a", 0, 4)];
    const landed = landedRecords(batch, [
      metadata("a", 0, 10, 2),
      metadata("a", 1, 5, 1),
      metadata("a", 0, 20, 1),
    ]);
    expect(landed.map(({ partition, offset }) => [partition, offset])).toEqual([
      [0, 10],
      [1, 5],
      [0, 11],
      [0, 20],
    ]);
  });

  it("maps a record sent alone whatever partition the producer chose", () => {
    expect(landedRecords([outgoing("a", undefined, 1)], [metadata("a", 2, 7, 1)])[0]).toMatchObject({
      partition: 2,
      offset: 7,
    });
  });

  it("gives every record of any batch exactly the offsets its partition's runs hold, in order", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 50 }), (partitions) => {
        const batch = partitions.map((partition, n) => outgoing("t", partition, n));
        const counts = [0, 1, 2, 3].map((p) => partitions.filter((each) => each === p).length);
        const answer = counts.flatMap((count, p) => (count === 0 ? [] : [metadata("t", p, p * 1000, count)]));
        const landed = landedRecords(batch, answer);
        for (const p of [0, 1, 2, 3]) {
          const offsets = landed.filter(({ partition }) => partition === p).map(({ offset }) => offset);
          expect(offsets).toEqual(offsets.map((_, i) => p * 1000 + i));
        }
      }),
    );
  });
});
