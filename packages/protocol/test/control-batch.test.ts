// Rule: transaction markers are Kafka's control batches byte for byte
// (docs/transactions.md, "Markers and the partition"): checked against bytes
// laid out by hand from Kafka's RecordBatch v2 and ControlRecord spec, and
// against kafkajs's decoder and its abort-marker test.
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import {
  CONTROL_FLAG_MASK,
  crc32c,
  decodeControlRecord,
  decodeRecordBatch,
  encodeControlBatch,
  encodeRecordBatch,
  readBatchHeader,
  readControlRecord,
  TRANSACTIONAL_FLAG_MASK,
} from "../src/index.js";

const require = createRequire(import.meta.url);
const KafkajsDecoder = require("kafkajs/src/protocol/decoder");
const decodeKafkajsBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder");

const nowMs = 1_700_000_000_123;

/**
 * A marker as Kafka's MemoryRecords.withEndTransactionMarker lays it out:
 * the 61-byte header, then one record of 17 bytes.
 */
function kafkaMarkerBytes(producerId: bigint, producerEpoch: number, type: 0 | 1, coordinatorEpoch: number) {
  const record = Buffer.from([
    0x20, // record length 16, zigzag varint
    0x00, // record attributes
    0x00, // timestamp delta 0 (varlong)
    0x00, // offset delta 0 (varint)
    0x08, // key length 4
    0x00,
    0x00, // key: version 0 (int16)
    0x00,
    type, // key: type (int16)
    0x0c, // value length 6
    0x00,
    0x00, // value: version 0 (int16)
    ...int32(coordinatorEpoch), // value: coordinator epoch (int32)
    0x00, // header count 0
  ]);
  const batch = Buffer.alloc(61 + record.length);
  batch.writeBigInt64BE(0n, 0); // base offset
  batch.writeInt32BE(batch.length - 12, 8); // batch length
  batch.writeInt32BE(-1, 12); // partition leader epoch
  batch.writeInt8(2, 16); // magic
  batch.writeInt16BE(0x30, 21); // attributes: transactional | control
  batch.writeInt32BE(0, 23); // last offset delta
  batch.writeBigInt64BE(BigInt(nowMs), 27); // base timestamp
  batch.writeBigInt64BE(BigInt(nowMs), 35); // max timestamp
  batch.writeBigInt64BE(producerId, 43);
  batch.writeInt16BE(producerEpoch, 51);
  batch.writeInt32BE(-1, 53); // base sequence
  batch.writeInt32BE(1, 57); // record count
  record.copy(batch, 61);
  batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
  return batch;
}

function int32(value: number): number[] {
  const buf = Buffer.alloc(4);
  buf.writeInt32BE(value);
  return [...buf];
}

describe("encodeControlBatch", () => {
  it("writes a COMMIT marker exactly as Kafka does", () => {
    const batch = encodeControlBatch({
      producerId: 4242,
      producerEpoch: 7,
      committed: true,
      coordinatorEpoch: 3,
      nowMs,
    });
    expect(batch.toString("hex")).toBe(kafkaMarkerBytes(4242n, 7, 1, 3).toString("hex"));
  });

  it("writes an ABORT marker exactly as Kafka does", () => {
    const batch = encodeControlBatch({
      producerId: 2 ** 40,
      producerEpoch: 32_767,
      committed: false,
      coordinatorEpoch: 0x7fff_fff0,
      nowMs,
    });
    expect(batch.toString("hex")).toBe(kafkaMarkerBytes(2n ** 40n, 32_767, 0, 0x7fff_fff0).toString("hex"));
  });

  it("sets the transactional and control bits and base sequence -1 in the header", () => {
    const header = readBatchHeader(
      encodeControlBatch({ producerId: 1, producerEpoch: 0, committed: true, coordinatorEpoch: 0, nowMs }),
    );
    expect(header.attributes & (TRANSACTIONAL_FLAG_MASK | CONTROL_FLAG_MASK)).toBe(0x30);
    expect(header).toMatchObject({
      isControl: true,
      isTransactional: true,
      baseSequence: -1,
      recordCount: 1,
    });
  });

  it("refuses a marker without a producer id, epoch or coordinator epoch, or with one its field cannot hold", () => {
    for (const bad of [
      { producerId: -1, producerEpoch: 0, coordinatorEpoch: 0 },
      { producerId: 1, producerEpoch: -1, coordinatorEpoch: 0 },
      { producerId: 1, producerEpoch: 0, coordinatorEpoch: -1 },
      // WriteTxnMarkers carries the epoch as an int32; the fuzzer's 2^31 - 1 threw a RangeError here.
      { producerId: 1, producerEpoch: 2 ** 31 - 1, coordinatorEpoch: 0 },
      { producerId: 1, producerEpoch: 0, coordinatorEpoch: 2 ** 31 },
      { producerId: 2 ** 63, producerEpoch: 0, coordinatorEpoch: 0 },
    ]) {
      expect(() => encodeControlBatch({ ...bad, committed: true })).toThrow(
        expect.objectContaining({ code: "INVALID_REQUEST" }),
      );
    }
  });

  it("is read by kafkajs as a control batch whose abort marker kafkajs recognises", async () => {
    const abort = encodeControlBatch({
      producerId: 99,
      producerEpoch: 2,
      committed: false,
      coordinatorEpoch: 5,
      nowMs,
    });
    const decoded = await decodeKafkajsBatch(new KafkajsDecoder(abort));
    expect(decoded).toMatchObject({
      isControlBatch: true,
      inTransaction: true,
      producerId: "99",
      producerEpoch: 2,
      firstSequence: -1,
    });
    expect(decoded.records).toHaveLength(1);
    expect(decoded.records[0].isControlRecord).toBe(true);
    // kafkajs's filterAbortedMessages ends an aborted transaction on exactly this key.
    expect(Buffer.from(decoded.records[0].key).equals(Buffer.from([0, 0, 0, 0]))).toBe(true);
  });
});

describe("decodeControlRecord and readControlRecord", () => {
  it("round-trips commit and abort with the coordinator epoch", () => {
    for (const committed of [true, false]) {
      const batch = encodeControlBatch({
        producerId: 5,
        producerEpoch: 1,
        committed,
        coordinatorEpoch: 12,
        nowMs,
      });
      const header = readBatchHeader(batch);
      expect(readControlRecord(batch, header)).toEqual({
        type: committed ? "commit" : "abort",
        coordinatorEpoch: 12,
      });
    }
  });

  it("reads a marker at a position inside a larger buffer", () => {
    const data = encodeRecordBatch([{ value: "x" }], { nowMs });
    const marker = encodeControlBatch({
      producerId: 5,
      producerEpoch: 1,
      committed: true,
      coordinatorEpoch: 1,
      nowMs,
    });
    const buf = Buffer.concat([data, marker]);
    const header = readBatchHeader(buf, data.length);
    expect(readControlRecord(buf, header)).toEqual({ type: "commit", coordinatorEpoch: 1 });
  });

  it("names other control record types unknown (Kafka's leader-change records), reading a newer key version", () => {
    const key = Buffer.from([0, 1, 0, 2]);
    expect(decodeControlRecord({ key, value: Buffer.alloc(0) })).toEqual({ type: "unknown", typeId: 2 });
    const commitV1 = Buffer.from([0, 1, 0, 1]);
    expect(decodeControlRecord({ key: commitV1, value: Buffer.from([0, 0, 0, 0, 0, 9]) })).toEqual({
      type: "commit",
      coordinatorEpoch: 9,
    });
  });

  it("refuses short keys and marker values as corrupt", () => {
    expect(() => decodeControlRecord({ key: Buffer.from([0, 0]), value: null })).toThrow(
      expect.objectContaining({ code: "CORRUPT_BATCH" }),
    );
    expect(() => decodeControlRecord({ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0]) })).toThrow(
      expect.objectContaining({ code: "CORRUPT_BATCH" }),
    );
  });

  it("refuses a batch that is not a control batch", () => {
    const data = encodeRecordBatch([{ value: "x" }], { nowMs });
    expect(() => readControlRecord(data, readBatchHeader(data))).toThrow(
      expect.objectContaining({ code: "INVALID_REQUEST" }),
    );
  });

  it("decodes as an ordinary batch too: one record, key and value as laid out", () => {
    const batch = encodeControlBatch({
      producerId: 5,
      producerEpoch: 1,
      committed: true,
      coordinatorEpoch: 4,
      nowMs,
    });
    const { records } = decodeRecordBatch(batch);
    expect(records[0].key?.toString("hex")).toBe("00000001");
    expect(records[0].value?.toString("hex")).toBe("000000000004");
  });
});
