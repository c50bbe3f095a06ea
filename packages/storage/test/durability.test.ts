// Flush (group commit) and failed writes: flushedOffset only covers fsynced data, concurrent callers share
// one fsync, and a write that fails part way leaves the log exactly as it was.

import fs from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PartitionLog } from "../src/index.js";
import { FaultyFileSystem, makeBatch, openLog, readAll, segmentFiles, tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => void;
let log: PartitionLog | undefined;
let fileSystem: FaultyFileSystem;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  fileSystem = new FaultyFileSystem();
});

afterEach(async () => {
  await log?.close().catch(() => undefined);
  log = undefined;
  cleanup();
});

describe("flush", () => {
  it("advances flushedOffset to the log end offset once the data is fsynced", async () => {
    log = await openLog(dir, {}, { fileSystem });
    log.append(makeBatch(3), 0);
    expect(log.flushedOffset).toBe(0);
    const flushed = log.flush();
    expect(log.flushedOffset).toBe(0);
    await flushed;
    expect(log.flushedOffset).toBe(3);
  });

  it("shares one fsync among callers that arrive while it runs", async () => {
    log = await openLog(dir, {}, { fileSystem });
    log.append(makeBatch(3), 0);
    const syncsBefore = fileSystem.fileSyncs;
    const first = log.flush();
    const second = log.flush();
    expect(second).toBe(first);
    await Promise.all([first, second]);
    expect(fileSystem.fileSyncs - syncsBefore).toBe(1);
    // Nothing new to flush: no fsync at all.
    await log.flush();
    expect(fileSystem.fileSyncs - syncsBefore).toBe(1);
  });

  it("runs one more fsync for everything appended while a flush was in flight", async () => {
    log = await openLog(dir, {}, { fileSystem });
    log.append(makeBatch(3), 0);
    const syncsBefore = fileSystem.fileSyncs;
    const first = log.flush();
    log.append(makeBatch(2), 0);
    const second = log.flush();
    const third = log.flush();
    expect(third).toBe(second);
    expect(second).not.toBe(first);
    await first;
    expect(log.flushedOffset).toBe(3);
    await second;
    expect(log.flushedOffset).toBe(5);
    expect(fileSystem.fileSyncs - syncsBefore).toBe(2);
  });

  it("fsyncs rolled segments that were not yet synced", async () => {
    log = await openLog(dir, { segmentBytes: 300 }, { fileSystem });
    for (let i = 0; i < 6; i++) log.append(makeBatch(3), 0);
    expect(log.segmentCount).toBeGreaterThan(2);
    await log.flush();
    expect(log.flushedOffset).toBe(18);
  });

  it("takes the log offline when fsync fails, since the kernel may have dropped the pages", async () => {
    log = await openLog(dir, {}, { fileSystem });
    log.append(makeBatch(3), 0);
    fileSystem.failSyncs = "EIO";
    await expect(log.flush()).rejects.toMatchObject({ code: "STORAGE_ERROR" });
    expect(log.flushedOffset).toBe(0);
    expect(() => log!.append(makeBatch(1), 0)).toThrow(expect.objectContaining({ code: "STORAGE_ERROR" }));
    fileSystem.failSyncs = undefined;
  });
});

describe("append validation", () => {
  async function assertUnchanged(target: PartitionLog, before: Buffer): Promise<void> {
    expect(target.logEndOffset).toBe(3);
    expect(readAll(target)).toEqual(before);
    expect(fs.statSync(segmentFiles(dir, ".log")[0]).size).toBe(before.length);
  }

  it("refuses a batch with a bad CRC, writing nothing of the append", async () => {
    log = await openLog(dir);
    log.append(makeBatch(3), 0);
    const before = readAll(log);
    const corrupt = makeBatch(2);
    corrupt[corrupt.length - 1] ^= 0x01;
    expect(() => log!.append(Buffer.concat([makeBatch(1), corrupt]), 0)).toThrow(
      expect.objectContaining({ code: "CORRUPT_BATCH" }),
    );
    await assertUnchanged(log, before);
  });

  it("refuses a batch over maxMessageBytes with RECORD_TOO_LARGE", async () => {
    log = await openLog(dir, { maxMessageBytes: 500 });
    log.append(makeBatch(3), 0);
    const before = readAll(log);
    expect(() => log!.append(makeBatch(10, { valueBytes: 100 }), 0)).toThrow(
      expect.objectContaining({ code: "RECORD_TOO_LARGE" }),
    );
    await assertUnchanged(log, before);
  });

  it("refuses other magic values, torn input and empty appends", async () => {
    log = await openLog(dir);
    log.append(makeBatch(3), 0);
    const before = readAll(log);
    const oldFormat = makeBatch(1);
    oldFormat[16] = 1;
    expect(() => log!.append(oldFormat, 0)).toThrow(expect.objectContaining({ code: "UNSUPPORTED_BATCH" }));
    const whole = makeBatch(1);
    expect(() => log!.append(whole.subarray(0, whole.length - 1), 0)).toThrow(
      expect.objectContaining({ code: "CORRUPT_BATCH" }),
    );
    expect(() => log!.append(Buffer.alloc(0), 0)).toThrow(expect.objectContaining({ code: "CORRUPT_BATCH" }));
    await assertUnchanged(log, before);
  });
});

describe("write failures", () => {
  it.each(["ENOSPC", "EIO"])("a write failing part way with %s leaves the log as it was", async (code) => {
    log = await openLog(dir, {}, { fileSystem });
    log.append(makeBatch(3), 0);
    const before = readAll(log);
    fileSystem.failNextWrite = { writtenBytes: 40, code };
    expect(() => log!.append(makeBatch(5), 0)).toThrow(expect.objectContaining({ code: "STORAGE_ERROR" }));
    expect(log.logEndOffset).toBe(3);
    expect(readAll(log)).toEqual(before);
    expect(fs.statSync(segmentFiles(dir, ".log")[0]).size).toBe(before.length);
    // The next append works and lands right after the old data.
    expect(log.append(makeBatch(1), 0)).toMatchObject({ baseOffset: 3, lastOffset: 3 });
    await log.close();
    log = await openLog(dir, {}, { fileSystem });
    expect(log.logEndOffset).toBe(4);
  });

  it("undoes the earlier segments of an append that failed in a later one", async () => {
    log = await openLog(dir, { segmentBytes: 300 }, { fileSystem });
    log.append(makeBatch(3), 0);
    const before = readAll(log);
    // Each batch is over 200 bytes, so each goes to its own segment; the third segment's write fails.
    const appendBatches = [1, 2, 3].map(() => makeBatch(3, { valueBytes: 50 }));
    fileSystem.failNextWrite = { writtenBytes: 10, code: "ENOSPC", suffix: ".log", skipWrites: 2 };
    expect(() => log!.append(Buffer.concat(appendBatches), 0)).toThrow(
      expect.objectContaining({ code: "STORAGE_ERROR" }),
    );
    expect(log.logEndOffset).toBe(3);
    expect(readAll(log)).toEqual(before);
    expect(log.append(makeBatch(1), 0)).toMatchObject({ baseOffset: 3, lastOffset: 3 });
    await log.close();
    log = await openLog(dir, { segmentBytes: 300 }, { fileSystem });
    expect(log.logEndOffset).toBe(4);
  });
});

describe("a truncation on a full disk", () => {
  it("cuts the log, keeps it online, and writes the checkpoints it lowers before the next append", async () => {
    log = await openLog(dir, {}, { fileSystem });
    log.append(makeBatch(3), 0);
    log.append(makeBatch(3), 1);
    await log.flush();
    log.checkpointHighWatermark(); // the recovery point on disk: 6, above the cut
    fileSystem.failCheckpoints = "ENOSPC";
    expect(() => log!.truncateTo(3)).toThrow(/ENOSPC/);
    expect(log.logEndOffset).toBe(3);
    // Still full: nothing is appended while the lowered recovery point is not on disk.
    expect(() => log!.append(makeBatch(1), 2)).toThrow(/ENOSPC/);
    expect(log.logEndOffset).toBe(3);
    fileSystem.failCheckpoints = undefined;
    expect(log.append(makeBatch(1), 2)).toMatchObject({ baseOffset: 3, lastOffset: 3 });
    expect(log.leaderEpochs.map((entry) => entry.epoch)).toEqual([0, 2]);
    await log.close();
    log = await openLog(dir, {}, { fileSystem });
    expect(log.logEndOffset).toBe(4);
    expect(log.leaderEpochs.map((entry) => entry.epoch)).toEqual([0, 2]);
  });
});

describe("closing on a full disk", () => {
  it("closes with the checkpoints as they were, and opens again", async () => {
    log = await openLog(dir, {}, { fileSystem });
    log.append(makeBatch(3), 0);
    log.highWatermark = 3;
    fileSystem.failCheckpoints = "ENOSPC";
    await log.close();
    fileSystem.failCheckpoints = undefined;
    log = await openLog(dir, {}, { fileSystem });
    expect(log.logEndOffset).toBe(3);
  });
});
