// The group coordinator: for every partition of __consumer_offsets this
// broker leads, it loads the groups stored there and answers their
// heartbeats, commits and offset fetches. Group logic lives in group.ts
// (pure); this file does the I/O: replaying the partition when leadership
// arrives, appending records with acks=all before answering, dropping the
// groups when leadership leaves, and expiring members on a timer.
//
// Why an answer is never lost: every change is appended to the partition
// before the answer goes out, and the answer waits until the high watermark
// covers everything appended so far (the last write included). A new leader
// replays the partition only after its high watermark covers its whole log,
// i.e. everything its predecessor acknowledged.

import { randomUUID } from "node:crypto";
import type { MetadataImage } from "@brook/metadata";
import {
  asBrookError,
  BrookError,
  type Clock,
  decodeRecordBatches,
  encodeRecordBatch,
  partitionForKey,
  type RecordInput,
} from "@brook/protocol";
import type { Logger } from "pino";
import type { MetadataSource } from "../context.js";
import type { Partition } from "../partition.js";
import type { ReplicaManager } from "../replica-manager.js";
import { ConsumerGroup, type TopicView } from "./group.js";
import { groupRecord, isInternalTopic, OFFSETS_TOPIC, parseGroupRecord } from "./records.js";

export interface GroupCoordinatorConfig {
  /** Partitions of __consumer_offsets when this broker creates it (Kafka: offsets.topic.num.partitions, 50). */
  readonly offsetsTopicPartitions: number;
  /** How often members heartbeat; also how fast they learn of a rebalance. */
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMsDefault: number;
  readonly sessionTimeoutMsMin: number;
  readonly sessionTimeoutMsMax: number;
  readonly rebalanceTimeoutMsDefault: number;
  /** How long an answer waits for its records to be replicated. */
  readonly writeTimeoutMs: number;
  readonly expiryCheckIntervalMs: number;
}

export const defaultGroupCoordinatorConfig: GroupCoordinatorConfig = {
  offsetsTopicPartitions: 12,
  heartbeatIntervalMs: 500,
  sessionTimeoutMsDefault: 10_000,
  sessionTimeoutMsMin: 1_000,
  sessionTimeoutMsMax: 300_000,
  rebalanceTimeoutMsDefault: 60_000,
  writeTimeoutMs: 15_000,
  expiryCheckIntervalMs: 250,
};

/** One partition of __consumer_offsets this broker leads, and the groups stored in it. */
class Shard {
  state: "loading" | "active" | "unloaded" = "loading";
  readonly groups = new Map<string, ConsumerGroup>();
  /** The log end after this shard's last append: answers wait until the high watermark reaches it. */
  writtenEnd = 0;

  constructor(
    readonly index: number,
    readonly partition: Partition,
    readonly leaderEpoch: number,
  ) {}
}

export interface GroupCoordinatorOptions {
  readonly brokerId: number;
  readonly replicas: ReplicaManager;
  readonly metadata: MetadataSource;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly config?: Partial<GroupCoordinatorConfig>;
}

export class GroupCoordinator {
  readonly config: GroupCoordinatorConfig;
  private readonly shards = new Map<number, Shard>();
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: GroupCoordinatorOptions) {
    this.config = { ...defaultGroupCoordinatorConfig, ...options.config };
    this.logger = options.logger.child({ component: "group-coordinator" });
  }

  start(): void {
    this.timer = setInterval(() => this.expireMembers(), this.config.expiryCheckIntervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    for (const shard of this.shards.values()) shard.state = "unloaded";
    this.shards.clear();
  }

  /** Follows leadership of __consumer_offsets partitions, and topic changes that move subscriptions. */
  onImage(image: MetadataImage): void {
    const topic = image.topic(OFFSETS_TOPIC);
    const count = topic?.partitions.length ?? 0;
    for (const [index, shard] of this.shards) {
      const local = this.options.replicas.local(OFFSETS_TOPIC, index);
      if (
        index >= count ||
        local !== shard.partition ||
        !local.isLeader ||
        local.leaderEpoch !== shard.leaderEpoch
      ) {
        this.unload(shard);
      }
    }
    for (let index = 0; index < count; index++) {
      const local = this.options.replicas.local(OFFSETS_TOPIC, index);
      if (local?.isLeader && !this.shards.has(index)) this.load(new Shard(index, local, local.leaderEpoch));
    }
    const view = topicView(image);
    for (const shard of this.shards.values()) {
      if (shard.state !== "active") continue;
      for (const group of shard.groups.values()) {
        if (group.refreshTopics(view)) this.persistInBackground(shard, group, "subscribed topics changed");
      }
    }
  }

  /** The shard and (if it exists, or `create`) the group; throws when this broker does not coordinate it. */
  group(groupId: string, create: boolean): { shard: Shard; group: ConsumerGroup | undefined } {
    validateGroupId(groupId);
    const image = this.options.metadata.image;
    const topic = image.topic(OFFSETS_TOPIC);
    if (topic === undefined) {
      throw new BrookError("COORDINATOR_NOT_AVAILABLE", `${OFFSETS_TOPIC} does not exist yet`);
    }
    const index = partitionForGroup(groupId, topic.partitions.length);
    const shard = this.shards.get(index);
    if (shard === undefined || shard.state === "unloaded" || !shard.partition.isLeader) {
      throw new BrookError(
        "NOT_COORDINATOR",
        `broker ${this.options.brokerId} does not lead ${OFFSETS_TOPIC}-${index}, which holds group '${groupId}'`,
      );
    }
    if (shard.state === "loading") {
      throw new BrookError(
        "COORDINATOR_LOAD_IN_PROGRESS",
        `broker ${this.options.brokerId} is loading ${OFFSETS_TOPIC}-${index}`,
      );
    }
    let group = shard.groups.get(groupId);
    if (group === undefined && create) {
      group = new ConsumerGroup(groupId, randomUUID);
      shard.groups.set(groupId, group);
    }
    return { shard, group };
  }

  /** Every group this broker coordinates now. */
  *groups(): Generator<ConsumerGroup> {
    for (const shard of this.shards.values()) {
      if (shard.state === "active") yield* shard.groups.values();
    }
  }

  get topics(): TopicView {
    return topicView(this.options.metadata.image);
  }

  nowMs(): number {
    return this.options.clock.nowMs();
  }

  /**
   * Appends records to the shard (acks=all) and waits until they, and
   * everything appended before them, are replicated to the ISR.
   */
  async write(shard: Shard, records: RecordInput[]): Promise<void> {
    this.append(shard, records);
    await this.committed(shard);
  }

  /** Appends records to the shard's partition; `committed` then waits for them. */
  append(shard: Shard, records: RecordInput[]): void {
    if (records.length === 0) return;
    try {
      const batch = encodeRecordBatch(records, { nowMs: this.options.clock.nowMs() });
      const result = shard.partition.append(batch, -1);
      shard.writtenEnd = Math.max(shard.writtenEnd, result.lastOffset + 1);
    } catch (error) {
      throw coordinatorError(error, shard);
    }
  }

  /** Resolves once everything the shard has appended is replicated: what an answer may rely on. */
  async committed(shard: Shard): Promise<void> {
    try {
      await shard.partition.waitForHighWatermark(shard.writtenEnd, this.config.writeTimeoutMs);
    } catch (error) {
      throw coordinatorError(error, shard);
    }
    if (shard.state !== "active") {
      throw new BrookError("NOT_COORDINATOR", `${OFFSETS_TOPIC}-${shard.index} moved to another broker`);
    }
  }

  /** Writes the group's state: a snapshot, or a tombstone once it has neither members nor offsets. */
  persist(shard: Shard, group: ConsumerGroup): Promise<void> {
    if (group.isEmpty) {
      shard.groups.delete(group.groupId);
      return this.write(shard, [groupRecord(group.groupId, null)]);
    }
    return this.write(shard, [groupRecord(group.groupId, group.snapshot())]);
  }

  private persistInBackground(shard: Shard, group: ConsumerGroup, why: string): void {
    this.logger.info(
      { group: group.groupId, groupEpoch: group.groupEpoch, members: group.memberCount, why },
      "group rebalanced",
    );
    this.persist(shard, group).catch((error: unknown) =>
      this.logger.warn({ err: error, group: group.groupId }, "could not persist group state"),
    );
  }

  private expireMembers(): void {
    const nowMs = this.options.clock.nowMs();
    const view = this.topics;
    for (const shard of this.shards.values()) {
      if (shard.state !== "active") continue;
      for (const group of [...shard.groups.values()]) {
        const expired = group.expire(nowMs, view);
        if (expired.length === 0) continue;
        this.logger.info(
          { group: group.groupId, members: expired.map((m) => m.memberId) },
          "removed group members whose session or rebalance timeout ran out",
        );
        this.persistInBackground(shard, group, "members expired");
      }
    }
  }

  private load(shard: Shard): void {
    this.shards.set(shard.index, shard);
    const started = this.options.clock.nowMs();
    this.replay(shard).then(
      () => {
        if (shard.state !== "loading") return;
        shard.state = "active";
        this.logger.info(
          {
            partition: shard.index,
            leaderEpoch: shard.leaderEpoch,
            groups: shard.groups.size,
            ms: this.options.clock.nowMs() - started,
          },
          "loaded consumer groups; coordinating them",
        );
      },
      (error: unknown) => {
        this.logger.error({ err: error, partition: shard.index }, "could not load consumer groups");
        if (this.shards.get(shard.index) === shard) this.shards.delete(shard.index);
      },
    );
  }

  private unload(shard: Shard): void {
    shard.state = "unloaded";
    this.shards.delete(shard.index);
    this.logger.info(
      { partition: shard.index, leaderEpoch: shard.leaderEpoch, groups: shard.groups.size },
      "stopped coordinating the groups of a partition this broker no longer leads",
    );
  }

  /**
   * Waits until the high watermark covers the whole log (what the previous
   * leader acknowledged is in it), then rebuilds every group from it.
   */
  private async replay(shard: Shard): Promise<void> {
    const { partition } = shard;
    const end = partition.log.logEndOffset;
    while (shard.state === "loading") {
      try {
        await partition.waitForHighWatermark(end, this.config.writeTimeoutMs);
        break;
      } catch (error) {
        if (asBrookError(error).code === "NOT_LEADER") return;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    if (shard.state !== "loading") return;
    const nowMs = this.options.clock.nowMs();
    let offset = partition.log.logStartOffset;
    while (offset < end) {
      const { records } = partition.log.read(offset, 1024 * 1024, { maxOffset: end, minOneBatch: true });
      const batches = decodeRecordBatches(records);
      if (batches.length === 0) break;
      for (const { records: batchRecords } of batches) {
        for (const record of batchRecords) if (record.offset >= offset) this.apply(shard, record, nowMs);
      }
      offset = batches[batches.length - 1].header.lastOffset + 1;
      // Long partitions: let heartbeats for other shards through.
      await new Promise((resolve) => setImmediate(resolve));
    }
    shard.writtenEnd = end;
  }

  /**
   * Replays one record: an offset record sets or forgets one offset; a group
   * record replaces the membership (a tombstone empties it) and keeps the
   * offsets. A group left with neither is dropped.
   */
  private apply(shard: Shard, record: Parameters<typeof parseGroupRecord>[0], nowMs: number): void {
    const parsed = parseGroupRecord(record);
    const existing = shard.groups.get(parsed.group);
    const group =
      parsed.kind === "offset"
        ? (existing ?? new ConsumerGroup(parsed.group, randomUUID))
        : parsed.value === null
          ? new ConsumerGroup(parsed.group, randomUUID).keepOffsetsOf(existing)
          : ConsumerGroup.fromSnapshot(parsed.value, nowMs, randomUUID).keepOffsetsOf(existing);
    if (parsed.kind === "offset") group.setOffset(parsed, parsed.value);
    if (group.isEmpty) {
      shard.groups.delete(parsed.group);
      return;
    }
    shard.groups.set(parsed.group, group);
  }
}

export type { Shard };

/** The partition of __consumer_offsets that holds `groupId` (murmur2, as the producer hashes keys). */
export function partitionForGroup(groupId: string, partitionCount: number): number {
  return partitionForKey(groupId, partitionCount);
}

export function validateGroupId(groupId: string): void {
  if (groupId.length === 0 || groupId.length > 255) {
    throw new BrookError("INVALID_GROUP_ID", `group id must be 1-255 characters, got ${groupId.length}`);
  }
}

function topicView(image: MetadataImage): TopicView {
  return {
    partitionCount: (topic) => image.topic(topic)?.partitions.length,
    *topicNames() {
      for (const topic of image.topics()) if (!isInternalTopic(topic.name)) yield topic.name;
    },
  };
}

/** A write or wait that failed because of the partition, as the error a group member should act on. */
function coordinatorError(error: unknown, shard: Shard): BrookError {
  const typed = asBrookError(error);
  switch (typed.code) {
    case "NOT_LEADER":
    case "FENCED_LEADER_EPOCH":
      return new BrookError("NOT_COORDINATOR", `${OFFSETS_TOPIC}-${shard.index} moved: ${typed.message}`);
    case "NOT_ENOUGH_REPLICAS":
      return new BrookError(
        "COORDINATOR_NOT_AVAILABLE",
        `${OFFSETS_TOPIC}-${shard.index} cannot replicate group state: ${typed.message}`,
      );
    default:
      return typed;
  }
}
