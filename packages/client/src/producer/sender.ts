// Moves closed batches to partition leaders: every sendable partition a broker leads goes into one Produce
// request (up to requestBytesMax), with up to maxInFlightRequests requests per broker and one per
// partition. Retriable failures mark metadata stale and back off before the same bytes go to the (new)
// leader; anything else, or running out of retries, fails the batch's sends. An idempotent producer
// sends nothing before it has a producer id, numbers each batch at its first send, and retries a batch
// on its own (see idempotence.ts and docs/replication.md). A transactional producer sends only while its
// transaction allows it, and sends nothing to a partition before the coordinator has added it to the
// transaction (AddPartitionsToTxn, one call for the new partitions of a drain; see transaction-manager.ts).

import {
  asBrookError,
  assert,
  BrookError,
  type Clock,
  fromWireError,
  type PartitionProduceData,
  type ProduceResponse__Output,
  type RandomSource,
} from "@brook/protocol";
import type { Cluster } from "../cluster/cluster.js";
import type { BrokerAddress } from "../cluster/metadata-cache.js";
import { clientDefaults, producerLimits } from "../config.js";
import { logRetry } from "../logger.js";
import { backoffMs, isRetriable, type RetryPolicy } from "../retry/retry-policy.js";
import { DeadlineTimer, soon } from "../runtime.js";
import type { PartitionQueue, ProducerBatch, RecordAccumulator } from "./accumulator.js";
import type { Idempotence } from "./idempotence.js";
import type { TransactionManager } from "./transaction-manager.js";

export interface SenderConfig {
  acks: -1 | 0 | 1;
  lingerMs: number;
  maxInFlightRequests: number;
  requestBytesMax: number;
  requestTimeoutMs: number;
  retry: RetryPolicy;
  clock: Clock;
  random: RandomSource;
  /** Set when the producer is idempotent. */
  idempotence?: Idempotence;
  /** Set when the producer is transactional (it is idempotent too). */
  transactions?: TransactionManager;
}

/** The batches of one partition inside one request. */
interface RequestPart {
  queue: PartitionQueue;
  batches: ProducerBatch[];
}

export class Sender {
  private drainScheduled = false;
  private readonly timer = new DeadlineTimer(() => this.drain());
  private readonly inFlightByBroker = new Map<number, number>();
  private refreshingMetadata = false;
  /** An idempotent producer is asking for its producer id; nothing is sent until it has one. */
  private acquiringIdentity = false;
  /** A transactional producer's AddPartitionsToTxn is in flight; new partitions wait for the next one. */
  private addingPartitions = false;

  constructor(
    private readonly accumulator: RecordAccumulator,
    private readonly cluster: Cluster,
    private readonly config: SenderConfig,
  ) {}

  /** Drains after the current turn, so everything appended in it travels together. */
  scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    soon(() => this.drain());
  }

  stop(): void {
    this.timer.stop();
  }

  /**
   * Sends to every broker that has something due (a closed batch, or an open one past lingerMs). As in
   * Kafka, once a broker is due, every sendable partition it leads goes along, lingering or not: the
   * request is being paid for anyway.
   */
  private drain(): void {
    this.drainScheduled = false;
    if (this.waitingForIdentity() || this.refusedByTransaction()) return;
    const nowMs = this.config.clock.nowMs();
    const byLeader = new Map<number, { leader: BrokerAddress; queues: PartitionQueue[]; due: boolean }>();
    let needMetadata = false;
    for (const queue of this.accumulator.active) {
      if (queue.inFlight || queue.retryAtMs > nowMs) continue;
      const leader = this.cluster.metadata.cachedLeader(queue.topic, queue.partition);
      if (leader === undefined || leader instanceof BrookError) {
        // With no leader to send to, a batch past its linger still closes: only closed batches count
        // failed attempts, so an open one would wait (and re-arm the timer) for as long as there is none.
        if (this.lingerExpired(queue, nowMs)) this.accumulator.close(queue);
        if (leader === undefined) needMetadata = true;
        else if (queue.ready.length > 0) this.failed(queue, queue.ready.splice(0), leader, nowMs);
      } else {
        let group = byLeader.get(leader.id);
        if (group === undefined) {
          group = { leader, queues: [], due: false };
          byLeader.set(leader.id, group);
        }
        group.queues.push(queue);
        group.due ||= queue.ready.length > 0 || this.lingerExpired(queue, nowMs);
      }
    }
    // A batch that failed for good just above may have cost an idempotent producer its id, or failed
    // the transaction.
    if (this.waitingForIdentity() || this.refusedByTransaction()) return;
    const toAdd: PartitionQueue[] = [];
    for (const { leader, queues, due } of byLeader.values()) {
      if (!due) continue;
      for (const queue of queues) this.accumulator.close(queue);
      // A batch that failed to encode leaves its queue with nothing to send.
      const ready = queues.filter((queue) => queue.ready.length > 0);
      const notAdded = this.config.transactions?.notAdded(ready) ?? [];
      toAdd.push(...notAdded);
      this.sendTo(leader, notAdded.length === 0 ? ready : ready.filter((queue) => !notAdded.includes(queue)));
    }
    if (toAdd.length > 0) this.addPartitions(toAdd);
    if (needMetadata) this.refreshMetadata();
    this.armTimer(nowMs);
  }

  /**
   * An idempotent producer without a producer id sends nothing: it asks for one once something waits to
   * be sent (once, however many drains come meanwhile), then drains again; if none can be had, every
   * batch not yet sent fails with the reason.
   */
  private waitingForIdentity(): boolean {
    const idempotence = this.config.idempotence;
    if (idempotence === undefined || idempotence.hasIdentity) return false;
    if (this.acquiringIdentity) return true;
    const waiting = [...this.accumulator.active].some((queue) => !queue.inFlight && !queue.isEmpty);
    if (waiting) this.acquireIdentity(idempotence);
    return true;
  }

  private acquireIdentity(idempotence: Idempotence): void {
    this.acquiringIdentity = true;
    idempotence.acquire().then(
      () => {
        this.acquiringIdentity = false;
        this.scheduleDrain();
      },
      (error: unknown) => {
        this.acquiringIdentity = false;
        this.failUnsent(asBrookError(error));
      },
    );
  }

  /**
   * A transactional producer whose transaction allows no sending (aborting, failed, fenced) fails every
   * batch not yet sent, with the reason.
   */
  private refusedByTransaction(): boolean {
    const refused = this.config.transactions?.sendingRefusal();
    if (refused === undefined) return false;
    this.failUnsent(refused);
    return true;
  }

  /** AddPartitionsToTxn for partitions about to get their first batch; they are sent once it answers. */
  private addPartitions(queues: PartitionQueue[]): void {
    const transactions = this.config.transactions!;
    if (this.addingPartitions) return; // the drain after the call in flight answers asks for these
    this.addingPartitions = true;
    transactions.addPartitions(queues).then(
      () => {
        this.addingPartitions = false;
        this.scheduleDrain();
      },
      () => {
        // The transaction failed with it: the next drain fails the unsent batches with the reason.
        this.addingPartitions = false;
        this.scheduleDrain();
      },
    );
  }

  /** Fails every batch that has not been sent (open ones too); batches in flight finish on their own. */
  failUnsent(error: BrookError): void {
    for (const queue of [...this.accumulator.active]) {
      this.accumulator.close(queue);
      for (const batch of queue.ready.splice(0)) this.fail(batch, error);
      this.accumulator.retireIfEmpty(queue);
    }
  }

  private lingerExpired(queue: PartitionQueue, nowMs: number): boolean {
    return queue.open !== undefined && nowMs - queue.open.createdAtMs >= this.config.lingerMs;
  }

  /** Fills requests for one broker from its partitions until it has maxInFlightRequests outstanding. */
  private sendTo(leader: BrokerAddress, queues: PartitionQueue[]): void {
    let next = 0;
    while (
      next < queues.length &&
      (this.inFlightByBroker.get(leader.id) ?? 0) < this.config.maxInFlightRequests
    ) {
      const parts: RequestPart[] = [];
      let requestBytes = 0;
      for (; next < queues.length; next++) {
        const queue = queues[next];
        const countMax = this.batchesPerRequestMax(queue);
        const batches = takeBatches(
          queue.ready,
          this.config.requestBytesMax - requestBytes,
          parts.length === 0,
          countMax,
        );
        if (batches.length === 0) break;
        for (const batch of batches) requestBytes += batch.encoded!.length;
        parts.push({ queue, batches });
        // The remaining batches of the partition wait for these (ordering); when bytes, not the per-partition
        // limit, left them behind, the request is full.
        if (queue.ready.length > 0 && batches.length < countMax) {
          next++;
          break;
        }
      }
      assert(parts.length > 0, "the first partition of a request always contributes a batch");
      this.send(leader, parts);
    }
  }

  /**
   * How many of a partition's ready batches the next request may take. An idempotent producer sends a
   * batch that went out before (a retry; retries are at the front) alone, so the leader answers it with
   * its own offsets whatever became of the batches first sent with it; and at most five batches never
   * sent, the five the leader remembers per producer, so all are recognised if the answer is lost.
   */
  private batchesPerRequestMax(queue: PartitionQueue): number {
    if (this.config.idempotence === undefined) return Number.POSITIVE_INFINITY;
    return queue.ready[0]?.stamp !== undefined ? 1 : producerLimits.idempotentBatchesPerRequestMax;
  }

  private send(leader: BrokerAddress, parts: RequestPart[]): void {
    const topics = new Map<string, PartitionProduceData[]>();
    for (const { queue, batches } of parts) {
      queue.inFlight = true;
      for (const batch of batches) {
        // Numbered at the first send only: a retry must carry the same sequence.
        if (batch.stamp === undefined) this.config.idempotence?.stamp(queue, batch);
      }
      let partitions = topics.get(queue.topic);
      if (partitions === undefined) {
        partitions = [];
        topics.set(queue.topic, partitions);
      }
      const records =
        batches.length === 1 ? batches[0].encoded! : Buffer.concat(batches.map((b) => b.encoded!));
      partitions.push({ partition: queue.partition, records });
    }
    this.inFlightByBroker.set(leader.id, (this.inFlightByBroker.get(leader.id) ?? 0) + 1);
    const request = {
      acks: this.config.acks,
      timeoutMs: this.config.requestTimeoutMs,
      topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
    };
    const call = this.cluster.call(leader.address, "produce", request, {
      timeoutMs: this.config.requestTimeoutMs + clientDefaults.deadlineMarginMs,
      worthConnecting: () => this.stillLeadsAny(leader, parts),
    });
    if (this.config.acks === 0) this.acknowledgeUnanswered(parts);
    call.then(
      (response) => this.answered(leader, parts, response, undefined),
      (error: BrookError) => this.answered(leader, parts, undefined, error),
    );
  }

  /**
   * For a request waiting on its leader's connection (a broker the network cut off holds the wait for
   * connectionTimeoutMs): whether fresh metadata still names `leader` for one of its partitions, or names
   * none. Once another broker leads them all, the request goes there instead. The leader, not connected
   * to yet, is asked for that metadata last.
   */
  private async stillLeadsAny(leader: BrokerAddress, parts: RequestPart[]): Promise<boolean> {
    this.cluster.metadata.distrust(leader.address);
    await this.cluster.metadata.refresh();
    return parts.some(({ queue }) => {
      const now = this.cluster.metadata.cachedLeader(queue.topic, queue.partition);
      return now === undefined || now instanceof BrookError || now.id === leader.id;
    });
  }

  /** acks=0: the sends resolve as soon as the request is on its way. */
  private acknowledgeUnanswered(parts: RequestPart[]): void {
    for (const { queue, batches } of parts) {
      for (const batch of batches) {
        this.accumulator.complete(queue, batch, { baseOffset: -1, logAppendTime: -1, logStartOffset: -1 });
      }
    }
  }

  private answered(
    leader: BrokerAddress,
    parts: RequestPart[],
    response: ProduceResponse__Output | undefined,
    requestError: BrookError | undefined,
  ): void {
    this.inFlightByBroker.set(leader.id, (this.inFlightByBroker.get(leader.id) ?? 1) - 1);
    const nowMs = this.config.clock.nowMs();
    const answers = response === undefined ? undefined : indexAnswers(response);
    for (const { queue, batches } of parts) {
      queue.inFlight = false;
      const answer = answers?.get(queue.topic)?.get(queue.partition);
      const error =
        requestError ??
        fromWireError(answer?.error) ??
        (answer === undefined
          ? new BrookError(
              "UNKNOWN_SERVER_ERROR",
              `the broker did not answer for ${queue.topic}-${queue.partition}`,
            )
          : undefined);
      if (this.config.acks === 0) {
        if (error !== undefined) this.logUnacknowledgedLoss(queue, batches, error);
      } else if (error !== undefined) {
        // It answered NOT_LEADER though the metadata named it (its own may be stale), or did not answer.
        if (requestError !== undefined || error.code === "NOT_LEADER") {
          this.cluster.metadata.distrust(leader.address);
        }
        this.failed(queue, batches, error, nowMs);
      } else {
        let baseOffset = answer!.baseOffset;
        for (const batch of batches) {
          this.accumulator.complete(queue, batch, {
            baseOffset,
            logAppendTime: answer!.logAppendTimeMs,
            logStartOffset: answer!.logStartOffset,
          });
          // Batches of one request are appended back to back, so each starts where the last ended.
          baseOffset += batch.records.length;
        }
      }
      this.accumulator.retireIfEmpty(queue);
    }
    this.scheduleDrain();
  }

  /** Retries what may be retried (same bytes, after a backoff, to whoever leads then); fails the rest. */
  private failed(queue: PartitionQueue, batches: ProducerBatch[], error: BrookError, nowMs: number): void {
    const retry = isRetriable(error)
      ? batches.filter((batch) => ++batch.attempts <= this.config.retry.retries)
      : [];
    for (const batch of batches) if (!retry.includes(batch)) this.fail(batch, error);
    if (retry.length > 0) {
      this.cluster.metadata.markStale();
      queue.ready.unshift(...retry);
      const attempt = Math.max(...retry.map((batch) => batch.attempts));
      const delayMs = backoffMs(this.config.retry, attempt - 1, this.config.random);
      queue.retryAtMs = nowMs + delayMs;
      logRetry(
        this.cluster.logger,
        attempt,
        { topic: queue.topic, partition: queue.partition, delayMs, error: error.message },
        "produce failed; retrying",
      );
    }
    this.accumulator.retireIfEmpty(queue);
  }

  /** A batch fails for good: its sends reject, and an idempotent producer may have to start over. */
  private fail(batch: ProducerBatch, error: BrookError): void {
    this.config.idempotence?.batchFailed(batch, error);
    this.config.transactions?.batchFailed(batch, error);
    this.accumulator.fail(batch, error);
  }

  private logUnacknowledgedLoss(queue: PartitionQueue, batches: ProducerBatch[], error: BrookError): void {
    const records = batches.reduce((sum, batch) => sum + batch.records.length, 0);
    this.cluster.logger.error(
      { topic: queue.topic, partition: queue.partition, records, error: error.message },
      "acks=0 produce failed; the records may be lost",
    );
    if (isRetriable(error)) this.cluster.metadata.markStale();
  }

  /** One refresh at a time; afterwards, partitions that still have no leader count a failed attempt. */
  private refreshMetadata(): void {
    if (this.refreshingMetadata) return;
    this.refreshingMetadata = true;
    void this.cluster.metadata.refreshForLeaders().then((stuck) => {
      this.refreshingMetadata = false;
      const nowMs = this.config.clock.nowMs();
      for (const queue of this.accumulator.active) {
        // A queue backing off already counted this failure; refreshes that other partitions cause (as
        // often as every refreshIntervalMsMin) must not spend its retries faster than its backoff.
        if (queue.inFlight || queue.ready.length === 0 || queue.retryAtMs > nowMs) continue;
        const error = stuck(queue.topic, queue.partition);
        if (error !== undefined) this.failed(queue, queue.ready.splice(0), error, nowMs);
      }
      this.scheduleDrain();
    });
  }

  /** One timer, set for the next lingering batch to come due or the next backoff to end. */
  private armTimer(nowMs: number): void {
    let dueAtMs = Number.POSITIVE_INFINITY;
    for (const queue of this.accumulator.active) {
      if (queue.inFlight) continue;
      if (queue.retryAtMs > nowMs) dueAtMs = Math.min(dueAtMs, queue.retryAtMs);
      else if (queue.open !== undefined)
        dueAtMs = Math.min(dueAtMs, queue.open.createdAtMs + this.config.lingerMs);
    }
    this.timer.armBy(dueAtMs, nowMs);
  }
}

/**
 * Takes up to `countMax` batches from the front while they fit in `bytesLeft`; the first of a request is
 * taken regardless.
 */
function takeBatches(
  ready: ProducerBatch[],
  bytesLeft: number,
  first: boolean,
  countMax: number,
): ProducerBatch[] {
  let count = 0;
  let bytes = 0;
  while (count < ready.length && count < countMax) {
    const size = ready[count].encoded!.length;
    if (bytes + size > bytesLeft && !(first && count === 0)) break;
    bytes += size;
    count++;
  }
  return ready.splice(0, count);
}

function indexAnswers(response: ProduceResponse__Output) {
  const byTopic = new Map<
    string,
    Map<number, ProduceResponse__Output["topics"][number]["partitions"][number]>
  >();
  for (const topic of response.topics) {
    byTopic.set(topic.topic, new Map(topic.partitions.map((answer) => [answer.partition, answer])));
  }
  return byTopic;
}
