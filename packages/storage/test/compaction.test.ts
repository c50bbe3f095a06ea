// Log compaction (PartitionLog.clean): the compacted log reads the same latest value per key as the
// uncompacted one, offsets never move, every offset stays in exactly one batch, recovery and followers
// accept cleaned segments, tombstones wait for delete.retention.ms, transactional batches are untouched,
// a producer's last batch is kept, the map's memory bound gives a partial clean, and a crash at any step
// of the swap reopens to the log before or after.

import fs from "node:fs";
import path from "node:path";
import {
  decodeRecordBatches,
  encodeControlBatch,
  encodeRecordBatch,
  type LogFile,
  ManualClock,
  readBatchHeader,
} from "@brook/protocol";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FileSystem, nodeFileSystem, type PartitionLog } from "../src/index.js";
import { openLog, readAll, tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => void;
const logs: PartitionLog[] = [];

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});

afterEach(async () => {
  for (const log of logs.splice(0)) await log.close().catch(() => undefined);
  cleanup();
});

const baseMs = 1_700_000_000_000;
const cleanDefaults = { nowMs: baseMs, deleteRetentionMs: 1_000_000_000, offsetMapEntriesMax: 100_000 };

interface Write {
  key: string | null;
  value: string | null;
}

function batchOf(
  writes: readonly Write[],
  options: { producerId?: number; transactional?: boolean; timestampMs?: number } = {},
) {
  return encodeRecordBatch(
    writes.map((write) => ({ ...write, timestamp: options.timestampMs ?? baseMs })),
    {
      nowMs: baseMs,
      producerId: options.producerId ?? -1,
      producerEpoch: options.producerId === undefined ? -1 : 0,
      baseSequence: options.producerId === undefined ? -1 : 0,
      transactional: options.transactional,
    },
  );
}

async function open(
  subdir = "",
  config: { segmentBytes: number; segmentMs?: number } = { segmentBytes: 400 },
  fileSystem?: FileSystem,
): Promise<PartitionLog> {
  const log = await openLog(
    path.join(dir, subdir),
    { segmentMs: 1_000_000, ...config },
    { clock: new ManualClock(baseMs), fileSystem },
  );
  logs.push(log);
  return log;
}

interface Seen {
  offset: number;
  key: string | null;
  value: string | null;
}

/** Every record and every batch's offset span, read as a consumer would. */
function contents(log: PartitionLog): { records: Seen[]; spans: [number, number][] } {
  const batches = decodeRecordBatches(readAll(log));
  return {
    records: batches.flatMap((batch) =>
      batch.records.map((r) => ({
        offset: r.offset,
        key: r.key?.toString() ?? null,
        value: r.value?.toString() ?? null,
      })),
    ),
    spans: batches.map((batch) => [batch.header.baseOffset, batch.header.lastOffset]),
  };
}

function latestPerKey(records: readonly Seen[], below: number): Map<string, Seen> {
  const latest = new Map<string, Seen>();
  for (const record of records)
    if (record.key !== null && record.offset < below) latest.set(record.key, record);
  return latest;
}

/** Rule: batches cover every offset from the log start to the log end exactly once, in order. */
function expectContiguous(log: PartitionLog, spans: readonly [number, number][]): void {
  let next = log.logStartOffset;
  for (const [base, last] of spans) {
    expect(base).toBe(next);
    expect(last).toBeGreaterThanOrEqual(base);
    next = last + 1;
  }
  expect(next).toBe(log.logEndOffset);
}

let rolls = 0;

/** Seals the active segment: a batch stamped far past segmentMs after the segment's first one rolls it. */
async function roll(log: PartitionLog): Promise<void> {
  rolls += 1;
  log.append(batchOf([{ key: "roll", value: "x" }], { timestampMs: baseMs + rolls * 10_000_000 }), 0);
}

const writeArbitrary = fc.record({
  key: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom("a", "b", "c", "d", "e", "f") },
    { weight: 1, arbitrary: fc.constant(null) },
  ),
  value: fc.oneof(
    { weight: 6, arbitrary: fc.string({ maxLength: 20 }) },
    { weight: 1, arbitrary: fc.constant(null) },
  ),
});

describe("clean", () => {
  it("keeps the latest value per key below the bound, every surviving offset, and contiguous batches (property)", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(writeArbitrary, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.boolean(),
        async (batches, mapEntries, withProducer) => {
          const log = await open(`p${run++}`);
          for (const [i, writes] of batches.entries()) {
            log.append(batchOf(writes, withProducer ? { producerId: i % 3 } : {}), 0);
          }
          const before = contents(log);
          const upToOffset = log.logEndOffset;
          log.highWatermark = upToOffset;
          // Several calls, as a map smaller than the keys needs: each one cleans up to where its map filled.
          for (let i = 0; i < 20; i++) {
            await log.clean({ ...cleanDefaults, offsetMapEntriesMax: mapEntries, upToOffset, bytesMax: 500 });
          }
          const after = contents(log);
          expectContiguous(log, after.spans);
          const byOffset = new Map(before.records.map((r) => [r.offset, r]));
          for (const record of after.records) expect(byOffset.get(record.offset)).toEqual(record);
          // Every key reads the same latest value (tombstones are recent, so kept), and below the first dirty
          // offset at most the latest record of each key below it survives (none when the map saw a later one).
          const cleanBelow = log.firstDirtyOffset;
          const latestBelow = latestPerKey(before.records, cleanBelow);
          for (const [key, latest] of latestPerKey(before.records, Number.POSITIVE_INFINITY)) {
            const survivors = after.records.filter((r) => r.key === key);
            expect(survivors.at(-1)).toEqual(latest);
            const cleaned = survivors.filter((r) => r.offset < cleanBelow);
            expect(cleaned.length).toBeLessThanOrEqual(1);
            if (cleaned.length === 1) expect(cleaned[0]).toEqual(latestBelow.get(key));
          }
          expect(after.records.filter((r) => r.key === null)).toEqual(
            before.records.filter((r) => r.key === null),
          );
          // Recovery (a full scan of every segment) and a follower accept the cleaned log as it is.
          await log.close();
          for (const name of fs.readdirSync(log.dir))
            if (name.endsWith("index")) fs.rmSync(path.join(log.dir, name));
          const reopened = await open(log.dir.slice(dir.length + 1));
          expect(contents(reopened)).toEqual(after);
          const follower = await open(`follower${run}`);
          follower.appendAsFollower(readAll(reopened));
          expect(contents(follower)).toEqual(after);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("never touches the active segment nor a segment reaching upToOffset", async () => {
    const log = await open();
    for (let i = 0; i < 12; i++) log.append(batchOf([{ key: "k", value: `v${i}` }]), 0);
    log.highWatermark = log.logEndOffset;
    const before = contents(log);
    const result = await log.clean({ ...cleanDefaults, upToOffset: 3 });
    expect(result.segmentsCleaned).toBe(0);
    expect(contents(log)).toEqual(before);
    const full = await log.clean({ ...cleanDefaults, upToOffset: log.logEndOffset });
    expect(full.segmentsCleaned).toBeGreaterThan(0);
    const after = contents(log);
    // The cleaned part ends where the active segment begins, which still holds every record it had.
    const activeBase = log.firstDirtyOffset;
    expect(activeBase).toBeGreaterThan(0);
    expect(after.records.filter((r) => r.offset >= activeBase)).toEqual(
      before.records.filter((r) => r.offset >= activeBase),
    );
    expect(after.records.filter((r) => r.offset < activeBase)).toEqual([]);
    expectContiguous(log, after.spans);
  });

  it("merges consecutive emptied batches into one filler batch", async () => {
    const log = await open("", { segmentBytes: 100_000 });
    for (let i = 0; i < 10; i++)
      log.append(
        batchOf([
          { key: "k", value: `v${i}` },
          { key: "j", value: `w${i}` },
        ]),
        0,
      );
    await roll(log);
    log.highWatermark = log.logEndOffset;
    const result = await log.clean({ ...cleanDefaults, upToOffset: log.logEndOffset });
    expect(result).toMatchObject({ segmentsCleaned: 1, recordsRemoved: 18, firstDirtyOffset: 20 });
    const batches = decodeRecordBatches(readAll(log));
    expect(
      batches.map((b) => [b.header.baseOffset, b.header.lastOffset, b.records.length, b.header.producerId]),
    ).toEqual([
      [0, 17, 0, -1],
      [18, 19, 2, -1],
      [20, 20, 1, -1],
    ]);
    expect(log.dirtyRatio).toBe(0);
    // A read inside a filler starts with the filler, cut to begin at the offset asked for.
    expect(readBatchHeader(log.read(5, 1000).records)).toMatchObject({
      baseOffset: 5,
      lastOffset: 17,
      recordCount: 0,
    });
  });

  it("yields the event loop while it reads, so a node keeps serving during a long pass", async () => {
    const log = await open("", { segmentBytes: 64 * 1024 * 1024 });
    const value = "x".repeat(1000);
    // About 10 MiB in one segment: more than two of the cleaner's 4 MiB steps, map build and rewrite each.
    for (let i = 0; i < 10_000; i++) log.append(batchOf([{ key: `k${i % 50}`, value }]), 0);
    await roll(log);
    log.highWatermark = log.logEndOffset;
    // Timers fire between the pass's steps: no gap between two is anywhere near the whole pass.
    const ticks: number[] = [];
    const ticker = setInterval(() => ticks.push(performance.now()), 0);
    const started = performance.now();
    try {
      const result = await log.clean({ ...cleanDefaults, upToOffset: log.logEndOffset });
      expect(result.recordsRemoved).toBe(10_000 - 50);
    } finally {
      clearInterval(ticker);
    }
    const took = performance.now() - started;
    const gaps = ticks.map((at, i) => at - (i === 0 ? started : ticks[i - 1]));
    expect(Math.max(...gaps)).toBeLessThan(took / 2);
  }, 60_000);

  it("keeps tombstones while the log holds transactional batches, whose older values would come back", async () => {
    const log = await open("", { segmentBytes: 100_000 });
    // A transactional offset commit (never cleaned), committed, then the group deleted by a tombstone.
    log.append(batchOf([{ key: "g/t/0", value: "offset=42" }], { producerId: 7, transactional: true }), 0);
    log.append(
      encodeControlBatch({
        producerId: 7,
        producerEpoch: 0,
        committed: true,
        coordinatorEpoch: 0,
        nowMs: baseMs,
      }),
      0,
    );
    log.append(batchOf([{ key: "g/t/0", value: null }]), 0);
    await roll(log);
    log.highWatermark = log.logEndOffset;
    await log.clean({
      ...cleanDefaults,
      upToOffset: log.logEndOffset,
      nowMs: baseMs + 2_000,
      deleteRetentionMs: 1_000,
    });
    // The tombstone stays, past its horizon: without it the transactional value would read as the latest.
    expect(
      contents(log)
        .records.filter((r) => r.key === "g/t/0")
        .at(-1),
    ).toMatchObject({ value: null });
  });

  it("a follower whose log ends inside the leader's filler catches up", async () => {
    const leader = await open("leader", { segmentBytes: 100_000 });
    const follower = await open("follower", { segmentBytes: 100_000 });
    for (let i = 0; i < 10; i++) leader.append(batchOf([{ key: "k", value: `v${i}` }]), 0);
    follower.appendAsFollower(leader.read(0, 1_000_000, { maxOffset: 5 }).records);
    await roll(leader);
    leader.append(batchOf([{ key: "k", value: "latest" }]), 0);
    leader.highWatermark = leader.logEndOffset;
    await leader.clean({ ...cleanDefaults, upToOffset: leader.logEndOffset });
    // The leader merged offsets 0..9 into one filler; the follower's log ends at 5, inside it.
    follower.appendAsFollower(leader.read(follower.logEndOffset, 1_000_000).records);
    expect(follower.logEndOffset).toBe(leader.logEndOffset);
    expect(contents(follower).records.at(-1)).toMatchObject({ key: "k", value: "latest" });
  });

  it("a read that finds only empty batches goes on to the next segment, so it returns a record", async () => {
    // Segment 1 holds only k's first values (emptied into a filler); segment 2 holds k's latest.
    const log = await open("", { segmentBytes: 100_000 });
    for (let i = 0; i < 5; i++) log.append(batchOf([{ key: "k", value: `old${i}` }]), 0);
    await roll(log);
    log.append(batchOf([{ key: "k", value: "latest" }]), 0);
    await roll(log);
    log.highWatermark = log.logEndOffset;
    await log.clean({ ...cleanDefaults, upToOffset: log.logEndOffset });
    const read = decodeRecordBatches(log.read(0, 1_000).records);
    expect(read[0].records).toHaveLength(0); // the filler first...
    expect(read.flatMap((b) => b.records).map((r) => r.value?.toString())).toContain("latest"); // ...then a record
    // Without room for more than the filler, the read still moves on (one batch past the bytes asked for).
    const tight = decodeRecordBatches(log.read(0, 1).records);
    expect(tight.flatMap((b) => b.records).length).toBeGreaterThan(0);
  });

  it("keeps a latest tombstone until its batch is older than deleteRetentionMs, then removes it", async () => {
    const log = await open("", { segmentBytes: 100_000 });
    log.append(batchOf([{ key: "k", value: "v" }]), 0);
    log.append(batchOf([{ key: "k", value: null }]), 0);
    await roll(log);
    log.highWatermark = log.logEndOffset;
    const upToOffset = log.logEndOffset;
    await log.clean({ ...cleanDefaults, upToOffset, nowMs: baseMs + 500, deleteRetentionMs: 1000 });
    expect(contents(log).records.filter((r) => r.key === "k")).toEqual([
      { offset: 1, key: "k", value: null },
    ]);
    // The first pass is done: a later pass only runs when something is dirty, so add and roll.
    log.append(batchOf([{ key: "other", value: "x" }]), 0);
    await roll(log);
    log.highWatermark = log.logEndOffset;
    await log.clean({
      ...cleanDefaults,
      upToOffset: log.logEndOffset,
      nowMs: baseMs + 2000,
      deleteRetentionMs: 1000,
    });
    expect(contents(log).records.filter((r) => r.key === "k")).toEqual([]);
    expectContiguous(log, contents(log).spans);
  });

  it("leaves transactional batches untouched and does not count them as later writes", async () => {
    const log = await open("", { segmentBytes: 100_000 });
    log.append(batchOf([{ key: "k", value: "plain-1" }]), 0);
    log.append(batchOf([{ key: "k", value: "txn-1" }], { producerId: 9, transactional: true }), 0);
    log.append(batchOf([{ key: "k", value: "txn-2" }], { producerId: 9, transactional: true }), 0);
    await roll(log);
    log.highWatermark = log.logEndOffset;
    await log.clean({ ...cleanDefaults, upToOffset: log.logEndOffset });
    expect(
      contents(log)
        .records.filter((r) => r.key === "k")
        .map((r) => r.value),
    ).toEqual(["plain-1", "txn-1", "txn-2"]);
  });

  it("keeps a producer's emptied last batch with its producer fields, and fills the earlier ones", async () => {
    const log = await open("", { segmentBytes: 100_000 });
    log.append(batchOf([{ key: "k", value: "1" }], { producerId: 5 }), 0);
    log.append(batchOf([{ key: "k", value: "2" }], { producerId: 5 }), 0);
    log.append(batchOf([{ key: "k", value: "3" }]), 0);
    await roll(log);
    log.highWatermark = log.logEndOffset;
    await log.clean({ ...cleanDefaults, upToOffset: log.logEndOffset });
    const batches = decodeRecordBatches(readAll(log));
    expect(batches.map((b) => [b.header.baseOffset, b.header.producerId, b.records.length])).toEqual([
      [0, -1, 0],
      [1, 5, 0],
      [2, -1, 1],
      [3, -1, 1],
    ]);
  });

  it("with a full offset map cleans only below where it filled, and finishes on the next calls", async () => {
    const log = await open("", { segmentBytes: 100_000 });
    for (const key of ["a", "b", "c", "a", "b", "c"]) log.append(batchOf([{ key, value: key }]), 0);
    await roll(log);
    log.highWatermark = log.logEndOffset;
    const first = await log.clean({ ...cleanDefaults, upToOffset: log.logEndOffset, offsetMapEntriesMax: 2 });
    // The map holds a and b (offsets 0, 1); c at offset 2 does not fit, so the log is clean below 2 only.
    expect(first.firstDirtyOffset).toBe(2);
    expect(first.recordsRemoved).toBe(0);
    const second = await log.clean({
      ...cleanDefaults,
      upToOffset: log.logEndOffset,
      offsetMapEntriesMax: 2,
    });
    // Then c and a (offsets 2, 3): b at 4 does not fit; a at 0 goes.
    expect(second.firstDirtyOffset).toBe(4);
    expect(second.recordsRemoved).toBe(1);
    // Then b and c (4, 5); the roll record at 6 does not fit, and its segment is the active one anyway.
    const third = await log.clean({ ...cleanDefaults, upToOffset: log.logEndOffset, offsetMapEntriesMax: 2 });
    expect(third).toMatchObject({ firstDirtyOffset: 6, recordsRemoved: 2 });
    expect(contents(log).records.map((r) => r.offset)).toEqual([3, 4, 5, 6]);
  });

  it("persists the first dirty offset, so a restart does not clean again", async () => {
    const log = await open("", { segmentBytes: 100_000 });
    for (let i = 0; i < 4; i++) log.append(batchOf([{ key: "k", value: `${i}` }]), 0);
    await roll(log);
    log.highWatermark = log.logEndOffset;
    await log.clean({ ...cleanDefaults, upToOffset: log.logEndOffset });
    expect(log.firstDirtyOffset).toBe(4); // the roll batch at 4 is in the active segment
    await log.close();
    const reopened = await open();
    expect(reopened.firstDirtyOffset).toBe(4);
    expect(reopened.dirtyRatio).toBe(0);
    expect(
      (await reopened.clean({ ...cleanDefaults, upToOffset: reopened.logEndOffset })).segmentsCleaned,
    ).toBe(0);
  });

  it("keeps retention, offsetForTimestamp and the log start right on compacted segments", async () => {
    const clock = new ManualClock(baseMs);
    const log = await openLog(dir, { segmentBytes: 400, retentionMs: 1000 }, { clock });
    logs.push(log);
    for (let i = 0; i < 12; i++)
      log.append(batchOf([{ key: `k${i % 2}`, value: "v".repeat(40) }], { timestampMs: baseMs + i }), 0);
    log.highWatermark = log.logEndOffset;
    await log.clean({ ...cleanDefaults, upToOffset: log.logEndOffset });
    expect(log.offsetForTimestamp(baseMs + 5)).toBeLessThanOrEqual(5);
    const found = log.offsetForTimestamp(baseMs + 5)!;
    const fromThere = decodeRecordBatches(log.read(found, 100_000).records).flatMap((b) => b.records);
    expect(fromThere.every((r) => r.timestamp >= baseMs + 5 || r.offset < 5)).toBe(true);
    clock.advance(10_000);
    const retention = log.applyRetention();
    expect(retention.deletedSegments).toBeGreaterThan(0);
    expect(log.firstDirtyOffset).toBeGreaterThanOrEqual(log.logStartOffset);
    expectContiguous(log, contents(log).spans);
  });
});

/** Throws at the `crashAt`-th step of a clean (fsync of a file or directory, rename): the process "dies" there. */
class CrashingFileSystem implements FileSystem {
  steps = 0;
  constructor(public crashAt: number) {}
  mkdirp = nodeFileSystem.mkdirp;
  list = nodeFileSystem.list;
  readFile = nodeFileSystem.readFile;
  writeFileAtomic = nodeFileSystem.writeFileAtomic;
  remove = nodeFileSystem.remove;
  removeDir = nodeFileSystem.removeDir;
  async syncDir(target: string): Promise<void> {
    this.step();
    await nodeFileSystem.syncDir(target);
  }
  rename(from: string, to: string): void {
    this.step();
    nodeFileSystem.rename!(from, to);
  }
  open(file: string): LogFile {
    const real = nodeFileSystem.open(file);
    return {
      size: () => real.size(),
      read: (buffer, position) => real.read(buffer, position),
      write: (buffer, position) => real.write(buffer, position),
      truncate: (sizeBytes) => real.truncate(sizeBytes),
      sync: async () => {
        this.step();
        await real.sync();
      },
      close: () => real.close(),
    };
  }
  private step(): void {
    this.steps += 1;
    if (this.steps === this.crashAt) throw new Error(`simulated crash at step ${this.crashAt}`);
  }
}

describe("a crash during a clean", () => {
  async function fill(log: PartitionLog): Promise<void> {
    for (let i = 0; i < 6; i++)
      log.append(
        batchOf([
          { key: "k", value: `v${i}` },
          { key: `u${i}`, value: "u" },
        ]),
        0,
      );
    await roll(log);
    log.highWatermark = log.logEndOffset;
    await log.flush();
  }

  it("reopens to the log before the clean or after it, whatever step it hit", async () => {
    // Reference run: the log before and after a clean without a crash, and how many steps the clean takes.
    const counting = new CrashingFileSystem(Number.POSITIVE_INFINITY);
    const reference = await open("reference", { segmentBytes: 100_000 }, counting);
    await fill(reference);
    const before = contents(reference);
    const stepsBefore = counting.steps;
    await reference.clean({ ...cleanDefaults, upToOffset: reference.logEndOffset });
    const after = contents(reference);
    const cleanSteps = counting.steps - stepsBefore;
    expect(after).not.toEqual(before);
    expect(cleanSteps).toBeGreaterThanOrEqual(8);
    for (let crashAt = 1; crashAt <= cleanSteps; crashAt++) {
      const name = `crash-${crashAt}`;
      const crashing = new CrashingFileSystem(Number.POSITIVE_INFINITY);
      const log = await open(name, { segmentBytes: 100_000 }, crashing);
      await fill(log);
      crashing.steps = 0;
      crashing.crashAt = crashAt;
      await expect(log.clean({ ...cleanDefaults, upToOffset: log.logEndOffset })).rejects.toThrow();
      logs.splice(logs.indexOf(log), 1); // the process died: nothing more of it runs
      const reopened = await open(name, { segmentBytes: 100_000 });
      const seen = contents(reopened);
      expect([before, after]).toContainEqual(seen);
      expect(
        fs.readdirSync(reopened.dir).filter((f) => f.endsWith(".cleaned") || f.endsWith(".swap")),
      ).toEqual([]);
    }
  });
});

describe("headers of cleaned batches", () => {
  it("keep a thinned batch's lastOffsetDelta so the next batch starts where it did", async () => {
    const log = await open("", { segmentBytes: 100_000 });
    log.append(
      batchOf([
        { key: "a", value: "1" },
        { key: "b", value: "1" },
        { key: "c", value: "1" },
      ]),
      0,
    );
    log.append(batchOf([{ key: "b", value: "2" }]), 0);
    await roll(log);
    log.highWatermark = log.logEndOffset;
    await log.clean({ ...cleanDefaults, upToOffset: log.logEndOffset });
    const first = readBatchHeader(log.read(0, 1000).records);
    expect(first).toMatchObject({ baseOffset: 0, lastOffset: 2, recordCount: 2 });
  });
});
