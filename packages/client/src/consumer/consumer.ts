// The consumer: assign partitions (or whole topics), then read either with `for await` or with
// run({ eachMessage | eachBatch }). Positions advance as the application is handed messages (iterator)
// or as its handlers finish (run); stop() keeps them, so reading again resumes where it left off.

import { BrookError } from "@brook/protocol";
import type { Cluster } from "../cluster/cluster.js";
import { listOffsets, OffsetSpec } from "../cluster/offsets.js";
import { consumerDefaults } from "../config.js";
import { withRetry } from "../retry/retry-policy.js";
import { type BufferedBatch, Fetcher, type PartitionState } from "./fetcher.js";
import type {
  Assignment,
  ConsumedMessage,
  ConsumerOptions,
  EachBatchPayload,
  OffsetResetPolicy,
  RunOptions,
  TopicPartition,
  TopicPartitionOffset,
} from "./types.js";

export class Consumer implements AsyncIterable<ConsumedMessage> {
  readonly groupId: string | undefined;
  private readonly fetcher: Fetcher;
  private readonly fromBeginning: boolean;
  private reading = false;
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    options: ConsumerOptions = {},
  ) {
    this.groupId = options.groupId;
    this.fromBeginning = options.fromBeginning ?? false;
    this.fetcher = new Fetcher(cluster, {
      minBytes: options.minBytes ?? consumerDefaults.minBytes,
      maxBytes: options.maxBytes ?? consumerDefaults.maxBytes,
      maxWaitMs: options.maxWaitMs ?? consumerDefaults.maxWaitMs,
      maxBytesPerPartition: options.maxBytesPerPartition ?? consumerDefaults.maxBytesPerPartition,
      prefetchResponsesMax: consumerDefaults.prefetchResponsesMax,
      autoOffsetReset: options.autoOffsetReset ?? defaultReset(this.fromBeginning),
      requestTimeoutMs: options.requestTimeoutMs ?? cluster.options.requestTimeoutMs,
      retry: { ...cluster.options.retry, ...options.retry },
    });
  }

  /** Optional: checks that the cluster answers. */
  async connect(): Promise<void> {
    await this.cluster.metadata.refresh();
  }

  /**
   * Adds partitions to the assignment (every partition of a topic when `partition` is omitted), starting
   * at `offset`, or else at the earliest or latest offset per `fromBeginning`. Reassigning a partition
   * restarts it there.
   */
  async assign(assignments: Assignment[]): Promise<void> {
    this.assertOpen();
    for (const { topic, partition, offset, fromBeginning } of assignments) {
      const resetTo = (fromBeginning ?? this.fromBeginning) ? "earliest" : "latest";
      const partitions = partition === undefined ? await this.partitionsOf(topic) : [partition];
      for (const each of partitions) this.fetcher.assign(topic, each, offset, resetTo);
    }
  }

  /** KafkaJS-style: assigns every partition of each topic (no consumer group yet). */
  async subscribe(subscription: {
    topic?: string;
    topics?: string[];
    fromBeginning?: boolean;
  }): Promise<void> {
    const topics = [
      ...(subscription.topic === undefined ? [] : [subscription.topic]),
      ...(subscription.topics ?? []),
    ];
    await this.assign(topics.map((topic) => ({ topic, fromBeginning: subscription.fromBeginning })));
  }

  /** The next message of the partition will be the one at `offset`; anything buffered is dropped. */
  seek({ topic, partition, offset }: TopicPartitionOffset): void {
    if (!(Number.isSafeInteger(offset) && offset >= 0)) {
      throw new BrookError("INVALID_REQUEST", `seek takes an offset >= 0, got ${offset}`);
    }
    this.fetcher.seek(this.assigned({ topic, partition }), offset);
  }

  /** The offset of the next message the application will get; undefined until the start is resolved. */
  position(topicPartition: TopicPartition): number | undefined {
    return this.assigned(topicPartition).position;
  }

  /** The partition's high watermark as of the last fetch; undefined before the first. */
  highWatermark(topicPartition: TopicPartition): number | undefined {
    return this.assigned(topicPartition).highWatermark;
  }

  assignments(): TopicPartition[] {
    return this.fetcher.allStates().map(({ topic, partition }) => ({ topic, partition }));
  }

  /**
   * The high watermark of every assigned partition, asked of its leader now (ListOffsets latest): where
   * a reader that wants to stop "at the end" stops (position >= offset).
   */
  async endOffsets(): Promise<TopicPartitionOffset[]> {
    const queries = this.assignments().map((each) => ({ ...each, timestamp: OffsetSpec.latest }));
    const offsets = await listOffsets(this.cluster, queries);
    return queries.map(({ topic, partition }, index) => ({ topic, partition, offset: offsets[index] }));
  }

  /** Consumer groups are not implemented yet; this always throws. */
  commitOffsets(): never {
    throw new BrookError(
      "INVALID_REQUEST",
      `committing offsets needs consumer groups, which Brook does not have yet (groupId ${this.groupId ?? "not set"}); ` +
        "track positions with position() and resume with assign({ offset })",
    );
  }

  /**
   * Reads until stop() or close(): eachBatch gets a batch at a time, else eachMessage a message at a time,
   * in order per partition. Unlike KafkaJS, the promise settles only when reading ends: it resolves after
   * stop()/close() and rejects with the error that stopped the consumer or that a handler threw (the
   * position then stays at the message that failed).
   */
  async run({ eachBatch, eachMessage }: RunOptions): Promise<void> {
    if (eachBatch === undefined && eachMessage === undefined) {
      throw new BrookError("INVALID_REQUEST", "run() needs eachBatch or eachMessage");
    }
    this.startReading();
    try {
      for (let entry = await this.fetcher.next(); entry !== undefined; entry = await this.fetcher.next()) {
        if (eachBatch !== undefined) await this.handleBatch(entry, eachBatch);
        else await this.handleMessages(entry, eachMessage!);
      }
    } finally {
      this.stopReading();
    }
  }

  /** `for await (const message of consumer)`: ends after stop()/close(); breaking out stops fetching. */
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumedMessage> {
    this.startReading();
    try {
      for (let entry = await this.fetcher.next(); entry !== undefined; entry = await this.fetcher.next()) {
        for (const message of entry.batch.messages) {
          if (!this.fetcher.isRunning || !this.fetcher.isCurrent(entry)) break;
          // Kafka's meaning of position: the offset of the next message to hand out.
          entry.state.position = message.offset + 1;
          yield message;
        }
      }
    } finally {
      this.stopReading();
    }
  }

  /** Ends reading (run() resolves, the iterator finishes); positions and assignment stay. */
  stop(): Promise<void> {
    this.fetcher.stop();
    return Promise.resolve();
  }

  /** Stops and closes the connections. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    this.cluster.close();
  }

  /** KafkaJS's name for close(). */
  disconnect(): Promise<void> {
    return this.close();
  }

  private async handleBatch(
    entry: BufferedBatch,
    eachBatch: (payload: EachBatchPayload) => Promise<void>,
  ): Promise<void> {
    const { state, batch } = entry;
    const isStale = () => !this.fetcher.isCurrent(entry);
    await eachBatch({
      batch,
      resolveOffset: (offset) => {
        if (!isStale()) state.position = offset + 1;
      },
      isRunning: () => this.fetcher.isRunning,
      isStale,
    });
    if (!isStale()) state.position = batch.lastOffset() + 1;
  }

  private async handleMessages(
    entry: BufferedBatch,
    eachMessage: NonNullable<RunOptions["eachMessage"]>,
  ): Promise<void> {
    const { state } = entry;
    for (const message of entry.batch.messages) {
      if (!this.fetcher.isRunning || !this.fetcher.isCurrent(entry)) return;
      await eachMessage({ topic: state.topic, partition: state.partition, message });
      if (this.fetcher.isCurrent(entry)) state.position = message.offset + 1;
    }
  }

  private startReading(): void {
    this.assertOpen();
    if (this.reading) {
      throw new BrookError("INVALID_REQUEST", "this consumer is already being read (run() or for await)");
    }
    this.reading = true;
    this.fetcher.start();
  }

  private stopReading(): void {
    this.reading = false;
    this.fetcher.stop();
  }

  private assertOpen(): void {
    if (this.closed) throw new BrookError("CLIENT_CLOSED", "the consumer is closed");
  }

  private assigned({ topic, partition }: TopicPartition): PartitionState {
    const state = this.fetcher.state(topic, partition);
    if (state === undefined) {
      throw new BrookError("INVALID_REQUEST", `${topic}-${partition} is not assigned to this consumer`);
    }
    return state;
  }

  private async partitionsOf(topic: string): Promise<number[]> {
    const { retry, random } = this.cluster.options;
    const metadata = await withRetry(
      retry,
      { random, onRetry: () => this.cluster.metadata.markStale() },
      () => this.cluster.metadata.topic(topic),
    );
    return metadata.partitions.map((partition) => partition.partition);
  }
}

function defaultReset(fromBeginning: boolean): OffsetResetPolicy {
  return fromBeginning ? "earliest" : "latest";
}
