// The log's decisions, kept pure so they are tested without a disk: which
// segment holds an offset, when to roll, which old segments retention deletes.

import type { LogConfig } from "./config.js";
import { floorEntry } from "./indexes.js";

/** Index of the segment whose base offset is the largest ≤ `offset`, or -1; base offsets ascend. */
export function segmentIndexFor(segments: readonly { baseOffset: number }[], offset: number): number {
  return floorEntry(segments.length, (i) => segments[i].baseOffset, offset);
}

/**
 * Splits consecutive batches into runs that each fit in one segment, so one
 * large append rolls where it must instead of overfilling a segment; a batch
 * larger than a segment gets a run of its own. Returns the run lengths.
 */
export function segmentRuns(batches: readonly { sizeInBytes: number }[], segmentBytes: number): number[] {
  const runs: number[] = [];
  let runBytes = 0;
  for (const batch of batches) {
    if (runs.length === 0 || runBytes + batch.sizeInBytes > segmentBytes) {
      runs.push(0);
      runBytes = 0;
    }
    runs[runs.length - 1] += 1;
    runBytes += batch.sizeInBytes;
  }
  return runs;
}

/** Relative offsets are stored as uint32 in the indexes. */
const relativeOffsetMax = 0xffff_ffff;

export interface ActiveSegmentState {
  baseOffset: number;
  sizeBytes: number;
  /** maxTimestamp of the segment's first batch; -1 when empty or untimestamped. */
  firstBatchTimestampMs: number;
  /** When this process created or opened the segment. */
  createdMs: number;
}

export interface PendingAppend {
  sizeBytes: number;
  lastOffset: number;
  maxTimestampMs: number;
}

/**
 * Roll when the append would push the segment past `segmentBytes`, when its
 * offsets would no longer fit the index, or when the segment spans more than
 * `segmentMs`. Like Kafka, age is measured in record time (the new batch's
 * timestamp against the first batch's) so it survives restarts, falling back
 * to wall time since the segment was opened when records carry no timestamp.
 * An empty segment never rolls: an append always fits a fresh segment.
 */
export function shouldRoll(
  segment: ActiveSegmentState,
  append: PendingAppend,
  config: LogConfig,
  nowMs: number,
): boolean {
  if (segment.sizeBytes === 0) return false;
  if (segment.sizeBytes + append.sizeBytes > config.segmentBytes) return true;
  if (append.lastOffset - segment.baseOffset > relativeOffsetMax) return true;
  const ageMs =
    segment.firstBatchTimestampMs >= 0 && append.maxTimestampMs >= 0
      ? append.maxTimestampMs - segment.firstBatchTimestampMs
      : nowMs - segment.createdMs;
  return ageMs > config.segmentMs;
}

export interface SegmentSummary {
  baseOffset: number;
  /** One past the last offset in the segment. */
  nextOffset: number;
  sizeBytes: number;
  /** Largest batch maxTimestamp in the segment; -1 when none. */
  maxTimestampMs: number;
  /** When this process last appended to the segment, or else opened it. */
  lastModifiedMs: number;
}

export interface RetentionInput {
  nowMs: number;
  retentionMs: number;
  retentionBytes: number;
  highWatermark: number;
}

/**
 * How many of the oldest segments retention deletes. Only whole segments go,
 * never the active (last) one, and never one holding offsets at or above the
 * high watermark, which followers or consumers may still need (as Kafka).
 * By time, a segment expires when its newest record is older than
 * `retentionMs` (a segment whose records carry no timestamp ages from its
 * last write instead, as in Kafka; after a restart, from the open); by size, the oldest segments go while the log is larger than
 * `retentionBytes` by at least their size. Either rule deletes a prefix.
 */
export function segmentsToDelete(segments: readonly SegmentSummary[], input: RetentionInput): number {
  const deletable = countWhile(segments.slice(0, -1), (segment) => segment.nextOffset <= input.highWatermark);
  const candidates = segments.slice(0, deletable);
  const byTime =
    input.retentionMs < 0
      ? 0
      : countWhile(candidates, (segment) => input.nowMs - newestTimeMs(segment) > input.retentionMs);
  let excessBytes = segments.reduce((sum, segment) => sum + segment.sizeBytes, 0) - input.retentionBytes;
  const bySize =
    input.retentionBytes < 0
      ? 0
      : countWhile(candidates, (segment) => {
          if (segment.sizeBytes > excessBytes) return false;
          excessBytes -= segment.sizeBytes;
          return true;
        });
  return Math.max(byTime, bySize);
}

/**
 * True when the active segment itself has expired and is fully below the high
 * watermark. Retention never deletes the active segment, so the log rolls it
 * first (as Kafka does); otherwise an idle partition would keep its last
 * records past retention.ms forever.
 */
export function activeSegmentExpired(segments: readonly SegmentSummary[], input: RetentionInput): boolean {
  const active = segments.at(-1);
  return (
    active !== undefined &&
    active.sizeBytes > 0 &&
    input.retentionMs >= 0 &&
    active.nextOffset <= input.highWatermark &&
    input.nowMs - newestTimeMs(active) > input.retentionMs
  );
}

/** Without record timestamps (-1), time zero would make every segment look ancient. */
function newestTimeMs(segment: SegmentSummary): number {
  return segment.maxTimestampMs >= 0 ? segment.maxTimestampMs : segment.lastModifiedMs;
}

function countWhile<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  const index = items.findIndex((item) => !predicate(item));
  return index < 0 ? items.length : index;
}
