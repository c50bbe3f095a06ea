// One segment of a partition log: `<base>.log` holding whole record batches
// back to back, with its sparse `<base>.index` and `<base>.timeindex`, and the
// recovery that rebuilds or checks them from what is on disk.

import path from "node:path";
import {
  ATTRIBUTES_OFFSET,
  assert,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  type BatchHeader,
  BrookError,
  crc32c,
  LOG_OVERHEAD,
  MAGIC_V2,
  readBatchHeader,
  scanBatches,
} from "@brook/protocol";
import { recoveryReadBytes, type ScanEnd, verifiedBatches } from "./batch-scan.js";
import type { FileSystem, LogFile } from "./file-system.js";
import {
  type BatchPlacement,
  decodeOffsetEntry,
  decodeTimeEntry,
  emptyIndexCursor,
  encodeOffsetEntries,
  encodeTimeEntries,
  finalTimeEntry,
  floorEntry,
  type IndexCursor,
  IndexFile,
  offsetEntryBytes,
  offsetIndexProblem,
  planIndexEntries,
  timeEntryBytes,
  timeIndexProblem,
} from "./indexes.js";
import type { ActiveSegmentState, SegmentSummary } from "./policies.js";
import { addVerified, trustedRangeEnd, type VerifiedRanges } from "./verified-ranges.js";

export const logSuffix = ".log";
export const offsetIndexSuffix = ".index";
export const timeIndexSuffix = ".timeindex";

const segmentFilePattern = /^(\d{20})\.(log|index|timeindex)$/;

/**
 * Bytes read at a time while walking batch headers to an offset or timestamp:
 * enough for the few KiB between two index entries in one read.
 */
const walkWindowBytes = 16 * 1024;

export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, "0") + suffix;
}

/** The base offset and suffix of a segment file name, or undefined for any other file. */
export function parseSegmentFileName(name: string): { baseOffset: number; suffix: string } | undefined {
  const match = segmentFilePattern.exec(name);
  if (!match) return undefined;
  return { baseOffset: Number(match[1]), suffix: `.${match[2]}` };
}

/** A stored batch as the cleaner reads it: `header.position` is where it starts in `buf`. */
export interface StoredBatch {
  buf: Buffer;
  header: BatchHeader;
}

/** A batch about to be written, with the offsets it was given. */
export interface PlacedBatch {
  /** Where the batch starts in the appended buffer. */
  position: number;
  baseOffset: number;
  lastOffset: number;
  sizeInBytes: number;
  maxTimestamp: number;
}

export interface SegmentOpenOptions {
  /** The active segment is validated batch by batch and keeps its indexes in memory. */
  active: boolean;
  indexIntervalBytes: number;
  nowMs: number;
  /**
   * A sealed segment's successor's base offset. When given, a bad batch is rot, not a torn tail: the file
   * is kept whole, the segment still ends at this offset, and the bad range becomes its `damage`.
   */
  sealedNextOffset?: number;
}

export interface SegmentRecovery {
  segment: LogSegment;
  /** Why the log was cut short, when it was: a torn or corrupt batch, or a batch out of sequence. */
  truncation?: { problem: string; droppedBytes: number };
  /** True when an index file was missing or bad and was written anew. */
  indexesRebuilt: boolean;
}

/** The first bad batch of a segment: everything before `position` verified and ends at `offset`. */
export interface SegmentDamage {
  position: number;
  offset: number;
  reason: string;
  /**
   * The bad bytes run to the end of the file and are only a batch cut short or zeros: what a crash
   * leaves of writes that never reached the disk, rather than rot.
   */
  tornTail: boolean;
}

/**
 * Bad bytes met at `position` of a segment's log by a read, walk or cleaning pass. The partition log
 * turns it into a LogCorruptionError once a full scan of the segment found the corruption point.
 */
export class SegmentCorruption extends BrookError {
  constructor(
    readonly segment: LogSegment,
    readonly position: number,
    readonly reason: string,
  ) {
    super("CORRUPT_LOG", `${segment.logPath} holds a bad batch at byte ${position}: ${reason}`);
  }
}

interface SegmentFiles {
  log: LogFile;
  offsetIndex: LogFile;
  timeIndex: LogFile;
}

interface SegmentState {
  sizeBytes: number;
  nextOffset: number;
  cursor: IndexCursor;
  firstBatchTimestampMs: number;
}

/** The outcome of validating `[from, end)` of a log file batch by batch while planning its index entries. */
interface LogScan extends ScanEnd {
  cursor: IndexCursor;
  offsetEntries: Buffer;
  timeEntries: Buffer;
  firstBatchTimestampMs: number;
}

export class LogSegment {
  private state: SegmentState;
  private sealed: boolean;
  private lastModifiedMs: number;
  /** Set by every change to the files; cleared when a flush picks the segment up. */
  needsSync = true;
  /** A failed write could not be undone; the files no longer match what the log believes. */
  broken = false;
  /** The first bad batch, when one was found: nothing from it on is served. */
  private damaged: SegmentDamage | undefined;
  /** A sealed segment's byte ranges whose CRCs a read checked lately (verified-ranges.ts). */
  private verified: VerifiedRanges = [];
  /** The log file's modification time when `verified` was started: any change drops them. */
  private verifiedModifiedMs: number | undefined;

  private constructor(
    private readonly fileSystem: FileSystem,
    private readonly dir: string,
    readonly baseOffset: number,
    private readonly files: SegmentFiles,
    private readonly offsetIndex: IndexFile,
    private readonly timeIndex: IndexFile,
    private readonly indexIntervalBytes: number,
    readonly createdMs: number,
    state: SegmentState,
    active: boolean,
  ) {
    this.state = state;
    this.sealed = !active;
    this.lastModifiedMs = createdMs;
  }

  /** A new, empty, active segment; stale files with the same name are emptied. */
  static create(
    fileSystem: FileSystem,
    dir: string,
    baseOffset: number,
    indexIntervalBytes: number,
    nowMs: number,
  ): LogSegment {
    const files = openFiles(fileSystem, dir, baseOffset);
    try {
      for (const file of Object.values(files)) file.truncate(0);
    } catch (error) {
      closeFiles(files);
      throw error;
    }
    const state = {
      sizeBytes: 0,
      nextOffset: baseOffset,
      cursor: emptyIndexCursor,
      firstBatchTimestampMs: -1,
    };
    return new LogSegment(
      fileSystem,
      dir,
      baseOffset,
      files,
      new IndexFile(files.offsetIndex, offsetEntryBytes, Buffer.alloc(0), 0),
      new IndexFile(files.timeIndex, timeEntryBytes, Buffer.alloc(0), 0),
      indexIntervalBytes,
      nowMs,
      state,
      true,
    );
  }

  /**
   * Opens a segment from disk. The active segment is validated batch by
   * batch (length, CRC, offsets in sequence) and its indexes are rebuilt from
   * that scan. A sealed segment whose indexes look sound has only the batches
   * after its last index entry validated; otherwise it gets the full scan too.
   * The log is cut at the first bad batch, unless it is rot that can be kept
   * as damage (see keptDamageEnd).
   */
  static open(
    fileSystem: FileSystem,
    dir: string,
    baseOffset: number,
    options: SegmentOpenOptions,
  ): SegmentRecovery {
    const files = openFiles(fileSystem, dir, baseOffset);
    try {
      const logSizeBytes = files.log.size();
      const indexBytes = {
        offset: fileSystem.readFile(path.join(dir, segmentFileName(baseOffset, offsetIndexSuffix))),
        time: fileSystem.readFile(path.join(dir, segmentFileName(baseOffset, timeIndexSuffix))),
      };
      const scan =
        (!options.active && checkSealedTail(files.log, baseOffset, logSizeBytes, indexBytes, options)) ||
        scanLog(
          files.log,
          baseOffset,
          0,
          logSizeBytes,
          baseOffset,
          emptyIndexCursor,
          options.indexIntervalBytes,
        );
      const keptEnd = keptDamageEnd(files.log, scan, logSizeBytes, options);
      if (scan.problem && keptEnd === undefined) files.log.truncate(scan.endPosition);
      const damage = keptEnd === undefined ? undefined : damageOf(scan);
      const cursor = options.active ? scan.cursor : withFinalTimeEntry(scan.cursor);
      const timeEntries = options.active ? scan.timeEntries : withFinalTimeIndexEntry(scan);
      const offsetIndexRebuilt = rewriteIfDifferent(files.offsetIndex, indexBytes.offset, scan.offsetEntries);
      const timeIndexRebuilt = rewriteIfDifferent(files.timeIndex, indexBytes.time, timeEntries);
      const memory = (bytes: Buffer) => (options.active ? Buffer.from(bytes) : undefined);
      const segment = new LogSegment(
        fileSystem,
        dir,
        baseOffset,
        files,
        new IndexFile(
          files.offsetIndex,
          offsetEntryBytes,
          memory(scan.offsetEntries),
          scan.offsetEntries.length,
        ),
        new IndexFile(files.timeIndex, timeEntryBytes, memory(timeEntries), timeEntries.length),
        options.indexIntervalBytes,
        options.nowMs,
        {
          sizeBytes: damage ? logSizeBytes : scan.endPosition,
          nextOffset: keptEnd ?? scan.nextOffset,
          cursor,
          firstBatchTimestampMs: scan.firstBatchTimestampMs,
        },
        options.active,
      );
      segment.damaged = damage;
      const truncation =
        scan.problem && !damage
          ? { problem: scan.problem, droppedBytes: logSizeBytes - scan.endPosition }
          : undefined;
      return { segment, truncation, indexesRebuilt: offsetIndexRebuilt || timeIndexRebuilt };
    } catch (error) {
      closeFiles(files);
      throw error;
    }
  }

  get sizeBytes(): number {
    return this.state.sizeBytes;
  }

  /** One past the last offset in the segment; the base offset when empty. */
  get nextOffset(): number {
    return this.state.nextOffset;
  }

  get maxTimestampMs(): number {
    return this.state.cursor.maxTimestampMs;
  }

  get isSealed(): boolean {
    return this.sealed;
  }

  /** The first bad batch found in this segment, if any; reads stop before it. */
  get damage(): SegmentDamage | undefined {
    return this.damaged;
  }

  /**
   * Records bad bytes that the segment's own checks cannot see (a batch whose CRC holds but whose leader
   * epoch, outside the CRC, the log says is impossible), unless damage already starts earlier.
   */
  markDamaged(batchOffset: number, reason: string): void {
    const position = this.locate(batchOffset)?.position;
    assert(
      position !== undefined,
      `a damaged batch at offset ${batchOffset} is in segment ${this.baseOffset}`,
    );
    if (this.damaged !== undefined && this.damaged.position <= position) return;
    this.damaged = { position, offset: batchOffset, reason, tornTail: false };
    this.verified = [];
  }

  get logPath(): string {
    return path.join(this.dir, segmentFileName(this.baseOffset, logSuffix));
  }

  /** Where verified batches end: the damage, or the end of the segment. */
  private get readableEnd(): number {
    return this.damaged?.position ?? this.state.sizeBytes;
  }

  summary(): SegmentSummary {
    return {
      baseOffset: this.baseOffset,
      nextOffset: this.nextOffset,
      sizeBytes: this.sizeBytes,
      maxTimestampMs: this.maxTimestampMs,
      lastModifiedMs: this.lastModifiedMs,
    };
  }

  rollState(): ActiveSegmentState {
    return {
      baseOffset: this.baseOffset,
      sizeBytes: this.sizeBytes,
      firstBatchTimestampMs: this.state.firstBatchTimestampMs,
      createdMs: this.createdMs,
    };
  }

  /**
   * Writes `records` (whole batches, offsets already patched) at the end of
   * the segment and indexes them. If any write fails, the files are cut back
   * to where they were and the error is rethrown.
   */
  append(records: Buffer, batches: readonly PlacedBatch[], nowMs: number): void {
    assert(!this.sealed && batches.length > 0, "append only non-empty batches to the active segment");
    const start = this.state;
    const placements: BatchPlacement[] = batches.map((batch) => ({
      relativeOffset: batch.baseOffset - this.baseOffset,
      position: start.sizeBytes + batch.position,
      sizeBytes: batch.sizeInBytes,
      maxTimestampMs: batch.maxTimestamp,
    }));
    const plan = planIndexEntries(start.cursor, placements, this.indexIntervalBytes);
    this.writeOrUndo(() => {
      this.needsSync = true;
      this.files.log.write(records, start.sizeBytes);
      this.offsetIndex.append(encodeOffsetEntries(plan.offsetEntries));
      this.timeIndex.append(encodeTimeEntries(plan.timeEntries));
    });
    this.state = {
      sizeBytes: start.sizeBytes + records.length,
      nextOffset: batches[batches.length - 1].lastOffset + 1,
      cursor: plan.cursor,
      firstBatchTimestampMs: start.sizeBytes === 0 ? batches[0].maxTimestamp : start.firstBatchTimestampMs,
    };
    this.lastModifiedMs = nowMs;
  }

  /**
   * Whole batches from the one containing `offset`: as many as fit in
   * `maxBytes` (but at least one when `minOneBatch`), none reaching
   * `maxOffset`. Empty when the segment holds nothing at or after `offset`
   * before its damage. Every batch returned passed its CRC32C, magic and
   * offset-sequence checks; a batch that fails them throws SegmentCorruption.
   * A sealed segment skips the CRC of bytes a read verified within
   * `verifiedTrustMs` while the file is unchanged.
   */
  read(offset: number, maxBytes: number, maxOffset: number, minOneBatch: boolean, nowMs: number): Buffer {
    const first = this.locate(offset);
    if (!first) return Buffer.alloc(0);
    // One read holds every batch that can be returned (a header read per batch would cost a system
    // call per batch, which adds up for small batches); only an oversized first batch gets a read sized to it.
    const oversizedFirst = minOneBatch && first.header.sizeInBytes > maxBytes;
    const window = this.readAt(
      first.position,
      Math.min(oversizedFirst ? first.header.sizeInBytes : maxBytes, this.readableEnd - first.position),
    );
    let end = 0;
    let expectedOffset = first.header.baseOffset;
    const trustedEnd = this.trustedEnd(first.position, nowMs) - first.position;
    // Each step moves past one whole batch, so this ends by the end of the window.
    while (end + BATCH_HEADER_BYTES <= window.length) {
      const header = this.headerIn(window, end, first.position + end);
      if (end + header.sizeInBytes > window.length) break;
      // Verified before its lastOffset is believed: a rotted lastOffsetDelta must not end the read quietly.
      const checkCrc = end + header.sizeInBytes > trustedEnd;
      const problem = storedBatchProblem(window, end, header, expectedOffset, checkCrc);
      if (problem) throw new SegmentCorruption(this, first.position + end, problem);
      if (header.lastOffset >= maxOffset) break;
      expectedOffset = header.lastOffset + 1;
      end += header.sizeInBytes;
    }
    if (this.sealed && end > trustedEnd) {
      this.verified = addVerified(this.verified, first.position, first.position + end, nowMs);
    }
    return window.subarray(0, end);
  }

  /**
   * Where the run of bytes from `position` whose CRCs need no check ends: the end of a trusted verified
   * range holding it, on a sealed segment whose file did not change; else `position` itself.
   */
  private trustedEnd(position: number, nowMs: number): number {
    if (!this.sealed) return position;
    const modifiedMs = this.files.log.modifiedMs?.();
    if (modifiedMs !== this.verifiedModifiedMs) {
      this.verified = [];
      this.verifiedModifiedMs = modifiedMs;
    }
    return trustedRangeEnd(this.verified, position, nowMs) ?? position;
  }

  /**
   * Verifies every batch (after a read met bad bytes, or for `verify`): records the first bad one as the
   * segment's damage, and writes a sealed segment's indexes anew from the batches that verified, so an
   * index that rotted is repaired and one that points into the damage is cut. Returns the damage.
   */
  rescan(): SegmentDamage | undefined {
    const scan = scanLog(
      this.files.log,
      this.baseOffset,
      0,
      this.state.sizeBytes,
      this.baseOffset,
      emptyIndexCursor,
      this.indexIntervalBytes,
    );
    if (this.sealed) {
      this.needsSync = true;
      this.offsetIndex.rewrite(scan.offsetEntries);
      this.timeIndex.rewrite(withFinalTimeIndexEntry(scan));
      this.state = { ...this.state, cursor: withFinalTimeEntry(scan.cursor) };
    }
    this.damaged = damageOf(scan);
    this.verified = [];
    return this.damaged;
  }

  /** Base offset of the first batch whose maxTimestamp is ≥ `timestampMs`, or undefined. */
  offsetForTimestamp(timestampMs: number): number | undefined {
    if (this.maxTimestampMs < timestampMs) return undefined;
    // The last time entry below the target: no batch up to it can match, so the search starts there.
    const entry = floorEntry(this.timeIndex.count, (i) => this.timeEntryAt(i).timestampMs, timestampMs - 1);
    const startOffset =
      entry < 0 ? this.baseOffset : this.baseOffset + this.timeEntryAt(entry).relativeOffset;
    const start = this.locate(startOffset);
    const found =
      start &&
      this.walk(start.position, start.header.baseOffset, (header) => header.maxTimestamp >= timestampMs);
    // A time index entry or max timestamp that leads nowhere: the index file rotted (a rescan rebuilds it).
    if (!found)
      throw new SegmentCorruption(this, start?.position ?? 0, "the time index points past the batches");
    return found.header.baseOffset;
  }

  /**
   * Every batch of the segment in order, read `recoveryReadBytes` at a time (one batch at a time when a
   * batch is larger), so a whole segment is never in memory. Lengths and CRCs are checked (the cleaner
   * rewrites what it reads, so a bad batch read here would be copied with a fresh CRC); a bad batch, or
   * the segment's damage, throws SegmentCorruption after the batches before it.
   */
  *batches(): Generator<StoredBatch> {
    let position = 0;
    let chunkBytes = recoveryReadBytes;
    const end = this.readableEnd;
    // Each pass moves past at least one batch, or grows the chunk to hold the one batch that did not fit.
    while (position < end) {
      const chunk = this.readAt(position, Math.min(chunkBytes, end - position));
      const scan = scanBatches(chunk, { acceptCompacted: true });
      for (const header of scan.batches) yield { buf: chunk, header };
      const reachedEnd = position + chunk.length === end;
      if (scan.tail === "corrupt" || (scan.tail === "torn" && reachedEnd && scan.validBytes === 0)) {
        throw new SegmentCorruption(this, position + scan.validBytes, scan.error?.message ?? "bad batch");
      }
      if (scan.validBytes === 0) {
        chunkBytes = chunk.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
      } else {
        position += scan.validBytes;
        chunkBytes = recoveryReadBytes;
      }
    }
    if (this.damaged) throw new SegmentCorruption(this, this.damaged.position, this.damaged.reason);
  }

  /**
   * Drops every batch that holds an offset ≥ `offset`; the segment then ends at the first dropped batch.
   * On a damaged segment the cut is at the damage at the latest, so what is left has verified.
   */
  truncateTo(offset: number): void {
    const damage = this.damaged;
    const cut =
      this.locate(offset) ?? (damage && { position: damage.position, header: { baseOffset: damage.offset } });
    if (!cut) return;
    this.damaged = undefined;
    this.verified = [];
    const relativeOffset = cut.header.baseOffset - this.baseOffset;
    const offsetEntriesKept =
      floorEntry(this.offsetIndex.count, (i) => this.offsetEntryAt(i).relativeOffset, relativeOffset - 1) + 1;
    const timeEntriesKept =
      floorEntry(this.timeIndex.count, (i) => this.timeEntryAt(i).relativeOffset, relativeOffset - 1) + 1;
    this.needsSync = true;
    this.files.log.truncate(cut.position);
    this.offsetIndex.truncateToCount(offsetEntriesKept);
    this.timeIndex.truncateToCount(timeEntriesKept);
    this.state = {
      ...this.state,
      sizeBytes: cut.position,
      nextOffset: cut.header.baseOffset,
      firstBatchTimestampMs: cut.position === 0 ? -1 : this.state.firstBatchTimestampMs,
    };
    this.state.cursor = this.cursorAfterLastEntry();
  }

  /** Makes this the active segment again (after truncation removed the segments after it). */
  unseal(): void {
    if (!this.sealed) return;
    this.offsetIndex.loadIntoMemory();
    this.timeIndex.loadIntoMemory();
    this.sealed = false;
  }

  /** Called when a newer segment becomes active: records the final max timestamp and drops in-memory indexes. */
  seal(): void {
    if (this.sealed) return;
    const final = finalTimeEntry(this.state.cursor);
    if (final) {
      this.writeOrUndo(() => {
        this.needsSync = true;
        this.timeIndex.append(encodeTimeEntries([final]));
      });
      this.state = { ...this.state, cursor: withFinalTimeEntry(this.state.cursor) };
    }
    this.offsetIndex.seal();
    this.timeIndex.seal();
    this.sealed = true;
    this.needsSync = true;
  }

  /** fdatasync the log; a sealed segment's indexes too, since it is never rebuilt from a full scan. */
  async sync(): Promise<void> {
    const files = this.sealed
      ? [this.files.log, this.files.offsetIndex, this.files.timeIndex]
      : [this.files.log];
    await Promise.all(files.map((file) => file.sync()));
  }

  close(): void {
    closeFiles(this.files);
  }

  /** Closes and removes the segment's files, the log first so a crash never leaves a log without its place. */
  deleteFiles(): void {
    this.close();
    for (const suffix of [logSuffix, offsetIndexSuffix, timeIndexSuffix]) {
      this.fileSystem.remove(path.join(this.dir, segmentFileName(this.baseOffset, suffix)));
    }
  }

  private offsetEntryAt(index: number) {
    return decodeOffsetEntry(this.offsetIndex.entry(index));
  }

  private timeEntryAt(index: number) {
    return decodeTimeEntry(this.timeIndex.entry(index));
  }

  /**
   * The first batch whose last offset is ≥ `offset`, found from the nearest offset index entry below it;
   * undefined when no batch before the damage holds one.
   */
  private locate(offset: number): { position: number; header: BatchHeader } | undefined {
    const entry = floorEntry(
      this.offsetIndex.count,
      (i) => this.offsetEntryAt(i).relativeOffset,
      offset - this.baseOffset,
    );
    const from = entry < 0 ? { relativeOffset: 0, position: 0 } : this.offsetEntryAt(entry);
    const found = this.walk(
      from.position,
      this.baseOffset + from.relativeOffset,
      (header) => header.lastOffset >= offset,
    );
    // The segment holds every offset below its (readable) end, so missing one means the index rotted.
    if (!found && offset < (this.damaged?.offset ?? this.nextOffset)) {
      throw new SegmentCorruption(this, from.position, `the offset index leads past offset ${offset}`);
    }
    return found;
  }

  /**
   * Reads batch headers from `position`, where a batch starting at `expectedOffset` lies, until `found`
   * accepts one; each next batch must start where the previous one ended.
   */
  private walk(
    position: number,
    expectedOffset: number,
    found: (header: BatchHeader) => boolean,
  ): { position: number; header: BatchHeader } | undefined {
    let window: Buffer = Buffer.alloc(0);
    let windowPosition = position;
    let expected = expectedOffset;
    const end = this.readableEnd;
    // Each step moves past one whole batch (at least 61 bytes), so this ends by the end of the segment.
    for (let at = position; at < end; ) {
      if (at + BATCH_HEADER_BYTES > windowPosition + window.length) {
        window = this.readAt(at, Math.min(walkWindowBytes, end - at));
        windowPosition = at;
      }
      const header = this.headerIn(window, at - windowPosition, at);
      if (header.baseOffset !== expected) {
        throw new SegmentCorruption(
          this,
          at,
          `the batch has base offset ${header.baseOffset}, expected ${expected}`,
        );
      }
      if (found(header)) return { position: at, header };
      expected = header.lastOffset + 1;
      at += header.sizeInBytes;
    }
    return undefined;
  }

  /** Exactly `sizeBytes` of the log from `position`, which the segment holds. */
  private readAt(position: number, sizeBytes: number): Buffer {
    const buf = Buffer.allocUnsafe(sizeBytes);
    if (this.files.log.read(buf, position) !== buf.length) throw this.shorterThanExpected();
    return buf;
  }

  /** The header at `at` in `window`, which was read from `position` in the log; its length must fit what verified. */
  private headerIn(window: Buffer, at: number, position: number): BatchHeader {
    if (window.length - at < BATCH_HEADER_BYTES) {
      throw new SegmentCorruption(this, position, "a batch header runs past the end of the segment");
    }
    const header = readBatchHeader(window, at);
    if (header.sizeInBytes < BATCH_HEADER_BYTES || position + header.sizeInBytes > this.readableEnd) {
      throw new SegmentCorruption(this, position, `bad batch length ${header.batchLength}`);
    }
    return header;
  }

  /** Index bookkeeping after truncation, recomputed from the batches after the last remaining offset entry. */
  private cursorAfterLastEntry(): IndexCursor {
    const scan = scanFromLastEntry(
      this.files.log,
      this.baseOffset,
      this.sizeBytes,
      this.offsetIndex.count > 0 ? this.offsetEntryAt(this.offsetIndex.count - 1) : undefined,
      this.timeIndex.count > 0 ? this.timeEntryAt(this.timeIndex.count - 1) : undefined,
      this.indexIntervalBytes,
    );
    if (scan.problem) throw new SegmentCorruption(this, scan.endPosition, scan.problem);
    return scan.cursor;
  }

  /** Runs `write`; if it throws, cuts every file back to its size before and rethrows. */
  private writeOrUndo(write: () => void): void {
    const sizeBytes = this.state.sizeBytes;
    const offsetEntries = this.offsetIndex.count;
    const timeEntries = this.timeIndex.count;
    try {
      write();
    } catch (error) {
      try {
        this.files.log.truncate(sizeBytes);
        this.offsetIndex.truncateToCount(offsetEntries);
        this.timeIndex.truncateToCount(timeEntries);
      } catch {
        this.broken = true;
      }
      throw error;
    }
  }

  private shorterThanExpected(): BrookError {
    return new BrookError("STORAGE_ERROR", `${this.logPath} is shorter than the log expects`);
  }
}

function openFiles(fileSystem: FileSystem, dir: string, baseOffset: number): SegmentFiles {
  const opened: LogFile[] = [];
  try {
    for (const suffix of [logSuffix, offsetIndexSuffix, timeIndexSuffix]) {
      opened.push(fileSystem.open(path.join(dir, segmentFileName(baseOffset, suffix))));
    }
  } catch (error) {
    for (const file of opened) file.close();
    throw error;
  }
  return { log: opened[0], offsetIndex: opened[1], timeIndex: opened[2] };
}

function closeFiles(files: SegmentFiles): void {
  for (const file of Object.values(files)) file.close();
}

/** The cursor once the final time entry is written: it then covers the segment's max timestamp. */
function withFinalTimeEntry(cursor: IndexCursor): IndexCursor {
  const final = finalTimeEntry(cursor);
  if (!final) return cursor;
  return { ...cursor, lastTimeEntryMs: final.timestampMs, lastTimeEntryOffset: final.relativeOffset };
}

/**
 * Where a segment whose scan met a bad batch still ends when the bad batch is kept as damage, or undefined
 * to cut the segment there. A sealed segment ends where its successor starts (unless that overlaps what
 * verified, which the log treats as a gap). The active segment keeps it only when it is rot in one batch
 * rather than a torn tail: the bad batch's length still frames it and every batch after it verifies to the
 * end of the file; it then ends after those.
 */
function keptDamageEnd(
  log: LogFile,
  scan: LogScan,
  logSizeBytes: number,
  options: SegmentOpenOptions,
): number | undefined {
  if (scan.problem === undefined) return undefined;
  if (!options.active) {
    return options.sealedNextOffset === undefined
      ? undefined
      : Math.max(options.sealedNextOffset, scan.nextOffset);
  }
  if (scan.tornTail) return undefined;
  const header = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
  const readHeader = (position: number) =>
    position + BATCH_HEADER_BYTES <= logSizeBytes && log.read(header, position) === BATCH_HEADER_BYTES;
  if (!readHeader(scan.endPosition)) return undefined;
  const badSizeBytes = header.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
  const after = scan.endPosition + badSizeBytes;
  if (badSizeBytes < BATCH_HEADER_BYTES || !readHeader(after)) return undefined;
  const resumeOffset = readBatchHeader(header).baseOffset;
  if (resumeOffset <= scan.nextOffset) return undefined;
  const rest = verifiedBatches(log, after, logSizeBytes, resumeOffset);
  // Each step takes one chunk of batches; the generator ends by the end of the file.
  for (let next = rest.next(); ; next = rest.next()) {
    if (next.done) return next.value.problem === undefined ? next.value.nextOffset : undefined;
  }
}

/** A sealed segment's time index entries from a scan: the planned ones and the final one. */
function withFinalTimeIndexEntry(scan: LogScan): Buffer {
  const final = finalTimeEntry(scan.cursor);
  return final ? Buffer.concat([scan.timeEntries, encodeTimeEntries([final])]) : scan.timeEntries;
}

function damageOf(scan: LogScan): SegmentDamage | undefined {
  if (scan.problem === undefined) return undefined;
  return {
    position: scan.endPosition,
    offset: scan.nextOffset,
    reason: scan.problem,
    tornTail: scan.tornTail,
  };
}

/**
 * Why a stored batch at `at` in `window` (its length already checked) must not be served, or undefined:
 * its magic, its base offset (outside the CRC, so checked against the batch before it), its CRC32C
 * (unless a recent check of the same bytes is trusted).
 */
function storedBatchProblem(
  window: Buffer,
  at: number,
  header: BatchHeader,
  expectedOffset: number,
  checkCrc: boolean,
): string | undefined {
  if (header.magic !== MAGIC_V2) return `the batch has magic ${header.magic}`;
  if (header.baseOffset !== expectedOffset) {
    return `the batch has base offset ${header.baseOffset}, expected ${expectedOffset}`;
  }
  if (!checkCrc) return undefined;
  const computed = crc32c(window.subarray(at + ATTRIBUTES_OFFSET, at + header.sizeInBytes));
  if (computed !== header.crc) {
    return `the batch fails its CRC32C check (stored ${header.crc}, computed ${computed})`;
  }
  return undefined;
}

/** Makes the index file hold exactly `entries`; true when it had to be rewritten. */
function rewriteIfDifferent(file: LogFile, existing: Buffer | undefined, entries: Buffer): boolean {
  if (existing?.equals(entries)) return false;
  file.truncate(0);
  file.write(entries, 0);
  return true;
}

/**
 * Fast recovery of a sealed segment: when both index files are sound, only
 * the batches from the last offset index entry on are validated. Returns
 * undefined when anything looks off, so the caller falls back to a full scan.
 */
function checkSealedTail(
  log: LogFile,
  baseOffset: number,
  logSizeBytes: number,
  indexBytes: { offset: Buffer | undefined; time: Buffer | undefined },
  options: SegmentOpenOptions,
): LogScan | undefined {
  const { offset, time } = indexBytes;
  // Each offset entry comes with a time entry unless timestamps stalled, so timestamped batches with
  // offset entries but no time entry mean a lost time index (all-untimestamped segments pay a full scan).
  const timeIndexLost = time?.length === 0 && offset !== undefined && offset.length > 0;
  if (
    !offset ||
    !time ||
    timeIndexLost ||
    offsetIndexProblem(offset, logSizeBytes) ||
    time.length % timeEntryBytes
  ) {
    return undefined;
  }
  const lastOffsetEntry =
    offset.length > 0 ? decodeOffsetEntry(offset, offset.length - offsetEntryBytes) : undefined;
  const lastTimeEntry = time.length > 0 ? decodeTimeEntry(time, time.length - timeEntryBytes) : undefined;
  const tail = scanFromLastEntry(
    log,
    baseOffset,
    logSizeBytes,
    lastOffsetEntry,
    lastTimeEntry,
    options.indexIntervalBytes,
  );
  if (tail.problem || timeIndexProblem(time, tail.nextOffset - baseOffset)) return undefined;
  return {
    ...tail,
    // Entries the tail scan planned are ones the files lost (a crash before they were written); keep them.
    offsetEntries: Buffer.concat([offset, tail.offsetEntries]),
    timeEntries: Buffer.concat([time, tail.timeEntries]),
    firstBatchTimestampMs: readFirstBatchTimestamp(log, logSizeBytes),
  };
}

/**
 * Validates the batches after the last offset index entry, with the index
 * cursor as it stood when that entry was written: the running max timestamp
 * was then at most the last time entry's, or a newer time entry would exist.
 */
function scanFromLastEntry(
  log: LogFile,
  baseOffset: number,
  logSizeBytes: number,
  lastOffsetEntry: { relativeOffset: number; position: number } | undefined,
  lastTimeEntry: { timestampMs: number; relativeOffset: number } | undefined,
  indexIntervalBytes: number,
): LogScan {
  const cursor: IndexCursor = lastOffsetEntry
    ? {
        bytesSinceLastEntry: 0,
        maxTimestampMs: lastTimeEntry?.timestampMs ?? -1,
        lastTimeEntryMs: lastTimeEntry?.timestampMs ?? -1,
        lastTimeEntryOffset: lastTimeEntry?.relativeOffset ?? -1,
        lastBatchOffset: -1,
      }
    : emptyIndexCursor;
  const from = lastOffsetEntry?.position ?? 0;
  const expectedOffset = baseOffset + (lastOffsetEntry?.relativeOffset ?? 0);
  return scanLog(log, baseOffset, from, logSizeBytes, expectedOffset, cursor, indexIntervalBytes);
}

function readFirstBatchTimestamp(log: LogFile, logSizeBytes: number): number {
  if (logSizeBytes < BATCH_HEADER_BYTES) return -1;
  const buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
  log.read(buf, 0);
  return readBatchHeader(buf).maxTimestamp;
}

/**
 * Validates `[from, end)` of a log batch by batch (length, CRC, offsets in
 * sequence from `expectedOffset`), planning index entries as an append would
 * have. Stops at the first bad batch.
 */
function scanLog(
  log: LogFile,
  baseOffset: number,
  from: number,
  end: number,
  expectedOffset: number,
  startCursor: IndexCursor,
  indexIntervalBytes: number,
): LogScan {
  const offsetEntries: Buffer[] = [];
  const timeEntries: Buffer[] = [];
  let cursor = startCursor;
  let firstBatchTimestampMs = -1;
  const chunks = verifiedBatches(log, from, end, expectedOffset);
  // Each step takes one chunk of batches; the generator ends by the end of the range.
  for (let next = chunks.next(); ; next = chunks.next()) {
    if (next.done) {
      return {
        ...next.value,
        cursor,
        offsetEntries: Buffer.concat(offsetEntries),
        timeEntries: Buffer.concat(timeEntries),
        firstBatchTimestampMs,
      };
    }
    const { position, batches } = next.value;
    const placements = batches.map((batch) => ({
      relativeOffset: batch.baseOffset - baseOffset,
      position: position + batch.position,
      sizeBytes: batch.sizeInBytes,
      maxTimestampMs: batch.maxTimestamp,
    }));
    const plan = planIndexEntries(cursor, placements, indexIntervalBytes);
    offsetEntries.push(encodeOffsetEntries(plan.offsetEntries));
    timeEntries.push(encodeTimeEntries(plan.timeEntries));
    cursor = plan.cursor;
    if (position === 0) firstBatchTimestampMs = batches[0].maxTimestamp;
  }
}
