// The log cleaner's schedule: it picks the dirtiest compacted replica at or past its topic's threshold,
// cleans it for one bounded pass, and leaves a replica whose pass failed or made no progress alone for a
// while (doubling), so that the others get their turn.

import type { CleanResult } from "@brook/storage";
import { describe, expect, it } from "vitest";
import { type CleanableReplica, dirtiest, LogCleaner } from "../src/log-cleaner.js";

import { silentLogger } from "./helpers.js";

function replica(
  partition: number,
  cleanable: CleanableReplica["cleanable"],
  clean: (limits: { offsetMapEntriesMax: number; bytesMax: number }) => CleanResult = () => ({
    segmentsCleaned: 1,
    bytesBefore: 100,
    bytesAfter: 40,
    recordsRemoved: 6,
    firstDirtyOffset: 10,
  }),
): CleanableReplica & { passes: { offsetMapEntriesMax: number; bytesMax: number }[] } {
  const passes: { offsetMapEntriesMax: number; bytesMax: number }[] = [];
  return {
    topic: "t",
    partition,
    cleanable,
    passes,
    clean: async (limits) => {
      passes.push(limits);
      return clean(limits);
    },
  };
}

describe("dirtiest", () => {
  it("picks the dirtiest compacted replica at or past its threshold", () => {
    const chosen = dirtiest([
      replica(0, undefined), // deletes only
      replica(1, { dirtyRatio: 0.4, minCleanableDirtyRatio: 0.5 }), // under its threshold
      replica(2, { dirtyRatio: 0.6, minCleanableDirtyRatio: 0.5 }),
      replica(3, { dirtyRatio: 0.9, minCleanableDirtyRatio: 0.5 }),
      replica(4, { dirtyRatio: 0.7, minCleanableDirtyRatio: 0.1 }),
    ]);
    expect(chosen?.partition).toBe(3);
  });

  it("picks nothing when no compacted replica is dirty enough, and never a clean one", () => {
    expect(
      dirtiest([replica(0, undefined), replica(1, { dirtyRatio: 0.2, minCleanableDirtyRatio: 0.5 })]),
    ).toBe(undefined);
    // A threshold of 0 still needs something dirty.
    expect(dirtiest([replica(0, { dirtyRatio: 0, minCleanableDirtyRatio: 0 })])).toBe(undefined);
  });
});

describe("LogCleaner", () => {
  it("cleans one replica per tick, within the configured bounds", async () => {
    const a = replica(0, { dirtyRatio: 0.8, minCleanableDirtyRatio: 0.5 });
    const b = replica(1, { dirtyRatio: 0.6, minCleanableDirtyRatio: 0.5 });
    const cleaner = new LogCleaner(
      () => [a, b],
      { intervalMs: 1_000, offsetMapEntriesMax: 7, bytesPerPassMax: 99 },
      silentLogger,
    );
    expect((await cleaner.tick())?.recordsRemoved).toBe(6);
    expect(a.passes).toEqual([{ offsetMapEntriesMax: 7, bytesMax: 99 }]);
    expect(b.passes).toEqual([]);
  });

  it("runs one pass at a time: a tick during a pass joins it", async () => {
    let release: () => void = () => undefined;
    const a = replica(0, { dirtyRatio: 0.8, minCleanableDirtyRatio: 0.5 });
    const slow = {
      ...a,
      clean: async (limits: { offsetMapEntriesMax: number; bytesMax: number }) => {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return a.clean(limits);
      },
    };
    const cleaner = new LogCleaner(
      () => [slow],
      { intervalMs: 1_000, offsetMapEntriesMax: 7, bytesPerPassMax: 99 },
      silentLogger,
    );
    const first = cleaner.tick();
    const second = cleaner.tick();
    expect(second).toBe(first);
    release();
    await first;
    expect(a.passes).toHaveLength(1);
    await cleaner.stop();
  });

  it("a failed pass is logged, and the replica is tried again after the interval", async () => {
    let fail = true;
    let nowMs = 0;
    const a = replica(0, { dirtyRatio: 0.8, minCleanableDirtyRatio: 0.5 }, () => {
      if (fail) throw new Error("disk full");
      return { segmentsCleaned: 1, bytesBefore: 1, bytesAfter: 1, recordsRemoved: 0, firstDirtyOffset: 1 };
    });
    const cleaner = new LogCleaner(
      () => [a],
      { intervalMs: 1_000, offsetMapEntriesMax: 7, bytesPerPassMax: 99 },
      silentLogger,
      { nowMs: () => nowMs },
    );
    expect(await cleaner.tick()).toBe(undefined);
    fail = false;
    expect(await cleaner.tick()).toBe(undefined); // backing off
    expect(a.passes).toHaveLength(1);
    nowMs = 1_000;
    expect((await cleaner.tick())?.segmentsCleaned).toBe(1);
    expect(a.passes).toHaveLength(2);
  });

  it("leaves a replica that cannot progress alone, doubling, so the others get their turn", async () => {
    let nowMs = 0;
    let progress = false;
    const stuck = replica(0, { dirtyRatio: 0.9, minCleanableDirtyRatio: 0.5 }, () => ({
      segmentsCleaned: progress ? 1 : 0, // an open transaction holds its last stable offset, say
      bytesBefore: 0,
      bytesAfter: 0,
      recordsRemoved: 0,
      firstDirtyOffset: 0,
    }));
    const other = replica(1, { dirtyRatio: 0.6, minCleanableDirtyRatio: 0.5 });
    const cleaner = new LogCleaner(
      () => [stuck, other],
      { intervalMs: 1_000, offsetMapEntriesMax: 7, bytesPerPassMax: 99 },
      silentLogger,
      { nowMs: () => nowMs },
    );
    const cleanedAt = async (ms: number) => {
      nowMs = ms;
      const before = [stuck.passes.length, other.passes.length];
      await cleaner.tick();
      return stuck.passes.length > (before[0] as number)
        ? "stuck"
        : other.passes.length > (before[1] as number)
          ? "other"
          : "none";
    };
    expect(await cleanedAt(0)).toBe("stuck"); // no progress: skipped for 1 s
    expect(await cleanedAt(500)).toBe("other");
    expect(await cleanedAt(1_000)).toBe("stuck"); // again none: skipped for 2 s
    expect(await cleanedAt(2_500)).toBe("other");
    expect(await cleanedAt(3_000)).toBe("stuck");
    progress = true;
    expect(await cleanedAt(7_000)).toBe("stuck"); // progress: no more back-off
    expect(await cleanedAt(7_001)).toBe("stuck");
  });
});
