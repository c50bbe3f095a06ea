// The leader's pure replication rules: caught-up tracking, the high
// watermark over the ISR (and KIP-966's min.insync.replicas floor), who
// leaves and who joins the ISR, and where a follower truncates.

import { describe, expect, it } from "vitest";
import {
  afterFetch,
  highWatermarkFor,
  laggingFollowers,
  mayJoinIsr,
  truncationOffset,
  unknownFollower,
} from "../src/replica-progress.js";

describe("caught-up tracking (Kafka's rule)", () => {
  it("a fetch from the leader's log end is caught up now", () => {
    const progress = afterFetch(unknownFollower(0), 10, 10, 500);
    expect(progress).toMatchObject({ logEndOffset: 10, lastCaughtUpMs: 500, leaderEndAtLastFetch: 10 });
  });

  it("a fetch from where the leader ended at the previous fetch was caught up as of that fetch", () => {
    const first = afterFetch(unknownFollower(0), 10, 10, 500); // caught up at 500
    const second = afterFetch(first, 10, 15, 600); // 5 new records since: behind now, but it read all there was at 500
    expect(second.lastCaughtUpMs).toBe(500);
    const third = afterFetch(second, 15, 20, 700); // read to 15, where the leader was at 600
    expect(third.lastCaughtUpMs).toBe(600);
  });

  it("a follower that falls further behind keeps its old caught-up time", () => {
    const first = afterFetch(unknownFollower(0), 10, 10, 500);
    const behind = afterFetch(first, 8, 20, 600);
    const still = afterFetch(behind, 12, 30, 700);
    expect(still.lastCaughtUpMs).toBe(500);
  });
});

describe("the high watermark", () => {
  const followers = (ends: Record<number, number>) =>
    new Map(
      Object.entries(ends).map(([id, end]) => [Number(id), { ...unknownFollower(0), logEndOffset: end }]),
    );

  it("is the smallest durable end across the ISR, the leader included", () => {
    expect(highWatermarkFor(1, 10, [1, 2, 3], followers({ 2: 7, 3: 9 }), 2)).toBe(7);
    expect(highWatermarkFor(1, 5, [1, 2, 3], followers({ 2: 7, 3: 9 }), 2)).toBe(5);
  });

  it("ignores followers outside the ISR", () => {
    expect(highWatermarkFor(1, 10, [1, 3], followers({ 2: 0, 3: 9 }), 2)).toBe(9);
  });

  it("stays while an ISR member has not reported in this epoch", () => {
    expect(highWatermarkFor(1, 10, [1, 2, 3], followers({ 2: 7, 3: -1 }), 2)).toBeUndefined();
    expect(highWatermarkFor(1, 10, [1, 2], new Map(), 1)).toBeUndefined();
  });

  it("stays while the ISR is below min.insync.replicas (KIP-966), even for a leader alone", () => {
    expect(highWatermarkFor(1, 10, [1], new Map(), 2)).toBeUndefined();
    expect(highWatermarkFor(1, 10, [1], new Map(), 1)).toBe(10);
  });
});

describe("the ISR", () => {
  it("drops followers not caught up within the lag time, never the leader", () => {
    const progress = new Map([
      [2, { ...unknownFollower(0), lastCaughtUpMs: 1_000 }],
      [3, { ...unknownFollower(0), lastCaughtUpMs: 9_000 }],
    ]);
    expect(laggingFollowers(1, [1, 2, 3], progress, 10_000, 5_000)).toEqual([2]);
    expect(laggingFollowers(1, [1, 2, 3], progress, 10_000, 20_000)).toEqual([]);
  });

  it("a follower with no progress at all counts as lagging", () => {
    expect(laggingFollowers(1, [1, 4], new Map(), 0, 5_000)).toEqual([4]);
  });

  it("admits a follower that holds everything committed and has reached the leader's epoch", () => {
    const at = (end: number) => ({ ...unknownFollower(0), logEndOffset: end });
    expect(mayJoinIsr(at(10), 10, 8)).toBe(true);
    expect(mayJoinIsr(at(9), 10, 8)).toBe(false); // misses committed records
    expect(mayJoinIsr(at(10), 10, 12)).toBe(false); // has not reached this epoch's records yet
  });
});

describe("follower truncation (KIP-101 with KIP-279)", () => {
  /** A follower whose epochs start at the given offsets and whose log ends at `end`. */
  const follower = (epochStarts: Record<number, number>, end: number, highWatermark = 0) => ({
    logEndOffset: end,
    highWatermark,
    endOffsetForEpoch(epoch: number) {
      const epochs = Object.keys(epochStarts)
        .map(Number)
        .sort((a, b) => a - b);
      const floor = epochs.filter((e) => e <= epoch).at(-1);
      if (floor === undefined) return undefined;
      const next = epochs.find((e) => e > floor);
      return next === undefined ? end : epochStarts[next];
    },
  });

  it("the leader knows our latest epoch: keep up to where its copy of the epoch ends", () => {
    // We wrote 0-9 in epoch 1, the leader's epoch 1 ended at 7 (it led epoch 2 from 7).
    expect(truncationOffset(1, { leaderEpoch: 1, endOffset: 7 }, follower({ 1: 0 }, 10))).toBe(7);
    // The leader's copy is longer than ours: nothing to drop.
    expect(truncationOffset(1, { leaderEpoch: 1, endOffset: 12 }, follower({ 1: 0 }, 10))).toBe(10);
  });

  it("the leader knows only an older epoch: keep up to where that epoch ends on both sides (KIP-279)", () => {
    // We have epoch 1 at 0-4 and epoch 3 (never committed) at 5-9; the leader knows epoch 1 up to 6.
    expect(truncationOffset(3, { leaderEpoch: 1, endOffset: 6 }, follower({ 1: 0, 3: 5 }, 10))).toBe(5);
    // Ours of epoch 1 is longer than the leader's.
    expect(truncationOffset(3, { leaderEpoch: 1, endOffset: 3 }, follower({ 1: 0, 3: 5 }, 10))).toBe(3);
  });

  it("the leader knows no epoch that old: keep only what was committed", () => {
    expect(truncationOffset(1, { leaderEpoch: -1, endOffset: -1 }, follower({ 1: 0 }, 10, 4))).toBe(4);
  });
});
