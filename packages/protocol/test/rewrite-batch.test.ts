// Log compaction's batch rewrite: a thinned batch keeps its offsets, timestamps, attributes and producer
// fields, and only batches read from a log may be thinned (validation stays strict for producers).

import { describe, expect, it } from "vitest";
import {
  Compression,
  type CompressionName,
  decodeRecordBatches,
  encodeEmptyBatch,
  encodeRecordBatch,
  readBatchHeader,
  rewriteBatch,
  scanBatches,
  validateBatch,
} from "../src/index.js";

const codecs = Object.keys(Compression) as CompressionName[];

function sampleBatch(compression: CompressionName): Buffer {
  const records = Array.from({ length: 6 }, (_, i) => ({
    key: `k${i}`,
    value: i === 3 ? null : `value-${i}`,
    headers: { h: `${i}` },
    timestamp: 1_700_000_000_000 + i * 10,
  }));
  return encodeRecordBatch(records, {
    compression,
    baseOffset: 100,
    partitionLeaderEpoch: 7,
    producerId: 42,
    producerEpoch: 3,
    baseSequence: 11,
  });
}

describe("rewriteBatch", () => {
  it.each(codecs)("keeps offsets, timestamps and header fields of the kept records (%s)", (codec) => {
    const original = sampleBatch(codec);
    const rewritten = rewriteBatch(original, 0, (_, index) => index === 1 || index === 4);
    const before = readBatchHeader(original);
    const after = validateBatch(rewritten, 0, undefined, { acceptCompacted: true });
    expect(after).toMatchObject({
      baseOffset: 100,
      lastOffsetDelta: 5,
      partitionLeaderEpoch: 7,
      attributes: before.attributes,
      baseTimestamp: before.baseTimestamp,
      maxTimestamp: before.maxTimestamp,
      producerId: 42,
      producerEpoch: 3,
      baseSequence: 11,
      recordCount: 2,
    });
    const [decoded] = decodeRecordBatches(rewritten);
    expect(
      decoded.records.map((r) => [r.offset, r.timestamp, r.key?.toString(), r.value?.toString()]),
    ).toEqual([
      [101, 1_700_000_000_010, "k1", "value-1"],
      [104, 1_700_000_000_040, "k4", "value-4"],
    ]);
    expect(decoded.records[0].headers).toEqual([{ key: "h", value: Buffer.from("1") }]);
  });

  it("returns the stored bytes unchanged when every record is kept", () => {
    const original = sampleBatch("gzip");
    expect(rewriteBatch(original, 0, () => true).equals(original)).toBe(true);
  });

  it("returns an empty batch with the producer fields and no codec when no record is kept", () => {
    const rewritten = rewriteBatch(sampleBatch("zstd"), 0, () => false);
    const header = validateBatch(rewritten, 0, undefined, { acceptCompacted: true });
    expect(header).toMatchObject({ recordCount: 0, lastOffsetDelta: 5, producerId: 42, compression: 0 });
    expect(rewritten.length).toBe(61);
    expect(decodeRecordBatches(rewritten)[0].records).toEqual([]);
  });

  it("reads a batch in the middle of a buffer", () => {
    const buf = Buffer.concat([sampleBatch("none"), sampleBatch("lz4")]);
    const second = readBatchHeader(buf, readBatchHeader(buf).sizeInBytes);
    const rewritten = rewriteBatch(buf, second.position, (record) => record.value === null);
    expect(decodeRecordBatches(rewritten)[0].records.map((r) => r.offset)).toEqual([103]);
  });
});

describe("validation of compacted batches", () => {
  const thinned = rewriteBatch(sampleBatch("none"), 0, (_, index) => index === 0);
  const filler = encodeEmptyBatch({
    baseOffset: 0,
    lastOffsetDelta: 999,
    partitionLeaderEpoch: 0,
    attributes: 0,
    baseTimestamp: 0,
    maxTimestamp: 0,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
  });

  it("refuses a thinned batch or a filler from a producer (strict by default)", () => {
    expect(() => validateBatch(thinned)).toThrow(/lastOffsetDelta 5 for 1 records/);
    expect(scanBatches(thinned).tail).toBe("corrupt");
    expect(() => validateBatch(Buffer.concat([sampleBatch("none")]))).not.toThrow();
  });

  it("accepts them from a log, and decodeRecordBatches (fetch responses) always does", () => {
    expect(scanBatches(Buffer.concat([thinned, filler]), { acceptCompacted: true }).tail).toBe("clean");
    const decoded = decodeRecordBatches(Buffer.concat([thinned, filler]));
    expect(decoded.map((b) => [b.header.lastOffset, b.records.length])).toEqual([
      [105, 1],
      [999, 0],
    ]);
  });

  it("still refuses more records than the offsets a batch spans", () => {
    const wrong = sampleBatch("none");
    wrong.writeInt32BE(2, 23); // lastOffsetDelta below recordCount - 1 (CRC now wrong too)
    expect(() => validateBatch(wrong, 0, undefined, { acceptCompacted: true })).toThrow();
  });
});
