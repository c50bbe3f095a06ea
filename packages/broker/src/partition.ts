// One partition replica on this broker: its log, its high watermark, and the
// waiters (long-polling fetches, acks=all produces) that care when the high
// watermark moves. At replication factor 1 the high watermark is the log end
// offset once fsynced (flush.mode=fsync, group commit) or once written
// (flush.mode=none); replication (a later issue) generalises this to the
// smallest log end offset across the ISR.

import type { PartitionImage, TopicConfig } from "@brook/metadata";
import { BrookError } from "@brook/protocol";
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

  update(state: PartitionImage, config: TopicConfig): void {
    this.state = state;
    this.config = config;
    this.log.updateConfig(toLogConfig(config));
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

  /** Whole batches from `offset`, never past the high watermark. */
  read(offset: number, maxBytes: number): ReadResult {
    this.requireLeader();
    const records =
      offset >= this.highWatermarkOffset && offset <= this.log.logEndOffset
        ? emptyRecords
        : this.log.read(offset, maxBytes, { maxOffset: this.highWatermarkOffset }).records;
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

  /** Resolves once the high watermark reaches `offset`; rejects after `timeoutMs`. */
  waitForHighWatermark(offset: number, timeoutMs: number): Promise<void> {
    if (this.highWatermarkOffset >= offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new BrookError("REQUEST_TIMED_OUT", `records were not committed within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        if (this.closed) {
          clearTimeout(timer);
          this.waiters.delete(check);
          reject(new BrookError("NOT_LEADER", `partition ${this.topic}-${this.partition} was closed`));
        } else if (this.highWatermarkOffset >= offset) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
    });
  }

  /** Calls `listener` (once) the next time the high watermark moves or the partition closes. */
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
    if (this.closed || !this.isLeader) {
      throw new BrookError(
        "NOT_LEADER",
        `broker ${this.brokerId} is not the leader of ${this.topic}-${this.partition} (leader is ${this.state.leader})`,
      );
    }
  }

  private flushInBackground(): void {
    // Group commit: the log shares one fsync among every append made while
    // the previous one was in flight.
    this.log.flush().then(
      () => this.advanceHighWatermark(this.log.flushedOffset),
      (error: unknown) => {
        if (this.closed) return;
        this.logger.error({ err: error, topic: this.topic, partition: this.partition }, "fsync failed");
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
