// A compacted internal topic read as a table (Kafka Connect's KafkaBasedLog): every worker reads the whole
// topic from the beginning and keeps following it, handing each record to its owner's `apply`; writes go
// through an idempotent producer with acks=all. readToEnd() is the read-your-writes barrier: it resolves
// once everything written before the call has been applied.

import { setTimeout as sleep } from "node:timers/promises";
import {
  type Brook,
  BrookError,
  type ConsumedMessage,
  type Consumer,
  type Logger,
  type Producer,
} from "@brook/client";
import { createTopicIfMissing } from "./topic-creator.js";

export interface TopicLogOptions {
  topic: string;
  partitions: number;
  /** Applies one record (value null: a tombstone) to the owner's table. */
  apply(message: ConsumedMessage): void;
  logger: Logger;
}

/** How long readToEnd() waits for the reader to catch up before it fails. */
const readToEndTimeoutMs = 30_000;

export class TopicLog {
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private reading: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly brook: Brook,
    private readonly options: TopicLogOptions,
  ) {
    this.consumer = brook.consumer({ isolationLevel: "read_committed", fromBeginning: true });
    this.producer = brook.producer({ acks: "all", lingerMs: 0 });
  }

  get topic(): string {
    return this.options.topic;
  }

  /** Creates the topic if missing (compacted), reads it to the end, and keeps following it. */
  async start(): Promise<void> {
    await ensureCompactedTopic(this.brook, this.options.topic, this.options.partitions);
    await this.consumer.assign([{ topic: this.options.topic, fromBeginning: true }]);
    this.reading = this.consumer
      .run({
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) this.options.apply(message);
        },
      })
      .catch((error: unknown) => {
        this.failure = error;
        this.options.logger.error(
          { topic: this.options.topic, error: String(error) },
          "internal topic reader stopped",
        );
      });
    await this.readToEnd();
  }

  /** Writes one record (null value: delete the key) and waits until this worker's table has it. */
  async write(key: string, value: unknown, headers?: Record<string, string>): Promise<void> {
    await this.send(key, value, headers);
    await this.readToEnd();
  }

  /** Writes one record without waiting to read it back. */
  async send(key: string, value: unknown, headers?: Record<string, string>): Promise<void> {
    await this.producer.send({
      topic: this.options.topic,
      messages: [{ key, value: value === null ? null : JSON.stringify(value), headers }],
    });
  }

  /** Resolves once every record written to the topic before the call has been applied. */
  async readToEnd(): Promise<void> {
    const ends = await this.consumer.endOffsets();
    const deadline = Date.now() + readToEndTimeoutMs;
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      const behind = ends.filter((end) => (this.consumer.position(end) ?? 0) < end.offset);
      if (behind.length === 0) return;
      if (Date.now() > deadline) {
        throw new BrookError("REQUEST_TIMED_OUT", `could not read ${this.options.topic} to its end in 30 s`);
      }
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
    await this.reading;
    await Promise.all([this.consumer.close(), this.producer.close()]);
  }
}

/** Creates a compacted topic for Connect's own state; one that exists already is kept as it is. */
export async function ensureCompactedTopic(brook: Brook, topic: string, partitions: number): Promise<void> {
  const admin = brook.admin();
  try {
    const compact = [{ name: "cleanup.policy", value: "compact" }];
    await createTopicIfMissing(admin, { topic, numPartitions: partitions, configEntries: compact });
  } finally {
    await admin.close();
  }
}
