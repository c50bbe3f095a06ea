// Recovery after a power loss, as POSIX allows it (power-loss-disk.ts): nothing past the recovery point was
// ever called durable, so a bad batch there is a torn tail and is cut, with every later segment, even one
// whose fsync completed first; below it a bad batch is rot and stays as damage. A truncation a power loss
// undid brings its batches back with their leader epochs, read from their headers.

import { ManualClock, patchBaseOffset, patchPartitionLeaderEpoch } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import { type LogConfig, LogCorruptionError, PartitionLog } from "../src/index.js";
import { batchOffsets, makeBatch, readAll } from "./helpers.js";
import { loseUnsynced, PowerLossDisk, type PowerLossOutcome } from "./power-loss-disk.ts";

const dir = "/disk/orders-0";
const segment0 = `${dir}/00000000000000000000.log`;
const batchBytes = makeBatch(3, { valueBytes: 20 }).length;
/** Five three-record batches a segment. */
const config: Partial<LogConfig> = { segmentBytes: 5 * batchBytes, indexIntervalBytes: 100 };

function open(disk: PowerLossDisk): Promise<PartitionLog> {
  return PartitionLog.open(dir, config, { clock: new ManualClock(), fileSystem: disk });
}

/** A log of seven batches (offsets 0..20): segment 0 holds 0..14, segment 15 holds 15..20; 0..5 flushed. */
async function twoSegmentsFlushedToSix(disk: PowerLossDisk): Promise<PartitionLog> {
  const log = await open(disk);
  for (let i = 0; i < 2; i++) log.append(makeBatch(3, { valueBytes: 20 }), 0);
  await log.flush();
  log.checkpointHighWatermark();
  for (let i = 0; i < 5; i++) log.append(makeBatch(3, { valueBytes: 20 }), 0);
  expect(log.segmentCount).toBe(2);
  expect(log.logEndOffset).toBe(21);
  return log;
}

/** Segment 0 torn inside its fourth batch (offset 9), everything else as written. */
const tornInsideOffsetNine: PowerLossOutcome = (file, durable, live) => {
  if (file !== segment0 || !live || !durable) return live;
  const at = 3 * batchBytes + 5;
  return Buffer.concat([live.subarray(0, at), durable.subarray(at)]);
};

describe("a sealed segment torn past the recovery point", () => {
  it("is cut there with the later segments, though their fsync completed: no hole", async () => {
    const disk = new PowerLossDisk();
    const log = await twoSegmentsFlushedToSix(disk);
    const flushedRecords = log.read(0, 10_000, { maxOffset: 9 }).records;
    // The later segment reached the disk whole (its fsync finished first); segment 0's tail did not.
    disk.powerLoss(tornInsideOffsetNine);

    const recovered = await open(disk);
    expect(recovered.damage).toBeUndefined();
    expect(recovered.logEndOffset).toBe(9);
    expect(recovered.segmentCount).toBe(1);
    expect(readAll(recovered)).toEqual(flushedRecords);
    expect(recovered.append(makeBatch(1), 1)).toMatchObject({ baseOffset: 9 });
    expect(disk.list(dir).filter((name) => name.endsWith(".log"))).toEqual(["00000000000000000000.log"]);
  });

  it("is found by a full scan when its bytes are zeroed but its size and indexes reached the disk", async () => {
    const disk = new PowerLossDisk();
    await twoSegmentsFlushedToSix(disk);
    // Page-cache writeback wrote the file's later pages and its indexes, but not the page holding offset 9.
    disk.powerLoss((file, _durable, live) => {
      if (file !== segment0 || !live) return live;
      const holed = Buffer.from(live);
      holed.fill(0, 3 * batchBytes, 4 * batchBytes);
      return holed;
    });

    const recovered = await open(disk);
    expect(recovered.damage).toBeUndefined();
    expect(recovered.logEndOffset).toBe(9);
    expect(recovered.segmentCount).toBe(1);
  });

  it("is kept as damage below the recovery point: the bytes had been fsynced, so it is rot", async () => {
    const disk = new PowerLossDisk();
    const log = await twoSegmentsFlushedToSix(disk);
    await log.flush();
    log.checkpointHighWatermark();
    disk.powerLoss((file, _durable, live) => {
      if (file !== segment0 || !live) return live;
      const rotted = Buffer.from(live);
      rotted[3 * batchBytes + 70] ^= 0xff;
      return rotted;
    });

    const recovered = await open(disk);
    expect(recovered.logEndOffset).toBe(21);
    expect(batchOffsets(recovered.read(15, 10_000).records)[0].baseOffset).toBe(15);
    // A sealed segment's rot is found when read (only its tail past the last index entry is checked on open).
    expect(() => recovered.read(9, 10_000)).toThrow(LogCorruptionError);
    expect(recovered.damage).toMatchObject({ offset: 9, file: segment0 });
  });
});

describe("a truncation a power loss undid", () => {
  /** Five one-record batches of epoch 0, flushed, the recovery point checkpointed at 5. */
  async function fiveRecordsOfEpochZero(disk: PowerLossDisk): Promise<PartitionLog> {
    const log = await open(disk);
    log.assignLeaderEpoch(0);
    for (let i = 0; i < 5; i++) log.append(makeBatch(1), 0);
    await log.flush();
    log.checkpointHighWatermark();
    return log;
  }

  it("brings its batches back with their leader epoch, read from their headers", async () => {
    const disk = new PowerLossDisk();
    const log = await fiveRecordsOfEpochZero(disk);
    log.truncateTo(0);
    expect(log.leaderEpochs).toEqual([]);
    disk.powerLoss(loseUnsynced);

    const recovered = await open(disk);
    expect(recovered.logEndOffset).toBe(5);
    expect(recovered.leaderEpochs).toEqual([{ epoch: 0, startOffset: 0 }]);
  });

  it("is cut where a torn rewrite leaves an older epoch after a newer one", async () => {
    const disk = new PowerLossDisk();
    const log = await fiveRecordsOfEpochZero(disk);
    const oneRecordBytes = makeBatch(1).length;
    log.truncateTo(2);
    const fromNewLeader = makeBatch(1);
    patchBaseOffset(fromNewLeader, 0, 2);
    patchPartitionLeaderEpoch(fromNewLeader, 0, 3);
    log.appendAsFollower(fromNewLeader);
    expect(log.leaderEpochs).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 2 },
    ]);
    // The new batch reached the disk, the cut did not: the old batches at 3 and 4 (epoch 0) follow it.
    disk.powerLoss((file, durable, live) => {
      if (file !== segment0 || !live || !durable) return live;
      return Buffer.concat([live, durable.subarray(3 * oneRecordBytes)]);
    });

    const recovered = await open(disk);
    expect(recovered.logEndOffset).toBe(3);
    expect(recovered.leaderEpochs).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 2 },
    ]);
  });
});
