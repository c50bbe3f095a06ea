// Rule: a batch we encode decodes back to the same records and header fields (DESIGN §4), compressed or not.
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BATCH_HEADER_BYTES,
  Compression,
  type CompressionName,
  decodeRecordBatch,
  decodeRecordBatches,
  encodeRecordBatch,
  LOG_OVERHEAD,
  type RecordInput,
  readBatchHeader,
} from "../src/index.js";
import {
  asBytes,
  brookErrorCode,
  expectBytes,
  expectedHeaders,
  offsetArbitrary,
  recordArbitrary,
  refreshCrc,
  timestampArbitrary,
} from "./helpers.js";

const producerArbitrary = fc.record({
  baseOffset: offsetArbitrary,
  partitionLeaderEpoch: fc.integer({ min: -1, max: 0x7fffffff }),
  producerId: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
  producerEpoch: fc.integer({ min: -1, max: 0x7fff }),
  baseSequence: fc.integer({ min: -1, max: 0x7fffffff }),
  transactional: fc.boolean(),
  compression: fc.constantFrom<CompressionName>("none", "gzip", "snappy", "lz4", "zstd"),
  nowMs: timestampArbitrary,
});

function expectRoundTrip(records: RecordInput[], options: fc.RecordValue<typeof producerArbitrary>): void {
  const batch = encodeRecordBatch(records, options);
  const { header, records: decoded } = decodeRecordBatch(batch);
  const timestamps = records.map((record) => record.timestamp ?? options.nowMs);
  expect(header).toMatchObject({
    position: 0,
    baseOffset: options.baseOffset,
    sizeInBytes: batch.length,
    batchLength: batch.length - LOG_OVERHEAD,
    partitionLeaderEpoch: options.partitionLeaderEpoch,
    magic: 2,
    compression: Compression[options.compression],
    timestampType: "CreateTime",
    isTransactional: options.transactional,
    isControl: false,
    lastOffsetDelta: records.length - 1,
    lastOffset: options.baseOffset + records.length - 1,
    baseTimestamp: timestamps[0],
    maxTimestamp: Math.max(...timestamps),
    producerId: options.producerId,
    producerEpoch: options.producerEpoch,
    baseSequence: options.baseSequence,
    recordCount: records.length,
  });
  expect(decoded).toHaveLength(records.length);
  decoded.forEach((record, index) => {
    expect(record.offset).toBe(options.baseOffset + index);
    expect(record.timestamp).toBe(timestamps[index]);
    expectBytes(record.key, asBytes(records[index].key));
    expectBytes(record.value, asBytes(records[index].value));
    expect(record.headers).toEqual(expectedHeaders(records[index].headers));
  });
}

describe("encodeRecordBatch / decodeRecordBatch", () => {
  it("round-trips arbitrary records, headers, timestamps, producer fields and compression", () => {
    fc.assert(
      fc.property(
        fc.array(recordArbitrary, { minLength: 1, maxLength: 40 }),
        producerArbitrary,
        expectRoundTrip,
      ),
      { numRuns: 300 },
    );
  });

  it("round-trips a batch of many records", () => {
    const records = Array.from({ length: 5000 }, (_, index) => ({
      key: index % 3 === 0 ? null : `key-${index}`,
      value: Buffer.alloc(index % 200, index),
      headers: index % 7 === 0 ? { trace: `t-${index}` } : undefined,
      timestamp: 1_700_000_000_000 + (index % 11) * 1000 - 5000,
    }));
    for (const compression of ["none", "gzip", "snappy", "lz4", "zstd"] as const) {
      expectRoundTrip(records, {
        baseOffset: 1_000_000,
        partitionLeaderEpoch: 3,
        producerId: 42,
        producerEpoch: 1,
        baseSequence: 77,
        transactional: false,
        compression,
        nowMs: 1,
      });
    }
  });

  it("uses the Kafka defaults for a plain producer: no producer id, epoch or sequence", () => {
    const header = readBatchHeader(encodeRecordBatch([{ value: "v" }], { nowMs: 5 }));
    expect(header).toMatchObject({
      baseOffset: 0,
      partitionLeaderEpoch: -1,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      baseTimestamp: 5,
      maxTimestamp: 5,
    });
  });

  it("takes repeated header keys in array form and keeps their order", () => {
    const headers = [
      { key: "k", value: Buffer.from("1") },
      { key: "k", value: null },
      { key: "é", value: Buffer.from("3") },
    ];
    const [record] = decodeRecordBatch(encodeRecordBatch([{ value: null, headers }], { nowMs: 1 })).records;
    expect(record.headers).toEqual(headers);
  });

  it("gives every record the batch's maxTimestamp when the batch carries log-append time", () => {
    const batch = encodeRecordBatch(
      [
        { value: "a", timestamp: 10 },
        { value: "b", timestamp: 30 },
      ],
      { nowMs: 1 },
    );
    batch.writeInt16BE(batch.readInt16BE(21) | 0x08, 21);
    const { header, records } = decodeRecordBatch(refreshCrc(batch));
    expect(header.timestampType).toBe("LogAppendTime");
    expect(records.map((record) => record.timestamp)).toEqual([30, 30]);
  });

  it("refuses bad input with typed errors", () => {
    expect(brookErrorCode(() => encodeRecordBatch([]))).toBe("INVALID_REQUEST");
    expect(brookErrorCode(() => encodeRecordBatch([{ value: "v", timestamp: -5 }]))).toBe("INVALID_REQUEST");
    expect(brookErrorCode(() => encodeRecordBatch([{ value: "v", timestamp: 1.5 }]))).toBe("INVALID_REQUEST");
    const brotli = { compression: "brotli" as CompressionName };
    expect(brookErrorCode(() => encodeRecordBatch([{ value: "v" }], brotli))).toBe("UNSUPPORTED_BATCH");
  });

  it("refuses to decode codec ids 5 to 7, which Kafka does not define (UNSUPPORTED_BATCH)", () => {
    for (const codec of [5, 6, 7]) {
      const batch = encodeRecordBatch([{ value: "v" }], { nowMs: 1 });
      batch.writeInt16BE(codec, 21);
      expect(brookErrorCode(() => decodeRecordBatch(refreshCrc(batch)))).toBe("UNSUPPORTED_BATCH");
    }
  });

  it("refuses a gzip batch that inflates beyond decompressedBytesMax (RECORD_TOO_LARGE)", () => {
    const batch = encodeRecordBatch([{ value: Buffer.alloc(1 << 20) }], { compression: "gzip", nowMs: 1 });
    expect(batch.length).toBeLessThan(4096);
    expect(brookErrorCode(() => decodeRecordBatch(batch, 0, { decompressedBytesMax: 64 * 1024 }))).toBe(
      "RECORD_TOO_LARGE",
    );
    expect(decodeRecordBatch(batch).records[0].value).toHaveLength(1 << 20);
  });

  it("refuses gzip bytes that do not inflate (CORRUPT_BATCH)", () => {
    const batch = encodeRecordBatch([{ value: "v" }], { compression: "gzip", nowMs: 1 });
    batch.fill(0x41, BATCH_HEADER_BYTES + 10);
    expect(brookErrorCode(() => decodeRecordBatch(refreshCrc(batch)))).toBe("CORRUPT_BATCH");
  });

  it("refuses a gzip batch holding fewer records than it declares", () => {
    const records = Buffer.from(
      encodeRecordBatch([{ value: "v" }], { nowMs: 1 }).subarray(BATCH_HEADER_BYTES),
    );
    const batch = encodeRecordBatch([{ value: "v" }], { compression: "gzip", nowMs: 1 });
    const compressed = gzipSync(records);
    const forged = Buffer.concat([batch.subarray(0, BATCH_HEADER_BYTES), compressed]);
    forged.writeInt32BE(forged.length - LOG_OVERHEAD, 8);
    forged.writeInt32BE(2, 57); // recordCount
    forged.writeInt32BE(1, 23); // lastOffsetDelta
    expect(brookErrorCode(() => decodeRecordBatch(refreshCrc(forged)))).toBe("CORRUPT_BATCH");
  });
});

describe("decodeRecordBatches", () => {
  const first = encodeRecordBatch([{ value: "a" }, { value: "b" }], { baseOffset: 10, nowMs: 1 });
  const second = encodeRecordBatch([{ value: "c" }], { baseOffset: 12, compression: "gzip", nowMs: 1 });

  it("decodes every batch of a fetch response in order", () => {
    const batches = decodeRecordBatches(Buffer.concat([first, second]));
    expect(batches.map((batch) => batch.header.position)).toEqual([0, first.length]);
    expect(batches.flatMap((batch) => batch.records.map((record) => record.value?.toString()))).toEqual([
      "a",
      "b",
      "c",
    ]);
  });

  it("drops a partial batch at the end, as Kafka clients do", () => {
    const cut = Buffer.concat([first, second]).subarray(0, first.length + 20);
    expect(decodeRecordBatches(cut).map((batch) => batch.header.baseOffset)).toEqual([10]);
  });

  it("throws on a corrupt batch", () => {
    const both = Buffer.concat([first, second]);
    both[first.length + BATCH_HEADER_BYTES + 2] ^= 1;
    expect(brookErrorCode(() => decodeRecordBatches(both))).toBe("CORRUPT_BATCH");
  });
});
