// One brook-mirror task: it reads its share of the source's topic-partitions (task-split.ts),
// read_committed, through a MirrorSource (mirror-source.ts: the Brook SDK or kafkajs), from each one's
// committed source offset, and hands every record on unchanged to its partition of the renamed topic.
// Acknowledged records feed the offset syncs; a loop ticking every tickMs writes due syncs, updates lag,
// refreshes topics and (task 0) emits checkpoints.

import { setTimeout as sleep } from "node:timers/promises";
import type { Admin, ConsumedMessage, Producer, TopicPartition } from "@brook/client";
import type { SentRecord, SourceRecord, SourceTaskContext } from "../../api.js";
import { createTopicIfMissing } from "../../runtime/topic-creator.js";
import { Checkpointer } from "./checkpointer.js";
import { type MirrorConfig, mirrorLimits } from "./config.js";
import { type MirrorMetrics, mirrorMetrics } from "./metrics.js";
import { type MirrorSource, openMirrorSource, type PartitionStart } from "./mirror-source.js";
import { type MirrorNames, mirrorNames } from "./names.js";
import { encodeOffsetSync, type OffsetSync, OffsetSyncTracker, offsetSyncKey } from "./offset-syncs.js";
import { planTargetTopics, type SourceTopic } from "./plans.js";
import { ownerTask } from "./task-split.js";

export type MirrorContext = SourceTaskContext<MirrorConfig>;

/** Syncs queued for the tick loop, at most: past it the record path writes them itself. */
const syncsQueuedMax = 1_000;

export class MirrorTask {
  private readonly names: MirrorNames;
  private readonly source: MirrorSource;
  private readonly targetAdmin: Admin;
  private readonly syncProducer: Producer;
  private readonly tracker = new OffsetSyncTracker();
  private readonly metrics: MirrorMetrics;
  private readonly checkpointer: Checkpointer | undefined;
  /** The source partitions this task reads, by "topic:partition": its share, bounded by the source's. */
  private readonly assigned = new Map<string, TopicPartition>();
  private readonly stopping = new AbortController();
  /** Syncs of acknowledged records, for the tick loop to write (at most syncsQueuedMax). */
  private syncsToWrite: OffsetSync[] = [];
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly context: MirrorContext,
    private readonly now: () => number = Date.now,
  ) {
    const { config, logger } = context;
    this.names = mirrorNames(config);
    this.source = openMirrorSource(context);
    this.targetAdmin = context.brook.admin();
    this.syncProducer = context.brook.producer();
    this.metrics = mirrorMetrics(context.metrics);
    this.checkpointer =
      context.taskId === 0
        ? new Checkpointer({
            source: this.source,
            target: context.brook,
            targetAdmin: this.targetAdmin,
            names: this.names,
            offsetSyncsTopic: config["offset-syncs.topic"],
            syncGroupOffsets: config["sync.group.offsets.enabled"],
            logger,
            onCheckpoints: (count) => this.metrics.checkpoints.inc({ connector: context.connector }, count),
          })
        : undefined;
    context.signal.addEventListener("abort", () => this.stopping.abort(), { once: true });
  }

  /** Creates the offset-syncs topic if missing, takes this task's partitions, starts the tick loop. */
  async start(): Promise<void> {
    await createTopicIfMissing(this.targetAdmin, {
      topic: this.context.config["offset-syncs.topic"],
      numPartitions: 1,
    });
    await this.refreshTopics();
    await this.checkpointer?.start();
    this.ticking = this.tickUntilStopped();
  }

  /** Every record of this task's partitions, as it arrives; ends when the task stops. */
  async *records(): AsyncGenerator<SourceRecord> {
    if (this.stopping.signal.aborted) return;
    const stop = () => this.source.stop();
    this.stopping.signal.addEventListener("abort", stop, { once: true });
    try {
      for await (const message of this.source.records()) {
        this.updateLag(message, message.offset + 1);
        yield this.toSourceRecord(message);
      }
    } finally {
      this.stopping.signal.removeEventListener("abort", stop);
    }
  }

  /** The target acknowledged a record: count it, and write an offset sync if one is due. */
  async mirrored({ record, topic, partition, offset }: SentRecord): Promise<void> {
    const { connector } = this.context;
    this.metrics.records.inc({ connector, topic });
    if (record.timestamp !== undefined) {
      this.metrics.latency.observe({ connector }, Math.max(0, this.now() - record.timestamp) / 1000);
    }
    const upstream = record.sourceOffset.offset;
    const sourceTopic = record.sourcePartition.topic;
    if (offset < 0 || typeof upstream !== "number" || typeof sourceTopic !== "string") return;
    const sync = this.tracker.mirrored(
      { topic: sourceTopic, partition, upstream, downstream: offset },
      this.now(),
    );
    if (sync === undefined) return;
    // Written by the tick loop, not here: a produce round trip per sync would hold up every record.
    this.syncsToWrite.push(sync);
    if (this.syncsToWrite.length >= syncsQueuedMax) await this.writeQueuedSyncs();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.ticking;
    await this.writeQueuedSyncs().catch(() => undefined);
    await this.writeSyncs(this.tracker.due(Number.POSITIVE_INFINITY)).catch(() => undefined);
    await Promise.allSettled([
      this.source.close(),
      this.checkpointer?.stop(),
      this.syncProducer.disconnect(),
      this.targetAdmin.close(),
    ]);
    // Lag readings of partitions this task no longer mirrors would stay frozen in /metrics.
    for (const { topic, partition } of this.assigned.values()) {
      this.metrics.lag.remove({
        connector: this.context.connector,
        topic: this.names.targetTopic(topic),
        partition: String(partition),
      });
    }
  }

  private toSourceRecord(message: ConsumedMessage): SourceRecord {
    const { topic, partition, offset } = message;
    return {
      sourcePartition: { cluster: this.names.alias, topic, partition },
      sourceOffset: { offset },
      topic: this.names.targetTopic(topic),
      partition,
      key: message.key,
      value: message.value,
      headers: message.headers,
      timestamp: message.timestamp,
    };
  }

  private async tickUntilStopped(): Promise<void> {
    const { config, logger } = this.context;
    const every = (intervalMs: number, work: () => Promise<void>, what: string) => {
      let lastMs = this.now();
      return async () => {
        if (this.now() - lastMs < intervalMs) return;
        lastMs = this.now();
        await work().catch((error: unknown) => logger.warn({ error }, `brook-mirror could not ${what}`));
      };
    };
    const refresh = every(config["refresh.topics.interval.ms"], () => this.refreshTopics(), "refresh topics");
    const checkpoint = every(
      config["emit.checkpoints.interval.ms"],
      async () => this.checkpointer?.checkpoint(),
      "emit checkpoints",
    );
    while (!this.stopping.signal.aborted) {
      try {
        await sleep(mirrorLimits.tickMs, undefined, { signal: this.stopping.signal });
      } catch {
        return;
      }
      await this.writeQueuedSyncs().catch((error: unknown) =>
        logger.warn({ error }, "brook-mirror could not write offset syncs"),
      );
      await this.writeSyncs(this.tracker.due(this.now())).catch((error: unknown) =>
        logger.warn({ error }, "brook-mirror could not write offset syncs"),
      );
      for (const each of this.assigned.values()) this.updateLag(each, this.source.position(each));
      await refresh();
      await checkpoint();
    }
  }

  /**
   * Lists the source's mirrored topics, creates or grows the target topics this task has partitions of,
   * and starts reading each partition of its share that has a copy to write to.
   */
  private async refreshTopics(): Promise<void> {
    const { taskId, taskCount } = this.context;
    const sources: SourceTopic[] = (await this.source.topics(this.names.mirrorsTopic)).filter(
      ({ name, partitions }) =>
        Array.from({ length: partitions }, (_, partition) =>
          ownerTask({ topic: name, partition }, taskCount),
        ).includes(taskId),
    );
    const targetPartitions = await this.targetPartitionCounts(
      sources.map(({ name }) => this.names.targetTopic(name)),
    );
    const plan = planTargetTopics(sources, targetPartitions, this.names);
    for (const topic of plan.create) {
      if (await createTopicIfMissing(this.targetAdmin, topic))
        targetPartitions.set(topic.topic, topic.numPartitions ?? 1);
    }
    for (const grow of plan.grow) {
      // Another task may grow it first: INVALID_PARTITIONS then, and the next refresh sees the new count.
      await this.targetAdmin.createPartitions({ topicPartitions: [grow] }).then(
        () => targetPartitions.set(grow.topic, grow.count),
        (error: unknown) =>
          this.context.logger.info({ error, topic: grow.topic }, "brook-mirror did not grow"),
      );
    }
    const ready = sources.flatMap(({ name, partitions }) =>
      Array.from({ length: partitions }, (_, partition) => ({ topic: name, partition })).filter(
        (each) =>
          ownerTask(each, taskCount) === taskId &&
          each.partition < (targetPartitions.get(this.names.targetTopic(name)) ?? 0) &&
          !this.assigned.has(`${each.topic}:${each.partition}`),
      ),
    );
    await this.startReading(ready);
  }

  /** The partition count of each of `topics` that exists in the target. */
  private async targetPartitionCounts(topics: string[]): Promise<Map<string, number>> {
    const existing = new Set(await this.targetAdmin.listTopics());
    const described = await this.targetAdmin.describeTopics({
      topics: topics.filter((topic) => existing.has(topic)),
    });
    return new Map(described.map(({ name, partitions }) => [name, partitions.length]));
  }

  /** Adds partitions to the consumer, each just after its committed source offset (or at the start). */
  private async startReading(partitions: TopicPartition[]): Promise<void> {
    if (partitions.length === 0) return;
    const assignments = await Promise.all(
      partitions.map(async ({ topic, partition }): Promise<PartitionStart> => {
        const committed = await this.context.offset({ cluster: this.names.alias, topic, partition });
        const offset = committed?.offset;
        return { topic, partition, offset: typeof offset === "number" ? offset + 1 : undefined };
      }),
    );
    await this.source.assign(assignments);
    for (const each of partitions) this.assigned.set(`${each.topic}:${each.partition}`, each);
    this.context.logger.info({ partitions: assignments }, "brook-mirror reads");
  }

  private updateLag(topicPartition: TopicPartition, next: number | undefined): void {
    const end = this.source.highWatermark(topicPartition);
    if (end === undefined || next === undefined) return;
    this.metrics.lag.set(
      {
        connector: this.context.connector,
        topic: this.names.targetTopic(topicPartition.topic),
        partition: String(topicPartition.partition),
      },
      Math.max(0, end - next),
    );
  }

  private async writeQueuedSyncs(): Promise<void> {
    const syncs = this.syncsToWrite;
    this.syncsToWrite = [];
    await this.writeSyncs(syncs);
  }

  private async writeSyncs(syncs: OffsetSync[]): Promise<void> {
    if (syncs.length === 0) return;
    await this.syncProducer.send({
      topic: this.context.config["offset-syncs.topic"],
      messages: syncs.map((sync) => ({
        key: offsetSyncKey(this.names.alias, sync),
        value: encodeOffsetSync(sync),
        partition: 0,
      })),
    });
  }
}
