// The sparse offset and time indexes of one segment. Which batches get an
// entry, how entries are searched and when an index file is unusable are pure
// functions; `IndexFile` only stores the entries.
//
// Offset index entry: relativeOffset uint32 + position uint32 of a batch's
// first byte, keyed by the batch's base offset.
// Time index entry: timestampMs int64 + relativeOffset uint32, meaning "every
// batch up to and including the one at relativeOffset has maxTimestamp ≤
// timestampMs". Entries are strictly increasing in both fields.

import type { LogFile } from "./file-system.js";

export const offsetEntryBytes = 8;
export const timeEntryBytes = 12;

export interface OffsetEntry {
  relativeOffset: number;
  position: number;
}

export interface TimeEntry {
  timestampMs: number;
  relativeOffset: number;
}

/** Where a batch lands in its segment, as far as indexing cares. */
export interface BatchPlacement {
  relativeOffset: number;
  position: number;
  sizeBytes: number;
  maxTimestampMs: number;
}

/** What indexing remembers between appends to one segment. */
export interface IndexCursor {
  bytesSinceLastEntry: number;
  /** Largest batch maxTimestamp in the segment so far; -1 when none. */
  maxTimestampMs: number;
  /** Timestamp of the last time index entry; -1 when none. */
  lastTimeEntryMs: number;
  /** Relative offset of the last time index entry; -1 when none. */
  lastTimeEntryOffset: number;
  /** Relative offset of the last batch placed; -1 when none. */
  lastBatchOffset: number;
}

export const emptyIndexCursor: IndexCursor = {
  bytesSinceLastEntry: 0,
  maxTimestampMs: -1,
  lastTimeEntryMs: -1,
  lastTimeEntryOffset: -1,
  lastBatchOffset: -1,
};

export interface IndexPlan {
  offsetEntries: OffsetEntry[];
  timeEntries: TimeEntry[];
  cursor: IndexCursor;
}

/**
 * Index a batch once at least `intervalBytes` of log were appended since the
 * last entry (as Kafka does), adding a time entry at the same point when the
 * segment's max timestamp has grown.
 */
export function planIndexEntries(
  cursor: IndexCursor,
  batches: readonly BatchPlacement[],
  intervalBytes: number,
): IndexPlan {
  const offsetEntries: OffsetEntry[] = [];
  const timeEntries: TimeEntry[] = [];
  let next = cursor;
  for (const batch of batches) {
    const maxTimestampMs = Math.max(next.maxTimestampMs, batch.maxTimestampMs);
    let { bytesSinceLastEntry, lastTimeEntryMs, lastTimeEntryOffset } = next;
    if (bytesSinceLastEntry >= intervalBytes) {
      offsetEntries.push({ relativeOffset: batch.relativeOffset, position: batch.position });
      if (maxTimestampMs > lastTimeEntryMs) {
        timeEntries.push({ timestampMs: maxTimestampMs, relativeOffset: batch.relativeOffset });
        lastTimeEntryMs = maxTimestampMs;
        lastTimeEntryOffset = batch.relativeOffset;
      }
      bytesSinceLastEntry = 0;
    }
    next = {
      bytesSinceLastEntry: bytesSinceLastEntry + batch.sizeBytes,
      maxTimestampMs,
      lastTimeEntryMs,
      lastTimeEntryOffset,
      lastBatchOffset: batch.relativeOffset,
    };
  }
  return { offsetEntries, timeEntries, cursor: next };
}

/** The time entry a segment gets when it stops being active, so its max timestamp is on disk; or none. */
export function finalTimeEntry(cursor: IndexCursor): TimeEntry | undefined {
  if (
    cursor.maxTimestampMs <= cursor.lastTimeEntryMs ||
    cursor.lastBatchOffset <= cursor.lastTimeEntryOffset
  ) {
    return undefined;
  }
  return { timestampMs: cursor.maxTimestampMs, relativeOffset: cursor.lastBatchOffset };
}

/** Index of the last of `count` entries whose key is ≤ `target`, or -1; keys must increase. */
export function floorEntry(count: number, keyAt: (index: number) => number, target: number): number {
  let low = 0;
  let high = count - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (keyAt(middle) <= target) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

export function encodeOffsetEntries(entries: readonly OffsetEntry[]): Buffer {
  const buf = Buffer.allocUnsafe(entries.length * offsetEntryBytes);
  entries.forEach((entry, i) => {
    buf.writeUInt32BE(entry.relativeOffset, i * offsetEntryBytes);
    buf.writeUInt32BE(entry.position, i * offsetEntryBytes + 4);
  });
  return buf;
}

export function encodeTimeEntries(entries: readonly TimeEntry[]): Buffer {
  const buf = Buffer.allocUnsafe(entries.length * timeEntryBytes);
  entries.forEach((entry, i) => {
    buf.writeBigInt64BE(BigInt(entry.timestampMs), i * timeEntryBytes);
    buf.writeUInt32BE(entry.relativeOffset, i * timeEntryBytes + 8);
  });
  return buf;
}

export function decodeOffsetEntry(buf: Buffer, at = 0): OffsetEntry {
  return { relativeOffset: buf.readUInt32BE(at), position: buf.readUInt32BE(at + 4) };
}

export function decodeTimeEntry(buf: Buffer, at = 0): TimeEntry {
  return { timestampMs: Number(buf.readBigInt64BE(at)), relativeOffset: buf.readUInt32BE(at + 8) };
}

/** Why an offset index file cannot be trusted for a log of `logSizeBytes`, or undefined if it can. */
export function offsetIndexProblem(bytes: Buffer, logSizeBytes: number): string | undefined {
  if (bytes.length % offsetEntryBytes !== 0)
    return `size ${bytes.length} is not a multiple of ${offsetEntryBytes}`;
  let previous: OffsetEntry | undefined;
  for (let at = 0; at < bytes.length; at += offsetEntryBytes) {
    const entry = decodeOffsetEntry(bytes, at);
    if (entry.position >= logSizeBytes) return `entry at byte ${at} points past the log`;
    if (
      previous &&
      (entry.relativeOffset <= previous.relativeOffset || entry.position <= previous.position)
    ) {
      return `entry at byte ${at} is not increasing`;
    }
    previous = entry;
  }
  return undefined;
}

/** Why a time index file cannot be trusted for a segment whose offsets end before `nextRelativeOffset`. */
export function timeIndexProblem(bytes: Buffer, nextRelativeOffset: number): string | undefined {
  if (bytes.length % timeEntryBytes !== 0)
    return `size ${bytes.length} is not a multiple of ${timeEntryBytes}`;
  let previous: TimeEntry | undefined;
  for (let at = 0; at < bytes.length; at += timeEntryBytes) {
    const entry = decodeTimeEntry(bytes, at);
    if (entry.relativeOffset >= nextRelativeOffset) return `entry at byte ${at} points past the log`;
    if (
      previous &&
      (entry.relativeOffset <= previous.relativeOffset || entry.timestampMs <= previous.timestampMs)
    ) {
      return `entry at byte ${at} is not increasing`;
    }
    previous = entry;
  }
  return undefined;
}

/**
 * One index file. While its segment is active the entries are also kept in
 * memory (the hot path searches them on every read); once sealed, searches
 * read the few entries a binary search touches from the file.
 */
export class IndexFile {
  private memory: Buffer | undefined;
  private sizeBytes: number;

  constructor(
    private readonly file: LogFile,
    readonly entryBytes: number,
    contents: Buffer | undefined,
    sizeBytes: number,
  ) {
    this.memory = contents;
    this.sizeBytes = sizeBytes;
  }

  get count(): number {
    return this.sizeBytes / this.entryBytes;
  }

  entry(index: number): Buffer {
    const at = index * this.entryBytes;
    if (this.memory) return this.memory.subarray(at, at + this.entryBytes);
    const buf = Buffer.allocUnsafe(this.entryBytes);
    this.file.read(buf, at);
    return buf;
  }

  /** Appends encoded entries; on a throw the file may hold part of them, so callers truncate back. */
  append(entries: Buffer): void {
    if (entries.length === 0) return;
    this.file.write(entries, this.sizeBytes);
    if (this.memory) this.memory = growAndCopy(this.memory, this.sizeBytes, entries);
    this.sizeBytes += entries.length;
  }

  truncateToCount(count: number): void {
    const sizeBytes = count * this.entryBytes;
    this.file.truncate(sizeBytes);
    this.sizeBytes = Math.min(this.sizeBytes, sizeBytes);
  }

  /** Replaces the whole file with `entries`. */
  rewrite(entries: Buffer): void {
    this.file.truncate(0);
    this.sizeBytes = 0;
    if (this.memory) this.memory = Buffer.alloc(0);
    this.append(entries);
  }

  /** Mirrors the entries in memory again; the segment became active again. */
  loadIntoMemory(): void {
    const memory = Buffer.allocUnsafe(this.sizeBytes);
    this.file.read(memory, 0);
    this.memory = memory;
  }

  /** Stops mirroring entries in memory; the segment is no longer active. */
  seal(): void {
    this.memory = undefined;
  }

  sync(): Promise<void> {
    return this.file.sync();
  }

  close(): void {
    this.file.close();
  }
}

/** Returns a buffer holding `used` bytes of `buf` followed by `extra`, doubling capacity when it runs out. */
function growAndCopy(buf: Buffer, used: number, extra: Buffer): Buffer {
  let target = buf;
  if (used + extra.length > buf.length) {
    target = Buffer.allocUnsafe(Math.max(used + extra.length, buf.length * 2, 1024));
    buf.copy(target, 0, 0, used);
  }
  extra.copy(target, used);
  return target;
}
