// One life of an instance's consumer and producer: it joins the application's consumer group, runs a task
// per sub-topology and assigned partition, and commits every commit interval, on revocation and on close.
// Processing, commits, wall-clock punctuations and rebalance callbacks take turns (Serial). A failure it
// cannot answer for (a fenced producer, a refused commit, a failed send) ends this life: run() rejects,
// its tasks are dropped as dirty, and the application starts a new life that restores them from the
// committed changelogs (exactly once) or replays from the committed offsets (at least once).

import type {
  Admin,
  Batch,
  Consumer,
  GroupMember,
  IsolationLevel,
  Logger,
  Producer,
  TopicPartition,
} from "@brook/client";
import { SerializationError, TopologyError } from "../errors.js";
import type { OutputRecord } from "../task.js";
import type { Topology } from "../topology.js";
import { type ActiveTask, ActiveTasks } from "./active-tasks.js";
import { type ResolvedConfig, streamsDefaults } from "./config.js";
import { encodeInstanceMetadata, type InstanceMetadata, type RestoreStatus } from "./instance-metadata.js";
import type { Subtopology } from "./internal-topics.js";
import type { StreamsMetrics } from "./metrics.js";
import { type OutputChannel, outputChannel } from "./output.js";
import { type RestoreTarget, restore } from "./restorer.js";
import { Serial } from "./serial.js";
import { standbyTasksFor } from "./standby-placement.js";
import { StandbyTasks } from "./standby-tasks.js";
import { partitionKey, taskName } from "./task-id.js";

/** What the application learns from a thread as it goes. */
export interface ThreadEvents {
  /** New tasks are restoring: until they are done, their stores answer no queries. */
  onRestoring(): void;
  onTasksChanged(tasks: readonly ActiveTask[]): void;
  onRestored(store: string, records: number, elapsedMs: number): void;
}

export class StreamThread {
  readonly tasks: ActiveTasks;
  readonly standbys: StandbyTasks;
  /** The group's members as last described (for key lookups); empty until the first look. */
  members: GroupMember[] = [];
  private readonly admin: Admin;
  private restoring: RestoreStatus[] = [];
  private groupTimer: NodeJS.Timeout | undefined;
  private readonly outbox: OutputRecord[] = [];
  private readonly serial = new Serial();
  /** The source partitions this instance holds, by key. */
  private readonly owned = new Map<string, TopicPartition>();
  /** Per partition, the offset after the last record processed. */
  private readonly processed = new Map<string, number>();
  /** Per partition, the offset last committed (or started from). */
  private readonly committed = new Map<string, number>();
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly output: OutputChannel;
  private readonly isolationLevel: IsolationLevel;
  private lastCommitMs: number;
  private readonly clock: { nowMs(): number };
  private failure: unknown;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    topology: Topology,
    private readonly subtopologies: readonly Subtopology[],
    private readonly config: ResolvedConfig,
    private readonly processId: string,
    private readonly metrics: StreamsMetrics,
    private readonly events: ThreadEvents,
    private readonly logger: Logger,
  ) {
    const { brook, applicationId, processingGuarantee } = config;
    this.clock = config.clock ?? { nowMs: () => Date.now() };
    const exactlyOnce = processingGuarantee === "exactly_once";
    this.isolationLevel = exactlyOnce ? "read_committed" : "read_uncommitted";
    this.consumer = brook.consumer({
      groupId: applicationId,
      groupInstanceId: config.instanceId,
      autoCommit: false,
      fromBeginning: true,
      isolationLevel: this.isolationLevel,
      maxWaitMs: 100,
      // A sub-topology that reads several topics (a join) needs partition p of each on one instance.
      assignor: subtopologies.some((sub) => sub.sourceTopics.length > 1) ? "range" : "uniform",
      memberMetadata: encodeInstanceMetadata(this.instanceMetadata()),
    });
    // A named instance's next life fences this one's transaction by the same id.
    const transactionalId = `${applicationId}-${config.instanceId ?? processId}`;
    // Kafka Streams' transaction.timeout.ms: a dead instance's open transaction blocks read_committed
    // readers of its partitions until the coordinator aborts it.
    const transactionTimeoutMs = streamsDefaults.transactionTimeoutMs;
    this.producer = brook.producer(
      exactlyOnce ? { transactionalId, transactionTimeoutMs } : { idempotent: true },
    );
    this.admin = brook.admin();
    this.output = outputChannel(
      processingGuarantee,
      this.producer,
      this.consumer,
      applicationId,
      streamsDefaults.sendsInFlightMax,
    );
    const clock = this.clock;
    const settings = { applicationId, clock, ...serdesOf(config) };
    this.tasks = new ActiveTasks(topology, subtopologies, settings, this.outbox);
    this.standbys = new StandbyTasks(brook, topology, settings, this.isolationLevel, this.outbox, logger);
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
    this.groupTimer = setInterval(() => void this.lookAtGroup(), streamsDefaults.groupPollMs);
    try {
      await this.consumer.run({
        eachBatch: ({ batch, resolveOffset, isStale }) =>
          this.serial.run(() => this.process(batch, resolveOffset, isStale)),
      });
      if (this.failure !== undefined) throw this.failure;
    } finally {
      this.stopTimers();
    }
  }

  /** Commits what was processed, gives the partitions back to the group and closes the clients. */
  async close(): Promise<void> {
    this.stopTimers();
    await this.serial.run(() => this.commit()).catch((error: unknown) => this.fail(error));
    await this.shutDown();
  }

  /** After a failure: drops the tasks and the open transaction, leaves the group, closes the clients. */
  async abandon(): Promise<void> {
    this.stopTimers();
    this.failure ??= new Error("abandoned");
    await this.shutDown();
  }

  /** What this instance tells the group about itself. */
  instanceMetadata(): InstanceMetadata {
    const active = this.tasks?.all() ?? [];
    return {
      version: 1,
      processId: this.processId,
      endpoint: this.config.applicationServer ?? null,
      active: active.map((each) => each.name),
      standby: this.standbys?.names() ?? [],
      subtopologies: this.subtopologies.map((sub) => sub.sourceTopics),
      stores: active.flatMap(({ name, task }) =>
        task
          .storeNames()
          .map((store) => ({ task: name, store, entries: task.store(store).approximateNumEntries() })),
      ),
      restoring: this.restoring ?? [],
      truncated: false,
    };
  }

  private stopTimers(): void {
    clearInterval(this.timer);
    clearInterval(this.groupTimer);
  }

  /** The open transaction (if any) is aborted before the group hands the partitions on. */
  private async shutDown(): Promise<void> {
    await this.output.abort().catch(() => undefined);
    await this.consumer.close().catch(() => undefined);
    await this.standbys.close().catch(() => undefined);
    await this.producer.close().catch(() => undefined);
    await this.admin.close().catch(() => undefined);
    this.tasks.closeAll();
  }

  /**
   * Every few seconds: reads the group (members and their assignments), places this instance's standby
   * copies, and publishes its metadata. Best effort: a failed look is tried again at the next one.
   */
  private async lookAtGroup(): Promise<void> {
    if (this.failure !== undefined) return;
    try {
      const memberId = this.consumer.groupMetadata()?.memberId;
      if (memberId === undefined) return;
      this.members = (await this.admin.describeGroup(this.config.applicationId)).members;
      const active = new Set(this.tasks.all().map((each) => each.name));
      const standby = standbyTasksFor(
        memberId,
        this.members,
        this.subtopologies,
        this.config.numStandbyReplicas,
      );
      await this.standbys.update(standby.filter((id) => !active.has(taskName(id))));
      this.consumer.setMemberMetadata(encodeInstanceMetadata(this.instanceMetadata()));
    } catch (error) {
      this.logger.debug?.({ error: String(error) }, "could not look at the group");
    }
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
    this.processed.set(partitionKey(batch), next);
    await this.output.send(this.outbox.splice(0));
    resolveOffset(next - 1);
    this.metrics.processLatency.observe(
      { task: active.name },
      Number(process.hrtime.bigint() - startedNs) / 1e9,
    );
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
    const nowMs = this.clock.nowMs();
    if (nowMs - this.lastCommitMs >= this.config.commitIntervalMs) await this.commit();
  }

  private async commit(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const startedNs = process.hrtime.bigint();
    await this.output.send(this.outbox.splice(0));
    const offsets = this.offsetsToCommit();
    await this.output.commit(offsets);
    for (const { topic, partition, offset } of offsets)
      this.committed.set(partitionKey({ topic, partition }), offset);
    for (const { task, name } of this.tasks.all()) {
      const { processed, dropped } = task.metrics;
      this.metrics.recordTask(name, processed, dropped);
      task.metrics.processed = 0;
      for (const reason of Object.keys(dropped) as (keyof typeof dropped)[]) dropped[reason] = 0;
    }
    this.lastCommitMs = this.clock.nowMs();
    this.metrics.commitLatency.observe(Number(process.hrtime.bigint() - startedNs) / 1e9);
  }

  /**
   * Where each held partition's reading got to, where that moved since the last commit: the consumer's
   * position, which also passes the transaction markers after the last record (committing the last
   * record's offset + 1 instead would leave a lag of one on every transactional topic, KAFKA-6607).
   */
  private offsetsToCommit(): { topic: string; partition: number; offset: number }[] {
    const offsets: { topic: string; partition: number; offset: number }[] = [];
    // A partition being revoked is no longer the consumer's (position() refuses it): its last processed
    // offset stands in for the position there.
    const reading = new Set(this.consumer.assignments().map(partitionKey));
    for (const [key, tp] of this.owned) {
      const position = reading.has(key) ? this.consumer.position(tp) : undefined;
      const offset = Math.max(position ?? -1, this.processed.get(key) ?? -1);
      if (offset > (this.committed.get(key) ?? -1)) offsets.push({ ...tp, offset });
    }
    return offsets;
  }

  private async assign(partitions: TopicPartition[]): Promise<void> {
    if (this.failure !== undefined) return;
    for (const tp of partitions) {
      this.owned.set(partitionKey(tp), tp);
      const position = this.consumer.position(tp);
      if (position !== undefined) this.committed.set(partitionKey(tp), position);
    }
    try {
      const adopted = new Map<string, Map<string, number>>();
      const created = this.tasks.add(partitions, (name) => {
        const standby = this.standbys.take(name);
        if (standby !== undefined) adopted.set(name, standby.next);
        return standby?.task;
      });
      if (created.length > 0) {
        this.events.onRestoring();
        // A restore can take seconds: no transaction of this instance stays open (and times out) meanwhile.
        await this.commit();
      }
      await this.restoreStores(created, adopted);
      for (const each of created) each.ready = true;
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
    for (const tp of partitions) {
      for (const map of [this.owned, this.processed, this.committed]) map.delete(partitionKey(tp));
    }
    if (removed.length > 0) this.logger.info({ tasks: removed.map((each) => each.name) }, "tasks closed");
    this.events.onTasksChanged(this.tasks.all());
  }

  /** Fills the stores of new tasks from their changelogs; an adopted standby copy only from where it got to. */
  private async restoreStores(
    created: readonly ActiveTask[],
    adopted: ReadonlyMap<string, ReadonlyMap<string, number>>,
  ): Promise<void> {
    const targets: (RestoreTarget & { store: string; status: RestoreStatus })[] = [];
    for (const { task, id, name } of created) {
      for (const [store, topic] of task.changelogTopics()) {
        const status = { task: name, store, restored: 0, total: -1 };
        targets.push({
          store,
          status,
          topic,
          partition: id.partition,
          fromOffset: adopted.get(name)?.get(topic) ?? 0,
          apply: (records) => {
            task.restore(store, records);
            status.restored += records.length;
          },
          onEnd: (offsets) => {
            status.total = offsets;
          },
        });
      }
    }
    this.restoring = targets.map((target) => target.status);
    const startedMs = Date.now();
    try {
      const results = await restore(this.config.brook, targets, this.isolationLevel, this.logger);
      const elapsedMs = Date.now() - startedMs;
      results.forEach((result, index) => {
        const { store, status } = targets[index] as (typeof targets)[number];
        this.events.onRestored(store, result.restored, elapsedMs);
        if (result.restored > 0) {
          this.logger.info(
            { task: status.task, store, records: result.restored, elapsedMs },
            "store restored",
          );
        }
      });
    } finally {
      this.restoring = [];
    }
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
