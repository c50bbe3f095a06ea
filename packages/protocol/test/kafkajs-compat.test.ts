// Rule: our batches are Kafka's RecordBatch v2 byte for byte (DESIGN §4), checked against an independent
// implementation: kafkajs decodes what we encode, and we decode what kafkajs encodes, field by field.
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CompressionName,
  decodeRecordBatch,
  encodeRecordBatch,
  type RecordInput,
} from "../src/index.js";
import {
  asBytes,
  bytesArbitrary,
  expectBytes,
  expectedHeaders,
  offsetArbitrary,
  recordArbitrary,
} from "./helpers.js";

const require = createRequire(import.meta.url);
const KafkajsDecoder = require("kafkajs/src/protocol/decoder");
const decodeKafkajsBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder");
const { RecordBatch: encodeKafkajsBatch } = require("kafkajs/src/protocol/recordBatch/v0");
const encodeKafkajsRecord = require("kafkajs/src/protocol/recordBatch/record/v0");
const { Types: KafkajsCompression } = require("kafkajs/src/protocol/message/compression");
const Long = require("kafkajs/src/utils/long");

interface KafkajsRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: { [key: string]: Buffer | null | (Buffer | null)[] };
}

/** kafkajs folds headers into an object, turning repeated keys into arrays; fold ours the same way. */
function foldHeaders(headers: { key: string; value: Buffer | null }[]): KafkajsRecord["headers"] {
  const folded = new Map<string, Buffer | null | (Buffer | null)[]>();
  for (const { key, value } of headers) {
    const existing = folded.get(key);
    if (existing === undefined) folded.set(key, value);
    else folded.set(key, Array.isArray(existing) ? [...existing, value] : [existing, value]);
  }
  return Object.fromEntries(folded);
}

/**
 * kafkajs folds headers into a plain object and tests `obj[key] === undefined`, so a header named like an
 * Object.prototype member ("__proto__", "constructor") comes out mangled there; such batches are ours to
 * decode but not kafkajs's.
 */
function kafkajsCanFold(records: RecordInput[]): boolean {
  return records.every((record) => expectedHeaders(record.headers).every(({ key }) => !(key in {})));
}

function hexHeaders(headers: KafkajsRecord["headers"]): unknown {
  const hex = (value: Buffer | null) => value?.toString("hex") ?? null;
  return Object.fromEntries(
    Object.entries(headers).map(([key, value]) => [key, Array.isArray(value) ? value.map(hex) : hex(value)]),
  );
}

const optionsArbitrary = fc.record({
  baseOffset: offsetArbitrary,
  partitionLeaderEpoch: fc.integer({ min: 0, max: 0x7fffffff }),
  producerId: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
  producerEpoch: fc.integer({ min: -1, max: 0x7fff }),
  baseSequence: fc.integer({ min: -1, max: 0x7fffffff }),
  transactional: fc.boolean(),
  compression: fc.constantFrom<CompressionName>("none", "gzip"),
  nowMs: fc.integer({ min: 0, max: 2 ** 42 }),
});

describe("Brook → kafkajs", () => {
  it("kafkajs decodes our batches to the same records and header fields", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArbitrary, { minLength: 1, maxLength: 20 }),
        optionsArbitrary,
        async (records, options) => {
          fc.pre(kafkajsCanFold(records));
          const batch = encodeRecordBatch(records, options);
          const decoded = await decodeKafkajsBatch(new KafkajsDecoder(batch));
          const timestamps = records.map((record) => record.timestamp ?? options.nowMs);
          expect(decoded).toMatchObject({
            firstOffset: String(options.baseOffset),
            partitionLeaderEpoch: options.partitionLeaderEpoch,
            lastOffsetDelta: records.length - 1,
            firstTimestamp: String(timestamps[0]),
            maxTimestamp: String(Math.max(...timestamps)),
            producerId: String(options.producerId),
            producerEpoch: options.producerEpoch,
            firstSequence: options.baseSequence,
            inTransaction: options.transactional,
            isControlBatch: false,
          });
          decoded.records.forEach((record: KafkajsRecord, index: number) => {
            const input = records[index];
            expect(record.offset).toBe(String(options.baseOffset + index));
            expect(record.timestamp).toBe(String(timestamps[index]));
            expectBytes(record.key, asBytes(input.key));
            expectBytes(record.value, asBytes(input.value));
            expect(hexHeaders(record.headers)).toEqual(
              hexHeaders(foldHeaders(expectedHeaders(input.headers))),
            );
          });
        },
      ),
      { numRuns: 150 },
    );
  });
});

/** kafkajs's own encoder input: it takes headers as an object, so repeated keys become arrays. */
const kafkajsRecordArbitrary = fc.record({
  key: fc.option(bytesArbitrary, { nil: null }),
  value: fc.option(bytesArbitrary, { nil: null }),
  headers: fc.dictionary(fc.string({ unit: "grapheme", maxLength: 8 }), bytesArbitrary, { maxKeys: 3 }),
  timestampDelta: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
});

describe("kafkajs → Brook", () => {
  it("we decode kafkajs's batches, uncompressed and gzip, field by field", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(kafkajsRecordArbitrary, { minLength: 1, maxLength: 20 }),
        optionsArbitrary,
        async (inputs, options) => {
          const firstTimestamp = 2 ** 41 + options.nowMs;
          const timestamps = inputs.map((input) => firstTimestamp + input.timestampDelta);
          const encoded = await encodeKafkajsBatch({
            compression: options.compression === "gzip" ? KafkajsCompression.GZIP : KafkajsCompression.None,
            firstOffset: Long.fromNumber(options.baseOffset),
            firstTimestamp,
            maxTimestamp: Math.max(...timestamps),
            partitionLeaderEpoch: options.partitionLeaderEpoch,
            lastOffsetDelta: inputs.length - 1,
            transactional: options.transactional,
            producerId: Long.fromNumber(options.producerId),
            producerEpoch: options.producerEpoch,
            firstSequence: options.baseSequence,
            records: inputs.map((input, offsetDelta) => encodeKafkajsRecord({ offsetDelta, ...input })),
          });
          const { header, records } = decodeRecordBatch(encoded.buffer);
          expect(header).toMatchObject({
            baseOffset: options.baseOffset,
            partitionLeaderEpoch: options.partitionLeaderEpoch,
            compression: options.compression === "gzip" ? 1 : 0,
            isTransactional: options.transactional,
            lastOffsetDelta: inputs.length - 1,
            baseTimestamp: firstTimestamp,
            maxTimestamp: Math.max(...timestamps),
            producerId: options.producerId,
            producerEpoch: options.producerEpoch,
            baseSequence: options.baseSequence,
            recordCount: inputs.length,
          });
          records.forEach((record, index) => {
            const input = inputs[index];
            expect(record.offset).toBe(options.baseOffset + index);
            expect(record.timestamp).toBe(timestamps[index]);
            expectBytes(record.key, input.key);
            expectBytes(record.value, input.value);
            expect(record.headers).toEqual(
              Object.entries(input.headers).map(([key, value]) => ({ key, value })),
            );
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it("produces byte-identical uncompressed batches for the same input", async () => {
    const inputs: RecordInput[] = [
      { key: Buffer.from("k1"), value: Buffer.from("v1"), headers: { h: Buffer.from("x") }, timestamp: 1000 },
      { key: null, value: Buffer.from("v2"), timestamp: 1500 },
    ];
    const ours = encodeRecordBatch(inputs, { baseOffset: 5, partitionLeaderEpoch: 2, producerEpoch: 0 });
    const theirs = await encodeKafkajsBatch({
      firstOffset: Long.fromNumber(5),
      firstTimestamp: 1000,
      maxTimestamp: 1500,
      partitionLeaderEpoch: 2,
      lastOffsetDelta: 1,
      producerId: Long.fromNumber(-1),
      producerEpoch: 0,
      firstSequence: -1,
      records: inputs.map((input, offsetDelta) =>
        encodeKafkajsRecord({ offsetDelta, timestampDelta: (input.timestamp ?? 0) - 1000, ...input }),
      ),
    });
    expect(ours.toString("hex")).toBe(theirs.buffer.toString("hex"));
  });
});
