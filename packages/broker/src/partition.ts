// One partition replica on this broker: its log, its high watermark, and the
// waiters (long-polling fetches, acks=all produces) that care when the high
// watermark moves. At replication factor 1 the high watermark is the log end
// offset once fsynced (flush.mode=fsync, group commit) or once written
// (flush.mode=none); replication (a later issue) generalises this to the
// smallest log end offset across the ISR.

import type { PartitionImage, TopicConfig } from "@brook/metadata";
import { asBrookError, BrookError } from "@brook/protocol";
import type { PartitionLog } from "@brook/storage";
import type { Logger } from "pino";

export interface AppendResult {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly logAppendTimeMs: number;
}

export interface ReadResult {
  readonly records: Buffer;
  readonly highWatermark: number;
  readonly logStartOffset: number;
}

type Waiter = () => void;

export class Partition {
  private highWatermarkOffset: number;
  private readonly waiters = new Set<Waiter>();
  private closed = false;
  /** Why the log can no longer commit anything (a failed fsync); set once, until restart. */
  private failure: BrookError | undefined;

  constructor(
    readonly topic: string,
    readonly topicId: string,
    readonly partition: number,
    readonly log: PartitionLog,
    private state: PartitionImage,
    private config: TopicConfig,
    private readonly brokerId: number,
    private readonly logger: Logger,
  ) {
    // PartitionLog.open fsyncs whatever it recovered, so at replication
    // factor 1 everything in the log is durable and may be visible.
    this.highWatermarkOffset = log.logEndOffset;
    log.highWatermark = this.highWatermarkOffset;
  }

  get isLeader(): boolean {
    return this.state.leader === this.brokerId;
  }

  get leaderEpoch(): number {
    return this.state.leaderEpoch;
  }

  get highWatermark(): number {
    return this.highWatermarkOffset;
  }

  get topicConfig(): TopicConfig {
    return this.config;
  }

  /** Number of requests waiting on the high watermark (acks=all produces, long-polling fetches). */
  get waiterCount(): number {
    return this.waiters.size;
  }

  /**
   * Follows a new metadata image. Leadership applies even when the log
   * refuses the new config (it throws, and keeps the config it had).
   */
  update(state: PartitionImage, config: TopicConfig): void {
    const wasLeader = this.isLeader;
    this.state = state;
    // Waiters must learn at once that this replica stopped leading, not at their timeout.
    if (wasLeader && !this.isLeader) this.notify();
    this.log.updateConfig(toLogConfig(config));
    this.config = config;
  }

  /** Appends one request's batches as the leader; the bytes are validated and written verbatim. */
  append(batches: Buffer): AppendResult {
    this.requireLeader();
    const result = this.log.append(batches, this.state.leaderEpoch);
    if (this.config.flushMode === "none") {
      this.advanceHighWatermark(this.log.logEndOffset);
    } else {
      this.flushInBackground();
    }
    return result;
  }

  /**
   * Whole batches from `offset`, never past the high watermark, up to
   * `maxBytes`; with `minOneBatch`, the first batch even when larger (KIP-74).
   */
  read(offset: number, maxBytes: number, minOneBatch = true): ReadResult {
    this.requireLeader();
    const records =
      offset >= this.highWatermarkOffset && offset <= this.log.logEndOffset
        ? emptyRecords
        : this.log.read(offset, maxBytes, { maxOffset: this.highWatermarkOffset, minOneBatch }).records;
    return { records, highWatermark: this.highWatermarkOffset, logStartOffset: this.log.logStartOffset };
  }

  /** The offsets a fetch reports when its response has no room left for records. */
  offsets(): ReadResult {
    this.requireLeader();
    return {
      records: emptyRecords,
      highWatermark: this.highWatermarkOffset,
      logStartOffset: this.log.logStartOffset,
    };
  }

  /**
   * Resolves once the high watermark reaches `offset`; rejects after
   * `timeoutMs`, or as soon as it never can here: the replica closed or
   * stopped leading (NOT_LEADER), or its log failed (STORAGE_ERROR).
   */
  waitForHighWatermark(offset: number, timeoutMs: number): Promise<void> {
    if (this.highWatermarkOffset >= offset) return Promise.resolve();
    const stalled = this.stalled();
    if (stalled) return Promise.reject(stalled);
    return new Promise((resolve, reject) => {
      const finish = (error?: BrookError) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        if (this.highWatermarkOffset >= offset) finish();
        else {
          const error = this.stalled();
          if (error) finish(error);
        }
      };
      const timer = setTimeout(
        () =>
          finish(new BrookError("REQUEST_TIMED_OUT", `records were not committed within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.add(check);
    });
  }

  /**
   * Calls `listener` (once) the next time the high watermark moves, the
   * partition closes or stops leading, or its log fails.
   */
  onNextChange(listener: () => void): () => void {
    const once = () => {
      this.waiters.delete(once);
      listener();
    };
    this.waiters.add(once);
    return () => this.waiters.delete(once);
  }

  applyRetention(): void {
    const { deletedSegments } = this.log.applyRetention();
    if (deletedSegments > 0) {
      this.logger.info(
        {
          topic: this.topic,
          partition: this.partition,
          deletedSegments,
          logStartOffset: this.log.logStartOffset,
        },
        "retention deleted old segments",
      );
    }
  }

  /** Stops serving and removes the log from disk (its topic was deleted). */
  delete(): void {
    this.closed = true;
    this.notify();
    this.log.delete();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.notify();
    await this.log.close();
  }

  private requireLeader(): void {
    if (this.closed || !this.isLeader) throw this.notLeader();
  }

  private notLeader(): BrookError {
    return new BrookError(
      "NOT_LEADER",
      `broker ${this.brokerId} is not the leader of ${this.topic}-${this.partition} (leader is ${this.state.leader})`,
    );
  }

  /** Why the high watermark cannot move here any more, if it cannot. */
  private stalled(): BrookError | undefined {
    if (this.closed || !this.isLeader) return this.notLeader();
    return this.failure;
  }

  private flushInBackground(): void {
    // Group commit: the log shares one fsync among every append made while
    // the previous one was in flight.
    this.log.flush().then(
      () => this.advanceHighWatermark(this.log.flushedOffset),
      (error: unknown) => {
        if (this.closed || this.failure) return;
        this.logger.error({ err: error, topic: this.topic, partition: this.partition }, "fsync failed");
        // The log is offline now: nothing more will commit, so waiters fail now rather than time out.
        this.failure = asBrookError(error);
        this.notify();
      },
    );
  }

  private advanceHighWatermark(offset: number): void {
    if (offset <= this.highWatermarkOffset || this.closed) return;
    this.highWatermarkOffset = offset;
    // Retention never deletes at or above the log's high watermark.
    this.log.highWatermark = offset;
    this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

const emptyRecords = Buffer.alloc(0);

export function toLogConfig(config: TopicConfig) {
  return {
    segmentBytes: config.segmentBytes,
    segmentMs: config.segmentMs,
    retentionMs: config.retentionMs,
    retentionBytes: config.retentionBytes,
    maxMessageBytes: config.maxMessageBytes,
  };
}
