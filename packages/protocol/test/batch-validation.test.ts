// Rules: the broker and storage trust no byte they did not check (DESIGN §4, §6). A CRC catches any change
// to the covered bytes, a cut batch is reported as torn, lengths off the wire are bounded by the bytes
// present before anything is allocated, and patching baseOffset / partitionLeaderEpoch keeps the CRC valid.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  CRC_OFFSET,
  decodeRecordBatch,
  decodeRecordBatches,
  encodeRecordBatch,
  patchBaseOffset,
  patchPartitionLeaderEpoch,
  scanBatches,
  splitBatches,
  validateBatch,
} from "../src/index.js";
import { brookErrorCode, recordArbitrary, refreshCrc } from "./helpers.js";

const records = [
  { key: "user-1", value: "hello", headers: { trace: "abc" }, timestamp: 1_700_000_000_000 },
  { key: null, value: Buffer.from([0, 1, 2, 255]), timestamp: 1_700_000_000_500 },
  { key: "ключ", value: "😀", timestamp: 1_699_999_999_000 },
];
const plain = encodeRecordBatch(records, { producerId: 7, producerEpoch: 0, baseSequence: 0 });
const gzipped = encodeRecordBatch(records, { compression: "gzip" });

function copy(batch: Buffer): Buffer {
  return Buffer.from(batch);
}

/** Records the largest Buffer allocation made while `action` runs. */
function largestAllocation(action: () => void): number {
  let largest = 0;
  const spies = (["alloc", "allocUnsafe", "allocUnsafeSlow"] as const).map((name) => {
    const original = Buffer[name].bind(Buffer) as (size: number, ...rest: unknown[]) => Buffer;
    return vi.spyOn(Buffer, name).mockImplementation(((size: number, ...rest: unknown[]) => {
      largest = Math.max(largest, size);
      return original(size, ...rest);
    }) as never);
  });
  try {
    action();
  } catch {
    // Only the allocations matter here; the errors are checked elsewhere.
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return largest;
}

describe("validateBatch", () => {
  it("accepts what encodeRecordBatch writes and returns its header", () => {
    for (const batch of [plain, gzipped]) {
      expect(validateBatch(batch)).toMatchObject({ recordCount: 3, sizeInBytes: batch.length, magic: 2 });
    }
  });

  it.each([
    ["uncompressed", plain],
    ["gzip", gzipped],
  ])("detects a flip of any bit in the CRC-covered region (%s)", (_, batch) => {
    for (let index = CRC_OFFSET; index < batch.length; index++) {
      for (const bit of [0x01, 0x80]) {
        const flipped = copy(batch);
        flipped[index] ^= bit;
        expect(
          brookErrorCode(() => validateBatch(flipped)),
          `byte ${index} bit ${bit}`,
        ).toBe("CORRUPT_BATCH");
      }
    }
  });

  it("ignores baseOffset and partitionLeaderEpoch, which lie outside the CRC", () => {
    const changed = copy(plain);
    changed.fill(0x11, 0, 8);
    changed.fill(0x22, 12, 16);
    expect(validateBatch(changed).partitionLeaderEpoch).toBe(0x22222222);
  });

  it("reports a cut at every byte as CORRUPT_BATCH, and scanBatches as a torn tail without throwing", () => {
    for (const batch of [plain, gzipped]) {
      for (let cut = 0; cut < batch.length; cut++) {
        const torn = batch.subarray(0, cut);
        expect(
          brookErrorCode(() => validateBatch(torn)),
          `cut at ${cut}`,
        ).toBe("CORRUPT_BATCH");
        expect(
          brookErrorCode(() => decodeRecordBatch(torn)),
          `cut at ${cut}`,
        ).toBe("CORRUPT_BATCH");
        const scan = scanBatches(torn);
        expect(scan).toMatchObject({ batches: [], validBytes: 0, tail: cut === 0 ? "clean" : "torn" });
        expect(decodeRecordBatches(torn)).toEqual([]);
      }
    }
  });

  it("refuses other magic values as UNSUPPORTED_BATCH", () => {
    for (const magic of [0, 1, 3, -1]) {
      const other = copy(plain);
      other.writeInt8(magic, 16);
      expect(brookErrorCode(() => validateBatch(other))).toBe("UNSUPPORTED_BATCH");
    }
  });

  it("refuses a batchLength below the header size, or above maxBytes", () => {
    const short = copy(plain);
    short.writeInt32BE(48, 8);
    expect(brookErrorCode(() => validateBatch(short))).toBe("CORRUPT_BATCH");
    const negative = copy(plain);
    negative.writeInt32BE(-1, 8);
    expect(brookErrorCode(() => validateBatch(negative))).toBe("CORRUPT_BATCH");
    expect(brookErrorCode(() => validateBatch(plain, 0, plain.length - 1))).toBe("RECORD_TOO_LARGE");
    expect(validateBatch(plain, 0, plain.length).sizeInBytes).toBe(plain.length);
  });

  it("refuses a recordCount that disagrees with lastOffsetDelta, even under a valid CRC", () => {
    const moreRecords = copy(plain);
    moreRecords.writeInt32BE(4, 57);
    expect(brookErrorCode(() => validateBatch(refreshCrc(moreRecords)))).toBe("CORRUPT_BATCH");
    const negative = copy(plain);
    negative.writeInt32BE(-1, 57);
    expect(brookErrorCode(() => validateBatch(refreshCrc(negative)))).toBe("CORRUPT_BATCH");
  });

  it("accepts every codec Kafka defines without inflating, so the broker stores Kafka clients' bytes as sent", () => {
    for (const codec of [2, 3, 4]) {
      const compressed = copy(plain);
      compressed.writeInt16BE(codec, ATTRIBUTES_OFFSET);
      expect(validateBatch(refreshCrc(compressed)).compression).toBe(codec);
    }
  });

  it("refuses codec ids 5 to 7, which Kafka does not define, as UNSUPPORTED_BATCH (resending cannot help)", () => {
    for (const codec of [5, 6, 7]) {
      const unknown = copy(plain);
      unknown.writeInt16BE(codec, ATTRIBUTES_OFFSET);
      expect(brookErrorCode(() => validateBatch(refreshCrc(unknown)))).toBe("UNSUPPORTED_BATCH");
    }
  });
});

describe("lengths off the wire", () => {
  const huge = 0x7fffffff;

  it("bound recordCount by the bytes present before decoding", () => {
    for (const batch of [plain, gzipped]) {
      const forged = copy(batch);
      forged.writeInt32BE(huge, 57);
      forged.writeInt32BE(huge - 1, 23);
      expect(brookErrorCode(() => decodeRecordBatch(refreshCrc(forged)))).toBe("CORRUPT_BATCH");
    }
  });

  it("bound record, key, value and header lengths by the bytes left in their record", () => {
    // The first record's fields start right after the header: length, attributes, timestamp, offset, key.
    const recordStart = BATCH_HEADER_BYTES;
    const forgeries = [
      (batch: Buffer) => batch.writeUInt8(0x7e, recordStart), // record length 63 > bytes left in record 1
      (batch: Buffer) => batch.writeUInt8(0x7e, recordStart + 4), // key length 63
      (batch: Buffer) => batch.writeUInt8(0x7d, recordStart + 4), // key length -63
      (batch: Buffer) => batch.writeUInt8(0x7e, recordStart + 11), // value length 63
      (batch: Buffer) => batch.writeUInt8(0x7e, recordStart + 17), // header count 63
    ];
    for (const forge of forgeries) {
      const forged = copy(plain);
      forge(forged);
      expect(brookErrorCode(() => decodeRecordBatch(refreshCrc(forged)))).toBe("CORRUPT_BATCH");
    }
  });

  it("are never used to allocate: no allocation exceeds the input, whatever the bytes say", () => {
    const forged = copy(plain);
    forged.writeInt32BE(huge, 8);
    for (const input of [forged, plain.subarray(0, 40), plain.subarray(0, plain.length - 1)]) {
      expect(largestAllocation(() => validateBatch(input))).toBeLessThanOrEqual(input.length);
      expect(largestAllocation(() => decodeRecordBatch(input))).toBeLessThanOrEqual(input.length);
      expect(largestAllocation(() => scanBatches(input))).toBeLessThanOrEqual(input.length);
    }
  });

  it("only ever produce a BrookError, whatever the bytes inside a CRC-valid batch", () => {
    fc.assert(
      fc.property(
        fc.array(recordArbitrary, { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (input, mutations) => {
          const batch = encodeRecordBatch(input, { nowMs: 1 });
          for (const [index, byte] of mutations) {
            batch[ATTRIBUTES_OFFSET + 2 + (index % (batch.length - ATTRIBUTES_OFFSET - 2))] = byte;
          }
          const allocated = largestAllocation(() => decodeRecordBatch(refreshCrc(batch)));
          expect(allocated).toBeLessThanOrEqual(batch.length);
          brookErrorCode(() => decodeRecordBatch(batch));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("scanBatches / splitBatches", () => {
  const second = encodeRecordBatch([{ value: "x" }], { compression: "gzip", nowMs: 1 });
  const both = Buffer.concat([plain, second]);

  it("walks concatenated batches and returns each with its position", () => {
    const scan = scanBatches(both);
    expect(scan.tail).toBe("clean");
    expect(scan.validBytes).toBe(both.length);
    expect(scan.batches.map((batch) => [batch.position, batch.recordCount])).toEqual([
      [0, 3],
      [plain.length, 1],
    ]);
    expect(splitBatches(both)).toEqual(scan.batches);
  });

  it("tells storage where the last whole batch ends, for a cut at every byte", () => {
    for (let cut = 0; cut <= both.length; cut++) {
      const scan = scanBatches(both.subarray(0, cut));
      const whole = cut >= plain.length ? 1 : 0;
      const clean = cut === 0 || cut === plain.length || cut === both.length;
      expect(scan.batches).toHaveLength(cut === both.length ? 2 : whole);
      expect(scan.validBytes).toBe(cut === both.length ? both.length : whole * plain.length);
      expect(scan.tail, `cut at ${cut}`).toBe(clean ? "clean" : "torn");
      if (!clean) expect(scan.error?.code).toBe("CORRUPT_BATCH");
      if (!clean) expect(brookErrorCode(() => splitBatches(both.subarray(0, cut)))).toBe("CORRUPT_BATCH");
    }
  });

  it("stops at a corrupt batch and says so, without throwing", () => {
    const damaged = Buffer.from(both);
    damaged[plain.length + BATCH_HEADER_BYTES] ^= 0xff;
    const scan = scanBatches(damaged);
    expect(scan).toMatchObject({ validBytes: plain.length, tail: "corrupt" });
    expect(scan.error?.code).toBe("CORRUPT_BATCH");
    expect(scanBatches(damaged, { validateCrc: false }).tail).toBe("clean");
  });

  it("applies maxBatchBytes to every batch", () => {
    expect(scanBatches(both, { maxBatchBytes: second.length }).tail).toBe("corrupt");
    expect(brookErrorCode(() => splitBatches(both, second.length))).toBe("RECORD_TOO_LARGE");
  });
});

describe("patchBaseOffset / patchPartitionLeaderEpoch", () => {
  let batches: Buffer;
  beforeEach(() => {
    batches = Buffer.concat([plain, gzipped]);
  });
  afterEach(() => {
    expect(scanBatches(batches).tail).toBe("clean");
  });

  it("assign offsets as the broker does, leaving the CRC valid", () => {
    let nextOffset = 2 ** 40;
    for (const header of splitBatches(batches)) {
      patchBaseOffset(batches, header.position, nextOffset);
      patchPartitionLeaderEpoch(batches, header.position, 9);
      nextOffset += header.lastOffsetDelta + 1;
    }
    const decoded = decodeRecordBatches(batches);
    expect(decoded.map(({ header }) => [header.baseOffset, header.partitionLeaderEpoch])).toEqual([
      [2 ** 40, 9],
      [2 ** 40 + 3, 9],
    ]);
    expect(decoded.flatMap(({ records }) => records.map((record) => record.offset - 2 ** 40))).toEqual([
      0, 1, 2, 3, 4, 5,
    ]);
  });
});
