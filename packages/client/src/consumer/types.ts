// The consumer's public shapes, close to KafkaJS's (KafkaMessage, Batch, EachBatchPayload,
// EachMessagePayload) except that offsets, timestamps and high watermarks are numbers.

import type { RetryPolicy } from "../retry/retry-policy.js";
import type { IsolationLevel } from "./isolation.js";

/** Header values by key; a key that appears more than once maps to an array, as in KafkaJS. */
export interface MessageHeaders {
  [key: string]: Buffer | null | (Buffer | null)[];
}

/** A consumed record. key, value and headers are views into the fetched bytes. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: MessageHeaders;
  /** ms since the epoch: create time, or append time if the topic uses LogAppendTime. */
  timestamp: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
}

export interface Assignment {
  topic: string;
  /** Every partition of the topic when omitted. */
  partition?: number;
  /** Where to start; when omitted, earliest or latest per `fromBeginning`. */
  offset?: number;
  /** Overrides the consumer's `fromBeginning` for this assignment. */
  fromBeginning?: boolean;
}

export type OffsetResetPolicy = "earliest" | "latest" | "none";

/** The server-side assignors a group member may ask for (ConsumerOptions.assignor). */
export type GroupAssignor = "uniform" | "range";

export interface ConsumerOptions {
  /**
   * The consumer group: subscribe() joins it (the coordinator shares the topics' partitions out among its
   * members), positions are committed to it, and a partition taken on starts at its committed offset.
   * With assign() instead, the consumer reads the partitions it names and commits outside the group
   * (allowed only while the group has no members).
   */
  groupId?: string;
  /**
   * Static membership: the member leaves with epoch -2 on close() and keeps its partitions for its
   * session timeout, so that a restart with the same id takes them back without a rebalance.
   */
  groupInstanceId?: string;
  /** A member not heard from for this long loses its partitions. Default 10 s. */
  sessionTimeoutMs?: number;
  /** How long a member may take to give up revoked partitions before it is removed. Default 60 s. */
  rebalanceTimeoutMs?: number;
  /**
   * The server-side assignor this member asks its group's coordinator for (KIP-848's ServerAssignor):
   * "uniform" (default) spreads every partition evenly; "range" co-partitions: partition p of every
   * topic the members subscribe to goes to one member (a stream task reading partition p of several
   * topics finds them all in one place). The group uses the one most of its members name, a tie going to
   * uniform.
   */
  assignor?: GroupAssignor;
  /**
   * Bytes the coordinator keeps with this member and shows in describeGroups (Brook Streams: its endpoint
   * and status), at most 8 KiB; never used to assign partitions. setMemberMetadata() changes it.
   */
  memberMetadata?: Buffer;
  /**
   * Commit positions every autoCommitIntervalMs, when partitions are revoked, and on close(). Default
   * true; with false the application commits (commit()), and giving partitions up commits nothing.
   */
  autoCommit?: boolean;
  /** How often a group member commits what it has processed. Default 5 s. */
  autoCommitIntervalMs?: number;
  /** The broker answers a fetch once it has this many bytes (or after maxWaitMs). Default 1. */
  minBytes?: number;
  /** Bytes per fetch response. Default 50 MiB. */
  maxBytes?: number;
  /** How long the broker holds a fetch that has less than minBytes (long poll). Default 500. */
  maxWaitMs?: number;
  /** Bytes per partition per fetch response. Default 1 MiB. */
  maxBytesPerPartition?: number;
  /** Start at the earliest offset (true) or the latest (false, default) when no offset is given. */
  fromBeginning?: boolean;
  /** After OFFSET_OUT_OF_RANGE: default "earliest" with fromBeginning, else "latest"; "none" fails. */
  autoOffsetReset?: OffsetResetPolicy;
  /**
   * "read_uncommitted" (default, as Kafka's Java consumer; KafkaJS defaults to read_committed): every
   * record up to the high watermark, transactional ones included even before they commit or if they
   * abort. "read_committed": only records of committed transactions (and non-transactional ones), up to
   * the last stable offset; records of aborted transactions are dropped. Transaction markers are never
   * delivered either way.
   */
  isolationLevel?: IsolationLevel;
  requestTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
}

/** Consecutive messages of one partition from one fetch; KafkaJS's Batch with number offsets. */
export interface Batch {
  topic: string;
  partition: number;
  /**
   * The partition's high watermark when fetched: the offset the next produced record will get. Under
   * read_committed too (the lag is counted to lastStableOffset then).
   */
  highWatermark: number;
  /**
   * The partition's last stable offset when fetched: the first offset of the oldest transaction still
   * open, or the high watermark when none is. A read_committed consumer reads no further.
   */
  lastStableOffset: number;
  messages: ConsumedMessage[];
  isEmpty(): boolean;
  firstOffset(): number | null;
  lastOffset(): number;
  /**
   * Messages after this batch that are already committed to the log and readable at this consumer's
   * isolation level: end - 1 - lastOffset(), where end is the high watermark under read_uncommitted and
   * the last stable offset under read_committed (Kafka's consumer lag).
   */
  offsetLag(): number;
  /** end - firstOffset(), with offsetLag()'s end. */
  offsetLagLow(): number;
}

export interface EachBatchPayload {
  batch: Batch;
  /** Marks messages up to `offset` as processed; position() moves to offset + 1. */
  resolveOffset(offset: number): void;
  /** False once stop() or close() was called. */
  isRunning(): boolean;
  /**
   * True when a seek() made the rest of the batch obsolete, or the partition was revoked: then only what
   * resolveOffset() marked counts as processed (and is committed), not the whole batch.
   */
  isStale(): boolean;
}

export interface EachMessagePayload {
  topic: string;
  partition: number;
  message: ConsumedMessage;
}

export interface RunOptions {
  /** Called per batch; when it resolves, the whole batch counts as processed. */
  eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  eachMessage?: (payload: EachMessagePayload) => Promise<void>;
}

/** Partitions of a topic, KafkaJS's TopicPartitions: every partition of it when `partitions` is omitted. */
export interface TopicPartitions {
  topic: string;
  partitions?: number[];
}

/** Called as the group moves partitions; the consumer awaits each call before it goes on. */
export interface RebalanceListener {
  /** Partitions taken on, after their starting offsets were read and before the first fetch lands. */
  onAssigned?(partitions: TopicPartition[]): void | Promise<void>;
  /**
   * Partitions given up: fetching them stopped, the handler busy with one finished, and (with autoCommit)
   * their positions were committed. Also called for partitions lost without a commit (the member was
   * fenced or its session expired) and for everything held on close().
   */
  onRevoked?(partitions: TopicPartition[]): void | Promise<void>;
}

export interface Subscription extends RebalanceListener {
  topic?: string | RegExp;
  /** Topic names, and RegExps matched against whole topic names (internal topics excluded). */
  topics?: (string | RegExp)[];
  /** Where a partition the group has no committed offset for starts; overrides the consumer's option. */
  fromBeginning?: boolean;
}
