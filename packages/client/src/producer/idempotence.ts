// What makes the producer idempotent (the idempotent half of Kafka's TransactionManager): a producer id
// and epoch from InitProducerId, asked for before the first batch goes out, and a sequence number per
// partition that numbers each batch when it is first sent. A retry resends the numbered bytes, so a
// leader that already appended the batch answers with its offsets instead of appending it twice.

import {
  assert,
  type BrookError,
  fromWireError,
  incrementSequence,
  type ProducerStamp,
  stampProducer,
} from "@brook/protocol";
import type { Cluster } from "../cluster/cluster.js";
import type { Logger } from "../logger.js";
import { withRetry } from "../retry/retry-policy.js";
import type { PartitionQueue, ProducerBatch } from "./accumulator.js";

export interface ProducerIdentity {
  readonly producerId: number;
  readonly producerEpoch: number;
}

/** InitProducerId on whichever broker answers, retried as the client's retry policy says. */
export function initProducerId(cluster: Cluster): Promise<ProducerIdentity> {
  const { retry, random } = cluster.options;
  return withRetry(retry, { random }, async () => {
    const response = await cluster.callAny("initProducerId", {});
    const error = fromWireError(response.error);
    if (error !== undefined) throw error;
    return { producerId: response.producerId, producerEpoch: response.producerEpoch };
  });
}

export class Idempotence {
  private identity: ProducerIdentity | undefined;
  /** The next sequence of each partition under the current identity; a partition not here starts at 0. */
  private readonly nextSequences = new Map<PartitionQueue, number>();

  constructor(
    private readonly init: () => Promise<ProducerIdentity>,
    private readonly logger: Logger,
    /**
     * Whether a failed batch makes the producer start over under a new producer id (see batchFailed).
     * False for a transactional producer: its id and epoch come only from its coordinator
     * (TransactionManager), and it never takes a new one on its own.
     */
    private readonly startsOverAfterFailure = true,
  ) {}

  /** Whether batches can be numbered now; if not, acquire() first. */
  get hasIdentity(): boolean {
    return this.identity !== undefined;
  }

  /** Gets a producer id and epoch; every partition's sequence starts at 0 under it. */
  async acquire(): Promise<void> {
    const identity = await this.init();
    this.adopt(identity);
    this.logger.debug({ ...identity }, "idempotent producer: got a producer id");
  }

  /** Numbers batches under `identity` from now on, every partition from 0 (a new id, or a bumped epoch). */
  adopt(identity: ProducerIdentity): void {
    this.identity = identity;
    this.nextSequences.clear();
  }

  /**
   * Numbers a batch at its first send with the partition's next sequence. Sending in queue order, one
   * batch of a partition at a time, makes the numbers follow the partition's order exactly.
   */
  stamp(queue: PartitionQueue, batch: ProducerBatch): void {
    assert(this.identity !== undefined, "batches are numbered only once there is a producer id");
    assert(batch.encoded !== undefined && batch.stamp === undefined, "a batch is numbered once, when closed");
    const baseSequence = this.nextSequences.get(queue) ?? 0;
    const stamp: ProducerStamp = { ...this.identity, baseSequence };
    stampProducer(batch.encoded, 0, stamp);
    batch.stamp = stamp;
    this.nextSequences.set(queue, incrementSequence(baseSequence, batch.records.length));
  }

  /**
   * A batch numbered under the current producer id failed for good: it may or may not be in the log, so
   * no later sequence of its partition can be trusted (the next would be a gap, or out of order). As
   * Kafka's idempotent producer bumps its epoch, this one starts over: the next batch waits for a new
   * producer id, and every partition counts from 0 again. Batches numbered under an older id keep their
   * numbers and are retried as they are: that producer's state on the leader still holds.
   */
  batchFailed(batch: ProducerBatch, error: BrookError): void {
    const stamp = batch.stamp;
    if (!this.startsOverAfterFailure) return;
    if (stamp === undefined || stamp.producerId !== this.identity?.producerId) return;
    // The failure itself reaches the caller through send(); starting over is routine, not a warning.
    this.logger.info(
      { producerId: stamp.producerId, baseSequence: stamp.baseSequence, error: error.message },
      "idempotent producer: a batch failed; continuing under a new producer id",
    );
    this.identity = undefined;
    this.nextSequences.clear();
  }
}
