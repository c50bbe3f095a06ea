// How a task's output leaves the instance, for each processing guarantee. At least once: records go
// through an idempotent producer and a commit waits for every send before committing the input offsets.
// Exactly once: records go inside the instance's open transaction, and a commit adds the input offsets
// to it and commits it (Kafka's exactly_once_v2: one transactional producer per instance, fenced by its
// transactional id and by the group's member epoch on the offsets).

import type {
  Consumer,
  MessageHeaders,
  Producer,
  RecordMetadata,
  TopicPartitionOffset,
  Transaction,
} from "@brook/client";
import type { RecordHeader } from "@brook/protocol";
import type { OutputRecord } from "../task.js";
import type { ProcessingGuarantee } from "./config.js";

export interface OutputChannel {
  /** Sends records (in order per partition); a failure surfaces at the next commit. */
  send(records: readonly OutputRecord[]): Promise<void>;
  /** Makes everything sent durable and commits the input offsets with it (atomically, exactly once). */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Exactly once: aborts the open transaction; at least once: nothing to undo. */
  abort(): Promise<void>;
}

export function outputChannel(
  guarantee: ProcessingGuarantee,
  producer: Producer,
  consumer: Consumer,
  groupId: string,
  sendsInFlightMax: number,
): OutputChannel {
  switch (guarantee) {
    case "at_least_once":
      return new AtLeastOnce(producer, consumer, sendsInFlightMax);
    case "exactly_once":
      return new ExactlyOnce(producer, consumer, groupId, sendsInFlightMax);
  }
}

/** Sends in flight, bounded: past the bound, the oldest is awaited. A failure is kept for the commit. */
class InFlight {
  private readonly sends: Promise<unknown>[] = [];
  private failure: unknown;

  constructor(private readonly max: number) {}

  async add(send: Promise<RecordMetadata[]>): Promise<void> {
    this.sends.push(
      send.catch((error: unknown) => {
        this.failure ??= error;
      }),
    );
    while (this.sends.length > this.max) await this.sends.shift();
  }

  /** Waits for every send; rejects with the first failure. */
  async settle(): Promise<void> {
    await Promise.all(this.sends.splice(0));
    if (this.failure !== undefined) throw this.failure;
  }
}

class AtLeastOnce implements OutputChannel {
  private readonly inFlight: InFlight;

  constructor(
    private readonly producer: Producer,
    private readonly consumer: Consumer,
    sendsInFlightMax: number,
  ) {
    this.inFlight = new InFlight(sendsInFlightMax);
  }

  async send(records: readonly OutputRecord[]): Promise<void> {
    if (records.length > 0) await this.inFlight.add(this.producer.sendBatch(toBatch(records)));
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    await this.inFlight.settle();
    if (offsets.length > 0) await this.consumer.commitOffsets([...offsets]);
  }

  async abort(): Promise<void> {
    await this.inFlight.settle().catch(() => undefined);
  }
}

class ExactlyOnce implements OutputChannel {
  private transaction: Transaction | undefined;
  private readonly inFlight: InFlight;

  constructor(
    private readonly producer: Producer,
    private readonly consumer: Consumer,
    private readonly groupId: string,
    sendsInFlightMax: number,
  ) {
    this.inFlight = new InFlight(sendsInFlightMax);
  }

  async send(records: readonly OutputRecord[]): Promise<void> {
    if (records.length === 0) return;
    this.transaction ??= await this.producer.transaction();
    await this.inFlight.add(this.transaction.sendBatch(toBatch(records)));
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    await this.inFlight.settle();
    if (offsets.length === 0 && this.transaction === undefined) return;
    this.transaction ??= await this.producer.transaction();
    if (offsets.length > 0) {
      await this.transaction.sendOffsets({
        consumerGroupId: this.groupId,
        topics: byTopic(offsets),
        consumer: this.consumer,
      });
    }
    const transaction = this.transaction;
    this.transaction = undefined;
    await transaction.commit();
  }

  async abort(): Promise<void> {
    await this.inFlight.settle().catch(() => undefined);
    const transaction = this.transaction;
    this.transaction = undefined;
    if (transaction?.isActive()) await transaction.abort();
  }
}

function toBatch(records: readonly OutputRecord[]) {
  const byTopicMessages = new Map<string, OutputRecord[]>();
  for (const record of records) {
    const list = byTopicMessages.get(record.topic);
    if (list) list.push(record);
    else byTopicMessages.set(record.topic, [record]);
  }
  return {
    topicMessages: [...byTopicMessages].map(([topic, list]) => ({
      topic,
      messages: list.map(({ key, value, partition, timestamp, headers }) => ({
        key,
        value,
        partition,
        timestamp,
        headers: headerList(headers),
      })),
    })),
  };
}

function byTopic(offsets: readonly TopicPartitionOffset[]) {
  const topics = new Map<string, { partition: number; offset: number }[]>();
  for (const { topic, partition, offset } of offsets) {
    topics.set(topic, [...(topics.get(topic) ?? []), { partition, offset }]);
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}

/** The consumer's header map back into the list a producer sends (repeated keys kept, in order). */
function headerList(headers: MessageHeaders): RecordHeader[] {
  return Object.entries(headers).flatMap(([key, value]) =>
    Array.isArray(value) ? value.map((each) => ({ key, value: each })) : [{ key, value }],
  );
}
