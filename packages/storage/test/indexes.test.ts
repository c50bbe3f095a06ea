// Pure index rules: which batches get entries, the floor search, and what makes an index file unusable.

import { describe, expect, it } from "vitest";
import {
  type BatchPlacement,
  emptyIndexCursor,
  encodeOffsetEntries,
  encodeTimeEntries,
  finalTimeEntry,
  floorEntry,
  offsetIndexProblem,
  planIndexEntries,
  timeIndexProblem,
} from "../src/indexes.js";

function placements(sizes: number[], timestamps: number[]): BatchPlacement[] {
  let position = 0;
  return sizes.map((sizeBytes, i) => {
    const placement = { relativeOffset: i * 10, position, sizeBytes, maxTimestampMs: timestamps[i] };
    position += sizeBytes;
    return placement;
  });
}

describe("planIndexEntries", () => {
  it("indexes a batch once intervalBytes were appended since the last entry", () => {
    const plan = planIndexEntries(emptyIndexCursor, placements([60, 60, 60, 60, 60], [1, 2, 3, 4, 5]), 100);
    expect(plan.offsetEntries).toEqual([
      { relativeOffset: 20, position: 120 },
      { relativeOffset: 40, position: 240 },
    ]);
    expect(plan.timeEntries).toEqual([
      { timestampMs: 3, relativeOffset: 20 },
      { timestampMs: 5, relativeOffset: 40 },
    ]);
    expect(plan.cursor).toMatchObject({ bytesSinceLastEntry: 60, maxTimestampMs: 5, lastBatchOffset: 40 });
  });

  it("adds a time entry only when the max timestamp grew", () => {
    const plan = planIndexEntries(emptyIndexCursor, placements([100, 100, 100], [9, 5, 7]), 100);
    expect(plan.offsetEntries.map((entry) => entry.relativeOffset)).toEqual([10, 20]);
    expect(plan.timeEntries).toEqual([{ timestampMs: 9, relativeOffset: 10 }]);
  });

  it("gives the same entries whether batches arrive together or one by one", () => {
    const all = placements([70, 30, 90, 10, 200, 5], [1, 3, 2, 8, 8, 9]);
    const together = planIndexEntries(emptyIndexCursor, all, 100);
    let cursor = emptyIndexCursor;
    const oneByOne = all.flatMap((placement) => {
      const plan = planIndexEntries(cursor, [placement], 100);
      cursor = plan.cursor;
      return plan.offsetEntries;
    });
    expect(oneByOne).toEqual(together.offsetEntries);
    expect(cursor).toEqual(together.cursor);
  });

  it("records the segment's max timestamp in a final entry when it is sealed", () => {
    const plan = planIndexEntries(emptyIndexCursor, placements([100, 100, 10, 10], [1, 2, 3, 50]), 100);
    expect(plan.timeEntries.at(-1)).toEqual({ timestampMs: 3, relativeOffset: 20 });
    expect(finalTimeEntry(plan.cursor)).toEqual({ timestampMs: 50, relativeOffset: 30 });
    expect(finalTimeEntry(emptyIndexCursor)).toBeUndefined();
  });
});

describe("floorEntry", () => {
  const keys = [0, 10, 20, 30];
  it.each([
    [-1, -1],
    [0, 0],
    [9, 0],
    [10, 1],
    [29, 2],
    [1000, 3],
  ])("finds the last key ≤ %i at index %i", (target, expected) => {
    expect(floorEntry(keys.length, (i) => keys[i], target)).toBe(expected);
  });

  it("returns -1 for no entries", () => {
    expect(floorEntry(0, () => 0, 5)).toBe(-1);
  });
});

describe("index validation", () => {
  it("accepts increasing entries inside the log", () => {
    const bytes = encodeOffsetEntries([
      { relativeOffset: 3, position: 100 },
      { relativeOffset: 9, position: 300 },
    ]);
    expect(offsetIndexProblem(bytes, 400)).toBeUndefined();
  });

  it("rejects a torn size, entries going backwards, and entries past the log", () => {
    const good = encodeOffsetEntries([
      { relativeOffset: 3, position: 100 },
      { relativeOffset: 9, position: 300 },
    ]);
    expect(offsetIndexProblem(good.subarray(0, 12), 400)).toMatch(/multiple/);
    expect(offsetIndexProblem(good, 300)).toMatch(/past the log/);
    const backwards = encodeOffsetEntries([
      { relativeOffset: 9, position: 100 },
      { relativeOffset: 3, position: 300 },
    ]);
    expect(offsetIndexProblem(backwards, 400)).toMatch(/not increasing/);
  });

  it("checks time entries against the segment's offsets", () => {
    const bytes = encodeTimeEntries([
      { timestampMs: 5, relativeOffset: 0 },
      { timestampMs: 9, relativeOffset: 7 },
    ]);
    expect(timeIndexProblem(bytes, 8)).toBeUndefined();
    expect(timeIndexProblem(bytes, 7)).toMatch(/past the log/);
    expect(timeIndexProblem(bytes.subarray(0, 13), 8)).toMatch(/multiple/);
  });
});
