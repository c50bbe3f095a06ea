// The group coordinator: for every partition of __consumer_offsets this
// broker leads, it loads the groups stored there and answers their
// heartbeats, commits and offset fetches. Group logic lives in group.ts
// (Brook's protocol) and classic-group.ts (Kafka clients'), both pure; this
// file does the I/O: replaying the partition when leadership arrives,
// appending records with acks=all before answering, dropping the groups when
// leadership leaves, and expiring members on a timer. classic-coordinator.ts
// parks the classic protocol's long polls (JoinGroup, SyncGroup).
// Transactional offset commits (TxnOffsetCommit) are appended as the
// producer's transactional batches and stay pending (txn-offsets.ts) until
// the producer's marker lands on the partition.
//
// Why an answer is never lost: every change is appended to the partition
// before the answer goes out, and the answer waits until the high watermark
// covers everything appended so far (the last write included). A new leader
// replays the partition only after its high watermark covers its whole log,
// i.e. everything its predecessor acknowledged.

import { randomUUID } from "node:crypto";
import type { MetadataImage } from "@brook/metadata";
import {
  assert,
  BrookError,
  type Clock,
  type DecodedBatch,
  decodeControlRecord,
  encodeRecordBatch,
  partitionForKey,
  type RecordInput,
} from "@brook/protocol";
import type { Logger } from "pino";
import type { MetadataSource } from "../context.js";
import {
  appendToShard,
  coordinatorError,
  followLeadership,
  replayLeaderLog,
  shardCommitted,
} from "../coordinator-log.js";
import type { Partition } from "../partition.js";
import type { ReplicaManager } from "../replica-manager.js";
import { keyOf, type TopicPartition } from "./assignor.js";
import type { CommittedOffset } from "./base-group.js";
import { ClassicCoordinator } from "./classic-coordinator.js";
import { ClassicGroup, type ClassicGroupConfig } from "./classic-group.js";
import { ConsumerGroup, type TopicView } from "./group.js";
import { groupRecord, isInternalTopic, OFFSETS_TOPIC, offsetRecord, parseGroupRecord } from "./records.js";
import { type PendingOffset, PendingTxnOffsets } from "./txn-offsets.js";

/** A group id's state, whichever protocol its members speak. */
export type Group = ConsumerGroup | ClassicGroup;

/**
 * One partition of an OffsetFetch answer: its committed offset (none where the group has none), or,
 * for a fetch that requires stable offsets, `unstable` while a transaction holds an offset there.
 */
export interface FetchedPartitionOffset {
  partition: number;
  committed?: CommittedOffset;
  unstable?: true;
}

export interface FetchedTopicOffsets {
  topic: string;
  partitions: FetchedPartitionOffset[];
}

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
  /** How often sessions and rebalance deadlines are checked (classic groups' join phase ends on this tick). */
  readonly expiryCheckIntervalMs: number;
  /**
   * Kafka's group.initial.rebalance.delay.ms for classic groups (3 s in Kafka): how long a group
   * starting from Empty waits for more members before its first generation. 1 s gathers consumers
   * started together (they reach the coordinator within a second of each other) without making a
   * lone consumer wait 3 s; tests set 0.
   */
  readonly classicInitialRebalanceDelayMs: number;
  /** Kafka's group.max.size for classic groups: the group's record holds every member. */
  readonly classicGroupMembersMax: number;
  /** Transactional offsets one partition keeps pending (committed in transactions not yet ended). */
  readonly txnOffsetsPendingPerPartitionMax: number;
  /**
   * Groups this broker coordinates at once (all its __consumer_offsets partitions): past it, a request
   * that would add a group (a join, a commit for a new group) is refused with RESOURCE_LIMIT_REACHED.
   * Groups loaded from the log are never refused: they exist already.
   */
  readonly groupsMax: number;
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
  classicInitialRebalanceDelayMs: 1_000,
  classicGroupMembersMax: 1_000,
  txnOffsetsPendingPerPartitionMax: 100_000,
  groupsMax: 100_000,
};

/** What this coordinator's errors call what it stores. */
const stateName = "group state";

/** Assignors one classic member may offer (Java consumers offer two by default). */
const classicProtocolsPerMemberMax = 16;

/** One partition of __consumer_offsets this broker leads, and the groups stored in it. */
class Shard {
  state: "loading" | "active" | "unloaded" = "loading";
  readonly groups = new Map<string, Group>();
  /** The log end after this shard's last append: answers wait until the high watermark reaches it. */
  writtenEnd = 0;
  /** Offsets committed in transactions whose marker has not landed here yet. */
  readonly pendingTxnOffsets: PendingTxnOffsets;

  constructor(
    readonly index: number,
    readonly partition: Partition,
    readonly leaderEpoch: number,
    pendingTxnOffsetsMax: number,
  ) {
    this.pendingTxnOffsets = new PendingTxnOffsets(pendingTxnOffsetsMax);
  }

  get name(): string {
    return `${OFFSETS_TOPIC}-${this.index}`;
  }
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
  /** Parks classic groups' JoinGroup/SyncGroup long polls and delivers their answers once durable. */
  readonly classic: ClassicCoordinator<Shard>;
  private readonly classicConfig: ClassicGroupConfig;
  private readonly shards = new Map<number, Shard>();
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: GroupCoordinatorOptions) {
    this.config = { ...defaultGroupCoordinatorConfig, ...options.config };
    this.logger = options.logger.child({ component: "group-coordinator" });
    this.classicConfig = {
      initialRebalanceDelayMs: this.config.classicInitialRebalanceDelayMs,
      membersMax: this.config.classicGroupMembersMax,
      protocolsPerMemberMax: classicProtocolsPerMemberMax,
    };
    this.classic = new ClassicCoordinator({
      nowMs: () => this.nowMs(),
      persist: (shard, group) => this.persist(shard, group),
      committed: (shard) => this.committed(shard),
      logger: this.logger,
    });
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.config.expiryCheckIntervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    for (const shard of this.shards.values()) {
      shard.state = "unloaded";
      this.abandonClassicGroups(shard);
    }
    this.shards.clear();
  }

  /** Follows leadership of __consumer_offsets partitions, and topic changes that move subscriptions. */
  onImage(image: MetadataImage): void {
    const topic = image.topic(OFFSETS_TOPIC);
    const count = topic?.partitions.length ?? 0;
    followLeadership(OFFSETS_TOPIC, count, this.shards, this.options.replicas, {
      unload: (shard) => this.unload(shard),
      load: (index, partition) =>
        this.load(
          new Shard(index, partition, partition.leaderEpoch, this.config.txnOffsetsPendingPerPartitionMax),
        ),
    });
    const view = topicView(image);
    for (const shard of this.shards.values()) {
      if (shard.state !== "active") continue;
      for (const group of shard.groups.values()) {
        if (group.type === "consumer" && group.refreshTopics(view)) {
          this.persistInBackground(shard, group, "subscribed topics changed");
        }
      }
    }
  }

  /** The shard and the group, of either protocol, if it exists; throws when this broker does not coordinate it. */
  locate(groupId: string): { shard: Shard; group: Group | undefined } {
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
    return { shard, group: shard.groups.get(groupId) };
  }

  /**
   * A group of Brook's protocol (ConsumerGroupHeartbeat), created if absent and `create`. A classic
   * group with members refuses (INCONSISTENT_GROUP_PROTOCOL); one without becomes a Brook group, with
   * its offsets (docs/decisions.md: one protocol per group at a time).
   */
  consumerGroup(groupId: string, create: boolean): { shard: Shard; group: ConsumerGroup | undefined } {
    return this.groupOfType(groupId, "consumer", create, () => new ConsumerGroup(groupId, randomUUID));
  }

  /**
   * A classic group (Kafka clients' JoinGroup), created if absent and `create`. A Brook group with
   * members refuses (INCONSISTENT_GROUP_PROTOCOL); one without becomes a classic group, with its offsets.
   */
  classicGroup(groupId: string, create: boolean): { shard: Shard; group: ClassicGroup | undefined } {
    return this.groupOfType(
      groupId,
      "classic",
      create,
      () => new ClassicGroup(groupId, this.classicConfig, randomUUID),
    );
  }

  private groupOfType<G extends Group>(
    groupId: string,
    type: G["type"],
    create: boolean,
    make: () => G,
  ): { shard: Shard; group: G | undefined } {
    const { shard, group } = this.locate(groupId);
    if (group?.type === type) return { shard, group: group as G };
    if (group !== undefined && group.memberCount > 0) {
      throw new BrookError(
        "INCONSISTENT_GROUP_PROTOCOL",
        `group '${groupId}' is used by ${membersOf(group)}; ${joinerOf(type)} can join it once they have all left, or use another group id`,
      );
    }
    if (!create) return { shard, group: undefined };
    if (group === undefined) this.requireRoomForGroup(groupId);
    const created = make().keepOffsetsOf(group) as G;
    this.replace(shard, group, created);
    return { shard, group: created };
  }

  /**
   * A group with nothing in it yet, not in the shard: a commit to an absent group adds it once it holds
   * offsets. A group with only offsets is of Brook's kind, as replaying its offset records makes it.
   */
  offsetsOnlyGroup(groupId: string): ConsumerGroup {
    return new ConsumerGroup(groupId, randomUUID);
  }

  /** Refuses to add `groupId` when this broker already coordinates groupsMax groups. */
  requireRoomForGroup(groupId: string): void {
    let count = 0;
    for (const shard of this.shards.values()) count += shard.groups.size;
    if (count < this.config.groupsMax) return;
    throw new BrookError(
      "RESOURCE_LIMIT_REACHED",
      `broker ${this.options.brokerId} coordinates ${count} groups, its limit (groupsMax ${this.config.groupsMax}); group '${groupId}' cannot be added`,
    );
  }

  /** Every group this broker coordinates now. */
  *groups(): Generator<Group> {
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

  /** Appends records to the shard's partition, if the shard is still current; `committed` then waits for them. */
  append(shard: Shard, records: RecordInput[]): void {
    if (records.length === 0) return;
    try {
      appendToShard(shard, encodeRecordBatch(records, { nowMs: this.options.clock.nowMs() }));
    } catch (error) {
      throw coordinatorError(error, shard, stateName);
    }
  }

  /** Resolves once everything the shard has appended is replicated: what an answer may rely on. */
  committed(shard: Shard): Promise<void> {
    return shardCommitted(shard, this.config.writeTimeoutMs, stateName);
  }

  /** Writes the group's state: a snapshot, or a tombstone once it has neither members nor offsets. */
  persist(shard: Shard, group: Group): Promise<void> {
    // A group deleted or replaced since (it changed protocol) has nothing left to write.
    if (shard.groups.get(group.groupId) !== group) return this.committed(shard);
    if (group.isEmpty) {
      this.replace(shard, group, undefined);
      return this.write(shard, [groupRecord(group.groupId, null)]);
    }
    return this.write(shard, [groupRecord(group.groupId, group.snapshot())]);
  }

  /** Appends committed offsets (all already checked) and answers once they are durable. */
  async commitOffsets(
    shard: Shard,
    group: Group,
    offsets: readonly (TopicPartition & Omit<CommittedOffset, "commitTimestampMs">)[],
  ): Promise<void> {
    if (offsets.length > 0 && shard.groups.get(group.groupId) === undefined) {
      this.requireRoomForGroup(group.groupId);
    }
    const commitTimestampMs = this.nowMs();
    const committed = offsets.map(({ topic, partition, ...value }) => ({
      topic,
      partition,
      value: { ...value, commitTimestampMs },
    }));
    this.append(
      shard,
      committed.map(({ topic, partition, value }) => offsetRecord(group.groupId, topic, partition, value)),
    );
    // In memory once in the log: what the log will hold is what the group answers with.
    for (const { topic, partition, value } of committed) group.setOffset({ topic, partition }, value);
    if (!group.isEmpty && shard.groups.get(group.groupId) === undefined)
      shard.groups.set(group.groupId, group);
    await this.committed(shard);
  }

  /**
   * Appends offsets committed inside a producer's transaction (all already checked) as one
   * transactional batch of that producer, so the partition fences an older epoch and its marker
   * closes the batch; they stay pending, invisible to OffsetFetch, until the marker lands.
   */
  async commitTxnOffsets(
    shard: Shard,
    groupId: string,
    producer: { producerId: number; producerEpoch: number },
    offsets: readonly (TopicPartition & Omit<CommittedOffset, "commitTimestampMs">)[],
  ): Promise<void> {
    if (offsets.length === 0) return this.committed(shard);
    shard.pendingTxnOffsets.requireRoom(offsets.length);
    if (shard.groups.get(groupId) === undefined) this.requireRoomForGroup(groupId);
    const commitTimestampMs = this.nowMs();
    const pending = offsets.map(
      ({ topic, partition, ...value }): PendingOffset => ({
        group: groupId,
        topic,
        partition,
        value: { ...value, commitTimestampMs },
      }),
    );
    try {
      const batch = encodeRecordBatch(
        pending.map(({ group, topic, partition, value }) => offsetRecord(group, topic, partition, value)),
        {
          nowMs: commitTimestampMs,
          producerId: producer.producerId,
          producerEpoch: producer.producerEpoch,
          baseSequence: -1,
          transactional: true,
        },
      );
      appendToShard(shard, batch, "coordinator");
    } catch (error) {
      throw coordinatorError(error, shard, stateName);
    }
    for (const offset of pending) shard.pendingTxnOffsets.add(producer.producerId, offset);
    await this.committed(shard);
  }

  /**
   * A transaction marker is durable on a partition this broker leads (the context's txnMarkerWritten):
   * on __consumer_offsets, the producer's pending offsets there become committed, or are dropped. A
   * shard still loading reads the marker from the log instead.
   */
  onTxnMarker(topic: string, partition: number, producerId: number, committed: boolean): void {
    if (topic !== OFFSETS_TOPIC) return;
    const shard = this.shards.get(partition);
    if (shard === undefined || shard.state !== "active") return;
    settle(shard.groups, shard.pendingTxnOffsets.take(producerId), committed);
  }

  /**
   * The group's committed offsets on `wanted` (every partition it committed on when null), by topic;
   * `committed` is unset where nothing is. Read after write: what this coordinator appended is
   * replicated before it is read back. With `requireStable` (KIP-447), a partition on which a
   * transaction not ended yet holds an offset of the group is `unstable` instead, whichever producer's
   * it is: its committed offset is about to change (and a fetch of every offset lists such partitions
   * too, even without a committed offset yet).
   */
  async fetchOffsets(
    groupId: string,
    wanted: readonly TopicPartition[] | null,
    options: { requireStable?: boolean } = {},
  ): Promise<FetchedTopicOffsets[]> {
    const { shard } = this.locate(groupId);
    await this.committed(shard);
    // Read once the wait is over: the group may have been replaced meanwhile, and markers may have landed.
    const group = shard.groups.get(groupId);
    const pending = shard.pendingTxnOffsets;
    const requireStable = options.requireStable === true;
    const byTopic = new Map<string, FetchedPartitionOffset[]>();
    const add = (tp: TopicPartition): void => {
      const partitions = byTopic.get(tp.topic) ?? [];
      const committed = group?.committedOffset(tp);
      partitions.push(
        requireStable && pending.isPending(groupId, tp)
          ? { partition: tp.partition, unstable: true }
          : committed === undefined
            ? { partition: tp.partition }
            : { partition: tp.partition, committed },
      );
      byTopic.set(tp.topic, partitions);
    };
    if (wanted !== null) {
      for (const tp of wanted) add(tp);
    } else {
      const listed = new Set<string>();
      for (const tp of group?.committedOffsets() ?? []) {
        listed.add(keyOf(tp));
        add(tp);
      }
      if (requireStable) {
        for (const tp of pending.pendingPartitions(groupId)) if (!listed.has(keyOf(tp))) add(tp);
      }
    }
    return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
  }

  /** Deletes an empty group and its offsets; refuses one with members. */
  async deleteGroup(groupId: string): Promise<void> {
    const { shard, group } = this.locate(groupId);
    if (group === undefined) throw new BrookError("GROUP_ID_NOT_FOUND", `group '${groupId}' does not exist`);
    if (group.memberCount > 0) {
      throw new BrookError(
        "NON_EMPTY_GROUP",
        `group '${groupId}' has ${group.memberCount} active member(s); stop them first`,
      );
    }
    const tombstones = [...group.committedOffsets()].map(({ topic, partition }) =>
      offsetRecord(groupId, topic, partition, null),
    );
    this.replace(shard, group, undefined);
    await this.write(shard, [...tombstones, groupRecord(groupId, null)]);
  }

  /** Puts `next` (or nothing) where `previous` was; a classic group that goes away fails its waits. */
  private replace(shard: Shard, previous: Group | undefined, next: Group | undefined): void {
    const groupId = (previous ?? next)!.groupId;
    if (previous !== undefined && shard.groups.get(groupId) !== previous) return; // already replaced
    if (next === undefined) shard.groups.delete(groupId);
    else shard.groups.set(groupId, next);
    if (previous?.type === "classic") {
      this.classic.abandon(
        previous,
        new BrookError("UNKNOWN_MEMBER_ID", `group '${groupId}' was deleted or changed protocol; join again`),
      );
    }
  }

  private persistInBackground(shard: Shard, group: Group, why: string): void {
    this.logger.info({ group: group.groupId, members: group.memberCount, why }, "group rebalanced");
    this.persist(shard, group).catch((error: unknown) =>
      this.logger.warn({ err: error, group: group.groupId }, "could not persist group state"),
    );
  }

  /**
   * The groups' timers, run every expiryCheckIntervalMs by start(): expires members whose session ran
   * out, and ends classic groups' join and sync phases whose deadline passed.
   */
  tick(): void {
    const nowMs = this.options.clock.nowMs();
    const view = this.topics;
    for (const shard of this.shards.values()) {
      if (shard.state !== "active") continue;
      for (const group of [...shard.groups.values()]) {
        if (group.type === "classic") {
          this.classic.tick(shard, group, nowMs);
          // Nothing left of it (say, only a member id handed out that was never used): forget it.
          if (group.isEmpty && shard.groups.get(group.groupId) === group) {
            this.persistInBackground(shard, group, "classic group left empty");
          }
          continue;
        }
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
      (loaded) => {
        if (!loaded || shard.state !== "loading") return;
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
    this.abandonClassicGroups(shard);
    this.logger.info(
      { partition: shard.index, leaderEpoch: shard.leaderEpoch, groups: shard.groups.size },
      "stopped coordinating the groups of a partition this broker no longer leads",
    );
  }

  /** Classic groups' waiting JoinGroups and SyncGroups fail: their members find the new coordinator. */
  private abandonClassicGroups(shard: Shard): void {
    const moved = new BrookError(
      "NOT_COORDINATOR",
      `${OFFSETS_TOPIC}-${shard.index} moved to another broker`,
    );
    for (const group of shard.groups.values()) {
      if (group.type === "classic") this.classic.abandon(group, moved);
    }
  }

  /**
   * Waits until the high watermark covers the whole log (what the previous leader acknowledged is
   * in it), then rebuilds every group from it. A transactional batch's offsets wait for their
   * producer's marker, as live ones do; those still waiting at the end stay pending.
   */
  private async replay(shard: Shard): Promise<boolean> {
    const nowMs = this.options.clock.nowMs();
    const loaded = await replayLeaderLog(
      shard.partition,
      () => shard.state === "loading",
      this.config.writeTimeoutMs,
      (batch) => this.applyBatch(shard, batch, nowMs),
    );
    shard.writtenEnd = shard.partition.log.logEndOffset;
    return loaded;
  }

  private applyBatch(shard: Shard, { header, records }: DecodedBatch, nowMs: number): void {
    if (header.isControl) {
      // The partition took it only as one control record (readControlRecord), a leader's or its own.
      assert(records.length === 1, "a control batch in the log holds one record");
      const control = decodeControlRecord(records[0]);
      if (control.type !== "unknown") {
        settle(shard.groups, shard.pendingTxnOffsets.take(header.producerId), control.type === "commit");
      }
      return;
    }
    for (const record of records) {
      if (!header.isTransactional) {
        this.apply(shard, record, nowMs);
        continue;
      }
      const parsed = parseGroupRecord(record);
      if (parsed.kind === "offset" && parsed.value !== null) {
        shard.pendingTxnOffsets.add(header.producerId, { ...parsed, value: parsed.value });
      }
    }
  }

  /**
   * Replays one record: an offset record sets or forgets one offset; a group
   * record replaces the membership (a tombstone empties it) and keeps the
   * offsets. A group left with neither is dropped.
   */
  private apply(shard: Shard, record: Parameters<typeof parseGroupRecord>[0], nowMs: number): void {
    const parsed = parseGroupRecord(record);
    const existing = shard.groups.get(parsed.group);
    const group: Group =
      parsed.kind === "offset"
        ? (existing ?? new ConsumerGroup(parsed.group, randomUUID))
        : parsed.value === null
          ? new ConsumerGroup(parsed.group, randomUUID).keepOffsetsOf(existing)
          : parsed.value.type === "classic"
            ? ClassicGroup.fromSnapshot(parsed.value, nowMs, this.classicConfig, randomUUID).keepOffsetsOf(
                existing,
              )
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

/** A transaction's marker settles its pending offsets: committed ones become the groups' offsets. */
function settle(groups: Map<string, Group>, pending: readonly PendingOffset[], committed: boolean): void {
  if (!committed) return;
  for (const { group: groupId, topic, partition, value } of pending) {
    const group = groups.get(groupId) ?? new ConsumerGroup(groupId, randomUUID);
    group.setOffset({ topic, partition }, value);
    groups.set(groupId, group);
  }
}

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

/** Who holds a group, as INCONSISTENT_GROUP_PROTOCOL names them. */
function membersOf(group: Group): string {
  return group.type === "classic"
    ? `${group.memberCount} Kafka client(s) (the classic JoinGroup protocol)`
    : `${group.memberCount} Brook consumer(s) (ConsumerGroupHeartbeat)`;
}

function joinerOf(type: Group["type"]): string {
  return type === "classic" ? "a Kafka client" : "a Brook consumer";
}
