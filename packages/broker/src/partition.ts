// One partition replica on this broker: its log, its high watermark, and the
// waiters (long-polling fetches, acks=all produces) that care when either
// moves. As the leader it accepts produce, serves consumers below the high
// watermark and followers up to its log end, tracks each follower's progress
// (replica-progress.ts decides the high watermark and the ISR from it) and
// asks the controller to shrink or expand the ISR. As a follower it takes
// the leader's batches verbatim (the ReplicaFetcher drives that side). On
// every replica it keeps the producer state (producer-state.ts), hence the
// last stable offset and the aborted transactions read_committed readers
// need (docs/transactions.md); as the leader it appends transaction markers.
//
// Durable by default: with flush.mode=fsync the leader counts its own records
// toward the high watermark once fsynced (group commit), and followers fsync
// before they fetch again, so the offset a follower reports is durable there.

import { compacts, deletes, type PartitionImage, sameIds, type TopicConfig } from "@brook/metadata";
import {
  type AlterPartitionRequest__Output,
  asBrookError,
  assert,
  type BatchHeader,
  BrookError,
  type Clock,
  encodeControlBatch,
  scanBatches,
} from "@brook/protocol";
import type { CleanResult, EpochEndOffset, PartitionLog } from "@brook/storage";
import type { Logger } from "pino";
import { OFFSETS_TOPIC } from "./groups/records.js";
import { type LogBatchHeader, readBatchHeaders, withControlRecords } from "./log-batch-headers.js";
import { type AppendOrigin, ProducerStateTable, type TransactionRange } from "./producer-state.js";
import {
  afterFetch,
  type FollowerProgress,
  highWatermarkFor,
  laggingFollowers,
  mayJoinIsr,
  unknownFollower,
} from "./replica-progress.js";
import { systemTimers, type Timers } from "./timers.js";

export interface AppendResult {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly logAppendTimeMs: number;
  /** An idempotent producer's retry of batches already in the log: nothing was appended. */
  readonly duplicate?: boolean;
}

export interface ReadResult {
  readonly records: Buffer;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly lastStableOffset: number;
  /** read_committed reads only: the aborted transactions overlapping the records returned. */
  readonly abortedTransactions: readonly TransactionRange[];
}

/** Kafka's isolation levels: read up to the high watermark, or up to the last stable offset. */
export type IsolationLevel = "read_uncommitted" | "read_committed";

/** A transaction marker a coordinator asks the leader to append (WriteTxnMarkers). */
export interface MarkerRequest {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** true: COMMIT; false: ABORT. */
  readonly committed: boolean;
  readonly coordinatorEpoch: number;
}

/** What a partition needs from its broker beyond its log. */
export interface PartitionContext {
  readonly brokerId: number;
  readonly clock: Clock;
  /** What waitForHighWatermark's timeout runs on; the event loop's timers by default. */
  readonly timers?: Timers;
  readonly logger: Logger;
  /** Asks the active controller for an ISR change; resolves once it is committed. */
  alterPartition(request: AlterPartitionRequest__Output): Promise<unknown>;
  /** A follower not caught up with the leader's log end for this long leaves the ISR. */
  readonly replicaLagTimeMaxMs: number;
  /**
   * The log failed in a way that says the disk is failing (a failed fsync, or
   * a write or read that failed for another reason than a full disk): the
   * broker takes its log dir offline. Called at most once per failure seen.
   */
  readonly logDirFailed?: (partition: Partition, error: BrookError) => void;
  /**
   * A write to the log found the disk full (ENOSPC) where the last write had
   * not: the broker resigns the replica if another in-sync one can serve.
   */
  readonly diskFilled?: (partition: Partition, error: BrookError) => void;
  /** Bytes free on the disk holding `dir`; without it, only a write that succeeds says space returned. */
  readonly freeBytes?: (dir: string) => number;
}

type Waiter = () => void;

/** After a refused ISR change, the leader waits this long before asking again. */
const alterRetryBackoffMs = 1_000;
/**
 * Once a write found the disk full, the replica writes again only when the disk has this much free. A
 * nearly full disk still takes a small append into a block a file already has and refuses the next; a
 * replica that took that for space returned would rejoin the ISR, and perhaps lead, only to resign again.
 */
const diskFreeBytesToResume = 4 * 1024 * 1024;

export class Partition {
  private highWatermarkOffset: number;
  private readonly waiters = new Set<Waiter>();
  private closed = false;
  /** Why the log can no longer commit anything (a failed fsync); set once, until restart. */
  private failure: BrookError | undefined;
  /** A write to the log found the disk full (ENOSPC); cleared once the disk has room (stillFull) or a write succeeds. */
  private diskFull: BrookError | undefined;
  /** Whether this broker is in service (registered as this process, unfenced): only then may it lead or follow. */
  private serving: boolean;
  /** Leader only: each follower's progress in the current leader epoch. */
  private followers = new Map<number, FollowerProgress>();
  /** Leader only: the ISR an in-flight AlterPartition asks for, and the partition epoch it was decided on. */
  private pendingIsr: PendingIsr | undefined;
  private alterRetryAfterMs = 0;
  /** Leader only: the log end when this leadership began (Kafka's leader epoch start offset). */
  private epochStartOffset = 0;
  /**
   * Idempotent producers' last batches and open transactions, on every
   * replica: rebuilt from the log at open and kept up by leader and follower
   * appends alike, so a new leader already knows what the old one accepted,
   * which transactions are open and which were aborted (none kept for
   * __consumer_offsets: see ProducerStateOptions).
   */
  private readonly producers: ProducerStateTable;

  constructor(
    readonly topic: string,
    readonly topicId: string,
    readonly partition: number,
    readonly log: PartitionLog,
    private state: PartitionImage,
    private config: TopicConfig,
    private readonly context: PartitionContext,
    serving = true,
  ) {
    // The checkpoint may trail the log (it is written periodically); what
    // lies above it becomes visible again once the ISR confirms it.
    this.highWatermarkOffset = Math.min(log.highWatermark, log.logEndOffset);
    log.highWatermark = this.highWatermarkOffset;
    this.producers = new ProducerStateTable({
      abortedTransactionsKept: topic !== OFFSETS_TOPIC,
      clock: context.clock,
    });
    this.loadProducerState();
    this.serving = serving;
    this.checkLeaderInIsr();
    if (this.isLeader) this.becomeLeader();
    else this.logRoleChange("none", state);
  }

  get isLeader(): boolean {
    return this.serving && !this.closed && this.state.leader === this.context.brokerId;
  }

  /** This replica follows a live leader: the fetcher should replicate it. */
  get isFollower(): boolean {
    return (
      this.serving && !this.closed && this.state.leader >= 0 && this.state.leader !== this.context.brokerId
    );
  }

  get leaderId(): number {
    return this.state.leader;
  }

  get leaderEpoch(): number {
    return this.state.leaderEpoch;
  }

  get highWatermark(): number {
    return this.highWatermarkOffset;
  }

  /**
   * The last stable offset: the first offset of the oldest transaction that
   * is open, or whose marker the high watermark does not cover yet; the high
   * watermark when there is none, and never above it. Never below the log
   * start either (as Kafka clamps it): retention may delete the segment that
   * holds an open transaction's first batch.
   */
  get lastStableOffset(): number {
    return Math.max(this.producers.lastStableOffset, this.log.logStartOffset);
  }

  /**
   * The aborted transactions a read of [fromOffset, toOffset) must know of
   * (marker at or after fromOffset, first offset before toOffset), by first offset.
   */
  abortedTransactions(fromOffset: number, toOffset: number): TransactionRange[] {
    return this.producers.abortedTransactions(fromOffset, toOffset);
  }

  get topicConfig(): TopicConfig {
    return this.config;
  }

  get isr(): readonly number[] {
    return this.state.isr;
  }

  get partitionEpoch(): number {
    return this.state.partitionEpoch;
  }

  /**
   * This replica can no longer serve as an in-sync one, and another in-sync
   * replica could in its place: the broker resigns it through the controller
   * (the heartbeat's resigned_replicas), which takes it out of the ISR and
   * moves its leadership. It cannot serve when its log holds a corrupt batch
   * (it repairs itself once out), or when its last write found the disk full
   * and the disk has no room yet (diskFreeBytesToResume): until it has, it
   * writes nothing and fetches nothing (waitsForSpace), so that it does not
   * rejoin the ISR, and perhaps lead, only to resign again. The last in-sync
   * copy never resigns: it serves what verifies, below the corruption point,
   * or refuses produce with the disk full error until space returns, rather
   * than leave the partition to nobody.
   */
  get resigns(): boolean {
    const me = this.context.brokerId;
    const unfit = this.log.damage !== undefined || this.stillFull();
    return unfit && this.state.isr.includes(me) && this.state.isr.length > 1;
  }

  /**
   * Repairs a corrupt log once this replica follows from outside the ISR
   * (after its resignation, or when it was out already): it truncates to the
   * corruption point, and the fetcher takes the rest from the leader, after
   * which it rejoins the ISR as any follower does. Until then nothing at or
   * past the corruption point is served (the log refuses to read it).
   */
  repairIfDamaged(): void {
    const damage = this.log.damage;
    if (!damage || !this.isFollower || this.state.isr.includes(this.context.brokerId)) return;
    this.truncateTo(damage.offset);
    this.context.logger.warn(
      { ...this.logFields(), leader: this.state.leader, corruptFrom: damage.offset, file: damage.file },
      "truncated a corrupt log to its corruption point; fetching the rest from the leader",
    );
  }

  /**
   * The replica fetcher leaves this replica alone: its disk was found full
   * and has no room yet. A fetch would tell the leader it is caught up
   * whenever the leader has nothing new, and the leader would take it back
   * into the ISR.
   */
  get waitsForSpace(): boolean {
    return this.stillFull();
  }

  /** Number of requests waiting on this replica (acks=all produces, long-polling fetches). */
  get waiterCount(): number {
    return this.waiters.size;
  }

  /**
   * Follows a new metadata image. Leadership applies even when the log
   * refuses the new config (it throws, and keeps the config it had).
   */
  update(state: PartitionImage, config: TopicConfig, serving = this.serving): void {
    const previousRole = this.role;
    const previous = this.state;
    this.state = state;
    this.serving = serving;
    if (this.pendingIsr && state.partitionEpoch !== this.pendingIsr.partitionEpoch)
      this.pendingIsr = undefined;
    this.checkLeaderInIsr();
    if (this.isLeader && (previousRole !== "leader" || state.leaderEpoch !== previous.leaderEpoch)) {
      this.becomeLeader();
    } else {
      this.logRoleChange(previousRole, previous);
    }
    if (!this.isLeader) this.followers.clear();
    this.log.updateConfig(toLogConfig(config));
    this.config = config;
    this.maybeAdvanceHighWatermark();
    // Waiters learn at once that this replica stopped leading, or that the ISR changed.
    this.notify();
    this.repairIfDamaged();
  }

  // ---- leader ------------------------------------------------------------------

  /**
   * Appends one request's batches as the leader; the bytes are validated and
   * written verbatim. acks=all is refused up front while the ISR is below
   * min.insync.replicas: the records could not be committed. `origin`
   * "coordinator" is the group coordinator's transactional offset commit
   * (sequence -1: only the producer epoch is checked). Control batches are
   * refused (INVALID_REQUEST): markers go through appendMarker().
   */
  append(batches: Buffer, acks = 1, origin: AppendOrigin = "client"): AppendResult {
    this.requireLeader(-1);
    this.requireUndamaged();
    if (acks === -1) this.requireEnoughReplicas();
    // Check and record with nothing in between: the table must describe the log exactly.
    const headers = headersOf(batches, this.config.maxMessageBytes);
    const check = this.producers.check(headers, origin);
    if (check.kind === "duplicate") {
      // Already appended by an earlier try; acks=all still waits for it to be committed.
      return {
        baseOffset: check.baseOffset,
        lastOffset: check.lastOffset,
        logAppendTimeMs: -1,
        duplicate: true,
      };
    }
    return this.appendChecked(batches, headers);
  }

  /**
   * Appends a transaction marker (a COMMIT or ABORT control batch) as the
   * leader, for WriteTxnMarkers. It closes the producer's open transaction
   * here (an abort joins the aborted list); a newer producer epoch fences
   * the producer's older batches. Throws INVALID_PRODUCER_EPOCH for an epoch
   * older than the producer's here, TRANSACTION_COORDINATOR_FENCED for a
   * coordinator epoch older than its last marker's, NOT_LEADER. Like acks=all,
   * the caller waits for the high watermark to cover it: a marker counts
   * only once every ISR member has it.
   */
  appendMarker(marker: MarkerRequest): AppendResult {
    this.requireLeader(-1);
    this.requireUndamaged();
    this.requireEnoughReplicas();
    const batch = encodeControlBatch({ ...marker, nowMs: this.context.clock.nowMs() });
    const headers = withControlRecords(batch, headersOf(batch));
    this.producers.checkMarker({ ...marker, control: headers[0].control! });
    return this.appendChecked(batch, headers);
  }

  /**
   * A consumer's read: whole batches from `offset`, never past the high
   * watermark (read_committed: the last stable offset), up to `maxBytes`;
   * with `minOneBatch`, the first batch even when larger (KIP-74). A
   * read_committed read also returns the aborted transactions overlapping
   * the records it returns, so the reader can drop theirs.
   */
  read(
    offset: number,
    maxBytes: number,
    minOneBatch = true,
    currentLeaderEpoch = -1,
    isolation: IsolationLevel = "read_uncommitted",
  ): ReadResult {
    this.requireLeader(currentLeaderEpoch);
    this.requireHighWatermarkConfirmed();
    switch (isolation) {
      case "read_uncommitted":
        return this.readUpTo(offset, maxBytes, minOneBatch, this.highWatermarkOffset);
      case "read_committed": {
        const result = this.readUpTo(offset, maxBytes, minOneBatch, this.lastStableOffset);
        const batches = scanBatches(result.records, { validateCrc: false, acceptCompacted: true }).batches;
        const end = batches.at(-1)?.lastOffset;
        if (end === undefined) return result;
        return { ...result, abortedTransactions: this.producers.abortedTransactions(offset, end + 1) };
      }
      default: {
        const unknown: never = isolation;
        throw new BrookError("INVALID_REQUEST", `unknown isolation level ${unknown}`);
      }
    }
  }

  /**
   * A follower's fetch: its fetch offset is its durable log end, which moves
   * the high watermark and decides its place in the ISR; it reads up to the
   * leader's log end.
   */
  readForReplica(
    replicaId: number,
    fetchOffset: number,
    maxBytes: number,
    minOneBatch: boolean,
    currentLeaderEpoch: number,
  ): ReadResult {
    this.requireLeader(currentLeaderEpoch);
    if (!this.state.replicas.includes(replicaId) || replicaId === this.context.brokerId) {
      throw new BrookError(
        "INVALID_REQUEST",
        `broker ${replicaId} is not a follower of ${this.name} (replicas ${this.state.replicas.join(",")})`,
      );
    }
    const leaderEnd = this.log.logEndOffset;
    if (fetchOffset > leaderEnd || fetchOffset < this.log.logStartOffset) {
      throw new BrookError(
        "OFFSET_OUT_OF_RANGE",
        `follower ${replicaId} fetches ${this.name} from ${fetchOffset}; the leader holds [${this.log.logStartOffset}, ${leaderEnd})`,
      );
    }
    const now = this.context.clock.nowMs();
    const previous = this.followers.get(replicaId) ?? unknownFollower(now);
    const progress = afterFetch(previous, fetchOffset, leaderEnd, now);
    this.followers.set(replicaId, progress);
    this.maybeAdvanceHighWatermark();
    this.maybeExpandIsr(replicaId, progress);
    return this.readUpTo(fetchOffset, maxBytes, minOneBatch, leaderEnd);
  }

  /** The offsets a fetch reports when its response has no room left for records. */
  offsets(currentLeaderEpoch = -1): ReadResult {
    this.requireLeader(currentLeaderEpoch);
    this.requireHighWatermarkConfirmed();
    return this.readResult(emptyRecords);
  }

  /** Where `epoch` ends in this leader's log (Kafka's OffsetsForLeaderEpoch), for a follower's truncation. */
  endOffsetForEpoch(currentLeaderEpoch: number, epoch: number): EpochEndOffset | undefined {
    this.requireLeader(currentLeaderEpoch);
    return this.log.endOffsetForEpoch(epoch);
  }

  /**
   * Resolves once the high watermark reaches `offset`; rejects after
   * `timeoutMs`, or as soon as it never can here: the replica closed or
   * stopped leading (NOT_LEADER), the ISR fell below min.insync.replicas
   * (NOT_ENOUGH_REPLICAS), or its log failed (STORAGE_ERROR).
   */
  waitForHighWatermark(offset: number, timeoutMs: number): Promise<void> {
    if (this.highWatermarkOffset >= offset) return Promise.resolve();
    const stalled = this.stalled();
    if (stalled) return Promise.reject(stalled);
    return new Promise((resolve, reject) => {
      const finish = (error?: BrookError) => {
        cancelTimer();
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
      const cancelTimer = (this.context.timers ?? systemTimers).after(timeoutMs, () =>
        finish(new BrookError("REQUEST_TIMED_OUT", `records were not committed within ${timeoutMs} ms`)),
      );
      this.waiters.add(check);
    });
  }

  /**
   * Calls `listener` (once) the next time something a fetch waits for
   * happens: the high watermark or log end moves, the partition closes or
   * changes leadership, or its log fails.
   */
  onNextChange(listener: () => void): () => void {
    const once = () => {
      this.waiters.delete(once);
      listener();
    };
    this.waiters.add(once);
    return () => this.waiters.delete(once);
  }

  /** Leader, periodically: asks to drop ISR followers that have not caught up within replica.lag.time.max.ms. */
  checkIsr(): void {
    if (!this.isLeader) return;
    if (this.pendingIsr) {
      // An answer lost or late: ask again. Until the metadata shows the outcome, the wider ISR counts.
      if (this.pendingIsr.unresolved && this.context.clock.nowMs() >= this.alterRetryAfterMs) {
        this.sendAlterIsr(this.pendingIsr);
      }
      return;
    }
    const now = this.context.clock.nowMs();
    const lagging = laggingFollowers(
      this.context.brokerId,
      this.state.isr,
      this.followers,
      now,
      this.context.replicaLagTimeMaxMs,
    );
    if (lagging.length === 0) return;
    this.alterIsr(
      this.state.isr.filter((id) => !lagging.includes(id)),
      `shrink: follower(s) ${lagging.join(",")} not caught up within ${this.context.replicaLagTimeMaxMs} ms`,
    );
  }

  // ---- follower ----------------------------------------------------------------

  /** Appends batches fetched from the leader, keeping their offsets and leader epochs. */
  appendAsFollower(batches: Buffer): AppendResult {
    this.requireFollower();
    const result = this.writeToDisk(() => this.log.appendAsFollower(batches));
    // The bytes carry the leader's offsets now that the log accepted them.
    this.producers.loadFromBatches(withControlRecords(batches, storedHeadersOf(batches)));
    return result;
  }

  /** A follower's high watermark: the leader's, as far as this replica's log reaches. */
  followLeaderHighWatermark(leaderHighWatermark: number): void {
    const offset = Math.max(this.log.logStartOffset, Math.min(leaderHighWatermark, this.log.logEndOffset));
    if (offset === this.highWatermarkOffset) return;
    this.setHighWatermark(offset);
  }

  /**
   * Drops records from `offset` on (they diverge from the leader's log). The
   * producer state is rebuilt from what is left: a dropped marker reopens
   * its transaction, which only the log can tell. That scans the log, but
   * only when records were dropped (a new leader epoch with a diverging
   * tail), as the replay at open does.
   */
  truncateTo(offset: number): void {
    this.requireFollower();
    const endBefore = this.log.logEndOffset;
    try {
      this.onDisk(() => this.log.truncateTo(offset));
    } finally {
      // The cut stands even when the checkpoints it lowers found the disk full (they are written later).
      this.clampHighWatermark();
      if (this.log.logEndOffset < endBefore) this.loadProducerState();
    }
  }

  /** Empties the log and restarts it at `offset` (the leader no longer has what this replica lacks). */
  truncateFullyAndStartAt(offset: number): void {
    this.requireFollower();
    this.onDisk(() => this.log.truncateFullyAndStartAt(offset));
    this.clampHighWatermark();
    this.loadProducerState();
  }

  /**
   * Makes what was appended durable before the follower reports it (its next
   * fetch offset): an fsync with flush.mode=fsync, nothing with none.
   */
  async flushForReplication(): Promise<void> {
    if (this.config.flushMode === "none") return;
    try {
      await this.log.flush();
    } catch (error) {
      // A failed fsync, ENOSPC included: the kernel may have dropped the pages, so the log is offline.
      const failure = asBrookError(error);
      this.context.logDirFailed?.(this, failure);
      throw failure;
    }
  }

  // ---- both ----------------------------------------------------------------------

  /** The log end offset: the next offset this replica will hold. */
  get logEndOffset(): number {
    return this.log.logEndOffset;
  }

  checkpointHighWatermark(): void {
    if (!this.closed) this.log.checkpointHighWatermark();
  }

  applyRetention(): void {
    this.producers.expire();
    const { deletedSegments } = this.log.applyRetention();
    if (deletedSegments > 0) this.producers.forgetBefore(this.log.logStartOffset);
    if (deletedSegments > 0) {
      this.context.logger.info(
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

  /**
   * How dirty this replica's log is, when its topic is compacted: the share
   * of its sealed bytes the cleaner has not seen yet, against the topic's
   * min.cleanable.dirty.ratio. Undefined for a topic that only deletes.
   */
  get cleanable(): { dirtyRatio: number; minCleanableDirtyRatio: number } | undefined {
    if (!compacts(this.config.cleanupPolicy)) return undefined;
    return { dirtyRatio: this.log.dirtyRatio, minCleanableDirtyRatio: this.config.minCleanableDirtyRatio };
  }

  /**
   * One pass of the log cleaner over this replica (leader or follower: each
   * replica compacts its own log, as in Kafka). It never cleans at or above
   * the last stable offset, so nothing a consumer cannot read yet, nor an
   * open transaction, is touched.
   */
  clean(limits: { offsetMapEntriesMax: number; bytesMax: number }): Promise<CleanResult> {
    assert(compacts(this.config.cleanupPolicy), "only a compacted topic's log is cleaned");
    return this.log.clean({
      upToOffset: this.lastStableOffset,
      nowMs: this.context.clock.nowMs(),
      deleteRetentionMs: this.config.deleteRetentionMs,
      offsetMapEntriesMax: limits.offsetMapEntriesMax,
      bytesMax: limits.bytesMax,
    });
  }

  /** Stops serving and removes the log from disk (its topic was deleted, or the replica moved away). */
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

  // ---- internals -----------------------------------------------------------------

  private get name(): string {
    return `${this.topic}-${this.partition}`;
  }

  /**
   * The leader's checks for any request: it leads, and the request's leader
   * epoch (when it names one) is the current one. An older epoch comes from
   * a fetcher or client that missed a leader change (FENCED_LEADER_EPOCH); a
   * newer one means this broker has not applied the change yet
   * (UNKNOWN_LEADER_EPOCH). Either way a deposed leader never serves.
   */
  private requireLeader(requestEpoch: number): void {
    if (requestEpoch >= 0 && requestEpoch !== this.state.leaderEpoch) {
      throw requestEpoch < this.state.leaderEpoch
        ? new BrookError(
            "FENCED_LEADER_EPOCH",
            `${this.name} is at leader epoch ${this.state.leaderEpoch}; the request has epoch ${requestEpoch}`,
          )
        : new BrookError(
            "UNKNOWN_LEADER_EPOCH",
            `broker ${this.context.brokerId} knows ${this.name} at leader epoch ${this.state.leaderEpoch}; the request has epoch ${requestEpoch}`,
          );
    }
    if (!this.isLeader) throw this.notLeader();
  }

  /**
   * A new leader's high watermark starts where it was as a follower, which
   * may trail what its predecessor had already shown consumers. Until it
   * reaches the start of this leader's epoch (every record before it was
   * there when it took over, and the followers have confirmed them),
   * consumers get a retriable OFFSET_NOT_AVAILABLE rather than an older high
   * watermark: the high watermark a consumer sees never goes backwards
   * (Kafka's KIP-207 does the same for ListOffsets).
   */
  private requireHighWatermarkConfirmed(): void {
    if (this.highWatermarkOffset < this.epochStartOffset) {
      throw new BrookError(
        "OFFSET_NOT_AVAILABLE",
        `${this.name}'s leader (epoch ${this.state.leaderEpoch}) has confirmed offsets up to ${this.highWatermarkOffset} of the ${this.epochStartOffset} it took over with`,
      );
    }
  }

  private requireFollower(): void {
    if (!this.isFollower) {
      throw new BrookError("NOT_LEADER", `broker ${this.context.brokerId} no longer follows ${this.name}`);
    }
  }

  /**
   * A leader whose log holds a corrupt batch takes no appends (CORRUPT_LOG,
   * retriable) until another in-sync replica leads or it is repaired:
   * nothing past the corruption point can be read, so a record appended
   * after it could be acknowledged but never consumed, and the producer
   * state rebuilt at recovery stops at the corruption point, so an
   * idempotent producer's next sequence would be refused as out of order.
   * The producer retries and reaches the replica that leads once the
   * controller acts on the resignation.
   */
  private requireUndamaged(): void {
    const damage = this.log.damage;
    if (damage === undefined) return;
    throw new BrookError(
      "CORRUPT_LOG",
      `${this.name}: this replica's copy is corrupt from offset ${damage.offset} (${damage.file}); it takes no appends until an in-sync replica with a good copy leads or it is repaired`,
    );
  }

  private requireEnoughReplicas(): void {
    const required = this.minInsyncReplicas;
    if (this.state.isr.length < required) {
      throw new BrookError(
        "NOT_ENOUGH_REPLICAS",
        `${this.name} has ${this.state.isr.length} in-sync replica(s) [${this.state.isr.join(",")}], fewer than min.insync.replicas=${required}`,
      );
    }
  }

  /**
   * min.insync.replicas, but never more than the replicas there are: a
   * single-replica topic stays writable and readable whatever it says.
   */
  private get minInsyncReplicas(): number {
    return Math.min(this.config.minInsyncReplicas, this.state.replicas.length);
  }

  private notLeader(): BrookError {
    return new BrookError(
      "NOT_LEADER",
      `broker ${this.context.brokerId} is not the leader of ${this.name} (leader is ${this.state.leader})`,
    );
  }

  /** Why the high watermark cannot reach a waiting produce here, if it cannot. */
  private stalled(): BrookError | undefined {
    if (this.closed || !this.isLeader) return this.notLeader();
    if (this.failure) return this.failure;
    if (this.state.isr.length < this.minInsyncReplicas) {
      return new BrookError(
        "NOT_ENOUGH_REPLICAS",
        `${this.name} was appended to, but its ISR [${this.state.isr.join(",")}] fell below min.insync.replicas=${this.minInsyncReplicas} before the records were committed`,
      );
    }
    return undefined;
  }

  private readUpTo(offset: number, maxBytes: number, minOneBatch: boolean, maxOffset: number): ReadResult {
    const records =
      maxBytes <= 0 || (offset >= maxOffset && offset <= this.log.logEndOffset)
        ? emptyRecords
        : this.onDisk(() => this.log.read(offset, maxBytes, { maxOffset, minOneBatch }).records);
    return this.readResult(records);
  }

  private readResult(records: Buffer): ReadResult {
    return {
      records,
      highWatermark: this.highWatermarkOffset,
      logStartOffset: this.log.logStartOffset,
      lastStableOffset: this.lastStableOffset,
      abortedTransactions: [],
    };
  }

  /** Leader: writes batches the producer state allowed, and records them there. */
  private appendChecked(batches: Buffer, headers: readonly LogBatchHeader[]): AppendResult {
    const result = this.writeToDisk(() => this.log.append(batches, this.state.leaderEpoch));
    this.producers.record(headers, result.baseOffset);
    if (this.config.flushMode === "none") this.maybeAdvanceHighWatermark();
    else this.flushInBackground();
    // Followers long-polling for new records wake up.
    this.notify();
    return result;
  }

  /** The producer state from the log alone: at open, and after a truncation. */
  private loadProducerState(): void {
    this.producers.clear();
    this.producers.updateHighWatermark(this.highWatermarkOffset);
    this.producers.loadFromBatches(readBatchHeaders(this.log, this.log.logStartOffset));
  }

  /** Every change of the high watermark goes here: the log checkpoints it, the producer state's LSO follows it. */
  private setHighWatermark(offset: number): void {
    assert(
      offset <= this.log.logEndOffset,
      `${this.name}: the high watermark ${offset} would pass the log end ${this.log.logEndOffset}`,
    );
    // A follower's may go back (a new leader's trails, a truncation); consumers read only from leaders.
    assert(
      !this.isLeader || offset >= this.highWatermarkOffset,
      `${this.name}: the leader's high watermark would go back from ${this.highWatermarkOffset} to ${offset}`,
    );
    this.highWatermarkOffset = offset;
    // Retention never deletes at or above the log's high watermark.
    this.log.highWatermark = offset;
    this.producers.updateHighWatermark(offset);
  }

  /**
   * A new leadership (or a new epoch of it): the epoch starts at the log end,
   * so a follower asking where an older epoch ends learns it; every follower
   * starts unknown, with a full lag window to catch up in.
   */
  private becomeLeader(): void {
    const now = this.context.clock.nowMs();
    this.epochStartOffset = this.log.logEndOffset;
    try {
      this.log.assignLeaderEpoch(this.state.leaderEpoch);
    } catch (error) {
      // The log is offline; it fails every append and read with its own error, and its log dir goes offline.
      this.context.logger.error({ err: error, topic: this.topic, partition: this.partition }, "cannot lead");
      this.storageFailure(error);
    }
    this.followers = new Map(
      this.state.replicas
        .filter((id) => id !== this.context.brokerId)
        .map((id) => [id, unknownFollower(now)]),
    );
    this.pendingIsr = undefined;
    this.alterRetryAfterMs = 0;
    this.context.logger.info(
      { ...this.logFields(), replicas: this.state.replicas, epochStartOffset: this.epochStartOffset },
      "became leader",
    );
    this.maybeAdvanceHighWatermark();
  }

  /** The metadata never makes a leader outside its ISR (elections pick from it; an ISR change must keep it). */
  private checkLeaderInIsr(): void {
    assert(
      this.state.leader !== this.context.brokerId || this.state.isr.includes(this.context.brokerId),
      `${this.name}: broker ${this.context.brokerId} leads at epoch ${this.state.leaderEpoch} but is not in the ISR [${this.state.isr.join(",")}]`,
    );
  }

  /** What this replica does now: lead, follow a live leader, or neither. */
  private get role(): "leader" | "follower" | "none" {
    return this.isLeader ? "leader" : this.isFollower ? "follower" : "none";
  }

  /**
   * Logs a change of role or leader epoch other than becoming leader
   * (becomeLeader() logs that), and, on the leader, a committed ISR change.
   */
  private logRoleChange(previousRole: Partition["role"], previous: PartitionImage): void {
    const role = this.role;
    const newEpoch = this.state.leaderEpoch !== previous.leaderEpoch;
    if (role === "follower" && (previousRole !== "follower" || newEpoch)) {
      this.context.logger.info({ ...this.logFields(), leader: this.state.leader }, "became follower");
    } else if (role === "none" && previousRole !== "none") {
      const reason = !this.serving
        ? "this broker is out of service (fenced or not yet registered)"
        : this.state.leader < 0
          ? "the partition is offline: no eligible leader"
          : "the replica closed";
      this.context.logger.info(
        { ...this.logFields(), leader: this.state.leader, reason },
        previousRole === "leader" ? "stopped leading" : "stopped following",
      );
    } else if (role === "leader" && !sameIds(previous.isr, this.state.isr)) {
      this.context.logger.info({ ...this.logFields(), previousIsr: previous.isr }, "ISR updated");
    }
  }

  /** The fields every leadership and ISR line carries. */
  private logFields() {
    return {
      topic: this.topic,
      partition: this.partition,
      leaderEpoch: this.state.leaderEpoch,
      partitionEpoch: this.state.partitionEpoch,
      isr: this.state.isr,
      logEndOffset: this.log.logEndOffset,
      highWatermark: this.highWatermarkOffset,
    };
  }

  /** The committed ISR plus any member an in-flight expansion adds. */
  private maximalIsr(): readonly number[] {
    const pending = this.pendingIsr?.isr ?? [];
    return [...this.state.isr, ...pending.filter((id) => !this.state.isr.includes(id))];
  }

  private maybeAdvanceHighWatermark(): void {
    if (!this.isLeader) return;
    const durableEnd = this.config.flushMode === "none" ? this.log.logEndOffset : this.log.flushedOffset;
    const offset = highWatermarkFor(
      this.context.brokerId,
      durableEnd,
      this.maximalIsr(),
      this.followers,
      this.minInsyncReplicas,
    );
    if (offset !== undefined) this.advanceHighWatermark(offset);
  }

  private maybeExpandIsr(replicaId: number, progress: FollowerProgress): void {
    if (this.pendingIsr || this.state.isr.includes(replicaId)) return;
    const epochStart =
      this.log.leaderEpochs.find((entry) => entry.epoch === this.state.leaderEpoch)?.startOffset ??
      this.log.logEndOffset;
    if (!mayJoinIsr(progress, this.highWatermarkOffset, epochStart)) return;
    this.alterIsr([...this.state.isr, replicaId], `expand: follower ${replicaId} caught up`);
  }

  /**
   * Asks the controller for `isr`, one request at a time. The change takes
   * effect when the committed metadata shows it (update()); until then the
   * maximal ISR counts for the high watermark.
   */
  private alterIsr(isr: readonly number[], reason: string): void {
    if (this.context.clock.nowMs() < this.alterRetryAfterMs) return;
    this.pendingIsr = { isr, partitionEpoch: this.state.partitionEpoch, unresolved: false };
    this.context.logger.info(
      { ...this.logFields(), newIsr: isr, reason },
      "asking the controller to change the ISR",
    );
    this.sendAlterIsr(this.pendingIsr);
  }

  /**
   * Only a refusal proves the change was not committed. A timeout, a lost
   * answer or a controller failover may hide a commit that lands later (the
   * replication simulator found exactly that: an expansion committed after
   * the leader had given up on it, while the high watermark had moved on
   * without the new member). So anything else keeps the request pending,
   * the wider ISR still counting, and checkIsr() asks again.
   */
  private sendAlterIsr(pending: PendingIsr): void {
    pending.unresolved = false;
    const request = {
      topic: this.topic,
      partition: this.partition,
      leaderId: this.context.brokerId,
      leaderEpoch: this.state.leaderEpoch,
      partitionEpoch: pending.partitionEpoch,
      newIsr: [...pending.isr],
    };
    this.context.alterPartition(request).catch((error: unknown) => {
      const { code, message } = asBrookError(error);
      const refused = refusedUncommitted.has(code);
      this.context.logger.warn(
        {
          topic: this.topic,
          partition: this.partition,
          newIsr: pending.isr,
          leaderEpoch: request.leaderEpoch,
          partitionEpoch: pending.partitionEpoch,
          error: message,
        },
        refused ? "ISR change refused by the controller" : "ISR change not confirmed; asking again",
      );
      this.alterRetryAfterMs = this.context.clock.nowMs() + alterRetryBackoffMs;
      if (this.pendingIsr !== pending) return;
      if (refused) this.pendingIsr = undefined;
      else pending.unresolved = true;
    });
  }

  private flushInBackground(): void {
    // Group commit: the log shares one fsync among every append made while
    // the previous one was in flight.
    this.log.flush().then(
      () => this.maybeAdvanceHighWatermark(),
      (error: unknown) => {
        if (this.closed || this.failure) return;
        this.context.logger.error(
          { err: error, topic: this.topic, partition: this.partition },
          "fsync failed",
        );
        // The log is offline now: nothing more will commit, so waiters fail now rather than time out.
        this.failure = asBrookError(error);
        this.notify();
        this.context.logDirFailed?.(this, this.failure);
      },
    );
  }

  private advanceHighWatermark(offset: number): void {
    if (offset <= this.highWatermarkOffset || this.closed) return;
    if (this.highWatermarkOffset < this.epochStartOffset && offset >= this.epochStartOffset) {
      this.context.logger.info(
        { ...this.logFields(), highWatermark: offset, epochStartOffset: this.epochStartOffset },
        "high watermark reached the leader epoch's start: consumers read again",
      );
    }
    this.setHighWatermark(offset);
    this.notify();
  }

  private clampHighWatermark(): void {
    const end = this.log.logEndOffset;
    this.setHighWatermark(Math.max(Math.min(this.highWatermarkOffset, end), this.log.logStartOffset));
  }

  /**
   * Runs a log operation and sorts out how it failed: a full disk is a
   * condition the client hears of and that passes (the log undid the partial
   * write and stays online); any other storage failure takes the log dir
   * offline. Other errors (a bad batch, an offset out of range) pass through.
   */
  private onDisk<T>(operation: () => T): T {
    try {
      return operation();
    } catch (error) {
      throw this.storageFailure(error);
    }
  }

  /**
   * An append to the log: as onDisk, and a full disk marks this replica
   * unfit to stay in the ISR (see resigns). While the disk has no room yet,
   * nothing is tried: the mark's error is thrown as it is.
   */
  private writeToDisk(append: () => AppendResult): AppendResult {
    const full = this.diskFull;
    if (full && this.stillFull()) throw full;
    const result = this.onDisk(append);
    this.diskFull = undefined;
    return result;
  }

  /**
   * Whether a write found the disk full and it has no room yet (diskFreeBytesToResume, as far as the
   * disk can tell); the mark goes once it has.
   */
  private stillFull(): boolean {
    if (this.diskFull === undefined) return false;
    const free = this.context.freeBytes?.(this.log.dir) ?? Number.POSITIVE_INFINITY;
    if (free < diskFreeBytesToResume) return true;
    this.diskFull = undefined;
    return false;
  }

  /** The error to throw for a failed log operation, after reporting a failing disk or a full one. */
  private storageFailure(error: unknown): unknown {
    if (!(error instanceof BrookError) || error.code !== "STORAGE_ERROR") return error;
    if (!isDiskFull(error)) {
      this.context.logDirFailed?.(this, error);
      return error;
    }
    const full = diskFullError(this.name, this.log.dir, error);
    const first = this.diskFull === undefined;
    this.diskFull = full;
    if (first) this.context.diskFilled?.(this, full);
    return full;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

const emptyRecords = Buffer.alloc(0);

/** Whether a storage failure is, at its root, a full disk (ENOSPC). */
function isDiskFull(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 8; depth++) {
    if ((cause as NodeJS.ErrnoException).code === "ENOSPC") return true;
    cause = cause.cause;
  }
  return false;
}

/** The typed error a produce (or a follower's fetch) gets while the disk is full; retriable, as the condition passes. */
function diskFullError(name: string, dir: string, cause: BrookError): BrookError {
  return new BrookError(
    "STORAGE_ERROR",
    `the disk holding ${name} (${dir}) is full (ENOSPC): nothing was written; retry once space is freed`,
    { cause },
  );
}

/**
 * The batch headers, without the CRC check: the log's append checks every
 * batch (CRC included) before it writes, so checking here too would run
 * CRC32C twice over every produced and replicated byte. A malformed header
 * is refused here with the same typed error the log would give.
 */
function headersOf(batches: Buffer, maxBatchBytes?: number): BatchHeader[] {
  const scan = scanBatches(batches, { validateCrc: false, maxBatchBytes });
  if (scan.error) throw scan.error;
  return scan.batches;
}

/** The headers of batches that come from a log (the leader's, fetched): compacted ones are valid there. */
function storedHeadersOf(batches: Buffer): BatchHeader[] {
  const scan = scanBatches(batches, { validateCrc: false, acceptCompacted: true });
  if (scan.error) throw scan.error;
  return scan.batches;
}

interface PendingIsr {
  readonly isr: readonly number[];
  /** The partition epoch the request was decided on: any change to it settles the request. */
  readonly partitionEpoch: number;
  /** The last send ended without an answer that settles it: send again. */
  unresolved: boolean;
}

/** Answers that prove an AlterPartition request committed nothing. */
const refusedUncommitted = new Set([
  "FENCED_LEADER_EPOCH",
  "NOT_LEADER",
  "INELIGIBLE_REPLICA",
  "INVALID_REQUEST",
  "UNKNOWN_TOPIC",
  "UNKNOWN_PARTITION",
]);

export function toLogConfig(config: TopicConfig) {
  // A compact-only topic keeps every key's latest record however old: retention deletes nothing there.
  const retains = deletes(config.cleanupPolicy);
  return {
    segmentBytes: config.segmentBytes,
    segmentMs: config.segmentMs,
    retentionMs: retains ? config.retentionMs : -1,
    retentionBytes: retains ? config.retentionBytes : -1,
    maxMessageBytes: config.maxMessageBytes,
  };
}
