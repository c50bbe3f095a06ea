// Rules: a read never returns a batch that fails verification; it returns the verified batches before the
// corruption point, then throws LogCorruptionError there, and the log records the damage; truncating to the
// corruption point repairs it; an index that rotted is rebuilt rather than taken for damage.

import fs from "node:fs";
import {
  ATTRIBUTES_OFFSET,
  CRC_OFFSET,
  crc32c,
  ManualClock,
  PARTITION_LEADER_EPOCH_OFFSET,
} from "@brook/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LogConfig, LogCorruptionError, PartitionLog } from "../src/index.js";
import { batchOffsets, makeBatch, segmentFiles, tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => void;
let log: PartitionLog | undefined;
let found: LogCorruptionError[];

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  found = [];
});

afterEach(async () => {
  await log?.close();
  log = undefined;
  cleanup();
});

// Two batches of three records a segment (offsets 0-5, 6-11, ...); the second batch of each gets an index
// entry, so recovery's check of a sealed segment's tail (from its last entry) never sees the first batch.
const config: Partial<LogConfig> = { segmentBytes: 400, indexIntervalBytes: 100 };

async function open(clock = new ManualClock()): Promise<PartitionLog> {
  log = await PartitionLog.open(dir, config, { clock, onCorruption: (error) => found.push(error) });
  return log;
}

async function writeLog(batchCount: number): Promise<void> {
  const writer = await open();
  for (let i = 0; i < batchCount; i++) writer.append(makeBatch(3, { valueBytes: 20 }), 0);
  writer.highWatermark = writer.logEndOffset;
  await writer.close();
  log = undefined;
}

/** Flips one bit of the `batchIndex`th batch of `file`, inside the bytes its CRC covers. */
function flipInBatch(file: string, batchIndex: number, byteInBatch = ATTRIBUTES_OFFSET + 30): number {
  const bytes = fs.readFileSync(file);
  let position = 0;
  const batches = batchOffsets(bytes);
  for (let i = 0; i < batchIndex; i++) position += bytes.readInt32BE(position + 8) + 12;
  bytes[position + byteInBatch] ^= 0x10;
  fs.writeFileSync(file, bytes);
  return batches[batchIndex].baseOffset;
}

/** Reads from `offset` until the log end or a throw, one batch at a time; returns the offsets read. */
function readFrom(target: PartitionLog, offset: number): { offsets: number[]; error?: unknown } {
  const offsets: number[] = [];
  let at = offset;
  // Each read returns at least one batch or throws, so this ends.
  while (at < target.logEndOffset) {
    try {
      const batches = batchOffsets(target.read(at, 150).records);
      for (const batch of batches) offsets.push(batch.baseOffset);
      at = batches.at(-1)!.lastOffset + 1;
    } catch (error) {
      return { offsets, error };
    }
  }
  return { offsets };
}

describe("verify on read", () => {
  it("a sealed segment's corrupt batch: the batches before it are served, then LogCorruptionError at its offset", async () => {
    await writeLog(9);
    const files = segmentFiles(dir, ".log");
    const corruptOffset = flipInBatch(files[1], 0);
    const opened = await open();
    // Recovery trusts a sealed segment's indexes and checks only its tail, so the read is what finds it.
    expect(opened.damage).toBeUndefined();
    const { offsets, error } = readFrom(opened, 0);
    expect(offsets).toEqual([0, 3]);
    expect(error).toBeInstanceOf(LogCorruptionError);
    expect(error).toMatchObject({
      offset: corruptOffset,
      file: files[1],
      code: "CORRUPT_LOG",
      retriable: true,
    });
    expect(opened.damage).toMatchObject({ offset: corruptOffset, file: files[1] });
    expect(found.map((error) => error.offset)).toEqual([corruptOffset]);
    // Later segments are still served; the damaged range is not.
    expect(readFrom(opened, 12)).toEqual({ offsets: [12, 15, 18, 21, 24] });
    expect(() => opened.read(corruptOffset + 1, 1000)).toThrow(LogCorruptionError);
  });

  it("a batch whose leader epoch (outside the CRC) rotted upwards is corrupt: never served, the log damaged there", async () => {
    await writeLog(9);
    const files = segmentFiles(dir, ".log");
    // A bit of the epoch's low byte (flipInBatch XORs 0x10): epoch 0 becomes 16, which never led this log.
    const corruptOffset = flipInBatch(files[1], 1, PARTITION_LEADER_EPOCH_OFFSET + 3);
    const opened = await open();
    const { offsets, error } = readFrom(opened, 0);
    expect(offsets).toEqual([0, 3, 6]);
    expect(error).toBeInstanceOf(LogCorruptionError);
    expect(error).toMatchObject({ offset: corruptOffset, code: "CORRUPT_LOG" });
    expect(opened.damage?.reason).toMatch(/claims leader epoch 16, but the log's epoch at offset 9 is 0/);
    expect(found.map((e) => e.offset)).toEqual([corruptOffset]);
    // Repaired like any corruption: truncate to it, append again.
    opened.truncateTo(corruptOffset);
    expect(opened.damage).toBeUndefined();
  });

  it("truncating to the corruption point repairs the log: later segments go, appends continue there", async () => {
    await writeLog(9);
    const files = segmentFiles(dir, ".log");
    const corruptOffset = flipInBatch(files[1], 0);
    const opened = await open();
    opened.assignLeaderEpoch(4);
    expect(() => readFrom(opened, 0)).not.toThrow();
    opened.truncateTo(opened.damage!.offset);
    expect(opened.damage).toBeUndefined();
    expect(opened.logEndOffset).toBe(corruptOffset);
    expect(opened.segmentCount).toBe(2);
    expect(opened.leaderEpochs).toEqual([{ epoch: 0, startOffset: 0 }]);
    opened.appendAsFollower(followerBatch(corruptOffset));
    expect(readFrom(opened, 0)).toEqual({ offsets: [0, 3, corruptOffset] });
    await opened.close();
    const reopened = await open();
    expect(reopened.damage).toBeUndefined();
    expect(readFrom(reopened, 0)).toEqual({ offsets: [0, 3, corruptOffset] });
  });

  it("a bit flipped while the log is open is caught by the next read, even of bytes read before", async () => {
    await writeLog(9);
    const opened = await open();
    expect(readFrom(opened, 0).error).toBeUndefined();
    const corruptOffset = flipInBatch(segmentFiles(dir, ".log")[1], 0);
    const { offsets, error } = readFrom(opened, 0);
    expect(offsets).toEqual([0, 3]);
    expect(error).toMatchObject({ offset: corruptOffset });
  });

  it("a bit flipped in the active segment is caught by a read", async () => {
    await writeLog(9);
    const opened = await open();
    opened.append(makeBatch(3, { valueBytes: 20 }), 0);
    const active = segmentFiles(dir, ".log").at(-1)!;
    const corruptOffset = flipInBatch(active, 0);
    expect(() => opened.read(corruptOffset, 1000)).toThrow(LogCorruptionError);
    expect(opened.damage?.offset).toBe(corruptOffset);
  });

  it("a base offset that rotted (outside the CRC) is caught by the offset sequence", async () => {
    await writeLog(9);
    const files = segmentFiles(dir, ".log");
    const corruptOffset = flipInBatch(files[1], 0, 7);
    const opened = await open();
    const { offsets, error } = readFrom(opened, 0);
    expect(offsets).toEqual([0, 3]);
    expect(error).toMatchObject({ offset: corruptOffset });
  });

  it("an offset index that rotted is rebuilt: the read is served whole and nothing is damaged", async () => {
    await writeLog(9);
    const index = segmentFiles(dir, ".index")[1];
    const opened = await open();
    const bytes = fs.readFileSync(index);
    expect(bytes.length).toBeGreaterThan(0);
    bytes[bytes.length - 1] ^= 0x04;
    fs.writeFileSync(index, bytes);
    expect(readFrom(opened, 0)).toEqual({ offsets: [0, 3, 6, 9, 12, 15, 18, 21, 24] });
    expect(opened.damage).toBeUndefined();
    expect(found).toEqual([]);
  });

  it("the cleaner never rewrites a corrupt batch (it would get a fresh CRC): a damaged log is not cleaned", async () => {
    await writeLog(9);
    flipInBatch(segmentFiles(dir, ".log")[0], 0);
    const opened = await open();
    const clean = () =>
      opened.clean({ upToOffset: 27, nowMs: 0, deleteRetentionMs: 0, offsetMapEntriesMax: 1000 });
    await expect(clean()).rejects.toBeInstanceOf(LogCorruptionError);
    expect(opened.damage?.offset).toBe(0);
    expect(await clean()).toMatchObject({ segmentsCleaned: 0 });
  });
});

/** A stored batch as a leader would send it: offsets from `baseOffset`, epoch 5, CRC intact. */
function followerBatch(baseOffset: number): Buffer {
  const batch = makeBatch(1);
  batch.writeBigInt64BE(BigInt(baseOffset), 0);
  batch.writeInt32BE(5, 12);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return batch;
}
