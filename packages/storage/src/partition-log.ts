// One partition's log on disk: a directory of segments (the last one active),
// plus the checkpoints that say where the log starts, how far it is committed
// and which leader epoch wrote what. Appends and reads are synchronous
// positional I/O on the page cache; only fsync (flush) is awaited.

import path from "node:path";
import {
  assert,
  BASE_OFFSET_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  type BatchCountOptions,
  type BatchHeader,
  BrookError,
  type Clock,
  decodeRecordBatches,
  encodeEmptyBatch,
  LOG_OVERHEAD,
  PARTITION_LEADER_EPOCH_OFFSET,
  patchBaseOffset,
  patchPartitionLeaderEpoch,
  readBatchHeader,
  readInt64,
  splitBatches,
} from "@brook/protocol";
import {
  cleanerOffsetFile,
  formatEpochs,
  formatOffset,
  highWatermarkFile,
  leaderEpochFile,
  logStartOffsetFile,
  parseEpochs,
  parseOffset,
  readCheckpoint,
  recoveryPointFile,
} from "./checkpoints.js";
import {
  CleanedSegmentWriter,
  markCleanedForSwap,
  recoverCleanerFiles,
  removeSwapFiles,
  replaceWithSwap,
} from "./cleaned-segment.js";
import { addToOffsetMap, type CleanRules, OffsetMap, SegmentCleaner } from "./cleaner.js";
import { type LogConfig, resolveLogConfig } from "./config.js";
import { LogCorruptionError, type LogDamage } from "./corruption.js";
import { type FileSystem, nodeFileSystem } from "./file-system.js";
import { floorEntry } from "./indexes.js";
import {
  assignEpoch,
  assignRecoveredEpoch,
  type EpochEndOffset,
  type EpochEntries,
  type EpochEntry,
  endOffsetForEpoch,
  truncateEpochsFromEnd,
  truncateEpochsFromStart,
} from "./leader-epoch-cache.js";
import {
  activeSegmentExpired,
  segmentIndexFor,
  segmentRuns,
  segmentsToDelete,
  shouldRoll,
} from "./policies.js";
import {
  LogSegment,
  logSuffix,
  offsetIndexSuffix,
  type PlacedBatch,
  parseSegmentFileName,
  SegmentCorruption,
  type SegmentRecovery,
  segmentFileName,
  timeIndexSuffix,
} from "./segment.js";
import { type VerifyReport, verifyLogDir } from "./verify.js";

/** The subset of pino's logger the log uses. */
export interface StorageLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

const silentLogger: StorageLogger = { info() {}, warn() {} };

export interface PartitionLogOptions {
  clock: Clock;
  logger?: StorageLogger;
  /** The disk; tests pass a faulty one, the simulator an in-memory one. */
  fileSystem?: FileSystem;
  /**
   * Called when a read, truncation or cleaning pass finds stored bytes that fail verification, right after
   * the log recorded the damage, even when the read still returns the verified batches before it.
   */
  onCorruption?: (error: LogCorruptionError) => void;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  logAppendTimeMs: number;
}

export interface ReadOptions {
  /** Return no batch holding an offset at or beyond this (a consumer's fetch stops at the high watermark). */
  maxOffset?: number;
  /**
   * Return the first batch even when it is larger than maxBytes, so one big
   * batch cannot stall a consumer (Kafka's KIP-74). Default true; a fetch
   * turns it off for partitions after the first that returned data.
   */
  minOneBatch?: boolean;
}

export interface ReadResult {
  /** Whole record batches exactly as stored; empty when there is nothing to return. */
  records: Buffer;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
}

export interface RetentionResult {
  deletedSegments: number;
  logStartOffset: number;
}

export interface CleanOptions {
  /** Exclusive: nothing at or above it is cleaned or read into the map (the caller passes min(high watermark, last stable offset)). */
  upToOffset: number;
  nowMs: number;
  /** A tombstone that is the latest for its key is kept until its batch is this old (delete.retention.ms). */
  deleteRetentionMs: number;
  /** The memory bound: keys the offset map may hold (about 100 bytes each); when it fills, only the log below that point is cleaned. */
  offsetMapEntriesMax: number;
  /** The I/O bound: stop after the segment that brings the bytes read by this call to this; at least one segment is cleaned. */
  bytesMax?: number;
}

export interface CleanResult {
  segmentsCleaned: number;
  /** Sizes of the cleaned segments before and after. */
  bytesBefore: number;
  bytesAfter: number;
  recordsRemoved: number;
  /** The log is compacted below this offset; see `firstDirtyOffset`. */
  firstDirtyOffset: number;
}

/** A cleaning pass: one offset map, applied to every sealed segment from the log start to `cleanEndOffset`, maybe over several calls. */
interface CleanerPass {
  map: OffsetMap;
  mapEndOffset: number;
  /** The first dirty offset once the pass is done: below the map's end and within the segments it may clean. */
  cleanEndOffset: number;
  /** Segments with a base offset below this were cleaned by this pass. */
  nextOffset: number;
  /** `truncations` when the pass began: a truncation may have removed offsets the map points at. */
  truncations: number;
  /** What a walk of the log's batch headers found, done when the pass first needs it. */
  headers: HeadersSummary | undefined;
}

interface HeadersSummary {
  /** Each producer's last batch (base offset) in the log. */
  readonly lastBatchOfProducer: ReadonlyMap<number, number>;
  readonly holdsTransactionalBatches: boolean;
}

interface FlushInFlight {
  /** The value of `writeSequence` when the flush started: it covers every write before that. */
  sequence: number;
  done: Promise<void>;
}

export class PartitionLog {
  private segments: LogSegment[] = [];
  private startOffset = 0;
  private highWatermarkOffset = 0;
  private checkpointedHighWatermark: number | undefined;
  private flushedUpTo = 0;
  /** The recovery point on disk (see recoveryPointFile); undefined while there is no such file. */
  private checkpointedRecoveryPoint: number | undefined;
  private epochs: EpochEntries = [];
  /** Counts changes to the files; a flush covers the changes counted before it started. */
  private writeSequence = 1;
  private syncedSequence = 0;
  /** Segment files were created or removed since the last flush, so the directory needs an fsync too. */
  private directoryChanged = true;
  private flushing: FlushInFlight | undefined;
  private nextFlush: Promise<void> | undefined;
  /** The lowest log end offset a truncation left while the current flush ran; the flush cannot vouch above it. */
  private lowestEndOffsetDuringFlush = Number.POSITIVE_INFINITY;
  /** Set when the files may no longer match this object (an undo or fsync failed); every write then fails. */
  private offline: BrookError | undefined;
  private closed = false;
  /** Everything below it has been compacted; persisted in the cleaner-offset checkpoint. */
  private firstDirty = 0;
  private cleanerPass: CleanerPass | undefined;
  private cleaning = false;
  /** Counts truncations, so a clean that awaited an fsync notices one happened meanwhile. */
  private truncations = 0;
  /** A truncation's checkpoints found the disk full: written before anything else (checkpointTruncation). */
  private truncationCheckpointsPending = false;

  private constructor(
    readonly dir: string,
    private currentConfig: LogConfig,
    private readonly clock: Clock,
    private readonly logger: StorageLogger,
    private readonly fileSystem: FileSystem,
    private readonly onCorruption: (error: LogCorruptionError) => void,
  ) {}

  /**
   * Opens the log in `dir` (created if missing) and recovers it: the active
   * segment is validated batch by batch and a torn or corrupt tail cut off,
   * missing or bad indexes are rebuilt, and segments must continue each
   * other's offsets. Everything recovered is fsynced before this resolves.
   */
  static async open(
    dir: string,
    config: Partial<LogConfig>,
    options: PartitionLogOptions,
  ): Promise<PartitionLog> {
    const log = new PartitionLog(
      dir,
      resolveLogConfig(config),
      options.clock,
      options.logger ?? silentLogger,
      options.fileSystem ?? nodeFileSystem,
      options.onCorruption ?? (() => {}),
    );
    try {
      log.load();
      await log.flush();
    } catch (error) {
      log.closeSegments();
      throw log.storageError("open the log", error);
    }
    return log;
  }

  get config(): LogConfig {
    return this.currentConfig;
  }

  /** Applies a topic config change; it takes effect at the next append, roll or retention check. */
  updateConfig(config: Partial<LogConfig>): void {
    this.currentConfig = resolveLogConfig({ ...this.currentConfig, ...config });
  }

  get logStartOffset(): number {
    return this.startOffset;
  }

  /** The offset the next appended record gets. */
  get logEndOffset(): number {
    return this.activeSegment.nextOffset;
  }

  get highWatermark(): number {
    return this.highWatermarkOffset;
  }

  set highWatermark(offset: number) {
    assert(
      Number.isSafeInteger(offset) && offset >= this.startOffset && offset <= this.logEndOffset,
      `the high watermark ${offset} lies within the log [${this.startOffset}, ${this.logEndOffset}]`,
    );
    this.highWatermarkOffset = offset;
  }

  /** The recovery point: every offset below it is on stable storage. */
  get flushedOffset(): number {
    return this.flushedUpTo;
  }

  /** The leader epochs known to this log and where each starts, oldest first. */
  get leaderEpochs(): EpochEntries {
    return this.epochs;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /**
   * The lowest damage known in the log: a batch that failed verification when the log was opened or read.
   * Reads at or above its offset throw LogCorruptionError; `truncateTo(damage.offset)` (and fetching the
   * rest again from a good replica) repairs it. Undefined for a healthy log.
   */
  get damage(): LogDamage | undefined {
    for (const segment of this.segments) {
      const damage = segment.damage;
      if (damage) {
        return {
          offset: damage.offset,
          file: segment.logPath,
          position: damage.position,
          reason: damage.reason,
        };
      }
    }
    return undefined;
  }

  /** The log cleaner has compacted every offset below this (never below the log start). */
  get firstDirtyOffset(): number {
    return Math.max(this.firstDirty, this.startOffset);
  }

  /**
   * Dirty bytes over all bytes of the sealed segments, 0 when there are none: a segment counts as dirty
   * when it holds any offset at or above `firstDirtyOffset`. Kafka's cleaner picks logs by this ratio
   * (min.cleanable.dirty.ratio).
   */
  get dirtyRatio(): number {
    const sealed = this.segments.slice(0, -1);
    const totalBytes = sealed.reduce((sum, segment) => sum + segment.sizeBytes, 0);
    if (totalBytes === 0) return 0;
    const firstDirty = this.firstDirtyOffset;
    const dirtyBytes = sealed
      .filter((segment) => segment.nextOffset > firstDirty)
      .reduce((sum, segment) => sum + segment.sizeBytes, 0);
    return dirtyBytes / totalBytes;
  }

  /** Bytes of all segments. */
  get sizeBytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.sizeBytes, 0);
  }

  /**
   * Appends producer batches as the leader: validates every batch first
   * (RECORD_TOO_LARGE, CORRUPT_BATCH, UNSUPPORTED_BATCH; nothing is written if
   * any fails), then patches each batch's baseOffset and partitionLeaderEpoch
   * in place in `batches` (both lie outside the CRC) and writes the bytes
   * verbatim.
   */
  append(batches: Buffer, leaderEpoch: number): AppendResult {
    this.checkWritable();
    const latestEpoch = this.epochs.at(-1)?.epoch ?? -1;
    assert(
      Number.isInteger(leaderEpoch) && leaderEpoch >= latestEpoch && leaderEpoch <= 0x7fff_ffff,
      `a leader appends with its current epoch (${leaderEpoch}), never one older than ${latestEpoch}`,
    );
    const headers = this.validate(batches, this.config.maxMessageBytes);
    let nextOffset = this.logEndOffset;
    const placed = headers.map((header) => {
      const batch = placeBatch(header, nextOffset);
      nextOffset = batch.lastOffset + 1;
      return batch;
    });
    for (const batch of placed) {
      patchBaseOffset(batches, batch.position, batch.baseOffset);
      patchPartitionLeaderEpoch(batches, batch.position, leaderEpoch);
    }
    this.updateEpochs(assignEpoch(this.epochs, leaderEpoch, placed[0].baseOffset));
    return this.write(batches, placed);
  }

  /**
   * Appends batches fetched from the leader, keeping their offsets and epochs.
   * They must continue this log exactly: the first at logEndOffset, each next
   * one right after the previous.
   */
  appendAsFollower(batches: Buffer): AppendResult {
    this.checkWritable();
    const headers = this.validate(batches, undefined, { acceptCompacted: true });
    let expected = this.logEndOffset;
    let epochs = this.epochs;
    for (const header of headers) {
      if (header.baseOffset !== expected) {
        throw new BrookError(
          "INVALID_REQUEST",
          `a follower append must continue the log at offset ${expected}, but a batch starts at ${header.baseOffset}`,
        );
      }
      expected = header.lastOffset + 1;
      epochs = assignEpoch(epochs, header.partitionLeaderEpoch, header.baseOffset);
    }
    this.updateEpochs(epochs);
    return this.write(
      batches,
      headers.map((header) => placeBatch(header, header.baseOffset)),
    );
  }

  /**
   * Whole batches from the one that holds `offset`, up to `maxBytes` (but the
   * first batch even if larger, unless `minOneBatch` is false), none holding
   * an offset at or beyond `maxOffset`. Returns the stored bytes as they are,
   * each batch verified first (CRC32C, magic, offsets in sequence). A read
   * that reaches bad bytes returns the verified batches before them, or
   * throws LogCorruptionError when there are none; either way the log
   * records the damage (see `damage`) and calls `onCorruption`.
   */
  read(offset: number, maxBytes: number, options: ReadOptions = {}): ReadResult {
    assert(!this.closed, "read only an open log");
    if (!Number.isSafeInteger(offset) || offset < this.startOffset || offset > this.logEndOffset) {
      throw new BrookError(
        "OFFSET_OUT_OF_RANGE",
        `offset ${offset} is outside the log, which holds offsets ${this.startOffset} to ${this.logEndOffset - 1}`,
      );
    }
    let records: Buffer;
    try {
      records = this.withRescan(() => this.readBatches(offset, maxBytes, options));
    } catch (error) {
      throw this.storageError(`read offset ${offset}`, error);
    }
    return {
      records,
      highWatermark: this.highWatermark,
      logStartOffset: this.startOffset,
      logEndOffset: this.logEndOffset,
    };
  }

  /** The verified batches `read` returns; throws SegmentCorruption at bad bytes no damage accounts for yet. */
  private readBatches(offset: number, maxBytes: number, options: ReadOptions): Buffer {
    const maxOffset = Math.min(options.maxOffset ?? this.logEndOffset, this.logEndOffset);
    const minOneBatch = options.minOneBatch ?? true;
    const nowMs = this.clock.nowMs();
    const parts: Buffer[] = [];
    let bytes = 0;
    let i = segmentIndexFor(this.segments, offset);
    let at = offset;
    while (at < maxOffset && i < this.segments.length) {
      const segment = this.segments[i];
      const damage = segment.damage;
      if (damage && at >= damage.offset) {
        if (parts.length > 0) break;
        throw this.corruptionError(segment);
      }
      // After empty batches only, one more batch is taken even past maxBytes (as the first is): a
      // reader must be given a record to move on.
      const part = segment.read(
        at,
        Math.max(0, maxBytes - bytes),
        maxOffset,
        minOneBatch || parts.length > 0,
        nowMs,
      );
      const bad = batchWithImpossibleEpoch(part, this.epochs);
      if (bad !== undefined) {
        this.impossibleEpochFound(segment, bad);
        const good = part.subarray(0, bad.at);
        if (good.length > 0) parts.push(good);
        if (parts.length > 0) break;
        throw this.corruptionError(segment);
      }
      if (part.length > 0) {
        parts.push(part);
        bytes += part.length;
        // A read that found only compaction's empty batches goes on: a reader would get no record, and
        // some clients (kafkajs) would fetch the same offset again forever.
        const emptyEnd = endOfEmptyBatches(part);
        if (emptyEnd === undefined) break;
        at = emptyEnd;
      } else if (segment.nextOffset > at) {
        break; // nothing more below maxOffset
      }
      // Only an offset at a segment's very end moves on to the next segment.
      if (at >= segment.nextOffset) i++;
    }
    if (parts.length > 0) parts[0] = startFillerAt(parts[0], offset);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /**
   * The base offset of the first batch whose maxTimestamp is ≥ `timestampMs`
   * (batch granularity: records are never decoded), or undefined if none is.
   */
  offsetForTimestamp(timestampMs: number): number | undefined {
    assert(!this.closed, "search only an open log");
    const segment = this.segments.find((candidate) => candidate.maxTimestampMs >= timestampMs);
    if (!segment) return undefined;
    try {
      const offset = this.withRescan(() => segment.offsetForTimestamp(timestampMs));
      return offset === undefined ? undefined : Math.max(offset, this.startOffset);
    } catch (error) {
      throw this.storageError(`search for timestamp ${timestampMs}`, error);
    }
  }

  /**
   * Group commit: one fsync of every segment written since the last flush,
   * after which `flushedOffset` is the log end offset as it was when the
   * flush started. Callers arriving while a flush runs share it if nothing
   * was written since it started; otherwise they share the one flush that
   * follows it.
   */
  flush(): Promise<void> {
    if (this.offline) return Promise.reject(this.offline);
    if (this.flushing?.sequence === this.writeSequence) return this.flushing.done;
    if (this.flushing) {
      this.nextFlush ??= this.flushing.done
        .catch(() => undefined)
        .then(() => {
          this.nextFlush = undefined;
          return this.flush();
        });
      return this.nextFlush;
    }
    if (this.syncedSequence === this.writeSequence || this.closed) return Promise.resolve();
    return this.startFlush();
  }

  /**
   * Persists the high watermark and the recovery point (`flushedOffset`), each atomically and only when
   * it changed since its last checkpoint. The broker calls it on a timer, so the recovery point on disk
   * lags the flushes; that only makes recovery re-check more of the log.
   */
  checkpointHighWatermark(): void {
    assert(!this.closed, "checkpoint only an open log");
    const highWatermark = this.highWatermark;
    if (highWatermark !== this.checkpointedHighWatermark) {
      this.writeCheckpoint(highWatermarkFile, formatOffset(highWatermark));
      this.checkpointedHighWatermark = highWatermark;
    }
    // flushedUpTo moves only once the fsyncs of every segment below it and of the directory completed.
    if (this.flushedUpTo !== this.checkpointedRecoveryPoint) this.writeRecoveryPoint(this.flushedUpTo);
  }

  /**
   * Deletes the oldest whole segments that are past `retentionMs` or beyond
   * `retentionBytes`, never the active one nor any holding offsets at or above
   * the high watermark, and advances (and persists) the log start offset.
   */
  applyRetention(): RetentionResult {
    this.checkWritable();
    const input = {
      nowMs: this.clock.nowMs(),
      retentionMs: this.config.retentionMs,
      retentionBytes: this.config.retentionBytes,
      highWatermark: this.highWatermark,
    };
    if (activeSegmentExpired(this.summaries(), input)) this.roll();
    const count = segmentsToDelete(this.summaries(), input);
    if (count === 0) return { deletedSegments: 0, logStartOffset: this.startOffset };
    const doomed = this.segments.slice(0, count);
    try {
      // The new start is durable before any file goes, so a crash between the two only leaves files to drop on open.
      this.advanceLogStartOffset(this.segments[count].baseOffset);
      this.segments = this.segments.slice(count);
      for (const segment of doomed) segment.deleteFiles();
    } catch (error) {
      throw this.storageError("delete old segments", error);
    } finally {
      this.directoryChanged = true;
      this.writeSequence += 1;
    }
    this.logger.info(
      { dir: this.dir, deletedSegments: count, logStartOffset: this.startOffset },
      "retention deleted old segments",
    );
    return { deletedSegments: count, logStartOffset: this.startOffset };
  }

  /**
   * Log compaction: keeps the latest record per key in the sealed segments below `upToOffset`, as Kafka's
   * cleaner does (docs/compaction.md). One pass builds an offset map (key → latest offset) from the first
   * dirty offset up to `upToOffset`, or until `offsetMapEntriesMax` keys, then rewrites every sealed segment
   * from the log start up to where the map ends, each into a new file swapped in atomically; offsets never
   * change. With `bytesMax` a pass may take several calls; the first dirty offset moves (and is persisted)
   * when a pass ends. Never touches the active segment nor a segment holding an offset at or above
   * `upToOffset`. One call at a time per log.
   */
  async clean(options: CleanOptions): Promise<CleanResult> {
    this.checkWritable();
    assert(!this.cleaning, "one clean at a time per log");
    // Cleaning rewrites batches; it waits until the damage is repaired rather than work around it.
    if (this.damage) return emptyCleanResult(this.firstDirtyOffset);
    assert(
      [options.upToOffset, options.nowMs, options.deleteRetentionMs].every(Number.isSafeInteger) &&
        (options.bytesMax === undefined || options.bytesMax > 0),
      "clean options are whole numbers",
    );
    this.cleaning = true;
    try {
      return await this.runCleaner(options);
    } finally {
      this.cleaning = false;
    }
  }

  /**
   * Drops every batch holding an offset ≥ `offset` (a follower does this after
   * a leader change). A cut inside a batch drops that whole batch, so the log
   * may end below `offset`. Below the log start, the log is emptied and
   * restarts at `offset`.
   */
  truncateTo(offset: number): void {
    this.checkWritable();
    assert(Number.isSafeInteger(offset) && offset >= 0, `truncate to a valid offset, got ${offset}`);
    if (offset >= this.logEndOffset) return;
    if (offset < this.startOffset) {
      this.truncateFullyAndStartAt(offset);
      return;
    }
    try {
      this.withRescan(() => this.truncateSegments(offset));
    } catch (error) {
      this.offline = this.storageError(`truncate to offset ${offset}`, error);
      throw this.offline;
    }
    this.logger.info({ dir: this.dir, offset, logEndOffset: this.logEndOffset }, "log truncated");
    this.truncationCheckpointsPending = true;
    this.checkpointTruncation();
  }

  /**
   * The checkpoints a truncation lowers, each only if it lies above the new log end. Before the epochs
   * that reflect the cut, the recovery point: a power loss may undo the unsynced cut, and recovery then
   * re-reads the epochs of the batches that come back from their headers. A full disk (ENOSPC) leaves
   * them pending, the log online: every write first tries them again (checkWritable), and nothing is
   * appended before they are written, so no stale recovery point vouches for new, unsynced records. Any
   * other failure takes the log offline.
   */
  private checkpointTruncation(): void {
    if (!this.truncationCheckpointsPending) return;
    try {
      this.lowerRecoveryPoint(this.logEndOffset);
      this.updateEpochs(truncateEpochsFromEnd(this.epochs, this.logEndOffset));
      this.lowerFirstDirty(this.logEndOffset);
      this.truncationCheckpointsPending = false;
    } catch (error) {
      const failure = this.storageError("checkpoint a truncation", error);
      if (!isDiskFull(error)) this.offline = failure;
      throw failure;
    }
  }

  /** Deletes every segment and starts an empty log at `offset` (a follower whose log the leader no longer has). */
  truncateFullyAndStartAt(offset: number): void {
    this.checkWritable();
    assert(Number.isSafeInteger(offset) && offset >= 0, `restart at a valid offset, got ${offset}`);
    try {
      for (const segment of this.segments.splice(0).reverse()) segment.deleteFiles();
      this.segments.push(this.createSegment(offset));
      this.startOffset = offset;
      this.lowerRecoveryPoint(offset);
      this.writeCheckpoint(logStartOffsetFile, formatOffset(offset));
      this.updateEpochs([]);
      this.lowerFirstDirty(offset);
    } catch (error) {
      this.offline = this.storageError(`restart the log at offset ${offset}`, error);
      throw this.offline;
    } finally {
      this.afterTruncation();
    }
  }

  /**
   * Records that `epoch` starts at the log end, when this replica becomes its
   * leader: a follower asking where an older epoch ends then learns it even
   * before the new leader appends anything (Kafka does the same). An epoch
   * that is not newer than the latest known changes nothing.
   */
  assignLeaderEpoch(epoch: number): void {
    this.checkWritable();
    this.updateEpochs(assignEpoch(this.epochs, epoch, this.logEndOffset));
  }

  /** The end offset of `epoch` per the leader-epoch cache (Kafka's OffsetsForLeaderEpoch), or undefined. */
  endOffsetForEpoch(epoch: number): EpochEndOffset | undefined {
    return endOffsetForEpoch(this.epochs, epoch, this.logEndOffset);
  }

  /**
   * Checks every batch, index and checkpoint of the log on disk without changing them (verify.ts). A
   * corrupt batch it finds also becomes the log's damage, reported to `onCorruption` as a read's would be.
   * Reads the whole log synchronously: an operator's command, not a periodic task.
   */
  verify(): VerifyReport {
    assert(!this.closed, "verify only an open log");
    const report = verifyLogDir(this.fileSystem, this.dir);
    for (const finding of report.findings) {
      const segment = this.segments.find((candidate) => candidate.logPath === finding.file);
      if (finding.kind === "batch" && finding.damaged && segment && !segment.damage) this.rescan(segment);
    }
    return report;
  }

  /**
   * Flushes, checkpoints the high watermark and closes every file. On a full disk the checkpoints stay as
   * they were (recovery then re-checks a little more of the log): a shutdown does not fail for them.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.offline) {
        await this.flush();
        this.checkpointAtClose();
      }
    } finally {
      this.closed = true;
      this.closeSegments();
    }
  }

  private checkpointAtClose(): void {
    try {
      this.checkpointTruncation();
      this.checkpointHighWatermark();
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      this.logger.warn({ dir: this.dir, err: error }, "disk full: closing with the checkpoints as they were");
    }
  }

  /** Closes the log without flushing and removes its directory. */
  delete(): void {
    this.closed = true;
    this.closeSegments();
    try {
      this.fileSystem.removeDir(this.dir);
    } catch (error) {
      throw this.storageError("delete the log directory", error);
    }
  }

  private async runCleaner(options: CleanOptions): Promise<CleanResult> {
    const result = emptyCleanResult(this.firstDirtyOffset);
    if (this.cleanerPass && options.upToOffset < this.cleanerPass.mapEndOffset) this.cleanerPass = undefined;
    const pass = this.cleanerPass ?? (await this.startCleanerPass(options));
    this.cleanerPass = pass;
    if (!pass) return result;
    const rules: CleanRules = {
      map: pass.map,
      mapEndOffset: pass.mapEndOffset,
      tombstoneHorizonMs: options.nowMs - options.deleteRetentionMs,
      isLastBatchOfProducer: (header) =>
        this.headersSummary(pass).lastBatchOfProducer.get(header.producerId) === header.baseOffset,
      tombstonesMayGo: () => !this.headersSummary(pass).holdsTransactionalBatches,
    };
    // Each step cleans one segment and moves pass.nextOffset past it, or ends the pass.
    for (;;) {
      const segment = this.segments
        .slice(0, -1)
        .find(
          (candidate) =>
            candidate.baseOffset >= pass.nextOffset && candidate.baseOffset < pass.cleanEndOffset,
        );
      if (!segment) {
        this.finishCleanerPass(pass);
        break;
      }
      const bytesBefore = segment.sizeBytes;
      const cleaned = await this.cleanSegment(segment, pass, rules);
      if (cleaned === undefined) {
        this.cleanerPass = undefined;
        break;
      }
      pass.nextOffset = segment.nextOffset;
      result.segmentsCleaned += 1;
      result.bytesBefore += bytesBefore;
      result.bytesAfter += cleaned.sizeBytes;
      result.recordsRemoved += cleaned.recordsRemoved;
      if (options.bytesMax !== undefined && result.bytesBefore >= options.bytesMax) break;
    }
    result.firstDirtyOffset = this.firstDirtyOffset;
    this.logger.info({ dir: this.dir, ...result }, "cleaner compacted segments");
    return result;
  }

  /**
   * Builds the offset map from the first dirty offset up to `upToOffset` (the active segment's committed
   * records included: a later write anywhere below the bound makes older ones dead), or until it is full.
   * Undefined when no sealed segment below the bound holds dirty offsets, or the map fills at once.
   */
  private async startCleanerPass(options: CleanOptions): Promise<CleanerPass | undefined> {
    const firstDirty = this.firstDirtyOffset;
    const mapLimit = Math.min(options.upToOffset, this.logEndOffset);
    const cleanable = this.segments.slice(0, -1).filter((segment) => segment.nextOffset <= mapLimit);
    const cleanableEnd = cleanable.at(-1)?.nextOffset ?? this.startOffset;
    if (cleanableEnd <= firstDirty) return undefined;
    const map = new OffsetMap(options.offsetMapEntriesMax);
    const mapEndOffset = await this.fillOffsetMap(map, firstDirty, mapLimit);
    if (mapEndOffset === undefined) return undefined;
    const cleanEndOffset = Math.min(mapEndOffset, cleanableEnd);
    if (cleanEndOffset <= firstDirty) {
      this.logger.warn(
        { dir: this.dir, firstDirty, offsetMapEntriesMax: map.entriesMax },
        "the offset map filled before any progress",
      );
      return undefined;
    }
    return {
      map,
      mapEndOffset,
      cleanEndOffset,
      nextOffset: this.startOffset,
      truncations: this.truncations,
      headers: undefined,
    };
  }

  /** Maps keys from `fromOffset` on; returns where the map ends: `mapLimit`, or where it filled or a batch crosses the limit. */
  private async fillOffsetMap(
    map: OffsetMap,
    fromOffset: number,
    mapLimit: number,
  ): Promise<number | undefined> {
    const truncations = this.truncations;
    const segments = this.segments;
    let sinceYield = 0;
    try {
      for (let i = Math.max(segmentIndexFor(segments, fromOffset), 0); i < segments.length; i++) {
        for (const { buf, header } of segments[i].batches()) {
          if (header.lastOffset < fromOffset) continue;
          if (header.lastOffset >= mapLimit) return Math.max(fromOffset, header.baseOffset);
          const [batch] = decodeRecordBatches(
            buf.subarray(header.position, header.position + header.sizeInBytes),
          );
          const fullAt = addToOffsetMap(map, batch, fromOffset);
          if (fullAt !== undefined) return fullAt;
          sinceYield += header.sizeInBytes;
          if (sinceYield < cleanerYieldBytes) continue;
          sinceYield = 0;
          await yieldToEventLoop();
          // Closed, truncated, or this segment deleted by retention meanwhile: this pass is abandoned, and
          // the next starts afresh. (A roll only adds segments past the map's limit.)
          if (
            this.closed ||
            this.offline ||
            this.truncations !== truncations ||
            !this.segments.includes(segments[i])
          ) {
            return undefined;
          }
        }
      }
    } catch (error) {
      throw this.storageError("build the cleaner's offset map", error);
    }
    return mapLimit;
  }

  /**
   * Each producer's last batch in the whole log, and whether the log holds a transactional batch, by one
   * walk of every batch header, done when the pass first needs either.
   */
  private headersSummary(pass: CleanerPass): HeadersSummary {
    if (pass.headers) return pass.headers;
    const lastBatchOfProducer = new Map<number, number>();
    let holdsTransactionalBatches = false;
    for (const segment of this.segments) {
      for (const { header } of segment.batches()) {
        if (header.producerId >= 0) lastBatchOfProducer.set(header.producerId, header.baseOffset);
        holdsTransactionalBatches ||= header.isTransactional;
      }
    }
    pass.headers = { lastBatchOfProducer, holdsTransactionalBatches };
    return pass.headers;
  }

  private finishCleanerPass(pass: CleanerPass): void {
    this.cleanerPass = undefined;
    if (pass.cleanEndOffset <= this.firstDirty) return;
    this.writeCheckpoint(cleanerOffsetFile, formatOffset(pass.cleanEndOffset));
    this.firstDirty = pass.cleanEndOffset;
  }

  /**
   * Writes the cleaned copy of `segment`, fsyncs it and swaps it in (cleaned-segment.ts). Undefined when
   * the log changed under the clean while it awaited an fsync (the segment was deleted or truncated, or
   * the log closed); the copy is then discarded.
   */
  private async cleanSegment(
    segment: LogSegment,
    pass: CleanerPass,
    rules: CleanRules,
  ): Promise<{ sizeBytes: number; recordsRemoved: number } | undefined> {
    const stillThere = () =>
      !this.closed &&
      !this.offline &&
      pass.truncations === this.truncations &&
      this.segments.slice(0, -1).includes(segment);
    const writer = CleanedSegmentWriter.create(
      this.fileSystem,
      this.dir,
      segment.baseOffset,
      this.config.indexIntervalBytes,
    );
    let cleaner: SegmentCleaner;
    try {
      cleaner = new SegmentCleaner(rules, (batch) => writer.append(batch));
      let sinceYield = 0;
      for (const { buf, header } of segment.batches()) {
        cleaner.add(buf, header);
        sinceYield += header.sizeInBytes;
        if (sinceYield < cleanerYieldBytes) continue;
        sinceYield = 0;
        await yieldToEventLoop();
        if (!stillThere()) {
          writer.discard();
          return undefined;
        }
      }
      cleaner.finish();
      await writer.finish();
      writer.close();
      if (!stillThere()) {
        writer.discard();
        return undefined;
      }
      markCleanedForSwap(this.fileSystem, this.dir, segment.baseOffset);
    } catch (error) {
      writer.discard();
      throw this.storageError(`clean segment ${segment.baseOffset}`, error);
    }
    try {
      await this.fileSystem.syncDir(this.dir);
    } catch (error) {
      removeSwapFiles(this.fileSystem, this.dir, segment.baseOffset);
      throw this.storageError(`clean segment ${segment.baseOffset}`, error);
    }
    if (!stillThere()) {
      removeSwapFiles(this.fileSystem, this.dir, segment.baseOffset);
      return undefined;
    }
    const sizeBytes = writer.writtenBytes;
    this.swapInCleaned(segment);
    return { sizeBytes, recordsRemoved: cleaner.recordsRemoved };
  }

  /** Step 3 of the swap, then the segment is opened anew from its new files. A failure here leaves the log offline until reopened. */
  private swapInCleaned(segment: LogSegment): void {
    try {
      segment.close();
      replaceWithSwap(this.fileSystem, this.dir, segment.baseOffset);
      const { segment: cleaned } = LogSegment.open(this.fileSystem, this.dir, segment.baseOffset, {
        active: false,
        indexIntervalBytes: this.config.indexIntervalBytes,
        nowMs: this.clock.nowMs(),
      });
      this.segments = this.segments.map((candidate) => (candidate === segment ? cleaned : candidate));
    } catch (error) {
      this.offline = this.storageError(`swap in the cleaned segment ${segment.baseOffset}`, error);
      throw this.offline;
    } finally {
      this.directoryChanged = true;
      this.writeSequence += 1;
    }
  }

  private get activeSegment(): LogSegment {
    return this.segments[this.segments.length - 1];
  }

  private checkWritable(): void {
    assert(!this.closed, "write only to an open log");
    if (this.offline) throw this.offline;
    this.checkpointTruncation();
  }

  /**
   * Splits `batches` into validated headers; refuses an empty buffer or any bad batch. A leader's append
   * takes producer batches (records numbered 0..n-1); a follower's takes stored ones, which compaction
   * may have thinned (`acceptCompacted`).
   */
  private validate(
    batches: Buffer,
    maxBatchBytes: number | undefined,
    options: BatchCountOptions = {},
  ): BatchHeader[] {
    const headers = splitBatches(batches, maxBatchBytes, options);
    if (headers.length === 0) throw new BrookError("CORRUPT_BATCH", "the append holds no record batch");
    return headers;
  }

  /** Writes placed batches, rolling segments as needed; on failure the log is cut back to where it was. */
  private write(records: Buffer, placed: readonly PlacedBatch[]): AppendResult {
    const startEndOffset = this.logEndOffset;
    this.writeSequence += 1;
    try {
      let first = 0;
      for (const runLength of segmentRuns(placed, this.config.segmentBytes)) {
        const run = placed.slice(first, first + runLength);
        first += runLength;
        const from = run[0].position;
        const last = run[run.length - 1];
        const bytes = records.subarray(from, last.position + last.sizeInBytes);
        this.maybeRoll(bytes.length, last);
        this.activeSegment.append(
          bytes,
          run.map((batch) => ({ ...batch, position: batch.position - from })),
          this.clock.nowMs(),
        );
      }
    } catch (error) {
      this.undoWrite(startEndOffset);
      throw this.storageError("append", error);
    }
    return {
      baseOffset: placed[0].baseOffset,
      lastOffset: placed[placed.length - 1].lastOffset,
      logAppendTimeMs: this.clock.nowMs(),
    };
  }

  /** After a failed append: the failed segment undid its own write; earlier runs of the same append go too. */
  private undoWrite(startEndOffset: number): void {
    try {
      if (this.activeSegment.broken) throw new Error("a failed write could not be undone");
      if (this.logEndOffset > startEndOffset) this.truncateSegments(startEndOffset);
    } catch (error) {
      this.offline = this.storageError("undo a failed append", error);
      this.logger.warn({ dir: this.dir, err: error }, "log is offline until restarted");
    }
  }

  private maybeRoll(sizeBytes: number, last: PlacedBatch): void {
    const nowMs = this.clock.nowMs();
    const append = { sizeBytes, lastOffset: last.lastOffset, maxTimestampMs: last.maxTimestamp };
    if (shouldRoll(this.activeSegment.rollState(), append, this.config, nowMs)) this.roll();
  }

  /** Seals the active segment and starts a new, empty one at the log end. */
  private roll(): void {
    const next = this.createSegment(this.logEndOffset);
    try {
      this.activeSegment.seal();
    } catch (error) {
      next.deleteFiles();
      throw error;
    }
    this.segments.push(next);
  }

  private summaries() {
    return this.segments.map((segment) => segment.summary());
  }

  private createSegment(baseOffset: number): LogSegment {
    this.directoryChanged = true;
    return LogSegment.create(
      this.fileSystem,
      this.dir,
      baseOffset,
      this.config.indexIntervalBytes,
      this.clock.nowMs(),
    );
  }

  /** Cuts the log at `offset` (≥ the first segment's base): later segments go, the one holding it is cut. */
  private truncateSegments(offset: number): void {
    try {
      const keep = segmentIndexFor(this.segments, offset);
      assert(keep >= 0, "truncation stays within the first segment's offsets");
      // Newest first, so a crash midway still leaves a log whose offsets continue each other.
      while (this.segments.length > keep + 1) this.segments.pop()?.deleteFiles();
      this.activeSegment.truncateTo(offset);
      this.activeSegment.unseal();
    } finally {
      this.afterTruncation();
    }
  }

  private afterTruncation(): void {
    const logEndOffset = this.logEndOffset;
    this.truncations += 1;
    this.cleanerPass = undefined;
    this.writeSequence += 1;
    this.directoryChanged = true;
    this.startOffset = Math.min(this.startOffset, logEndOffset);
    this.highWatermarkOffset = Math.min(Math.max(this.highWatermarkOffset, this.startOffset), logEndOffset);
    this.flushedUpTo = Math.min(Math.max(this.flushedUpTo, this.startOffset), logEndOffset);
    this.lowestEndOffsetDuringFlush = Math.min(this.lowestEndOffsetDuringFlush, logEndOffset);
  }

  private startFlush(): Promise<void> {
    const sequence = this.writeSequence;
    const targetOffset = this.logEndOffset;
    this.lowestEndOffsetDuringFlush = targetOffset;
    const segments = this.segments.filter((segment) => segment.needsSync);
    for (const segment of segments) segment.needsSync = false;
    const syncDirectory = this.directoryChanged;
    this.directoryChanged = false;
    const done = (async () => {
      try {
        await Promise.all([
          ...segments.map((segment) => segment.sync()),
          syncDirectory ? this.fileSystem.syncDir(this.dir) : undefined,
        ]);
        this.flushedUpTo = Math.max(
          this.flushedUpTo,
          Math.min(targetOffset, this.lowestEndOffsetDuringFlush),
        );
        this.syncedSequence = sequence;
      } catch (error) {
        // After a failed fsync the kernel may have dropped the dirty pages, so the files cannot be trusted.
        this.offline = this.storageError("flush", error);
        throw this.offline;
      } finally {
        this.flushing = undefined;
      }
    })();
    this.flushing = { sequence, done };
    return done;
  }

  /** After a truncation: offsets appended again from `offset` on are dirty, even across a restart. */
  private lowerFirstDirty(offset: number): void {
    if (this.firstDirty === offset) return;
    if (this.firstDirty > offset) this.writeCheckpoint(cleanerOffsetFile, formatOffset(offset));
    this.firstDirty = Math.min(this.firstDirty, offset);
  }

  private advanceLogStartOffset(offset: number): void {
    if (offset <= this.startOffset) return;
    this.writeCheckpoint(logStartOffsetFile, formatOffset(offset));
    this.startOffset = offset;
    this.updateEpochs(truncateEpochsFromStart(this.epochs, offset));
  }

  /**
   * After a truncation to `logEndOffset`: a recovery point on disk above it would vouch for the offsets
   * appended there next, before any fsync, so it comes down at once (durably; truncations are rare).
   */
  private lowerRecoveryPoint(logEndOffset: number): void {
    const checkpointed = this.checkpointedRecoveryPoint;
    if (checkpointed !== undefined && checkpointed > logEndOffset) this.writeRecoveryPoint(logEndOffset);
  }

  private writeRecoveryPoint(offset: number): void {
    this.writeCheckpoint(recoveryPointFile, formatOffset(offset));
    this.checkpointedRecoveryPoint = offset;
  }

  /** Adopts a new leader-epoch list, persisting it first when it changed. */
  private updateEpochs(epochs: EpochEntries): void {
    if (epochs === this.epochs) return;
    this.writeCheckpoint(leaderEpochFile, formatEpochs(epochs));
    this.epochs = epochs;
  }

  private writeCheckpoint(name: string, text: string): void {
    try {
      this.fileSystem.writeFileAtomic(path.join(this.dir, name), text);
    } catch (error) {
      throw this.storageError(`write ${name}`, error);
    }
  }

  /** Builds the in-memory log from the directory; see `open`. */
  private load(): void {
    this.fileSystem.mkdirp(this.dir);
    this.reportCleanerRecovery(recoverCleanerFiles(this.fileSystem, this.dir));
    const bases = this.listSegmentBases();
    const checkpointedStart = this.checkpointedLogStart(bases);
    this.openSegments(bases, checkpointedStart);
    // Without the file (a new log, or one written before it existed) nothing is taken as flushed.
    this.checkpointedRecoveryPoint = this.readOffsetCheckpoint(recoveryPointFile);
    const recoveryPoint = Math.max(this.checkpointedRecoveryPoint ?? 0, this.segments[0]?.baseOffset ?? 0);
    this.scanUnflushedSegments(recoveryPoint);
    this.cutTornTail(recoveryPoint);
    const recoveredEpochs = this.recoveredEpochs(recoveryPoint);
    if (this.segments.length === 0) this.segments.push(this.createSegment(checkpointedStart));
    this.activeSegment.unseal();
    this.startOffset = Math.min(Math.max(checkpointedStart, this.segments[0].baseOffset), this.logEndOffset);
    this.loadEpochs(recoveredEpochs);
    const highWatermark = this.readOffsetCheckpoint(highWatermarkFile) ?? this.startOffset;
    this.highWatermarkOffset = Math.min(Math.max(highWatermark, this.startOffset), this.logEndOffset);
    this.checkpointedHighWatermark = highWatermark;
    this.flushedUpTo = this.startOffset;
    const firstDirty = this.readOffsetCheckpoint(cleanerOffsetFile) ?? this.startOffset;
    this.firstDirty = Math.min(Math.max(firstDirty, this.startOffset), this.logEndOffset);
  }

  /** Opens the segments in `bases` in order, stopping at a gap in their offsets. */
  private openSegments(bases: readonly number[], checkpointedStart: number): void {
    for (let i = 0; i < bases.length; i++) {
      const baseOffset = bases[i];
      const isLast = i === bases.length - 1;
      if (!isLast && bases[i + 1] <= checkpointedStart) {
        // Retention had made this segment obsolete but crashed before deleting it.
        this.removeSegmentFiles(baseOffset);
        continue;
      }
      const previous = this.segments.at(-1);
      if (previous && previous.nextOffset !== baseOffset) {
        this.dropSegmentsFrom(bases.slice(i), `offsets jump from ${previous.nextOffset} to ${baseOffset}`);
        break;
      }
      const recovery = LogSegment.open(this.fileSystem, this.dir, baseOffset, {
        active: isLast,
        indexIntervalBytes: this.config.indexIntervalBytes,
        nowMs: this.clock.nowMs(),
        // A sealed segment's bad batch is kept as damage: this may be the last copy of what follows it.
        sealedNextOffset: isLast ? undefined : bases[i + 1],
      });
      this.segments.push(recovery.segment);
      this.reportRecovery(baseOffset, recovery);
    }
  }

  /**
   * Gives every sealed segment holding offsets from the recovery point on a full scan (the active one had
   * it): its indexes may have reached the disk while its bytes were torn, and the quick check from the last
   * index entry would miss that. Only segments rolled since the last flush, so usually none.
   */
  private scanUnflushedSegments(recoveryPoint: number): void {
    for (const segment of this.segments.slice(0, -1)) {
      if (segment.nextOffset > recoveryPoint && !segment.damage) segment.rescan();
    }
  }

  /**
   * Cuts the log, with every segment after it, at the first bad batch that is not rot: one at or past the
   * recovery point (it was never fsynced, so a power loss may have torn it while later bytes, even later
   * segments, reached the disk; nothing from it on was ever called durable), or a torn or zeroed tail
   * followed by nothing but empty segments (a crash right after a roll). A bad batch below the recovery
   * point had been fsynced, so it is rot and is kept as damage: this replica may hold the only copy of
   * what follows it.
   */
  private cutTornTail(recoveryPoint: number): void {
    const isTorn = (segment: LogSegment, index: number) => {
      const damage = segment.damage;
      if (!damage) return false;
      if (damage.offset >= recoveryPoint) return true;
      return damage.tornTail && this.segments.slice(index + 1).every((later) => later.sizeBytes === 0);
    };
    const index = this.segments.findIndex(isTorn);
    const damage = this.segments[index]?.damage;
    if (!damage) return;
    this.cutRecoveredLog(index, damage.offset);
    this.logger.warn(
      { dir: this.dir, baseOffset: this.activeSegment.baseOffset, recoveryPoint, ...damage },
      "recovery cut a torn tail (past the recovery point, or followed by empty segments only)",
    );
  }

  /** During recovery: drops the segments after `index` and cuts that one at `offset`. */
  private cutRecoveredLog(index: number, offset: number): void {
    for (const segment of this.segments.slice(index + 1).reverse()) segment.deleteFiles();
    this.segments = this.segments.slice(0, index + 1);
    this.activeSegment.truncateTo(offset);
  }

  /**
   * The leader epochs the batch headers from `fromOffset` to the log end name (Kafka's segment recovery
   * does the same): the first and the last batch of each run of one epoch, for `assignRecoveredEpoch`.
   * Epochs never go back in a log, so a batch older than the one before it is what a lost truncation and
   * a torn rewrite leave: the log is cut there. Reads only what lies past the recovery point.
   */
  private recoveredEpochs(fromOffset: number): EpochEntry[] {
    const found: EpochEntry[] = [];
    const nowMs = this.clock.nowMs();
    const first = Math.max(segmentIndexFor(this.segments, fromOffset), 0);
    for (let i = first; i < this.segments.length; i++) {
      const segment = this.segments[i];
      // Each read moves past at least one batch; an empty read is the segment's end or its damage.
      for (let offset = Math.max(fromOffset, segment.baseOffset); offset < segment.nextOffset; ) {
        const chunk = segment.read(offset, recoveryReadChunkBytes, segment.nextOffset, true, nowMs);
        if (chunk.length === 0) break;
        for (let position = 0; position < chunk.length; ) {
          const {
            partitionLeaderEpoch: epoch,
            baseOffset,
            lastOffset,
            sizeInBytes,
          } = readBatchHeader(chunk, position);
          position += sizeInBytes;
          offset = lastOffset + 1;
          if (epoch < 0) continue;
          const [older, latest] = [found.at(-2), found.at(-1)];
          if (latest && epoch < latest.epoch) {
            this.logger.warn(
              { dir: this.dir, offset: baseOffset, epoch, previousEpoch: latest.epoch },
              "recovery cut the log at a batch whose leader epoch goes back (a lost truncation)",
            );
            this.cutRecoveredLog(i, baseOffset);
            return found;
          }
          const entry = { epoch, startOffset: baseOffset };
          if (older?.epoch === epoch && latest?.epoch === epoch) found[found.length - 1] = entry;
          else found.push(entry);
        }
      }
    }
    return found;
  }

  /**
   * The log start offset checkpoint, if it names a segment's base offset. Only retention and a full
   * truncation move the log start, each to a segment's base; any other value is a checkpoint that rotted
   * (and would hide records below it), so the first segment's base is taken instead.
   */
  private checkpointedLogStart(bases: readonly number[]): number {
    const checkpointed = this.readOffsetCheckpoint(logStartOffsetFile);
    if (checkpointed === undefined) return bases[0] ?? 0;
    if (bases.length === 0 || bases.includes(checkpointed)) return checkpointed;
    this.logger.warn(
      { dir: this.dir, checkpointed, segmentBaseOffsets: bases },
      "ignoring a log start offset checkpoint that names no segment",
    );
    return bases[0];
  }

  private reportCleanerRecovery(recovery: { swappedIn: number[]; removed: string[] }): void {
    if (recovery.swappedIn.length === 0 && recovery.removed.length === 0) return;
    this.logger.info({ dir: this.dir, ...recovery }, "finished or discarded what a crash left of a clean");
  }

  /** Base offsets of the segments on disk, ascending; stray temp files and orphaned indexes are removed. */
  private listSegmentBases(): number[] {
    const bases: number[] = [];
    const orphans: string[] = [];
    const names = this.fileSystem.list(this.dir);
    const logs = new Set(names.filter((name) => name.endsWith(logSuffix)));
    for (const name of names) {
      const parsed = parseSegmentFileName(name);
      if (name.endsWith(".tmp")) orphans.push(name);
      else if (parsed?.suffix === logSuffix) bases.push(parsed.baseOffset);
      else if (parsed && !logs.has(segmentFileName(parsed.baseOffset, logSuffix))) orphans.push(name);
    }
    for (const name of orphans) this.fileSystem.remove(path.join(this.dir, name));
    return bases.sort((a, b) => a - b);
  }

  private dropSegmentsFrom(bases: readonly number[], reason: string): void {
    this.logger.warn(
      { dir: this.dir, droppedSegments: bases, reason },
      "dropping segments after a gap in the log",
    );
    for (const baseOffset of [...bases].reverse()) this.removeSegmentFiles(baseOffset);
  }

  private removeSegmentFiles(baseOffset: number): void {
    for (const suffix of [logSuffix, offsetIndexSuffix, timeIndexSuffix]) {
      this.fileSystem.remove(path.join(this.dir, segmentFileName(baseOffset, suffix)));
    }
  }

  private reportRecovery(baseOffset: number, recovery: SegmentRecovery): void {
    if (recovery.truncation) {
      this.logger.warn(
        { dir: this.dir, baseOffset, ...recovery.truncation },
        "recovery cut a torn or corrupt tail off a segment",
      );
    }
    const damage = recovery.segment.damage;
    if (damage) {
      this.logger.warn(
        { dir: this.dir, baseOffset, ...damage },
        "a sealed segment holds a corrupt batch; keeping it as damage",
      );
    }
    if (recovery.indexesRebuilt) this.logger.info({ dir: this.dir, baseOffset }, "rebuilt segment indexes");
  }

  /**
   * Loads the leader-epoch checkpoint, corrects it by the epochs recovery read from the batches past the
   * recovery point (the checkpoint may reflect a truncation a power loss undid), and drops epochs outside
   * the recovered log.
   */
  private loadEpochs(recovered: readonly EpochEntry[]): void {
    const checkpointed =
      readCheckpoint(this.fileSystem, this.dir, leaderEpochFile, parseEpochs, (error) => {
        this.logger.warn({ dir: this.dir, err: error }, "ignoring an unreadable leader-epoch checkpoint");
        return [];
      }) ?? [];
    this.epochs = checkpointed;
    const rebuilt = recovered.reduce(
      (entries, { epoch, startOffset }) => assignRecoveredEpoch(entries, epoch, startOffset),
      checkpointed,
    );
    if (rebuilt !== checkpointed) {
      this.logger.warn(
        { dir: this.dir, checkpointed, rebuilt },
        "recovery corrected the leader epochs by the batches past the recovery point",
      );
    }
    this.updateEpochs(
      truncateEpochsFromStart(truncateEpochsFromEnd(rebuilt, this.logEndOffset), this.startOffset),
    );
  }

  private readOffsetCheckpoint(name: string): number | undefined {
    return readCheckpoint(this.fileSystem, this.dir, name, parseOffset, (error) => {
      this.logger.warn({ dir: this.dir, file: name, err: error }, "ignoring an unreadable checkpoint");
      return undefined;
    });
  }

  private closeSegments(): void {
    for (const segment of this.segments) segment.close();
  }

  /**
   * Runs `action`; when it meets bad bytes, scans that segment to record its damage (or rebuild the index
   * that misled it) and runs it again, at most `rescanAttemptsMax` times in all.
   */
  private withRescan<T>(action: () => T): T {
    for (let attempt = 1; ; attempt++) {
      try {
        return action();
      } catch (error) {
        if (!(error instanceof SegmentCorruption) || attempt >= rescanAttemptsMax) throw error;
        this.rescan(error.segment);
      }
    }
  }

  /** Verifies every batch of `segment`, records its damage, and tells the logger and `onCorruption`. */
  private rescan(segment: LogSegment): void {
    const known = segment.damage;
    const damage = segment.rescan();
    this.writeSequence += 1;
    if (!damage) {
      this.logger.warn(
        { dir: this.dir, baseOffset: segment.baseOffset },
        "rebuilt the indexes of a segment that misled a read",
      );
      return;
    }
    if (known?.position === damage.position) return;
    const error = this.corruptionError(segment);
    this.logger.warn(
      { dir: this.dir, ...error.damage },
      "found a corrupt batch; the log is damaged from its offset",
    );
    this.onCorruption(error);
  }

  /**
   * A verified batch whose leader epoch the log says is impossible: marks the segment damaged there and
   * reports it, as a read that met bad bytes does.
   */
  private impossibleEpochFound(segment: LogSegment, bad: ImpossibleEpoch): void {
    const known = segment.damage;
    segment.markDamaged(bad.baseOffset, bad.reason);
    if (known !== undefined && known.offset <= bad.baseOffset) return;
    this.writeSequence += 1;
    const error = this.corruptionError(segment);
    this.logger.warn(
      { dir: this.dir, ...error.damage },
      "found a corrupt batch; the log is damaged from its offset",
    );
    this.onCorruption(error);
  }

  private corruptionError(segment: LogSegment): LogCorruptionError {
    const damage = segment.damage;
    assert(damage, "a corruption error names a damaged segment");
    return new LogCorruptionError({
      offset: damage.offset,
      file: segment.logPath,
      position: damage.position,
      reason: damage.reason,
    });
  }

  private storageError(action: string, error: unknown): BrookError {
    if (error instanceof SegmentCorruption) {
      if (!error.segment.damage) this.rescan(error.segment);
      return error.segment.damage ? this.corruptionError(error.segment) : error;
    }
    if (error instanceof BrookError) return error;
    const detail = error instanceof Error ? error.message : String(error);
    return new BrookError("STORAGE_ERROR", `could not ${action} in ${this.dir}: ${detail}`, { cause: error });
  }
}

/** Whether a failure is, at its root, a full disk (ENOSPC). */
function isDiskFull(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 8; depth++) {
    if ((cause as NodeJS.ErrnoException).code === "ENOSPC") return true;
    cause = cause.cause;
  }
  return false;
}

function placeBatch(header: BatchHeader, baseOffset: number): PlacedBatch {
  return {
    position: header.position,
    baseOffset,
    lastOffset: baseOffset + header.lastOffsetDelta,
    sizeInBytes: header.sizeInBytes,
    maxTimestamp: header.maxTimestamp,
  };
}

/**
 * The offset after `batches` when none of them holds a record (compaction's fillers), else undefined. It
 * stops at the first batch with records: on every read of a log that was never compacted, that is the first.
 */
function endOfEmptyBatches(batches: Buffer): number | undefined {
  let end: number | undefined;
  for (let position = 0; position < batches.length; ) {
    const header = readBatchHeader(batches, position);
    if (header.recordCount > 0) return undefined;
    end = header.lastOffset + 1;
    position += header.sizeInBytes;
  }
  return end;
}

/**
 * A read that starts inside a filler (an empty batch compaction merged, producer id -1) gets the filler cut
 * to start at the offset asked for. Each replica merges its own fillers, so a follower's log may end inside
 * one of the leader's: it can append only a batch that starts exactly at its log end.
 */
function startFillerAt(batches: Buffer, offset: number): Buffer {
  const first = readBatchHeader(batches);
  if (first.recordCount !== 0 || first.producerId !== -1 || first.baseOffset >= offset) return batches;
  const filler = encodeEmptyBatch({
    baseOffset: offset,
    lastOffsetDelta: first.lastOffset - offset,
    partitionLeaderEpoch: first.partitionLeaderEpoch,
    attributes: first.attributes,
    baseTimestamp: first.baseTimestamp,
    maxTimestamp: first.maxTimestamp,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
  });
  return Buffer.concat([filler, batches.subarray(first.sizeInBytes)]);
}

/**
 * Runs of an action that met bad bytes: the first finds them, a rescan records the damage (or rebuilds a
 * misleading index), the next runs stop at the damage; a third covers a read crossing into a second segment.
 */
const rescanAttemptsMax = 3;

/** Bytes of log recovery reads at a time past the recovery point to learn the batches' leader epochs. */
const recoveryReadChunkBytes = 1024 * 1024;

function emptyCleanResult(firstDirtyOffset: number): CleanResult {
  return { segmentsCleaned: 0, bytesBefore: 0, bytesAfter: 0, recordsRemoved: 0, firstDirtyOffset };
}

/** Bytes of log a cleaner pass reads between two yields to the event loop (so a node keeps serving). */
const cleanerYieldBytes = 4 * 1024 * 1024;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface ImpossibleEpoch {
  /** Where the batch starts in the bytes read. */
  at: number;
  baseOffset: number;
  reason: string;
}

/**
 * The first batch of `bytes` (verified batches, as a segment read returns them) that claims a leader epoch
 * above the one the epoch cache gives its offset, or undefined. The partition leader epoch lies outside
 * the CRC (a leader stamps it after the producer's CRC), so a bit rotted there passes every other check;
 * served, a higher epoch would poison a follower's epoch cache, and its truncations, with an epoch that
 * never led. Pure.
 */
export function batchWithImpossibleEpoch(bytes: Buffer, epochs: EpochEntries): ImpossibleEpoch | undefined {
  if (epochs.length === 0 || bytes.length < BATCH_HEADER_BYTES) return undefined;
  // Batches come in offset order: find the covering entry once, then only move forward (O(entries + batches)).
  const firstOffset = readInt64(bytes, BASE_OFFSET_OFFSET);
  let entry = Math.max(
    0,
    floorEntry(epochs.length, (i) => epochs[i].startOffset, firstOffset),
  );
  for (let at = 0; at + BATCH_HEADER_BYTES <= bytes.length; ) {
    const baseOffset = readInt64(bytes, at + BASE_OFFSET_OFFSET);
    while (entry + 1 < epochs.length && epochs[entry + 1].startOffset <= baseOffset) entry++;
    const claimed = bytes.readInt32BE(at + PARTITION_LEADER_EPOCH_OFFSET);
    const allowed = epochs[entry].epoch;
    if (claimed > allowed) {
      return {
        at,
        baseOffset,
        reason: `the batch claims leader epoch ${claimed}, but the log's epoch at offset ${baseOffset} is ${allowed}`,
      };
    }
    at += bytes.readInt32BE(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
  }
  return undefined;
}
