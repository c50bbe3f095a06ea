// Appends and reads: offsets, segment rolls, read limits (maxBytes, maxOffset, KIP-74), time lookup, truncation.

import fs from "node:fs";
import { decodeRecordBatches, ManualClock, readBatchHeader } from "@brook/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PartitionLog } from "../src/index.js";
import {
  batchOffsets,
  FaultyFileSystem,
  makeBatch,
  openLog,
  readAll,
  segmentFiles,
  tempDir,
} from "./helpers.js";

let dir: string;
let cleanup: () => void;
let log: PartitionLog | undefined;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});

afterEach(async () => {
  await log?.close();
  log = undefined;
  cleanup();
});

/** Appends `count` batches of `recordsPerBatch` records; returns the batches as appended (offsets patched). */
function appendBatches(target: PartitionLog, count: number, recordsPerBatch = 3, valueBytes = 20): Buffer[] {
  return Array.from({ length: count }, () => {
    const batch = makeBatch(recordsPerBatch, { valueBytes });
    target.append(batch, 0);
    return batch;
  });
}

describe("append and read", () => {
  it("creates the directory and starts empty", async () => {
    log = await openLog(dir);
    expect(fs.existsSync(dir)).toBe(true);
    expect([log.logStartOffset, log.logEndOffset, log.highWatermark, log.flushedOffset]).toEqual([
      0, 0, 0, 0,
    ]);
    expect(log.read(0, 1000).records.length).toBe(0);
  });

  it("assigns contiguous offsets and patches them into the stored batches", async () => {
    log = await openLog(dir);
    expect(log.append(makeBatch(3), 0)).toMatchObject({ baseOffset: 0, lastOffset: 2 });
    expect(log.append(makeBatch(1), 0)).toMatchObject({ baseOffset: 3, lastOffset: 3 });
    expect(log.append(Buffer.concat([makeBatch(2), makeBatch(4)]), 0)).toMatchObject({
      baseOffset: 4,
      lastOffset: 9,
    });
    expect(log.logEndOffset).toBe(10);
    const records = readAll(log);
    expect(batchOffsets(records)).toEqual([
      { baseOffset: 0, lastOffset: 2 },
      { baseOffset: 3, lastOffset: 3 },
      { baseOffset: 4, lastOffset: 5 },
      { baseOffset: 6, lastOffset: 9 },
    ]);
    // The CRC still holds after patching, and records decode with their absolute offsets.
    const decoded = decodeRecordBatches(records);
    expect(decoded.flatMap((batch) => batch.records.map((record) => record.offset))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
  });

  it("stamps the leader epoch into each batch", async () => {
    log = await openLog(dir);
    log.append(makeBatch(1), 7);
    expect(readBatchHeader(log.read(0, 1000).records).partitionLeaderEpoch).toBe(7);
  });

  it("round-trips across many small segments with contiguous offsets", async () => {
    log = await openLog(dir, { segmentBytes: 500, indexIntervalBytes: 150 });
    const appended = appendBatches(log, 60);
    expect(log.segmentCount).toBeGreaterThan(10);
    expect(readAll(log)).toEqual(Buffer.concat(appended));
    const bases = segmentFiles(dir, ".log").map((file) => Number(file.slice(-24, -4)));
    expect(bases[0]).toBe(0);
    for (const file of segmentFiles(dir, ".log")) expect(fs.statSync(file).size).toBeLessThanOrEqual(500);
  });

  it("reads from an offset inside a batch by returning that whole batch", async () => {
    log = await openLog(dir, { segmentBytes: 600, indexIntervalBytes: 100 });
    appendBatches(log, 30, 5);
    for (let offset = 0; offset < log.logEndOffset; offset++) {
      const first = batchOffsets(log.read(offset, 1).records)[0];
      expect(first.baseOffset).toBe(offset - (offset % 5));
    }
  });

  it("returns as many whole batches as fit in maxBytes", async () => {
    log = await openLog(dir);
    const [first] = appendBatches(log, 10);
    const size = first.length;
    expect(log.read(0, size * 3).records.length).toBe(size * 3);
    expect(log.read(0, size * 3 + size - 1).records.length).toBe(size * 3);
  });

  it("returns one whole batch larger than maxBytes so a consumer is never stuck (KIP-74)", async () => {
    log = await openLog(dir);
    log.append(makeBatch(50, { valueBytes: 200 }), 0);
    log.append(makeBatch(1), 0);
    const { records } = log.read(0, 100);
    expect(batchOffsets(records)).toEqual([{ baseOffset: 0, lastOffset: 49 }]);
    expect(log.read(0, 100, { minOneBatch: false }).records.length).toBe(0);
  });

  it("never returns a batch reaching maxOffset", async () => {
    log = await openLog(dir);
    appendBatches(log, 4); // offsets 0-2, 3-5, 6-8, 9-11
    expect(batchOffsets(log.read(0, 1e6, { maxOffset: 9 }).records).map((b) => b.lastOffset)).toEqual([
      2, 5, 8,
    ]);
    expect(batchOffsets(log.read(0, 1e6, { maxOffset: 8 }).records).map((b) => b.lastOffset)).toEqual([2, 5]);
    expect(log.read(6, 1e6, { maxOffset: 6 }).records.length).toBe(0);
  });

  it("refuses offsets outside the log and returns nothing at its end", async () => {
    log = await openLog(dir);
    appendBatches(log, 2);
    expect(() => log!.read(7, 100)).toThrow(expect.objectContaining({ code: "OFFSET_OUT_OF_RANGE" }));
    expect(() => log!.read(-1, 100)).toThrow(expect.objectContaining({ code: "OFFSET_OUT_OF_RANGE" }));
    const atEnd = log.read(6, 100);
    expect(atEnd).toMatchObject({ logEndOffset: 6, logStartOffset: 0 });
    expect(atEnd.records.length).toBe(0);
  });

  it("reads many small batches with a few file reads, not one per batch", async () => {
    const fileSystem = new FaultyFileSystem();
    log = await openLog(dir, {}, { fileSystem });
    const appended = appendBatches(log, 2_000, 1, 5);
    const readsBefore = fileSystem.fileReads;
    const { records } = log.read(1_000, 1024 * 1024);
    expect(records).toEqual(Buffer.concat(appended.slice(1_000)));
    expect(fileSystem.fileReads - readsBefore).toBeLessThanOrEqual(3);
  });

  it("reads across a segment boundary when the offset is a segment's end", async () => {
    log = await openLog(dir, { segmentBytes: 300 });
    appendBatches(log, 6);
    for (let offset = 0; offset < log.logEndOffset; offset += 3) {
      expect(batchOffsets(log.read(offset, 1).records)[0].baseOffset).toBe(offset);
    }
  });
});

describe("segment roll by age", () => {
  it("rolls once records span more than segmentMs", async () => {
    const clock = new ManualClock();
    log = await openLog(dir, { segmentMs: 60_000 }, { clock });
    log.append(makeBatch(1, { timestampMs: clock.nowMs() }), 0);
    clock.advance(60_000);
    log.append(makeBatch(1, { timestampMs: clock.nowMs() }), 0);
    expect(log.segmentCount).toBe(1);
    clock.advance(1);
    log.append(makeBatch(1, { timestampMs: clock.nowMs() }), 0);
    expect(log.segmentCount).toBe(2);
    expect(segmentFiles(dir, ".log").map((file) => file.slice(-24))).toEqual([
      "00000000000000000000.log",
      "00000000000000000002.log",
    ]);
  });
});

describe("offsetForTimestamp", () => {
  it("finds the first batch whose max timestamp reaches the target, across segments", async () => {
    log = await openLog(dir, { segmentBytes: 400, indexIntervalBytes: 100 });
    const baseMs = 1_700_000_000_000;
    for (let i = 0; i < 40; i++) log.append(makeBatch(2, { timestampMs: baseMs + i * 10 }), 0);
    expect(log.segmentCount).toBeGreaterThan(3);
    expect(log.offsetForTimestamp(0)).toBe(0);
    expect(log.offsetForTimestamp(baseMs)).toBe(0);
    expect(log.offsetForTimestamp(baseMs + 1)).toBe(2);
    for (let i = 0; i < 40; i++) {
      expect(log.offsetForTimestamp(baseMs + i * 10)).toBe(i * 2);
      expect(log.offsetForTimestamp(baseMs + i * 10 - 5)).toBe(i * 2);
    }
    expect(log.offsetForTimestamp(baseMs + 391)).toBeUndefined();
  });

  it("finds timestamps that go backwards by the batch's running max", async () => {
    log = await openLog(dir, { indexIntervalBytes: 0 });
    for (const timestampMs of [100, 500, 200, 300, 900]) log.append(makeBatch(1, { timestampMs }), 0);
    expect(log.offsetForTimestamp(250)).toBe(1);
    expect(log.offsetForTimestamp(600)).toBe(4);
  });
});

describe("truncateTo", () => {
  it("drops everything from the batch holding the offset, across segments", async () => {
    log = await openLog(dir, { segmentBytes: 400, indexIntervalBytes: 100 });
    const appended = appendBatches(log, 30);
    const segmentsBefore = log.segmentCount;
    log.highWatermark = log.logEndOffset;
    log.truncateTo(31); // inside the batch 30-32
    expect(log.logEndOffset).toBe(30);
    expect(log.highWatermark).toBe(30);
    expect(log.segmentCount).toBeLessThan(segmentsBefore);
    expect(readAll(log)).toEqual(Buffer.concat(appended.slice(0, 10)));
    // The log continues from the cut, and survives a restart.
    log.append(makeBatch(2), 0);
    expect(log.logEndOffset).toBe(32);
    await log.close();
    log = await openLog(dir, { segmentBytes: 400, indexIntervalBytes: 100 });
    expect(log.logEndOffset).toBe(32);
    expect(batchOffsets(readAll(log)).at(-1)).toEqual({ baseOffset: 30, lastOffset: 31 });
  });

  it("truncates to a segment's base offset and to zero", async () => {
    log = await openLog(dir, { segmentBytes: 300 });
    appendBatches(log, 6);
    log.truncateTo(3);
    expect(log.logEndOffset).toBe(3);
    log.truncateTo(0);
    expect(log.logEndOffset).toBe(0);
    expect(log.read(0, 100).records.length).toBe(0);
    log.append(makeBatch(1), 0);
    expect(log.logEndOffset).toBe(1);
  });

  it("forgets leader epochs that started after the cut", async () => {
    log = await openLog(dir);
    log.append(makeBatch(2), 1);
    log.append(makeBatch(2), 2);
    log.append(makeBatch(2), 3);
    expect(log.endOffsetForEpoch(1)).toEqual({ leaderEpoch: 1, endOffset: 2 });
    log.truncateTo(4);
    expect(log.leaderEpochs).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 2 },
    ]);
    expect(log.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 2, endOffset: 4 });
    expect(log.endOffsetForEpoch(3)).toBeUndefined();
  });
});

describe("appendAsFollower", () => {
  it("keeps the leader's offsets and epochs", async () => {
    const leaderDir = `${dir}-leader`;
    const leader = await openLog(leaderDir);
    try {
      leader.append(makeBatch(2), 4);
      leader.append(makeBatch(3), 5);
      log = await openLog(dir);
      const fetched = leader.read(0, 1e6).records;
      expect(log.appendAsFollower(Buffer.from(fetched))).toMatchObject({ baseOffset: 0, lastOffset: 4 });
      expect(readAll(log)).toEqual(fetched);
      expect(log.leaderEpochs).toEqual([
        { epoch: 4, startOffset: 0 },
        { epoch: 5, startOffset: 2 },
      ]);
      expect(() => log!.appendAsFollower(Buffer.from(fetched))).toThrow(/continue the log at offset 5/);
    } finally {
      await leader.close();
    }
  });
});

describe("high watermark", () => {
  it("is checkpointed atomically and clamped to the log on open", async () => {
    log = await openLog(dir);
    log.append(makeBatch(5), 0);
    expect(() => {
      log!.highWatermark = 6;
    }).toThrow(/within the log/);
    log.highWatermark = 4;
    log.checkpointHighWatermark();
    expect(fs.readFileSync(`${dir}/high-watermark`, "utf8")).toBe("0\n1\n4\n");
    expect(fs.readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });
});

describe("truncateFullyAndStartAt", () => {
  it("empties the log and restarts it at the given offset", async () => {
    log = await openLog(dir, { segmentBytes: 300 });
    appendBatches(log, 5);
    log.truncateFullyAndStartAt(100);
    expect([log.logStartOffset, log.logEndOffset, log.highWatermark, log.segmentCount]).toEqual([
      100, 100, 100, 1,
    ]);
    expect(log.append(makeBatch(2), 3)).toMatchObject({ baseOffset: 100, lastOffset: 101 });
    await log.close();
    log = await openLog(dir, { segmentBytes: 300 });
    expect([log.logStartOffset, log.logEndOffset]).toEqual([100, 102]);
    expect(log.leaderEpochs).toEqual([{ epoch: 3, startOffset: 100 }]);
  });
});

describe("delete", () => {
  it("removes the partition's directory", async () => {
    const doomed = await openLog(dir);
    doomed.append(makeBatch(1), 0);
    doomed.delete();
    expect(fs.existsSync(dir)).toBe(false);
  });
});
