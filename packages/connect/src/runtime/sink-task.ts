// Runs one sink task: a member of the consumer group `connect-<connector>` (the tasks of a sink share its
// topics' partitions as any group does), handing each batch to the connector's put() and committing
// consumer offsets only after flush() made everything put durable in the target. A crash between the two
// replays records since the last commit, which an idempotent target (an upsert by key) absorbs.
// Errors: a RetriableError from put or flush is retried with backoff; any other failure fails the task,
// or with errors.tolerance=all the records are replayed one at a time into a fresh connector state and
// those that fail go to the dead-letter topic with the reason in __connect.errors.* headers.

import type { Batch, ConsumedMessage, Consumer, Producer, TopicPartition } from "@brook/client";
import type { SinkConnector, SinkOffsets, SinkRecord, SinkTaskContext } from "../api.js";
import type { ConfigSchema, ConfigValues } from "../config/config-def.js";
import { applyTransforms } from "../transforms/index.js";
import { withRetries } from "./retries.js";
import { labelsOf, retryLimits, type TaskDeps, taskContext } from "./task-deps.js";
import { TopicCreator } from "./topic-creator.js";

/** Records put since the last flush, at most: reaching it flushes early (they are kept for a replay). */
const unflushedMax = 50_000;

interface Received {
  message: ConsumedMessage;
  /** undefined: dropped by a transform. */
  record: SinkRecord | undefined;
}

export class SinkTaskRunner {
  private readonly consumer: Consumer;
  private deadLetters: Producer | undefined;
  private readonly connector: SinkConnector<never, unknown>;
  private task: unknown;
  private context!: SinkTaskContext<ConfigValues<ConfigSchema>>;
  /** Next offset to read per partition, of records put (what the next commit stores). */
  private readonly positions = new Map<string, SinkOffsets>();
  private unflushed: Received[] = [];
  /** The offsets last committed, as JSON: a flush with nothing new since is skipped. */
  private committed = "[]";
  private queue: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(private readonly deps: TaskDeps) {
    const connector = deps.plan.connector;
    if (connector.kind !== "sink") throw new Error(`${deps.plan.name} is not a sink`);
    this.connector = connector as SinkConnector<never, unknown>;
    this.consumer = deps.brook.consumer({
      groupId: `connect-${deps.plan.name}`,
      autoCommit: false,
      fromBeginning: true,
      isolationLevel: "read_committed",
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    const { plan, logger } = this.deps;
    this.context = taskContext(this.deps, signal);
    this.task = await this.connector.start(this.context as never);
    const dlqTopic = plan.common["errors.deadletterqueue.topic.name"];
    if (dlqTopic !== undefined) {
      const topics = new TopicCreator(this.deps.brook, { partitions: -1, replicationFactor: -1 });
      await topics.ensure(dlqTopic).finally(() => topics.close());
      this.deadLetters = this.deps.brook.producer({ acks: "all" });
    }
    const regex = plan.common["topics.regex"];
    await this.consumer.subscribe({
      topics: regex === undefined ? (plan.common.topics ?? []) : [new RegExp(`^(?:${regex})$`)],
      onRevoked: (partitions) => this.serially(() => this.flushAndCommit(partitions)),
    });
    logger.info({ group: `connect-${plan.name}` }, "sink task started");
    const flushTimer = setInterval(
      () => void this.serially(() => this.flushAndCommit([])).catch(() => undefined),
      plan.common["offset.flush.interval.ms"],
    );
    const stop = () => void this.consumer.stop();
    signal.addEventListener("abort", stop, { once: true });
    try {
      await this.consumer.run({ eachBatch: ({ batch }) => this.serially(() => this.receive(batch)) });
      if (this.failure !== undefined) throw this.failure;
      await this.serially(() => this.flushAndCommit([]));
    } finally {
      clearInterval(flushTimer);
      signal.removeEventListener("abort", stop);
      await this.consumer.close().catch(() => undefined);
      await this.deadLetters?.close();
      await this.connector.stop(this.task);
    }
  }

  /** One thing at a time: put, flush and commit never overlap. A failure stops the consumer. */
  private serially(step: () => Promise<void>): Promise<void> {
    const run = this.queue.then(() => (this.failure === undefined ? step() : undefined));
    this.queue = run.catch((error: unknown) => {
      this.failure ??= error;
      void this.consumer.stop();
    });
    return run;
  }

  private async receive(batch: Batch): Promise<void> {
    const labels = labelsOf(this.deps);
    this.deps.metrics.read.inc(labels, batch.messages.length);
    this.deps.metrics.sinkLag.set(labels, batch.offsetLag());
    const received: Received[] = [];
    for (const message of batch.messages) {
      const record = this.toRecord(message);
      if (!(record instanceof Failure)) received.push({ message, record });
      else await this.tolerate(message, record.stage, record.error);
    }
    const records = received.flatMap(({ record }) => (record === undefined ? [] : [record]));
    if (records.length > 0) await this.putAll(records, received);
    this.unflushed.push(...received);
    const last = batch.messages.at(-1);
    if (last !== undefined) {
      const offsets = { topic: batch.topic, partition: batch.partition, offset: last.offset + 1 };
      this.positions.set(`${batch.topic}\u0000${batch.partition}`, offsets);
    }
    if (this.unflushed.length >= unflushedMax) await this.flushAndCommit([]);
  }

  /** Converts and transforms; undefined when a transform dropped it, a Failure when that failed. */
  private toRecord(message: ConsumedMessage): SinkRecord | undefined | Failure {
    const { plan } = this.deps;
    let stage = "convert";
    try {
      const key = plan.keyConverter.toData(message.key);
      const value = plan.valueConverter.toData(message.value);
      stage = "transform";
      const transformed = applyTransforms(plan.transforms, {
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        key,
        value,
        headers: message.headers,
        timestamp: message.timestamp,
      });
      if (transformed === null) return undefined;
      return {
        topic: transformed.topic,
        partition: message.partition,
        offset: message.offset,
        key: transformed.key,
        value: transformed.value,
        headers: transformed.headers,
        timestamp: transformed.timestamp ?? message.timestamp,
      };
    } catch (error) {
      return new Failure(stage, error);
    }
  }

  private async putAll(records: SinkRecord[], received: Received[]): Promise<void> {
    const started = performance.now();
    try {
      await this.retrying("put", () => this.connector.put(this.task, records));
    } catch (error) {
      if (this.deps.plan.common["errors.tolerance"] === "none") throw error;
      await this.tolerate(undefined, "put", error);
      await this.replayOneByOne(received);
      return;
    }
    this.deps.metrics.put.inc(labelsOf(this.deps), records.length);
    this.observe("put", started);
  }

  /** Flushes what was put, then commits the positions; forgets revoked partitions. */
  private async flushAndCommit(revoked: TopicPartition[]): Promise<void> {
    const offsets = [...this.positions.values()];
    const unchanged = this.unflushed.length === 0 && JSON.stringify(offsets) === this.committed;
    if (!unchanged) {
      const started = performance.now();
      try {
        await this.retrying("flush", async () => this.connector.flush(this.task, offsets));
      } catch (error) {
        if (this.deps.plan.common["errors.tolerance"] === "none") throw error;
        await this.tolerate(undefined, "flush", error);
        await this.replayOneByOne(this.unflushed);
      }
      this.unflushed = [];
      this.observe("flush", started);
      if (offsets.length > 0) await this.commit(offsets);
    }
    for (const { topic, partition } of revoked) this.positions.delete(`${topic}\u0000${partition}`);
  }

  private async commit(offsets: SinkOffsets[]): Promise<void> {
    try {
      await this.consumer.commit(offsets);
      this.committed = JSON.stringify(offsets);
    } catch (error) {
      // A partition lost meanwhile (fenced): its new owner replays from the last commit.
      this.deps.logger.warn({ error: String(error) }, "could not commit sink offsets");
    }
  }

  /**
   * After a batch failed for good under errors.tolerance=all: a fresh connector state, then each record
   * put and flushed alone; those that still fail go to the dead-letter topic.
   */
  private async replayOneByOne(received: Received[]): Promise<void> {
    await this.connector.stop(this.task);
    this.task = await this.connector.start(this.context as never);
    for (const { message, record } of received) {
      if (record === undefined) continue;
      try {
        await this.retrying("put", async () => {
          await this.connector.put(this.task, [record]);
          await this.connector.flush(this.task, []);
        });
        this.deps.metrics.put.inc(labelsOf(this.deps));
      } catch (error) {
        await this.tolerate(message, "put", error);
        await this.connector.stop(this.task);
        this.task = await this.connector.start(this.context as never);
      }
    }
  }

  private retrying(what: string, attempt: () => Promise<void> | void): Promise<void> {
    return withRetries(what, retryLimits(this.deps), this.context.signal, this.deps.logger, async () =>
      attempt(),
    );
  }

  /** errors.tolerance: none rethrows; all logs, counts and dead-letters the record (when there is one). */
  private async tolerate(message: ConsumedMessage | undefined, stage: string, error: unknown): Promise<void> {
    const { plan, metrics, logger } = this.deps;
    metrics.errors.inc({ ...labelsOf(this.deps), stage });
    if (plan.common["errors.tolerance"] === "none") throw error;
    if (plan.common["errors.log.enable"]) {
      logger.warn(
        { stage, error: String(error), offset: message?.offset, topic: message?.topic },
        "record skipped",
      );
    }
    const topic = plan.common["errors.deadletterqueue.topic.name"];
    if (message === undefined || topic === undefined || this.deadLetters === undefined) return;
    await this.deadLetters.send({
      topic,
      messages: [deadLetter(message, stage, error, plan.name, this.deps.task)],
    });
    metrics.deadLettered.inc(labelsOf(this.deps));
  }

  private observe(step: string, started: number): void {
    this.deps.metrics.batchSeconds.observe(
      { ...labelsOf(this.deps), step },
      (performance.now() - started) / 1000,
    );
  }
}

/** A record that failed conversion or a transform, for errors.tolerance to judge. */
class Failure {
  constructor(
    readonly stage: string,
    readonly error: unknown,
  ) {}
}

/** The original record with Kafka Connect's error context headers added. */
function deadLetter(
  message: ConsumedMessage,
  stage: string,
  error: unknown,
  connector: string,
  task: number,
) {
  const failure = error instanceof Error ? error : new Error(String(error));
  const context: Record<string, string> = {
    "__connect.errors.topic": message.topic,
    "__connect.errors.partition": String(message.partition),
    "__connect.errors.offset": String(message.offset),
    "__connect.errors.connector.name": connector,
    "__connect.errors.task.id": String(task),
    "__connect.errors.stage": stage,
    "__connect.errors.class.name": failure.name,
    "__connect.errors.exception.message": failure.message,
    "__connect.errors.exception.stacktrace": failure.stack ?? failure.message,
  };
  const headers = Object.entries(message.headers).flatMap(([key, value]) =>
    (Array.isArray(value) ? value : [value]).map((each) => ({ key, value: each })),
  );
  for (const [key, value] of Object.entries(context))
    headers.push({ key, value: Buffer.from(value, "utf8") });
  return { key: message.key, value: message.value, headers, timestamp: message.timestamp };
}
