// The mirror's source through kafkajs (source.protocol=kafka): any Kafka-protocol cluster, Brook's own
// Kafka listener included. kafkajs has no assign(), so a task reads through a consumer group on the source,
// <connector>-mirror, whose assigner (kafka-assigner.ts) gives each task the partitions it owns on the
// Brook path too. The group never commits: the task's place is its source offsets. On every assignment
// each partition is sought to the next offset the task expects of it, and a record below that (fetched
// before a seek took effect) is dropped, so none is handed on twice or out of order. eachBatch feeds a
// bounded queue that records() drains; while the queue is full, eachBatch waits and heartbeats.

import type { ConsumedMessage, GroupOffset, Logger, MessageHeaders, TopicPartition } from "@brook/client";
import {
  type Admin,
  type ConfigResourceTypes,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  type IMemberAssignment,
  Kafka,
  type KafkaMessage,
  type LogEntry,
  logLevel,
} from "kafkajs";
import { BoundedQueue } from "./bounded-queue.js";
import { mirrorLimits } from "./config.js";
import { type MirrorTaskIdentity, mirrorAssigner } from "./kafka-assigner.js";
import type { MirrorSource, PartitionStart } from "./mirror-source.js";
import type { SourceTopic } from "./plans.js";

export interface KafkaSourceOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** The source group the tasks share partitions through (never committed to). */
  groupId: string;
  task: MirrorTaskIdentity;
  /** How often kafkajs refreshes metadata: how soon a grown topic rebalances the group. */
  metadataMaxAgeMs: number;
}

/** One membership of the source group: a kafkajs consumer, what the group gave it, and its end. */
interface Member {
  consumer: Consumer;
  /** "topic:partition" of the partitions the group last assigned it. */
  assigned: Set<string>;
  leaving: AbortController;
}

/** ConfigResourceTypes.TOPIC (kafkajs's enum is a type only, to an ES module). */
const topicResource = 2 as ConfigResourceTypes;

export class KafkaSource implements MirrorSource {
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private adminConnected: Promise<void> | undefined;
  private readonly queue = new BoundedQueue<ConsumedMessage>(mirrorLimits.recordsQueuedMax);
  /** The partitions the task reads, by "topic:partition". */
  private readonly wanted = new Map<string, TopicPartition>();
  /** The next offset the task expects of each partition it reads: a record below it is not handed on. */
  private readonly next = new Map<string, number>();
  private readonly highWatermarks = new Map<string, number>();
  private member: Member | undefined;
  /** Joining and leaving the group, one after the other. */
  private lifecycle: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: KafkaSourceOptions) {
    this.kafka = new Kafka({
      brokers: options.brokers,
      clientId: options.clientId,
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => logKafkajs(options.logger, entry),
    });
    this.admin = this.kafka.admin();
  }

  async topics(mirrored: (topic: string) => boolean): Promise<SourceTopic[]> {
    const admin = await this.connectedAdmin();
    const chosen = (await admin.fetchTopicMetadata()).topics.filter(({ name }) => mirrored(name));
    if (chosen.length === 0) return [];
    const policies = await this.cleanupPolicies(chosen.map(({ name }) => name));
    return chosen.map(({ name, partitions }) => ({
      name,
      partitions: partitions.length,
      cleanupPolicy: policies.get(name),
    }));
  }

  async listGroups(): Promise<string[]> {
    const { groups } = await (await this.connectedAdmin()).listGroups();
    return groups.map(({ groupId }) => groupId).filter((groupId) => groupId !== this.options.groupId);
  }

  async fetchOffsets(groupId: string): Promise<GroupOffset[]> {
    const topics = await (await this.connectedAdmin()).fetchOffsets({ groupId });
    return topics.flatMap(({ topic, partitions }) =>
      partitions.map(({ partition, offset, metadata }) => ({
        topic,
        partition,
        offset: Number(offset),
        metadata: metadata ?? "",
      })),
    );
  }

  /**
   * Partitions the group already gives this task are sought and resumed; any other makes the task join
   * the group again, subscribed to every topic it reads (kafkajs fixes a subscription when it starts).
   */
  async assign(starts: PartitionStart[]): Promise<void> {
    for (const start of starts) {
      const { topic, partition } = start;
      this.wanted.set(key(start), { topic, partition });
      this.next.set(key(start), start.offset ?? 0);
    }
    const member = this.member;
    if (member !== undefined && starts.every((start) => member.assigned.has(key(start)))) {
      this.seek(member, starts);
      return;
    }
    await this.inTurn(() => this.join());
  }

  records(): AsyncIterable<ConsumedMessage> {
    return this.queue;
  }

  stop(): void {
    this.stopped = true;
    this.queue.end();
    void this.inTurn(() => this.leave());
  }

  position(partition: TopicPartition): number | undefined {
    return this.next.get(key(partition));
  }

  highWatermark(partition: TopicPartition): number | undefined {
    return this.highWatermarks.get(key(partition));
  }

  async close(): Promise<void> {
    this.stop();
    await this.lifecycle;
    if (this.adminConnected !== undefined) await this.admin.disconnect();
  }

  /** Runs `work` after what is under way: joins and leaves never overlap. */
  private inTurn(work: () => Promise<void>): Promise<void> {
    const turn = this.lifecycle.then(work);
    this.lifecycle = turn.catch(() => undefined);
    return turn;
  }

  /** Leaves the group if a member, and joins it again for every topic the task reads. */
  private async join(): Promise<void> {
    await this.leave();
    if (this.stopped || this.wanted.size === 0) return;
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      partitionAssigners: [mirrorAssigner(this.options.task)],
      readUncommitted: false,
      maxWaitTimeInMs: mirrorLimits.fetchMaxWaitMs,
      metadataMaxAge: this.options.metadataMaxAgeMs,
      allowAutoTopicCreation: false,
    });
    const member: Member = { consumer, assigned: new Set(), leaving: new AbortController() };
    this.member = member;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => this.joined(member, payload.memberAssignment));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      // kafkajs restarts a crashed consumer itself unless the error is final: then the task fails.
      if (!payload.restart) this.queue.fail(payload.error);
    });
    const topics = [...new Set([...this.wanted.values()].map(({ topic }) => topic))];
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: (payload) => this.take(member, payload) });
  }

  private async leave(): Promise<void> {
    const member = this.member;
    if (member === undefined) return;
    this.member = undefined;
    member.leaving.abort();
    await member.consumer.disconnect();
  }

  /** The group assigned partitions: those the task reads are sought, any other paused. */
  private joined(member: Member, assignment: IMemberAssignment): void {
    const assigned = Object.entries(assignment).flatMap(([topic, partitions]) =>
      partitions.map((partition) => ({ topic, partition })),
    );
    member.assigned = new Set(assigned.map(key));
    const reading = assigned.filter((each) => this.wanted.has(key(each)));
    const idle = assigned.filter((each) => !this.wanted.has(key(each)));
    this.seek(member, reading);
    member.consumer.pause(byTopic(idle));
    this.options.logger.info(
      { groupId: this.options.groupId, partitions: reading.map(key), paused: idle.map(key) },
      "brook-mirror joined its source group",
    );
  }

  /** Each partition sought to the next offset the task expects of it, and fetched. */
  private seek(member: Member, partitions: readonly TopicPartition[]): void {
    for (const each of partitions) {
      member.consumer.seek({ ...each, offset: String(this.next.get(key(each)) ?? 0) });
    }
    member.consumer.resume(byTopic(partitions));
  }

  /** eachBatch: every record at or past its partition's next expected offset, into the queue, in order. */
  private async take(member: Member, { batch, heartbeat }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const id = key(batch);
    this.highWatermarks.set(id, Number(batch.highWatermark));
    const { signal } = member.leaving;
    for (const message of batch.messages) {
      while (this.queue.full && !this.queue.isEnded && !signal.aborted) {
        await this.queue.space(mirrorLimits.heartbeatWhileFullMs, signal);
        // A member that stops heartbeating is dropped from the group; a rebalance throws here.
        await heartbeat();
      }
      if (this.queue.isEnded || signal.aborted) return;
      const offset = Number(message.offset);
      const expected = this.next.get(id);
      // Below the expected offset: fetched before a seek took effect, or handed on already.
      if (expected === undefined || offset < expected) continue;
      this.queue.push(consumedMessage(topic, partition, offset, message));
      this.next.set(id, offset + 1);
    }
  }

  private async connectedAdmin(): Promise<Admin> {
    this.adminConnected ??= this.admin.connect().catch((error: unknown) => {
      this.adminConnected = undefined;
      throw error;
    });
    await this.adminConnected;
    return this.admin;
  }

  /** Each topic's cleanup.policy, where the source says. */
  private async cleanupPolicies(topics: string[]): Promise<Map<string, string>> {
    const { resources } = await (await this.connectedAdmin()).describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: topicResource, name, configNames: ["cleanup.policy"] })),
    });
    return new Map(
      resources.flatMap(({ resourceName, configEntries }): [string, string][] => {
        const policy = configEntries.find(({ configName }) => configName === "cleanup.policy");
        return policy === undefined ? [] : [[resourceName, policy.configValue]];
      }),
    );
  }
}

function key({ topic, partition }: TopicPartition): string {
  return `${topic}:${partition}`;
}

function byTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const grouped = new Map<string, number[]>();
  for (const { topic, partition } of partitions)
    grouped.set(topic, [...(grouped.get(topic) ?? []), partition]);
  return [...grouped].map(([topic, numbers]) => ({ topic, partitions: numbers }));
}

/** kafkajs's message in the SDK's shape: numbers for offset and timestamp, Buffers for headers. */
function consumedMessage(
  topic: string,
  partition: number,
  offset: number,
  message: KafkaMessage,
): ConsumedMessage {
  return {
    topic,
    partition,
    offset,
    key: message.key ?? null,
    value: message.value,
    headers: headers(message.headers),
    timestamp: Number(message.timestamp),
  };
}

/** A repeated key stays an array, in order, as the SDK gives it. */
function headers(kafkaHeaders: IHeaders | undefined): MessageHeaders {
  const converted: MessageHeaders = {};
  for (const [name, value] of Object.entries(kafkaHeaders ?? {})) {
    if (value === undefined) continue;
    converted[name] = Array.isArray(value) ? value.map(bytes) : bytes(value);
  }
  return converted;
}

function bytes(value: Buffer | string | null): Buffer | null {
  return typeof value === "string" ? Buffer.from(value) : value;
}

/**
 * kafkajs's own log lines (WARN and ERROR only) through the task's logger, a level lower: kafkajs logs a
 * routine rebalance's answers as errors, and what does fail the task reaches it as an error anyway.
 */
function logKafkajs(logger: Logger, { level, namespace, log }: LogEntry): void {
  const { message, timestamp: _timestamp, ...fields } = log;
  const line = `kafkajs ${namespace}: ${message}`;
  if (level === logLevel.ERROR) logger.warn(fields, line);
  else logger.info(fields, line);
}
