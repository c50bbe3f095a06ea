// Retention deletes whole old segments by time and by size, and the log start offset survives a restart.

import fs from "node:fs";
import path from "node:path";
import { ManualClock } from "@brook/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LogConfig, PartitionLog } from "../src/index.js";
import {
  batchOffsets,
  makeBatch,
  makeUntimestampedBatch,
  openLog,
  segmentFiles,
  tempDir,
} from "./helpers.js";

let dir: string;
let cleanup: () => void;
let log: PartitionLog | undefined;
let clock: ManualClock;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  clock = new ManualClock();
});

afterEach(async () => {
  await log?.close();
  log = undefined;
  cleanup();
});

const hourMs = 60 * 60 * 1000;
/** Two three-record batches of ~150 bytes per segment. */
const segmentBytes = 400;

function appendAt(target: PartitionLog, count: number, leaderEpoch = 0): void {
  for (let i = 0; i < count; i++) {
    target.append(makeBatch(3, { valueBytes: 20, timestampMs: clock.nowMs() }), leaderEpoch);
  }
  target.highWatermark = target.logEndOffset;
}

describe("retention by time", () => {
  const config: Partial<LogConfig> = { segmentBytes, retentionMs: 24 * hourMs };

  it("deletes segments whose newest record is older than retentionMs; an expired active segment is rolled first", async () => {
    log = await openLog(dir, config, { clock });
    appendAt(log, 4); // segments [0-5] [6-11]
    clock.advance(2 * hourMs);
    appendAt(log, 4); // segments [12-17] [18-23]
    expect(log.segmentCount).toBe(4);

    clock.advance(22 * hourMs);
    expect(log.applyRetention()).toEqual({ deletedSegments: 0, logStartOffset: 0 });
    clock.advance(1);
    expect(log.applyRetention()).toEqual({ deletedSegments: 2, logStartOffset: 12 });
    expect(segmentFiles(dir, ".log").map((file) => path.basename(file))).toEqual([
      "00000000000000000012.log",
      "00000000000000000018.log",
    ]);
    expect(() => log!.read(11, 1000)).toThrow(expect.objectContaining({ code: "OFFSET_OUT_OF_RANGE" }));
    expect(batchOffsets(log.read(12, 1).records)[0].baseOffset).toBe(12);

    // An idle partition must not keep records past retention.ms: the active segment is rolled and deleted.
    clock.advance(10 * 24 * hourMs);
    expect(log.applyRetention()).toEqual({ deletedSegments: 2, logStartOffset: 24 });
    expect(log.segmentCount).toBe(1);
    expect(log.logEndOffset).toBe(24);
    expect(log.read(24, 1000).records.length).toBe(0);
  });

  it("keeps segments the high watermark has not passed", async () => {
    log = await openLog(dir, config, { clock });
    appendAt(log, 6);
    log.highWatermark = 7;
    clock.advance(30 * 24 * hourMs);
    expect(log.applyRetention()).toEqual({ deletedSegments: 1, logStartOffset: 6 });
  });

  it("ages segments whose records carry no timestamp from when they were written, not from time zero", async () => {
    log = await openLog(dir, config, { clock });
    for (let i = 0; i < 6; i++) log.append(makeUntimestampedBatch(6), 0);
    log.highWatermark = log.logEndOffset;
    expect(log.segmentCount).toBe(3);
    expect(log.applyRetention().deletedSegments).toBe(0);
    clock.advance(24 * hourMs + 1);
    expect(log.applyRetention()).toEqual({ deletedSegments: 3, logStartOffset: 36 });
  });

  it("keeps everything when retentionMs is -1", async () => {
    log = await openLog(dir, { segmentBytes, retentionMs: -1 }, { clock });
    appendAt(log, 6);
    clock.advance(1_000 * 24 * hourMs);
    expect(log.applyRetention().deletedSegments).toBe(0);
  });
});

describe("retention by size", () => {
  it("deletes the oldest segments while the log is over retentionBytes", async () => {
    log = await openLog(dir, { segmentBytes, retentionMs: -1, retentionBytes: 700 }, { clock });
    appendAt(log, 10);
    const sizeBefore = log.sizeBytes;
    expect(sizeBefore).toBeGreaterThan(1_400);
    const { deletedSegments } = log.applyRetention();
    expect(deletedSegments).toBeGreaterThan(0);
    expect(log.sizeBytes).toBeGreaterThanOrEqual(700);
    expect(log.sizeBytes).toBeLessThan(700 + 2 * 160);
    expect(log.logStartOffset).toBe(deletedSegments * 6);
  });
});

describe("log start offset", () => {
  it("survives a restart, along with the trimmed leader epochs", async () => {
    const config = { segmentBytes, retentionMs: 24 * hourMs };
    log = await openLog(dir, config, { clock });
    appendAt(log, 6, 1);
    clock.advance(25 * hourMs);
    appendAt(log, 1, 1);
    const { logStartOffset } = log.applyRetention();
    expect(logStartOffset).toBeGreaterThan(0);
    expect(log.leaderEpochs).toEqual([{ epoch: 1, startOffset: logStartOffset }]);
    await log.close();

    log = await openLog(dir, config, { clock });
    expect(log.logStartOffset).toBe(logStartOffset);
    expect(log.leaderEpochs).toEqual([{ epoch: 1, startOffset: logStartOffset }]);
    expect(fs.readFileSync(path.join(dir, "log-start-offset"), "utf8")).toBe(`0\n1\n${logStartOffset}\n`);
  });

  it("drops segments a crash left behind below the checkpointed start", async () => {
    const config = { segmentBytes, retentionMs: -1 };
    log = await openLog(dir, config, { clock });
    appendAt(log, 6);
    await log.close();
    log = undefined;
    fs.writeFileSync(path.join(dir, "log-start-offset"), "0\n1\n12\n");
    log = await openLog(dir, config, { clock });
    expect(log.logStartOffset).toBe(12);
    expect(segmentFiles(dir, ".log").map((file) => path.basename(file))).toEqual([
      "00000000000000000012.log",
    ]);
  });
});
