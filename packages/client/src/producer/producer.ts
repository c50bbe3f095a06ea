// The producer: validates and partitions messages, appends them to the accumulator, and applies
// backpressure when too much is buffered. One promise per send() call, settled per batch. With a
// transactionalId it writes only inside transactions (transaction(); transaction-manager.ts).

import {
  asBrookError,
  BrookError,
  createDefaultPartitioner,
  type Partitioner,
  StickyPartitioner,
} from "@brook/protocol";
import type { Cluster } from "../cluster/cluster.js";
import type { TopicMetadata } from "../cluster/metadata-cache.js";
import { producerDefaults } from "../config.js";
import { withRetry } from "../retry/retry-policy.js";
import { type PartitionQueue, PendingSend, RecordAccumulator } from "./accumulator.js";
import { Idempotence, initProducerId } from "./idempotence.js";
import { Sender } from "./sender.js";
import { Transaction } from "./transaction.js";
import { TransactionManager } from "./transaction-manager.js";
import type {
  Message,
  ProducerBatchRecord,
  ProducerOptions,
  ProducerRecord,
  RecordMetadata,
} from "./types.js";

export class Producer {
  private readonly accumulator: RecordAccumulator;
  private readonly sender: Sender;
  private readonly sticky: StickyPartitioner;
  private readonly partitioner: Partitioner;
  private closing: Promise<void> | undefined;
  /** Sends still waiting for metadata or buffer room; close() lets them finish. */
  private readonly waitingSends = new Set<Promise<void>>();
  /**
   * Per topic, the last of its sends still waiting: a later send to the topic appends after it, never
   * before, so a partition gets records in send() call order even when an earlier send had to wait.
   */
  private readonly lastWaitingSend = new Map<string, Promise<void>>();
  /** Set when the producer is transactional. */
  private readonly transactions: TransactionManager | undefined;

  constructor(
    private readonly cluster: Cluster,
    options: ProducerOptions = {},
  ) {
    const { clock, random } = cluster.options;
    this.sticky = new StickyPartitioner(random);
    this.partitioner = options.partitioner ?? createDefaultPartitioner(this.sticky);
    this.accumulator = new RecordAccumulator(
      {
        batchBytes: positive(options.batchBytes ?? producerDefaults.batchBytes, "batchBytes"),
        bufferBytesMax: positive(options.bufferBytesMax ?? producerDefaults.bufferBytesMax, "bufferBytesMax"),
        compression: options.compression ?? "none",
        transactional: options.transactionalId !== undefined,
      },
      (queue) => this.sticky.onNewBatch(queue.topic, queue.partition),
    );
    const { acks, idempotent } = deliveryGuarantees(options);
    const idempotence = idempotent ? this.idempotence(options) : undefined;
    this.transactions =
      options.transactionalId === undefined || idempotence === undefined
        ? undefined
        : new TransactionManager(cluster, idempotence, {
            transactionalId: options.transactionalId,
            transactionTimeoutMs: positive(
              options.transactionTimeoutMs ?? producerDefaults.transactionTimeoutMs,
              "transactionTimeoutMs",
            ),
          });
    this.sender = new Sender(this.accumulator, cluster, {
      acks,
      idempotence,
      transactions: this.transactions,
      lingerMs: Math.max(0, options.lingerMs ?? producerDefaults.lingerMs),
      maxInFlightRequests: positive(
        options.maxInFlightRequests ?? producerDefaults.maxInFlightRequests,
        "maxInFlightRequests",
      ),
      requestBytesMax: positive(
        options.requestBytesMax ?? producerDefaults.requestBytesMax,
        "requestBytesMax",
      ),
      requestTimeoutMs: options.requestTimeoutMs ?? cluster.options.requestTimeoutMs,
      retry: { ...cluster.options.retry, ...options.retry },
      clock,
      random,
    });
  }

  /**
   * Optional: checks that the cluster answers; a transactional producer also gets its producer id and
   * epoch from its coordinator here (fencing an older instance), else at its first transaction().
   */
  async connect(): Promise<void> {
    await this.cluster.metadata.refresh();
    await this.transactions?.initialize();
  }

  /**
   * Opens a transaction (a transactional producer only, one at a time): write with its send(), add
   * consumer offsets with sendOffsets(), end it with commit() or abort().
   */
  async transaction(): Promise<Transaction> {
    if (this.closing !== undefined) throw new BrookError("CLIENT_CLOSED", "the producer is closed");
    const transactions = this.transactions;
    if (transactions === undefined) {
      throw new BrookError(
        "INVALID_CONFIG",
        "transaction() needs a transactional producer: brook.producer({ transactionalId: '...' })",
      );
    }
    const generation = await transactions.begin();
    return new Transaction(transactions, this.transactionalSends(), generation);
  }

  /**
   * Queues the messages and resolves when all of them are acknowledged (per `acks`), with where they
   * landed; rejects with the BrookError of the first batch that failed for good.
   */
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    return this.sendBatch({ topicMessages: [record] });
  }

  /** Like send(), for several topics at once. */
  sendBatch({ topicMessages }: ProducerBatchRecord): Promise<RecordMetadata[]> {
    if (this.closing !== undefined) {
      return Promise.reject(new BrookError("CLIENT_CLOSED", "the producer is closed"));
    }
    const transactions = this.transactions;
    try {
      transactions?.check("send");
    } catch (error) {
      return Promise.reject(error);
    }
    const send = new PendingSend();
    const topics = this.accumulator.hasRoom() ? this.topicsAtHand(topicMessages) : undefined;
    if (topics !== undefined) this.appendAll(topicMessages, topics, send);
    else this.appendLater(topicMessages, send);
    // Any failed send of a transaction (a refused message, a batch) fails the transaction: commit() refuses.
    if (transactions !== undefined) send.promise.catch((error) => transactions.failed(asBrookError(error)));
    return send.promise;
  }

  /** Sends everything buffered now, without waiting for linger, and waits until it is acknowledged. */
  async flush(): Promise<void> {
    // Sends accepted before flush() but still waiting for metadata or room are part of "everything".
    await Promise.all([...this.waitingSends]);
    const flushed = this.accumulator.flushed();
    this.accumulator.closeAll();
    this.sender.scheduleDrain();
    await flushed;
  }

  /** Flushes, then closes the connections; send() fails with CLIENT_CLOSED from now on. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** KafkaJS's name for close(). */
  disconnect(): Promise<void> {
    return this.close();
  }

  /** What a Transaction does through this producer: send, and flush or drop the batches at its end. */
  private transactionalSends() {
    return {
      sendBatch: (record: ProducerBatchRecord) => this.sendBatch(record),
      flush: () => this.flush(),
      dropUnsent: async (error: BrookError) => {
        // Sends accepted before the abort append first, so they are dropped too.
        await Promise.all([...this.waitingSends]);
        const inFlight = this.accumulator.flushed();
        this.sender.failUnsent(error);
        await inFlight;
      },
    };
  }

  /**
   * Idempotence of a plain producer, which starts over under a new producer id after a failed batch; or of
   * a transactional one, whose id and epoch only its coordinator hands out (TransactionManager).
   */
  private idempotence(options: ProducerOptions): Idempotence {
    const { logger } = this.cluster;
    if (options.transactionalId === undefined)
      return new Idempotence(() => initProducerId(this.cluster), logger);
    const noIdYet = () =>
      Promise.reject(
        new BrookError("INVALID_TXN_STATE", "a transactional producer sends only inside a transaction"),
      );
    return new Idempotence(noIdYet, logger, false);
  }

  private async shutdown(): Promise<void> {
    // Bounded: close() refuses new sends, so each flush leaves fewer waiting.
    while (this.waitingSends.size > 0 || !this.accumulator.isIdle) await this.flush();
    this.sender.stop();
    this.cluster.close();
  }

  /** Fast path: cached metadata for every topic, and no earlier send of them still waiting. */
  private topicsAtHand(topicMessages: ProducerRecord[]): TopicMetadata[] | undefined {
    const topics: TopicMetadata[] = [];
    for (const { topic } of topicMessages) {
      const metadata = this.cluster.metadata.peekTopic(topic);
      if (metadata === undefined || this.lastWaitingSend.has(topic)) return undefined;
      topics.push(metadata);
    }
    return topics;
  }

  /** Queues a send behind the waiting sends of its topics. */
  private appendLater(topicMessages: ProducerRecord[], send: PendingSend): void {
    const names = [...new Set(topicMessages.map(({ topic }) => topic))];
    const earlier = names.map((name) => this.lastWaitingSend.get(name));
    const appended = this.appendWhenReady(topicMessages, send, earlier);
    this.waitingSends.add(appended);
    for (const name of names) this.lastWaitingSend.set(name, appended);
    appended.finally(() => {
      this.waitingSends.delete(appended);
      for (const name of names) {
        if (this.lastWaitingSend.get(name) === appended) this.lastWaitingSend.delete(name);
      }
    });
  }

  /**
   * Slow path: fetch metadata (with retries), let the earlier waiting sends of the same topics append,
   * and wait for buffer room, in arrival order. Never rejects: failures reject the send.
   */
  private async appendWhenReady(
    topicMessages: ProducerRecord[],
    send: PendingSend,
    earlier: (Promise<void> | undefined)[],
  ): Promise<void> {
    const topics = await this.topicsOf(topicMessages).catch((error: unknown) => {
      send.failed(asBrookError(error));
      return undefined;
    });
    // A send that failed still waits: later sends of its topics wait for it, not for those before it.
    await Promise.all(earlier);
    if (topics === undefined) return;
    try {
      if (!this.accumulator.hasRoom()) {
        this.sendOpenBatches();
        await this.accumulator.waitForRoom();
      }
      this.appendAll(topicMessages, topics, send);
    } catch (error) {
      send.failed(asBrookError(error));
    } finally {
      this.accumulator.admitNext();
      // Sends still waiting for room would otherwise wait out the linger of what this one appended.
      if (!this.accumulator.hasRoom()) this.sendOpenBatches();
    }
  }

  /** Lingering makes no sense while sends wait for room: close the open batches and send them. */
  private sendOpenBatches(): void {
    this.accumulator.closeAll();
    this.sender.scheduleDrain();
  }

  private topicsOf(topicMessages: ProducerRecord[]): Promise<TopicMetadata[]> {
    const { retry, random } = this.cluster.options;
    return Promise.all(
      topicMessages.map(({ topic }) =>
        withRetry(retry, { random, onRetry: () => this.cluster.metadata.markStale() }, () =>
          this.cluster.metadata.topic(topic),
        ),
      ),
    );
  }

  private appendAll(topicMessages: ProducerRecord[], topics: TopicMetadata[], send: PendingSend): void {
    // Every message is checked and given its partition before any is appended, so a send is taken whole or not at all.
    const chosen: number[][] = [];
    for (let index = 0; index < topicMessages.length; index++) {
      const invalid = findInvalidMessage(topicMessages[index].messages, topics[index]);
      const partitions = invalid ?? this.choosePartitions(topicMessages[index], topics[index]);
      if (partitions instanceof BrookError) {
        send.failed(partitions);
        return;
      }
      chosen.push(partitions);
    }
    const nowMs = this.cluster.options.clock.nowMs();
    for (let index = 0; index < topicMessages.length; index++) {
      const { topic, messages } = topicMessages[index];
      const partitions = chosen[index];
      let queue: PartitionQueue | undefined;
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i];
        const partition = partitions[i];
        // Consecutive messages mostly share a partition (sticky, or one key): one queue lookup for them.
        if (queue?.partition !== partition) queue = this.accumulator.queue(topic, partition);
        this.accumulator.append(queue, message, send, nowMs);
      }
    }
    send.sealed();
    this.sender.scheduleDrain();
  }

  /** The partition of each message: its own, else the partitioner's; a custom partitioner's bad answer is an error. */
  private choosePartitions(
    { topic, messages }: ProducerRecord,
    metadata: TopicMetadata,
  ): number[] | BrookError {
    const numPartitions = metadata.partitions.length;
    const partitions = new Array<number>(messages.length);
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i];
      const partition = message.partition ?? this.partitioner({ topic, key: message.key, numPartitions });
      if (!(Number.isInteger(partition) && partition >= 0 && partition < numPartitions)) {
        return new BrookError(
          "INVALID_REQUEST",
          `the partitioner chose partition ${partition} of ${numPartitions} for topic "${topic}"`,
        );
      }
      partitions[i] = partition;
    }
    return partitions;
  }
}

/** Checks what would otherwise fail a whole batch (and the other sends in it) at encode time. */
function findInvalidMessage(messages: Message[], topic: TopicMetadata): BrookError | undefined {
  for (const message of messages) {
    const { partition, timestamp, value } = message;
    if (
      partition !== undefined &&
      !(Number.isInteger(partition) && partition >= 0 && partition < topic.partitions.length)
    ) {
      return new BrookError(
        "UNKNOWN_PARTITION",
        `topic "${topic.name}" has ${topic.partitions.length} partitions; there is no partition ${partition}`,
      );
    }
    if (timestamp !== undefined && !(Number.isSafeInteger(timestamp) && timestamp >= 0)) {
      return new BrookError(
        "INVALID_REQUEST",
        `a message timestamp is whole ms since the epoch, got ${timestamp}`,
      );
    }
    if (value !== null && typeof value !== "string" && !Buffer.isBuffer(value)) {
      return new BrookError("INVALID_REQUEST", "a message value is a Buffer, a string or null");
    }
  }
  return undefined;
}

/**
 * acks and idempotence together, as Kafka settles them: idempotence is on by default but needs acks=all,
 * so acks 0 or 1 given alone turn it off, and given with `idempotent: true` are refused.
 */
function deliveryGuarantees(options: ProducerOptions): { acks: -1 | 0 | 1; idempotent: boolean } {
  const acks = toAcks(options.acks ?? producerDefaults.acks);
  if (options.transactionalId !== undefined) {
    if (options.transactionalId === "") {
      throw new BrookError("INVALID_CONFIG", "transactionalId must not be empty");
    }
    if (acks !== -1 || options.idempotent === false) {
      throw new BrookError(
        "INVALID_CONFIG",
        `a transactional producer is idempotent with acks -1 ("all"); drop the acks (${options.acks}) and idempotent (${options.idempotent}) settings`,
      );
    }
    return { acks, idempotent: true };
  }
  const idempotent = options.idempotent ?? (producerDefaults.idempotent && acks === -1);
  if (idempotent && acks !== -1) {
    throw new BrookError(
      "INVALID_CONFIG",
      `an idempotent producer needs acks -1 ("all"), got ${options.acks}; drop idempotent: true or the acks setting`,
    );
  }
  return { acks, idempotent };
}

function toAcks(acks: ProducerOptions["acks"]): -1 | 0 | 1 {
  if (acks === "all" || acks === -1) return -1;
  if (acks === 0 || acks === 1) return acks;
  throw new BrookError("INVALID_CONFIG", `acks is -1 ("all"), 0 or 1, got ${acks}`);
}

function positive(value: number, name: string): number {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new BrookError("INVALID_CONFIG", `${name} must be a positive integer, got ${value}`);
  }
  return value;
}
