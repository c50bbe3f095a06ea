// Runs one source task: iterates the connector's poll(), turns each record into bytes (transforms, then
// converters) and writes it to Brook, and commits source offsets so a restarted task starts where this one
// stopped.
// - At least once: records go through an idempotent producer; every offset.flush.interval.ms the offsets
//   polled so far are committed once the producer has acknowledged everything sent before (a crash in
//   between repeats records, never loses them).
// - Exactly once: a transactional producer with a per-task transactional id writes the records and their
//   source offsets in one transaction every transaction.boundary.interval.ms. Starting the producer
//   fences an older copy of the task and aborts what it left open, and offsets are read only after that.

import type { Producer, RecordMetadata, Transaction } from "@brook/client";
import type { SentRecord, SourceOffset, SourcePartition, SourceRecord, SourceTaskContext } from "../api.js";
import type { ConfigSchema, ConfigValues } from "../config/config-def.js";
import { applyTransforms } from "../transforms/index.js";
import { offsetKey } from "./connect-state.js";
import { landedRecords, type Outgoing, sendBatchMax, topicMessages } from "./source-batches.js";
import { labelsOf, type TaskDeps, taskContext, toRecordHeaders } from "./task-deps.js";
import { TopicCreator } from "./topic-creator.js";

/** Records sent and not yet acknowledged, at most: poll waits beyond it. */
const inFlightMax = 10_000;
/** Source partitions whose offsets-topic key is cached, at most. */
const partitionKeysMax = 10_000;

interface Pending {
  outgoing: Outgoing[];
  sent: Promise<RecordMetadata[]>;
}

export class SourceTaskRunner {
  private readonly producer: Producer;
  /** Source offsets polled since the last commit, by offsets-topic key. */
  private offsets = new Map<string, SourceOffset>();
  private pending: Pending[] = [];
  /** Records in `pending`. */
  private pendingRecords = 0;
  /** Records not yet handed to the producer: the current burst. */
  private batch: Outgoing[] = [];
  private flushScheduled = false;
  private transaction: Transaction | undefined;
  private sendFailure: unknown;
  private readonly topics: TopicCreator;
  /** The connector's state for this task, from start(). */
  private task: unknown;
  /** Whether the loop is waiting for poll() (then the timer commits by itself). */
  private waiting = false;
  private commitDue = false;
  private committing: Promise<void> | undefined;
  private failTimer: (error: unknown) => void = () => undefined;
  private readonly timerFailure = new Promise<never>((_, reject) => {
    this.failTimer = reject;
  });
  /** Records polled since the last commit (the metric is added to at commits, not per record). */
  private polled = 0;
  /** Offsets-topic keys by the source partition's plain JSON. */
  private readonly keys = new Map<string, string>();

  constructor(private readonly deps: TaskDeps) {
    this.producer = deps.exactlyOnce
      ? deps.brook.producer({
          transactionalId: `${deps.workerGroup}-${deps.plan.name}-${deps.task}`,
          transactionTimeoutMs: 60_000,
        })
      : deps.brook.producer({ acks: "all", lingerMs: 5 });
    // Awaited only in run()'s race; a failure after that must not count as unhandled.
    this.timerFailure.catch(() => undefined);
    this.topics = new TopicCreator(deps.brook, {
      partitions: deps.plan.common["topic.creation.default.partitions"],
      replicationFactor: deps.plan.common["topic.creation.default.replication.factor"],
    });
  }

  /** Runs until `signal` aborts (resolves) or the task fails (rejects). */
  async run(signal: AbortSignal): Promise<void> {
    const { plan, logger } = this.deps;
    await this.producer.connect();
    const connector = plan.connector;
    if (connector.kind !== "source") throw new Error(`${plan.name} is not a source`);
    const context: SourceTaskContext<ConfigValues<ConfigSchema>> = {
      ...taskContext(this.deps, signal),
      offset: async (partition) => {
        await this.deps.storage.readOffsets();
        return this.deps.storage.offsets.get(offsetKey(plan.name, partition));
      },
    };
    const task = await connector.start(context);
    this.task = task;
    logger.info({ exactlyOnce: this.deps.exactlyOnce }, "source task started");
    const records = connector.poll(task)[Symbol.asyncIterator]();
    const intervalMs = this.deps.exactlyOnce
      ? plan.common["transaction.boundary.interval.ms"]
      : plan.common["offset.flush.interval.ms"];
    const timer = setInterval(() => this.commitOnTimer(), intervalMs);
    try {
      // A commit the timer started that fails ends the task even while poll() has nothing to give.
      await Promise.race([this.pump(records, signal), this.timerFailure]);
      await this.committing;
      await this.commit();
    } finally {
      clearInterval(timer);
      // Lets the connector's generator run its finally blocks (close files, connections).
      void records.return?.().catch(() => undefined);
      await connector.stop(task);
      await Promise.all([this.producer.close(), this.topics.close()]);
    }
  }

  /**
   * Sends every record poll() gives until it ends (a connector's poll ends when the signal aborts). The
   * loop awaits poll() alone, with nothing raced per record; commits come from the interval timer: run
   * by the timer itself while the loop waits for poll(), or by the loop after the record in hand.
   */
  private async pump(records: AsyncIterator<SourceRecord>, signal: AbortSignal): Promise<void> {
    for (;;) {
      this.waiting = true;
      const result = await records.next();
      this.waiting = false;
      if (this.committing !== undefined) await this.committing;
      // A record polled after the stop is not sent: its offset is not committed, so it is polled again.
      if (result.done || signal.aborted) return;
      await this.send(result.value);
      if (this.commitDue) await this.startCommit();
    }
  }

  private commitOnTimer(): void {
    if (this.waiting && this.committing === undefined) {
      this.startCommit().catch((error: unknown) => this.failTimer(error));
    } else this.commitDue = true;
  }

  private startCommit(): Promise<void> {
    this.commitDue = false;
    this.committing ??= this.commit().finally(() => {
      this.committing = undefined;
    });
    return this.committing;
  }

  private async send(record: SourceRecord): Promise<void> {
    this.polled += 1;
    this.offsets.set(this.keyOf(record.sourcePartition), record.sourceOffset);
    const message = this.toMessage(record);
    if (message === undefined) return;
    if (this.sendFailure !== undefined) throw this.sendFailure;
    if (!this.topics.knows(message.topic)) await this.topics.ensure(message.topic);
    if (this.deps.exactlyOnce && this.transaction === undefined) await this.openTransaction();
    const connector = this.deps.plan.connector;
    // Where a record landed is known per partition run: one whose partition the producer picks goes alone
    // when the connector wants to hear where each landed.
    const alone =
      message.partition === undefined && connector.kind === "source" && connector.commitRecord !== undefined;
    if (alone) this.flushBatch();
    this.batch.push({ record, message });
    if (alone || this.batch.length >= sendBatchMax) this.flushBatch();
    else if (!this.flushScheduled) {
      // After the burst: everything poll() yields before it waits for I/O goes out together.
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flushBatch();
      });
    }
    if (this.pendingRecords >= inFlightMax) await this.settle();
  }

  /** Hands the batch to the producer (inside the open transaction, under exactly-once). */
  private flushBatch(): void {
    if (this.batch.length === 0) return;
    const outgoing = this.batch;
    this.batch = [];
    const record = { topicMessages: topicMessages(outgoing) };
    const transaction = this.transaction;
    if (this.deps.exactlyOnce && transaction === undefined) throw new Error("records outside a transaction");
    const sent = transaction === undefined ? this.producer.sendBatch(record) : transaction.sendBatch(record);
    sent.catch((error: unknown) => {
      this.sendFailure ??= error;
    });
    this.pending.push({ outgoing, sent });
    this.pendingRecords += outgoing.length;
  }

  /** The offsets-topic key of a source partition; connectors usually repeat a few, so keys are cached. */
  private keyOf(partition: SourcePartition): string {
    const plain = JSON.stringify(partition);
    let key = this.keys.get(plain);
    if (key === undefined) {
      if (this.keys.size >= partitionKeysMax) this.keys.clear();
      key = offsetKey(this.deps.plan.name, partition);
      this.keys.set(plain, key);
    }
    return key;
  }

  /** Transforms and converts; undefined when a transform dropped the record or it failed and is tolerated. */
  private toMessage(record: SourceRecord) {
    const { plan } = this.deps;
    let stage = "transform";
    try {
      const transformed = applyTransforms(plan.transforms, {
        topic: record.topic,
        partition: record.partition,
        key: record.key ?? null,
        value: record.value,
        headers: record.headers ?? {},
        timestamp: record.timestamp,
      });
      if (transformed === null) return undefined;
      stage = "convert";
      return {
        topic: transformed.topic,
        partition: transformed.partition,
        key: plan.keyConverter.fromData(transformed.key),
        value: plan.valueConverter.fromData(transformed.value),
        headers: toRecordHeaders(transformed.headers),
        timestamp: transformed.timestamp,
      };
    } catch (error) {
      this.deps.metrics.errors.inc({ ...labelsOf(this.deps), stage });
      if (plan.common["errors.tolerance"] === "none") throw error;
      if (plan.common["errors.log.enable"]) {
        this.deps.logger.warn(
          { stage, error: String(error), sourceOffset: record.sourceOffset },
          "record skipped",
        );
      }
      return undefined;
    }
  }

  private async openTransaction(): Promise<Transaction> {
    this.transaction ??= await this.producer.transaction();
    return this.transaction;
  }

  /** Waits for every record sent so far; tells the connector where each landed (under exactly-once, later). */
  private async settle(): Promise<SentRecord[]> {
    this.flushBatch();
    const pending = this.pending;
    this.pending = [];
    this.pendingRecords = 0;
    const landed: SentRecord[] = [];
    for (const { outgoing, sent } of pending) landed.push(...landedRecords(outgoing, await sent));
    this.deps.metrics.written.inc(labelsOf(this.deps), landed.length);
    if (!this.deps.exactlyOnce) await this.acknowledge(landed);
    return landed;
  }

  private async acknowledge(landed: SentRecord[]): Promise<void> {
    const connector = this.deps.plan.connector;
    if (connector.kind !== "source" || connector.commitRecord === undefined) return;
    for (const sent of landed) await connector.commitRecord(this.task, sent);
  }

  /** Commits the offsets of everything polled so far (with the records, under exactly-once). */
  private async commit(): Promise<void> {
    const started = performance.now();
    this.deps.metrics.polled.inc(labelsOf(this.deps), this.polled);
    this.polled = 0;
    const offsets = [...this.offsets];
    this.offsets = new Map();
    if (this.deps.exactlyOnce) await this.commitTransaction(offsets);
    else {
      await this.settle();
      if (offsets.length > 0) await this.deps.storage.commitOffsets(offsets);
    }
    const connector = this.deps.plan.connector;
    if (offsets.length > 0 && connector.kind === "source") await connector.commit?.(this.task);
    this.deps.metrics.batchSeconds.observe(
      { ...labelsOf(this.deps), step: "commit" },
      (performance.now() - started) / 1000,
    );
  }

  private async commitTransaction(offsets: [string, SourceOffset][]): Promise<void> {
    const topic = this.deps.storage.offsetsTopic;
    if (topic === undefined) throw new Error("exactly-once needs the offsets topic");
    this.flushBatch();
    if (offsets.length === 0 && this.pending.length === 0) return;
    const transaction = await this.openTransaction();
    this.transaction = undefined;
    if (offsets.length > 0) {
      void transaction.send({
        topic,
        messages: offsets.map(([key, offset]) => ({ key, value: JSON.stringify(offset) })),
      });
    }
    const landed = await this.settle();
    await transaction.commit();
    await this.acknowledge(landed);
  }
}
