// Recovery on open: torn and corrupt tails are cut off, bad indexes rebuilt,
// segments must continue each other's offsets, and a restart keeps everything whole.

import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LogConfig, LogCorruptionError, type PartitionLog } from "../src/index.js";
import { batchOffsets, makeBatch, openLog, readAll, segmentFiles, tempDir } from "./helpers.js";

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

const config: Partial<LogConfig> = { segmentBytes: 400, indexIntervalBytes: 100 };

/** Writes a log of three-record batches across several segments and closes it; returns what it holds. */
async function writeLog(batchCount: number, logConfig = config): Promise<Buffer> {
  const writer = await openLog(dir, logConfig);
  for (let i = 0; i < batchCount; i++) writer.append(makeBatch(3, { valueBytes: 20 }), 0);
  writer.highWatermark = writer.logEndOffset;
  const contents = readAll(writer);
  await writer.close();
  return contents;
}

function lastLogFile(logDir = dir): string {
  return segmentFiles(logDir, ".log").at(-1)!;
}

describe("torn tail", () => {
  it("keeps every whole batch and drops a last batch cut at any byte", async () => {
    // Index every batch, so some index entries also point into or past the torn batch.
    const tornConfig = { ...config, indexIntervalBytes: 0 };
    const writer = await openLog(dir, tornConfig);
    for (let i = 0; i < 5; i++) writer.append(makeBatch(3, { valueBytes: 20 }), 1);
    const whole = readAll(writer);
    const last = makeBatch(2, { valueBytes: 30 });
    writer.append(last, 2);
    expect(writer.segmentCount).toBeGreaterThan(1);
    await writer.close();
    const activeLog = path.basename(lastLogFile());
    const lastPosition = fs.statSync(lastLogFile()).size - last.length;

    for (let keptBytes = 0; keptBytes < last.length; keptBytes++) {
      const copy = `${dir}-torn-${keptBytes}`;
      fs.cpSync(dir, copy, { recursive: true });
      fs.truncateSync(path.join(copy, activeLog), lastPosition + keptBytes);
      const recovered = await openLog(copy, tornConfig);
      try {
        expect(recovered.logEndOffset).toBe(15);
        expect(readAll(recovered)).toEqual(whole);
        expect(fs.statSync(path.join(copy, activeLog)).size).toBe(lastPosition);
        expect(recovered.leaderEpochs).toEqual([{ epoch: 1, startOffset: 0 }]);
        expect(recovered.append(makeBatch(1), 3)).toMatchObject({ baseOffset: 15, lastOffset: 15 });
        expect(batchOffsets(recovered.read(15, 1000).records)).toEqual([{ baseOffset: 15, lastOffset: 15 }]);
      } finally {
        await recovered.close();
        fs.rmSync(copy, { recursive: true, force: true });
      }
    }
  });

  it("keeps a batch of the active segment whose CRC fails as damage when the batches after it verify", async () => {
    const contents = await writeLog(8);
    const file = lastLogFile();
    const bytes = fs.readFileSync(file);
    const batches = batchOffsets(bytes);
    expect(batches.length).toBeGreaterThan(1);
    // Flip one record byte of the first batch in the active segment: rot, not a torn tail.
    bytes[70] ^= 0xff;
    fs.writeFileSync(file, bytes);
    log = await openLog(dir, config);
    expect(log.logEndOffset).toBe(batches.at(-1)!.lastOffset + 1);
    expect(log.damage).toMatchObject({ offset: batches[0].baseOffset, position: 0, file });
    expect(fs.statSync(file).size).toBe(bytes.length);
    expect(() => log!.read(batches[1].baseOffset, 1000)).toThrow(LogCorruptionError);
    log.truncateTo(batches[0].baseOffset);
    expect(log.damage).toBeUndefined();
    expect(readAll(log)).toEqual(contents.subarray(0, contents.length - bytes.length));
  });

  it("cuts the active segment at a corrupt last batch: nothing after it to keep", async () => {
    const contents = await writeLog(8);
    const file = lastLogFile();
    const bytes = fs.readFileSync(file);
    const last = batchOffsets(bytes).at(-1)!;
    bytes[bytes.length - 5] ^= 0xff;
    fs.writeFileSync(file, bytes);
    log = await openLog(dir, config);
    expect(log.damage).toBeUndefined();
    expect(log.logEndOffset).toBe(last.baseOffset);
    expect(readAll(log).length).toBeLessThan(contents.length);
  });

  it("keeps later segments and reports damage when a sealed segment followed by data was cut short", async () => {
    await writeLog(8);
    const files = segmentFiles(dir, ".log");
    expect(files.length).toBeGreaterThan(2);
    const firstSegment = fs.readFileSync(files[0]);
    fs.truncateSync(files[0], firstSegment.length - 1);
    log = await openLog(dir, config);
    const cutBatch = batchOffsets(firstSegment).at(-1)!;
    expect(log.segmentCount).toBe(files.length);
    expect(log.logEndOffset).toBe(24);
    expect(log.damage).toMatchObject({ offset: cutBatch.baseOffset, file: files[0] });
    expect(segmentFiles(dir, ".log")).toEqual(files);
    expect(() => log!.read(cutBatch.baseOffset, 1000)).toThrow(LogCorruptionError);
    log.truncateTo(cutBatch.baseOffset);
    expect(log.damage).toBeUndefined();
    expect(log.segmentCount).toBe(1);
    log.append(makeBatch(1), 0);
    expect(log.logEndOffset).toBe(cutBatch.baseOffset + 1);
  });

  it("cuts a torn sealed segment followed only by empty segments, as a crash right after a roll leaves it", async () => {
    await writeLog(8);
    const files = segmentFiles(dir, ".log");
    for (const file of files.slice(2)) fs.truncateSync(file, 0);
    const secondSegment = fs.readFileSync(files[1]);
    fs.truncateSync(files[1], secondSegment.length - 1);
    log = await openLog(dir, config);
    expect(log.damage).toBeUndefined();
    expect(log.segmentCount).toBe(2);
    expect(log.logEndOffset).toBe(batchOffsets(secondSegment).at(-1)!.baseOffset);
    expect(segmentFiles(dir, ".log")).toEqual(files.slice(0, 2));
  });

  it("drops segments after a gap in the offsets", async () => {
    const contents = await writeLog(8);
    const files = segmentFiles(dir, ".log");
    fs.rmSync(files[1]);
    log = await openLog(dir, config);
    expect(log.segmentCount).toBe(1);
    expect(readAll(log)).toEqual(contents.subarray(0, fs.statSync(files[0]).size));
    expect(segmentFiles(dir, ".index")).toHaveLength(1);
  });
});

describe("index recovery", () => {
  const indexConfig = { segmentBytes: 1000, indexIntervalBytes: 100 };
  const damages: [string, (file: string) => void][] = [
    ["missing", (file) => fs.rmSync(file)],
    ["garbage", (file) => fs.writeFileSync(file, Buffer.from("not an index at all, just bytes!"))],
    ["cut mid-entry", (file) => fs.truncateSync(file, 5)],
    ["missing its last entries", (file) => fs.truncateSync(file, 8)],
    ["pointing past the log", (file) => fs.appendFileSync(file, Buffer.from([0, 0, 1, 0, 0, 1, 0, 0]))],
    ["empty", (file) => fs.truncateSync(file, 0)],
  ];

  it.each(damages)("rebuilds an offset index that is %s", async (_, damage) => {
    const contents = await writeLog(20, indexConfig);
    const index = segmentFiles(dir, ".index")[0];
    const original = fs.readFileSync(index);
    expect(original.length).toBeGreaterThan(16);
    damage(index);
    log = await openLog(dir, indexConfig);
    expect(fs.readFileSync(index)).toEqual(original);
    expect(readAll(log)).toEqual(contents);
    for (let offset = 0; offset < log.logEndOffset; offset++) {
      expect(batchOffsets(log.read(offset, 1).records)[0].baseOffset).toBe(offset - (offset % 3));
    }
  });

  it.each(damages)("rebuilds a time index that is %s", async (_, damage) => {
    await writeLog(20, indexConfig);
    const index = segmentFiles(dir, ".timeindex")[0];
    const original = fs.readFileSync(index);
    damage(index);
    log = await openLog(dir, indexConfig);
    expect(fs.readFileSync(index)).toEqual(original);
    expect(log.offsetForTimestamp(1_700_000_000_000)).toBe(0);
  });

  it("rebuilds the active segment's indexes from its batches", async () => {
    const contents = await writeLog(20, indexConfig);
    const index = segmentFiles(dir, ".index").at(-1)!;
    const original = fs.readFileSync(index);
    expect(original.length).toBeGreaterThan(0);
    fs.writeFileSync(index, Buffer.alloc(64, 0xff));
    log = await openLog(dir, indexConfig);
    expect(fs.readFileSync(index)).toEqual(original);
    expect(readAll(log)).toEqual(contents);
  });
});

describe("restart", () => {
  it("keeps every record, the high watermark and the leader epochs", async () => {
    const writer = await openLog(dir, config);
    writer.append(makeBatch(3), 0);
    writer.append(makeBatch(3), 1);
    for (let i = 0; i < 10; i++) writer.append(makeBatch(3, { valueBytes: 20 }), 2);
    writer.highWatermark = 20;
    const contents = readAll(writer);
    await writer.close();

    log = await openLog(dir, config);
    expect(log.logEndOffset).toBe(36);
    expect(log.highWatermark).toBe(20);
    expect(log.flushedOffset).toBe(36);
    expect(readAll(log)).toEqual(contents);
    expect(log.endOffsetForEpoch(1)).toEqual({ leaderEpoch: 1, endOffset: 6 });
    log.append(makeBatch(1), 2);
    expect(log.logEndOffset).toBe(37);
  });

  it("removes leftover temp files and indexes without a log", async () => {
    await writeLog(12);
    fs.writeFileSync(path.join(dir, "high-watermark.tmp"), "junk");
    fs.writeFileSync(path.join(dir, "00000000000000099999.index"), "orphan");
    log = await openLog(dir, config);
    expect(fs.existsSync(path.join(dir, "high-watermark.tmp"))).toBe(false);
    expect(fs.existsSync(path.join(dir, "00000000000000099999.index"))).toBe(false);
  });

  it("ignores an unreadable high-watermark checkpoint", async () => {
    await writeLog(4);
    fs.writeFileSync(path.join(dir, "high-watermark"), "garbage");
    log = await openLog(dir, config);
    expect(log.highWatermark).toBe(0);
    expect(log.logEndOffset).toBe(12);
  });
});
