// One life of an instance's consumer and producer: it joins the application's consumer group, runs a task
// per sub-topology and assigned partition, and commits every commit interval, on revocation and on close.
// Processing, commits, wall-clock punctuations and rebalance callbacks take turns (Serial). A failure it
// cannot answer for (a fenced producer, a refused commit, a failed send) ends this life: run() rejects,
// its tasks are dropped as dirty, and the application starts a new life that restores them from the
// committed changelogs (exactly once) or replays from the committed offsets (at least once).

import type { Batch, Consumer, IsolationLevel, Logger, Producer, TopicPartition } from "@brook/client";
import { SerializationError, TopologyError } from "../errors.js";
import type { OutputRecord } from "../task.js";
import type { Topology } from "../topology.js";
import { type ActiveTask, ActiveTasks } from "./active-tasks.js";
import { type ResolvedConfig, streamsDefaults } from "./config.js";
import type { Subtopology } from "./internal-topics.js";
import type { StreamsMetrics } from "./metrics.js";
import { type OutputChannel, outputChannel } from "./output.js";
import { type RestoreTarget, restore } from "./restorer.js";
import { Serial } from "./serial.js";

/** What the application learns from a thread as it goes. */
export interface ThreadEvents {
  onTasksChanged(tasks: readonly ActiveTask[]): void;
  onRestored(store: string, records: number, elapsedMs: number): void;
}

export class StreamThread {
  readonly tasks: ActiveTasks;
  private readonly outbox: OutputRecord[] = [];
  private readonly serial = new Serial();
  /** Per partition, the next offset to commit (processed up to it since the last commit). */
  private readonly positions = new Map<string, { topic: string; partition: number; offset: number }>();
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly output: OutputChannel;
  private readonly isolationLevel: IsolationLevel;
  private lastCommitMs: number;
  private failure: unknown;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    topology: Topology,
    private readonly subtopologies: readonly Subtopology[],
    private readonly config: ResolvedConfig,
    transactionalId: string,
    private readonly metrics: StreamsMetrics,
    private readonly events: ThreadEvents,
    private readonly logger: Logger,
  ) {
    const { brook, applicationId, processingGuarantee } = config;
    const exactlyOnce = processingGuarantee === "exactly_once";
    this.isolationLevel = exactlyOnce ? "read_committed" : "read_uncommitted";
    this.consumer = brook.consumer({
      groupId: applicationId,
      autoCommit: false,
      fromBeginning: true,
      isolationLevel: this.isolationLevel,
      maxWaitMs: 100,
    });
    this.producer = brook.producer(exactlyOnce ? { transactionalId } : { idempotent: true });
    this.output = outputChannel(
      processingGuarantee,
      this.producer,
      this.consumer,
      applicationId,
      streamsDefaults.sendsInFlightMax,
    );
    const clock = config.clock ?? { nowMs: () => Date.now() };
    const settings = { applicationId, clock, ...serdesOf(config) };
    this.tasks = new ActiveTasks(topology, subtopologies, settings, this.outbox);
    this.lastCommitMs = clock.nowMs();
  }

  /** Joins the group and processes until close() (resolves) or a failure (rejects with it). */
  async run(): Promise<void> {
    const topics = [...new Set(this.subtopologies.flatMap((sub) => sub.sourceTopics))];
    await this.consumer.subscribe({
      topics,
      onAssigned: (partitions) => this.serial.run(() => this.assign(partitions)),
      onRevoked: (partitions) => this.serial.run(() => this.revoke(partitions)),
    });
    this.timer = setInterval(() => void this.serial.run(() => this.tick()), this.config.wallClockPollMs);
    try {
      await this.consumer.run({
        eachBatch: ({ batch, resolveOffset, isStale }) =>
          this.serial.run(() => this.process(batch, resolveOffset, isStale)),
      });
      if (this.failure !== undefined) throw this.failure;
    } finally {
      clearInterval(this.timer);
    }
  }

  /** Commits what was processed, gives the partitions back to the group and closes the clients. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.serial.run(() => this.commit()).catch((error: unknown) => this.fail(error));
    await this.consumer.close().catch(() => undefined);
    await this.output.abort().catch(() => undefined);
    await this.producer.close().catch(() => undefined);
    this.tasks.closeAll();
  }

  /** After a failure: drops the tasks and the open transaction, leaves the group, closes the clients. */
  async abandon(): Promise<void> {
    clearInterval(this.timer);
    this.failure ??= new Error("abandoned");
    await this.consumer.close().catch(() => undefined);
    await this.output.abort().catch(() => undefined);
    await this.producer.close().catch(() => undefined);
    this.tasks.closeAll();
  }

  private async process(batch: Batch, resolveOffset: (offset: number) => void, isStale: () => boolean) {
    if (this.failure !== undefined) throw this.failure;
    const active = this.tasks.taskFor(batch.topic, batch.partition);
    if (active === undefined || batch.messages.length === 0) return;
    const startedNs = process.hrtime.bigint();
    let next: number | undefined;
    for (const message of batch.messages) {
      if (isStale()) break;
      active.task.process(message);
      next = message.offset + 1;
    }
    if (next === undefined) return;
    this.positions.set(`${batch.topic}\u0000${batch.partition}`, {
      topic: batch.topic,
      partition: batch.partition,
      offset: next,
    });
    await this.output.send(this.outbox.splice(0));
    resolveOffset(next - 1);
    this.metrics.processLatency.observe(Number(process.hrtime.bigint() - startedNs) / 1e9);
    await this.maybeCommit();
  }

  private async tick(): Promise<void> {
    if (this.failure !== undefined) return;
    try {
      for (const { task } of this.tasks.all()) task.punctuateWallClock();
      await this.output.send(this.outbox.splice(0));
      await this.maybeCommit();
    } catch (error) {
      this.fail(error);
    }
  }

  private async maybeCommit(): Promise<void> {
    const nowMs = this.config.clock?.nowMs() ?? Date.now();
    if (nowMs - this.lastCommitMs >= this.config.commitIntervalMs) await this.commit();
  }

  private async commit(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const startedNs = process.hrtime.bigint();
    await this.output.send(this.outbox.splice(0));
    const offsets = [...this.positions.values()];
    await this.output.commit(offsets);
    for (const { task, name } of this.tasks.all()) {
      const { processed, dropped } = task.metrics;
      this.metrics.recordTask(name, processed, dropped);
      task.metrics.processed = 0;
      for (const reason of Object.keys(dropped) as (keyof typeof dropped)[]) dropped[reason] = 0;
    }
    this.positions.clear();
    this.lastCommitMs = this.config.clock?.nowMs() ?? Date.now();
    this.metrics.commitLatency.observe(Number(process.hrtime.bigint() - startedNs) / 1e9);
  }

  private async assign(partitions: TopicPartition[]): Promise<void> {
    if (this.failure !== undefined) return;
    try {
      const created = this.tasks.add(partitions);
      await this.restoreStores(created);
      this.logger.info({ tasks: created.map((each) => each.name) }, "tasks started");
      this.events.onTasksChanged(this.tasks.all());
    } catch (error) {
      this.fail(error);
    }
  }

  private async revoke(partitions: TopicPartition[]): Promise<void> {
    try {
      if (this.failure === undefined) await this.commit();
    } catch (error) {
      this.fail(error);
    }
    const removed = this.tasks.remove(partitions);
    for (const { topic, partition } of partitions) this.positions.delete(`${topic}\u0000${partition}`);
    if (removed.length > 0) this.logger.info({ tasks: removed.map((each) => each.name) }, "tasks closed");
    this.events.onTasksChanged(this.tasks.all());
  }

  private async restoreStores(created: readonly ActiveTask[]): Promise<void> {
    const targets: (RestoreTarget & { store: string })[] = [];
    for (const { task, id } of created) {
      for (const [store, topic] of task.changelogTopics()) {
        targets.push({
          store,
          topic,
          partition: id.partition,
          fromOffset: 0,
          apply: (records) => task.restore(store, records),
        });
      }
    }
    const startedMs = Date.now();
    const results = await restore(this.config.brook, targets, this.isolationLevel, this.logger);
    const elapsedMs = Date.now() - startedMs;
    results.forEach((result, index) => {
      this.events.onRestored((targets[index] as { store: string }).store, result.restored, elapsedMs);
    });
  }

  /** Remembers the first failure and stops reading; run() then rejects with it. */
  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.logger.warn({ error: String(error) }, "stream thread failed");
    void this.consumer.stop();
  }
}

/** Whether an error is the application's own (its topology or data): restarting would only meet it again. */
export function isFatal(error: unknown): boolean {
  return error instanceof TopologyError || error instanceof SerializationError;
}

function serdesOf(config: ResolvedConfig) {
  return { defaultKeySerde: config.defaultKeySerde, defaultValueSerde: config.defaultValueSerde };
}
