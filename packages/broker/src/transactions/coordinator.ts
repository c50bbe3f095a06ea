// The transaction coordinator: for every partition of __transaction_state
// this broker leads (a shard), it keeps the state of the transactional ids
// stored there and answers their InitProducerId, AddPartitionsToTxn,
// AddOffsetsToTxn and EndTxn. The rules live in transaction.ts (pure); this
// file does the I/O: replaying the partition when leadership arrives,
// appending each new state with acks=all before answering, writing the
// markers of a prepared transaction through the marker channel and then its
// Complete state, and aborting transactions that outlive their timeout.
//
// Why a crash never leaves half a transaction: the Prepare state is durable
// before any marker is sent, and a new leader of the shard replays the
// partition (after its high watermark covers its log) and finishes every
// prepared transaction it finds, with its own, higher, coordinator epoch.

import type { MetadataImage } from "@brook/metadata";
import {
  asBrookError,
  assert,
  BrookError,
  type Clock,
  encodeRecordBatch,
  unreachable,
} from "@brook/protocol";
import type { Logger } from "pino";
import type { MetadataSource, TxnMarkerChannel } from "../context.js";
import {
  appendToShard,
  coordinatorError,
  followLeadership,
  replayLeaderLog,
  shardCommitted,
} from "../coordinator-log.js";
import { partitionForGroup } from "../groups/coordinator.js";
import { OFFSETS_TOPIC } from "../groups/records.js";
import type { Partition } from "../partition.js";
import type { ReplicaManager } from "../replica-manager.js";
import { markerOutcome, markerRequest, planMarkers } from "./markers.js";
import {
  parseTransactionRecord,
  partitionForTransactionalId,
  TRANSACTION_STATE_TOPIC,
  transactionRecord,
  validateTransactionalId,
} from "./records.js";
import {
  addOffsets,
  addPartitions,
  complete,
  endTxn,
  fence,
  initProducerId,
  isPrepared,
  isTimedOut,
  type ProducerIdentity,
  type Transaction,
  type TxnPartition,
  withNewProducerId,
} from "./transaction.js";

export interface TransactionCoordinatorConfig {
  /** Partitions of __transaction_state when this broker creates it (Kafka: transaction.state.log.num.partitions, 50). */
  readonly transactionStateTopicPartitions: number;
  /** Kafka's transaction.timeout.ms default, used when InitProducerId names none. */
  readonly transactionTimeoutMsDefault: number;
  /** Kafka's transaction.max.timeout.ms: a longer timeout is refused (INVALID_TRANSACTION_TIMEOUT). */
  readonly transactionTimeoutMsMax: number;
  /** How long an answer waits for its state record to be replicated. */
  readonly writeTimeoutMs: number;
  /** How often open transactions are checked against their timeout. */
  readonly timeoutCheckIntervalMs: number;
  /**
   * How long EndTxn (and InitProducerId that had to abort) waits for the markers; past it the answer
   * goes out and completion continues in the background (the next transaction meets
   * CONCURRENT_TRANSACTIONS until it is done).
   */
  readonly completionWaitMsMax: number;
  /** Backoff between rounds of markers for partitions that failed (no leader, leader moving). */
  readonly markerRetryBackoffMsMin: number;
  readonly markerRetryBackoffMsMax: number;
  /** Partitions one transaction may write: each gets a marker. */
  readonly partitionsPerTransactionMax: number;
  /**
   * Transactional ids one shard holds (ids are never expired yet, so this bounds the coordinator's
   * memory and replay): InitProducerId with a new id is refused past it.
   */
  readonly transactionalIdsPerShardMax: number;
}

export const defaultTransactionCoordinatorConfig: TransactionCoordinatorConfig = {
  transactionStateTopicPartitions: 12,
  transactionTimeoutMsDefault: 60_000,
  transactionTimeoutMsMax: 900_000,
  writeTimeoutMs: 15_000,
  timeoutCheckIntervalMs: 1_000,
  completionWaitMsMax: 5_000,
  markerRetryBackoffMsMin: 50,
  markerRetryBackoffMsMax: 1_000,
  partitionsPerTransactionMax: 1_000,
  transactionalIdsPerShardMax: 100_000,
};

/** What this coordinator's errors call what it stores. */
const stateName = "transaction state";

/** One partition of __transaction_state this broker leads, and the transactional ids stored in it. */
class Shard {
  state: "loading" | "active" | "unloaded" = "loading";
  readonly transactions = new Map<string, Transaction>();
  /** Prepared transactions whose markers are being written; resolves once Complete is durable. At most one per id. */
  readonly completions = new Map<string, Promise<void>>();
  /** Each id's read-decide-write runs alone: the tail of its queue. At most one entry per id. */
  readonly queues = new Map<string, Promise<unknown>>();
  /**
   * Ids whose timeout abort is queued or writing its PrepareAbort: the timer starts no other until
   * it settles (the write may take up to writeTimeoutMs, many ticks).
   */
  readonly timeoutAborts = new Set<string>();
  /** The log end after this shard's last append: answers wait until the high watermark reaches it. */
  writtenEnd = 0;

  constructor(
    readonly index: number,
    readonly partition: Partition,
    /** The coordinator epoch markers carry: leaders refuse markers from an older one. */
    readonly leaderEpoch: number,
  ) {}

  get name(): string {
    return `${TRANSACTION_STATE_TOPIC}-${this.index}`;
  }
}

export interface TransactionCoordinatorOptions {
  readonly brokerId: number;
  readonly replicas: ReplicaManager;
  readonly metadata: MetadataSource;
  readonly logger: Logger;
  readonly clock: Clock;
  /** WriteTxnMarkers to a broker, this one included. */
  readonly markers: TxnMarkerChannel;
  /** A fresh producer id from this broker's block (producer-ids.ts). */
  readonly nextProducerId: () => Promise<number>;
  readonly config?: Partial<TransactionCoordinatorConfig>;
}

/** What DescribeTransactions and ListTransactions show of an id. */
export interface TransactionView {
  readonly transaction: Transaction;
  readonly coordinator: number;
}

export class TransactionCoordinator {
  readonly config: TransactionCoordinatorConfig;
  private readonly shards = new Map<number, Shard>();
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TransactionCoordinatorOptions) {
    this.config = { ...defaultTransactionCoordinatorConfig, ...options.config };
    this.logger = options.logger.child({ component: "transaction-coordinator" });
  }

  start(): void {
    this.timer = setInterval(() => this.abortTimedOut(), this.config.timeoutCheckIntervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    for (const shard of this.shards.values()) shard.state = "unloaded";
    this.shards.clear();
  }

  /** Follows leadership of __transaction_state partitions: load what arrives, drop what leaves. */
  onImage(image: MetadataImage): void {
    const count = image.topic(TRANSACTION_STATE_TOPIC)?.partitions.length ?? 0;
    followLeadership(TRANSACTION_STATE_TOPIC, count, this.shards, this.options.replicas, {
      unload: (shard) => this.unload(shard),
      load: (index, partition) => this.load(new Shard(index, partition, partition.leaderEpoch)),
    });
  }

  /** InitProducerId with a transactional id: the id's producer id and its new epoch. */
  async initProducerId(transactionalId: string, timeoutMs: number): Promise<ProducerIdentity> {
    // Bounded: at most an abort of what the previous instance left open, then the bump.
    for (let attempt = 0; attempt < 3; attempt++) {
      const shard = this.locate(transactionalId);
      await this.awaitCompletion(shard, transactionalId);
      const answer = await this.serialized(shard, transactionalId, async () => {
        const current = shard.transactions.get(transactionalId);
        const nowMs = this.nowMs();
        const decision = initProducerId(current, timeoutMs, nowMs);
        switch (decision.kind) {
          case "new-producer-id": {
            if (current === undefined) this.requireRoomFor(shard);
            const producerId = await this.options.nextProducerId();
            const next = withNewProducerId(transactionalId, producerId, timeoutMs, this.nowMs());
            await this.write(shard, next);
            return identityOf(next);
          }
          case "bump":
            await this.write(shard, decision.next);
            return identityOf(decision.next);
          case "abort-first":
            this.logger.info(
              { transactionalId, producerId: decision.next.producerId, epoch: decision.next.producerEpoch },
              "a new producer instance started: aborting the transaction its predecessor left open",
            );
            await this.prepare(shard, decision.next);
            return undefined;
          default:
            return unreachable(decision, "decision");
        }
      });
      if (answer !== undefined) return answer;
    }
    throw new BrookError(
      "CONCURRENT_TRANSACTIONS",
      `transactional id '${transactionalId}' is still aborting its previous transaction; retry shortly`,
    );
  }

  /** AddPartitionsToTxn: the partitions join the open transaction (one starts if none is open). */
  async addPartitions(
    transactionalId: string,
    producer: ProducerIdentity,
    partitions: readonly TxnPartition[],
  ): Promise<void> {
    const shard = this.locate(transactionalId);
    await this.serialized(shard, transactionalId, async () => {
      const current = shard.transactions.get(transactionalId);
      const next = addPartitions(current, producer, partitions, this.nowMs(), this.config);
      if (next === current) return this.committed(shard);
      return this.write(shard, next);
    });
  }

  /** AddOffsetsToTxn: the group's __consumer_offsets partition joins the transaction. */
  async addOffsets(transactionalId: string, producer: ProducerIdentity, groupId: string): Promise<void> {
    const shard = this.locate(transactionalId);
    const offsets = this.options.metadata.image.topic(OFFSETS_TOPIC);
    if (offsets === undefined) {
      throw new BrookError(
        "COORDINATOR_NOT_AVAILABLE",
        `${OFFSETS_TOPIC} does not exist yet; find the group's coordinator first`,
      );
    }
    const offsetsPartition = {
      topic: OFFSETS_TOPIC,
      partition: partitionForGroup(groupId, offsets.partitions.length),
    };
    await this.serialized(shard, transactionalId, async () => {
      const current = shard.transactions.get(transactionalId);
      const next = addOffsets(current, producer, groupId, offsetsPartition, this.nowMs(), this.config);
      if (next === current) return this.committed(shard);
      return this.write(shard, next);
    });
  }

  /**
   * EndTxn: makes the decision durable (PrepareCommit/PrepareAbort), then answers once the markers
   * are written and Complete is durable, or after completionWaitMsMax with completion continuing.
   */
  async endTxn(transactionalId: string, producer: ProducerIdentity, commit: boolean): Promise<void> {
    const shard = this.locate(transactionalId);
    await this.serialized(shard, transactionalId, async () => {
      const current = shard.transactions.get(transactionalId);
      const decision = endTxn(current, producer, commit, this.nowMs());
      switch (decision.kind) {
        case "prepare":
          return this.prepare(shard, decision.next);
        case "completing":
          // Loading started it; a retry after the answer was lost only waits for it again.
          if (current !== undefined && !shard.completions.has(transactionalId)) {
            this.startCompletion(shard, current);
          }
          return;
        case "completed":
          return this.committed(shard);
        default:
          return unreachable(decision, "decision");
      }
    });
    await this.awaitCompletion(shard, transactionalId);
  }

  /** The transactions of every shard this broker coordinates now, in the states asked for (all when empty). */
  list(states: readonly string[]): TransactionView[] {
    const wanted = new Set(states);
    const views: TransactionView[] = [];
    for (const shard of this.shards.values()) {
      if (shard.state !== "active") continue;
      for (const transaction of shard.transactions.values()) {
        if (wanted.size === 0 || wanted.has(transaction.state)) {
          views.push({ transaction, coordinator: this.options.brokerId });
        }
      }
    }
    return views.sort((a, b) => (a.transaction.transactionalId < b.transaction.transactionalId ? -1 : 1));
  }

  /** One id's state, read after every write this coordinator made to its shard is replicated. */
  async describe(transactionalId: string): Promise<TransactionView> {
    const shard = this.locate(transactionalId);
    await this.committed(shard);
    const transaction = shard.transactions.get(transactionalId);
    if (transaction === undefined) {
      throw new BrookError("TRANSACTIONAL_ID_NOT_FOUND", `no transactional id '${transactionalId}'`);
    }
    return { transaction, coordinator: this.options.brokerId };
  }

  /** The shard of a transactional id; throws when this broker does not coordinate it (yet). */
  locate(transactionalId: string): Shard {
    validateTransactionalId(transactionalId);
    const topic = this.options.metadata.image.topic(TRANSACTION_STATE_TOPIC);
    if (topic === undefined) {
      throw new BrookError("COORDINATOR_NOT_AVAILABLE", `${TRANSACTION_STATE_TOPIC} does not exist yet`);
    }
    const index = partitionForTransactionalId(transactionalId, topic.partitions.length);
    const shard = this.shards.get(index);
    if (shard === undefined || shard.state === "unloaded" || !shard.partition.isLeader) {
      throw new BrookError(
        "NOT_COORDINATOR",
        `broker ${this.options.brokerId} does not lead ${TRANSACTION_STATE_TOPIC}-${index}, which holds transactional id '${transactionalId}'`,
      );
    }
    if (shard.state === "loading") {
      throw new BrookError(
        "COORDINATOR_LOAD_IN_PROGRESS",
        `broker ${this.options.brokerId} is loading ${shard.name}`,
      );
    }
    return shard;
  }

  /**
   * The timer's work (every timeoutCheckIntervalMs): open transactions past their timeout are
   * aborted at a bumped epoch, which fences the producer that stalled. One abort per id at a time:
   * an id whose abort is still under way is skipped, and tried again once that one failed.
   */
  abortTimedOut(): void {
    const nowMs = this.nowMs();
    for (const shard of this.shards.values()) {
      if (shard.state !== "active") continue;
      for (const txn of shard.transactions.values()) {
        const { transactionalId } = txn;
        if (!isTimedOut(txn, nowMs) || shard.timeoutAborts.has(transactionalId)) continue;
        shard.timeoutAborts.add(transactionalId);
        this.serialized(shard, transactionalId, async () => {
          const current = shard.transactions.get(transactionalId);
          // Another request may have moved it on while this one waited its turn.
          if (current === undefined || !isTimedOut(current, this.nowMs())) return;
          this.logger.info(
            { transactionalId, producerId: current.producerId, timeoutMs: current.timeoutMs },
            "aborting a transaction open longer than its timeout",
          );
          await this.prepare(shard, fence(current, this.nowMs()));
        })
          .catch((error: unknown) =>
            this.logger.warn({ err: error, transactionalId }, "could not abort a timed-out transaction"),
          )
          .finally(() => shard.timeoutAborts.delete(transactionalId));
      }
    }
  }

  private nowMs(): number {
    return this.options.clock.nowMs();
  }

  private requireRoomFor(shard: Shard): void {
    if (shard.transactions.size >= this.config.transactionalIdsPerShardMax) {
      throw new BrookError(
        "INVALID_REQUEST",
        `${shard.name} holds ${shard.transactions.size} transactional ids, the most one coordinator shard keeps; reuse transactional ids`,
      );
    }
  }

  /** Runs `work` once every earlier call for the same id has settled: one read-decide-write at a time. */
  private serialized<T>(shard: Shard, transactionalId: string, work: () => Promise<T>): Promise<T> {
    const previous = shard.queues.get(transactionalId) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    shard.queues.set(transactionalId, tail);
    tail.then(() => {
      if (shard.queues.get(transactionalId) === tail) shard.queues.delete(transactionalId);
    });
    return run;
  }

  /** Persists a Prepare state (the decision) and starts writing its markers. */
  private async prepare(shard: Shard, next: Transaction): Promise<void> {
    assert(isPrepared(next), "prepare() persists only a Prepare state");
    await this.write(shard, next);
    this.startCompletion(shard, next);
  }

  /**
   * Appends the id's new state (acks=all) and waits until it and everything appended before it are
   * replicated; only then does the state change in memory and the caller answer.
   */
  private async write(shard: Shard, next: Transaction): Promise<void> {
    try {
      appendToShard(shard, encodeRecordBatch([transactionRecord(next)], { nowMs: this.nowMs() }));
    } catch (error) {
      throw coordinatorError(error, shard, stateName);
    }
    await this.committed(shard);
    shard.transactions.set(next.transactionalId, next);
  }

  /** Resolves once everything the shard has appended is replicated and the shard is still this broker's. */
  private committed(shard: Shard): Promise<void> {
    return shardCommitted(shard, this.config.writeTimeoutMs, stateName);
  }

  /** Waits (at most completionWaitMsMax) for the id's completion in flight, if any; failures are the background's. */
  private async awaitCompletion(shard: Shard, transactionalId: string): Promise<void> {
    const completion = shard.completions.get(transactionalId);
    if (completion === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      completion.catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.config.completionWaitMsMax);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Writes the prepared transaction's markers, then its Complete state; in the background, once per id. */
  private startCompletion(shard: Shard, prepared: Transaction): void {
    const { transactionalId } = prepared;
    if (shard.completions.has(transactionalId)) return;
    const completion = this.writeMarkers(shard, prepared)
      .then(() =>
        this.serialized(shard, transactionalId, async () => {
          const current = shard.transactions.get(transactionalId);
          assert(
            current !== undefined &&
              current.state === prepared.state &&
              current.producerId === prepared.producerId &&
              current.producerEpoch === prepared.producerEpoch,
            "a prepared transaction changes only by completing",
          );
          await this.write(shard, complete(current, this.nowMs()));
        }),
      )
      .finally(() => {
        if (shard.completions.get(transactionalId) === completion) shard.completions.delete(transactionalId);
      });
    shard.completions.set(transactionalId, completion);
    completion.catch((error: unknown) => {
      const level = shard.state === "active" ? "warn" : "info";
      this.logger[level](
        { err: asBrookError(error).message, transactionalId, state: prepared.state },
        "transaction not completed here; its shard's next leader completes it",
      );
    });
  }

  /**
   * Sends the markers to each partition's current leader, again and again with a growing backoff for
   * those that fail, for as long as this broker coordinates the shard. Partitions of deleted topics
   * are skipped: there is nothing left to mark.
   */
  private async writeMarkers(shard: Shard, txn: Transaction): Promise<void> {
    let remaining = txn.partitions;
    let backoffMs = this.config.markerRetryBackoffMsMin;
    while (remaining.length > 0) {
      if (shard.state !== "active") {
        throw new BrookError("NOT_COORDINATOR", `${shard.name} moved before the markers were written`);
      }
      const plan = planMarkers(this.options.metadata.image, remaining);
      const retry = [...plan.leaderless];
      const rounds = [...plan.byLeader].map(async ([leader, partitions]) => {
        try {
          const response = await this.options.markers.writeTxnMarkers(
            leader,
            markerRequest(txn, partitions, shard.leaderEpoch),
          );
          const outcome = markerOutcome(partitions, response);
          if (outcome.fenced) {
            throw new BrookError(
              "TRANSACTION_COORDINATOR_FENCED",
              `broker ${leader} has heard from a newer coordinator of '${txn.transactionalId}'`,
            );
          }
          retry.push(...outcome.retry);
        } catch (error) {
          if (asBrookError(error).code === "TRANSACTION_COORDINATOR_FENCED") throw error;
          this.logger.debug({ err: asBrookError(error).message, leader }, "markers not written; retrying");
          retry.push(...partitions);
        }
      });
      await Promise.all(rounds);
      remaining = retry;
      if (remaining.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs = Math.min(backoffMs * 2, this.config.markerRetryBackoffMsMax);
    }
  }

  private load(shard: Shard): void {
    this.shards.set(shard.index, shard);
    const startedMs = this.nowMs();
    replayLeaderLog(
      shard.partition,
      () => shard.state === "loading",
      this.config.writeTimeoutMs,
      ({ records }) => {
        for (const record of records) {
          const txn = parseTransactionRecord(record);
          shard.transactions.set(txn.transactionalId, txn);
        }
      },
    ).then(
      (loaded) => {
        if (!loaded) return;
        shard.writtenEnd = shard.partition.log.logEndOffset;
        shard.state = "active";
        const prepared = [...shard.transactions.values()].filter(isPrepared);
        this.logger.info(
          {
            partition: shard.index,
            leaderEpoch: shard.leaderEpoch,
            transactionalIds: shard.transactions.size,
            completing: prepared.length,
            ms: this.nowMs() - startedMs,
          },
          "loaded transactions; coordinating them",
        );
        // The decision of each was durable; only its markers may be missing.
        for (const txn of prepared) this.startCompletion(shard, txn);
      },
      (error: unknown) => {
        this.logger.error({ err: error, partition: shard.index }, "could not load transactions");
        if (this.shards.get(shard.index) === shard) this.shards.delete(shard.index);
      },
    );
  }

  private unload(shard: Shard): void {
    shard.state = "unloaded";
    this.shards.delete(shard.index);
    this.logger.info(
      { partition: shard.index, leaderEpoch: shard.leaderEpoch, transactionalIds: shard.transactions.size },
      "stopped coordinating the transactions of a partition this broker no longer leads",
    );
  }
}

export type { Shard as TransactionShard };

/** Everything InitProducerId answers with. */
function identityOf(txn: Transaction): ProducerIdentity {
  return { producerId: txn.producerId, producerEpoch: txn.producerEpoch };
}
