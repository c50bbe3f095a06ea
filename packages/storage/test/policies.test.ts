// Pure log policies: segment lookup, rolling, splitting appends, retention.

import { describe, expect, it } from "vitest";
import { defaultLogConfig } from "../src/config.js";
import {
  type SegmentSummary,
  segmentIndexFor,
  segmentRuns,
  segmentsToDelete,
  shouldRoll,
} from "../src/policies.js";

describe("segmentIndexFor", () => {
  it("picks the segment with the largest base offset at or below the offset", () => {
    const segments = [{ baseOffset: 0 }, { baseOffset: 100 }, { baseOffset: 250 }];
    expect(segmentIndexFor(segments, 0)).toBe(0);
    expect(segmentIndexFor(segments, 99)).toBe(0);
    expect(segmentIndexFor(segments, 100)).toBe(1);
    expect(segmentIndexFor(segments, 1_000)).toBe(2);
  });
});

describe("shouldRoll", () => {
  const config = { ...defaultLogConfig, segmentBytes: 1_000, segmentMs: 60_000 };
  const segment = { baseOffset: 0, sizeBytes: 500, firstBatchTimestampMs: 1_000_000, createdMs: 5_000_000 };
  const append = { sizeBytes: 100, lastOffset: 10, maxTimestampMs: 1_000_100, lastModifiedMs: 1_000_100 };

  it("rolls when the append would pass segmentBytes", () => {
    expect(shouldRoll(segment, append, config, 5_000_000)).toBe(false);
    expect(shouldRoll(segment, { ...append, sizeBytes: 501 }, config, 5_000_000)).toBe(true);
  });

  it("never rolls an empty segment, however large the append", () => {
    expect(shouldRoll({ ...segment, sizeBytes: 0 }, { ...append, sizeBytes: 5_000 }, config, 5_000_000)).toBe(
      false,
    );
  });

  it("rolls by record time once the segment spans more than segmentMs", () => {
    expect(
      shouldRoll(segment, { ...append, maxTimestampMs: 1_060_000, lastModifiedMs: 1_060_000 }, config, 0),
    ).toBe(false);
    expect(
      shouldRoll(segment, { ...append, maxTimestampMs: 1_060_001, lastModifiedMs: 1_060_001 }, config, 0),
    ).toBe(true);
  });

  it("falls back to wall time when records carry no timestamp", () => {
    const untimed = { ...segment, firstBatchTimestampMs: -1 };
    expect(shouldRoll(untimed, append, config, 5_060_000)).toBe(false);
    expect(shouldRoll(untimed, append, config, 5_060_001)).toBe(true);
  });

  it("rolls before relative offsets would overflow the index", () => {
    expect(shouldRoll(segment, { ...append, lastOffset: 2 ** 32 }, config, 0)).toBe(true);
  });
});

describe("segmentRuns", () => {
  it("groups batches so each run fits a segment, oversized batches alone", () => {
    const sizes = [400, 400, 400, 1500, 100].map((sizeInBytes) => ({ sizeInBytes }));
    expect(segmentRuns(sizes, 1_000)).toEqual([2, 1, 1, 1]);
  });
});

describe("segmentsToDelete", () => {
  const segments: SegmentSummary[] = [
    { baseOffset: 0, nextOffset: 10, sizeBytes: 100, maxTimestampMs: 1_000, lastModifiedMs: 1_000 },
    { baseOffset: 10, nextOffset: 20, sizeBytes: 100, maxTimestampMs: 2_000, lastModifiedMs: 2_000 },
    { baseOffset: 20, nextOffset: 30, sizeBytes: 100, maxTimestampMs: 3_000, lastModifiedMs: 3_000 },
    { baseOffset: 30, nextOffset: 35, sizeBytes: 50, maxTimestampMs: 4_000, lastModifiedMs: 4_000 },
  ];
  const keepAll = { nowMs: 4_000, retentionMs: -1, retentionBytes: -1, highWatermark: 35 };

  it("deletes nothing when retention is unlimited", () => {
    expect(segmentsToDelete(segments, keepAll)).toBe(0);
  });

  it("deletes segments whose newest record is older than retentionMs", () => {
    expect(segmentsToDelete(segments, { ...keepAll, retentionMs: 1_500 })).toBe(2);
  });

  it("ages a segment without record timestamps from its last write", () => {
    const untimestamped = segments.map((segment) => ({ ...segment, maxTimestampMs: -1 }));
    expect(segmentsToDelete(untimestamped, { ...keepAll, retentionMs: 1_500 })).toBe(2);
    expect(segmentsToDelete(untimestamped, { ...keepAll, retentionMs: 5_000 })).toBe(0);
  });

  it("deletes the oldest segments while the log is over retentionBytes by at least their size", () => {
    expect(segmentsToDelete(segments, { ...keepAll, retentionBytes: 250 })).toBe(1);
    expect(segmentsToDelete(segments, { ...keepAll, retentionBytes: 150 })).toBe(2);
  });

  it("never deletes the active segment", () => {
    expect(segmentsToDelete(segments, { ...keepAll, retentionMs: 0, nowMs: 1_000_000 })).toBe(3);
    expect(segmentsToDelete(segments, { ...keepAll, retentionBytes: 0 })).toBe(3);
  });

  it("never deletes a segment holding offsets at or above the high watermark", () => {
    expect(segmentsToDelete(segments, { ...keepAll, retentionBytes: 0, highWatermark: 19 })).toBe(1);
  });
});
