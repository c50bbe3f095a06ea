// Consumer group administration behind Admin (docs/consumer-groups.md): list (every broker, merged),
// describe, committed offsets, lag, reset and delete. Calls about one group go to its coordinator
// (GroupCoordinators finds it, caches it and retries); an error in an answer, for the whole request, the
// group or one partition, rejects with that typed BrookError, named after the group and partition.

import {
  BrookError,
  fromWireError,
  type GroupDescription__Output,
  type GroupMemberDescription__Output,
  type GroupTopicPartitions__Output,
  type ListedGroup__Output,
  type WireError__Output,
} from "@brook/protocol";
import type { Cluster } from "../cluster/cluster.js";
import { GroupCoordinators } from "../cluster/coordinator.js";
import { brokerAddress } from "../cluster/metadata-cache.js";
import { listOffsets, OffsetSpec } from "../cluster/offsets.js";
import type { TopicPartition, TopicPartitionOffset } from "../consumer/types.js";
import { withRetry } from "../retry/retry-policy.js";
import { namedError } from "./named-error.js";

/**
 * Which protocol a group's members speak: "consumer" for Brook's own consumers (ConsumerGroupHeartbeat),
 * "classic" for Kafka clients (JoinGroup/SyncGroup, through the Kafka listener).
 */
export type GroupType = "consumer" | "classic";

/** A group as the broker coordinating it lists it. */
export interface GroupOverview {
  groupId: string;
  /**
   * Brook's groups: "empty" | "assigning" | "reconciling" | "stable"; classic groups: "empty" |
   * "preparing-rebalance" | "completing-rebalance" | "stable".
   */
  state: string;
  members: number;
  /** Broker id of the group's coordinator. */
  coordinator: number;
  type: GroupType;
  /** Kafka's protocol type: "consumer" for consumer groups of either kind. */
  protocolType: string;
}

export interface GroupMember {
  memberId: string;
  /** The static member's groupInstanceId; null for a dynamic member. */
  instanceId: string | null;
  clientId: string;
  clientHost: string;
  /** The assignment epoch the member has fully reconciled to; a classic member: the group's generation. */
  memberEpoch: number;
  subscribedTopicNames: string[];
  /** null when the member subscribed by names only. */
  subscribedTopicRegex: string | null;
  /** The partitions it holds now; a classic member: what its group's leader last assigned it. */
  assignment: TopicPartition[];
  /** The partitions the coordinator is moving it to (Brook's groups only). */
  targetAssignment: TopicPartition[];
  /**
   * The bytes the member keeps with the coordinator (ConsumerOptions.memberMetadata, setMemberMetadata());
   * undefined when it has none. Brook's groups only.
   */
  metadata?: Buffer;
}

export interface GroupDescription {
  groupId: string;
  /** As GroupOverview.state, or "dead" when the coordinator has no such group. */
  state: string;
  /** null when the group does not exist. */
  type: GroupType | null;
  protocolType: string;
  /** A classic group: the assignor its members chose ("range", "cooperative-sticky", ...); "" otherwise. */
  protocolName: string;
  /**
   * Who assigns the partitions: a Brook group's server-side assignor ("uniform" or "range"); a classic
   * group's assignor, chosen by its Kafka clients (its protocolName); "" when the group does not exist.
   */
  assignor: string;
  /** A classic group's generation; 0 for Brook's groups. */
  generationId: number;
  groupEpoch: number;
  assignmentEpoch: number;
  coordinator: number;
  members: GroupMember[];
}

/** A committed offset: the next offset the group will consume, or -1 when it has committed none. */
export interface GroupOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata: string;
}

/** `brook group describe G --json` (docs/decisions.md): fields may be added, never renamed. */
export interface GroupLag {
  group: string;
  state: string;
  /** null when the group has only committed offsets and no record of members (it does not exist). */
  type: GroupType | null;
  /**
   * The group's assignor: a Brook group's server-side one ("uniform" or "range"), a classic group's as its
   * Kafka clients chose it ("" before they chose); null when the group does not exist.
   */
  assignor: string | null;
  members: GroupLagMember[];
  /** Every partition of every topic the group has committed offsets on or a member is assigned. */
  partitions: PartitionLag[];
  /** The sum of every known lag (partitions whose lag is null count for nothing). */
  totalLag: number;
}

export interface GroupLagMember {
  memberId: string;
  instanceId: string | null;
  clientId: string;
  host: string;
  /** The partitions it holds now. */
  partitions: TopicPartition[];
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** -1: the group has committed nothing here. */
  committedOffset: number;
  /**
   * The last stable offset (the high watermark where no transaction is open: the two differ only while
   * one is); null when the topic no longer exists. Named logEndOffset since before transactions.
   */
  logEndOffset: number | null;
  /**
   * logEndOffset − committedOffset (never below 0). null when nothing is committed, as Kafka's tool shows
   * "-": where the group would start depends on its consumers' reset policy, which only they know.
   */
  lag: number | null;
}

/** Where resetOffsets moves a group: the log start, the high watermark, an offset, or a time (ms). */
export type ResetTarget = "earliest" | "latest" | { offset: number } | { timestamp: number };

export interface ResetOffsetsOptions {
  groupId: string;
  topic: string;
  /**
   * An offset is clamped into [log start, high watermark]; a timestamp moves to the first offset whose
   * record is at or after it, or to the high watermark when none is.
   */
  to: ResetTarget;
  /** Every partition of the topic when omitted. */
  partitions?: number[];
  /** Compute the new offsets (and check that the group has no members) without committing them. */
  dryRun?: boolean;
}

export interface DeleteGroupResult {
  groupId: string;
}

/** An admin's commit names no member (proto: member_id "" and member_epoch -1). */
const adminMemberEpoch = -1;

export class GroupAdmin {
  private readonly coordinators: GroupCoordinators;

  constructor(private readonly cluster: Cluster) {
    this.coordinators = new GroupCoordinators(cluster);
  }

  /** Every broker lists the groups it coordinates; the answers are merged and sorted by group id. */
  async listGroups(): Promise<GroupOverview[]> {
    const { brokers } = await this.retrying(() => this.cluster.callAny("metadata", { topics: [] }));
    const answers = await Promise.all(
      brokers.map((broker) =>
        this.retrying(async () => {
          const response = await this.cluster.call(brokerAddress(broker), "listGroups", {});
          const error = fromWireError(response.error);
          if (error !== undefined) throw namedError(error, `ListGroups on broker ${broker.id}`);
          return response.groups;
        }),
      ),
    );
    return mergeListedGroups(answers.flat());
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const response = await aboutGroup(
      groupId,
      this.coordinators.call(
        groupId,
        "describeGroups",
        { groupIds: [groupId] },
        (answer) => answerFor(answer.groups, groupId, "DescribeGroups").error,
      ),
    );
    return toGroupDescription(answerFor(response.groups, groupId, "DescribeGroups"));
  }

  /**
   * The group's committed offsets: on every partition of `topics` (-1 where nothing is committed), or,
   * when `topics` is omitted or empty, wherever the group has committed.
   */
  async fetchOffsets({
    groupId,
    topics = [],
  }: {
    groupId: string;
    topics?: string[];
  }): Promise<GroupOffset[]> {
    const wanted = await Promise.all(
      topics.map(async (topic) => ({ topic, partitions: await this.partitionsOf(topic) })),
    );
    const response = await aboutGroup(
      groupId,
      this.coordinators.call(groupId, "offsetFetch", { groupId, topics: wanted }, (answer) =>
        firstError(answer.error, answer.topics),
      ),
    );
    return response.topics
      .flatMap(({ topic, partitions }) =>
        partitions.map(({ partition, offset, metadata }) => ({ topic, partition, offset, metadata })),
      )
      .sort(byTopicPartition);
  }

  /** How far behind the group is on each partition; rejects with GROUP_ID_NOT_FOUND for an unknown group. */
  async groupLag(groupId: string): Promise<GroupLag> {
    const [group, committed] = await Promise.all([
      this.describeGroup(groupId),
      this.fetchOffsets({ groupId }),
    ]);
    if (group.state === "dead" && committed.length === 0) {
      throw new BrookError("GROUP_ID_NOT_FOUND", `group "${groupId}" does not exist`);
    }
    const logEndOffsets = await this.logEndOffsets(lagTopics(group, committed));
    return toGroupLag(group, committed, logEndOffsets);
  }

  /**
   * Moves the group's committed offsets on `topic` and resolves with them. The coordinator refuses
   * (NON_EMPTY_GROUP) while the group has members: stop its consumers first.
   */
  async resetOffsets({
    groupId,
    topic,
    to,
    partitions,
    dryRun = false,
  }: ResetOffsetsOptions): Promise<TopicPartitionOffset[]> {
    checkResetTarget(to);
    const chosen = partitions === undefined ? await this.partitionsOf(topic) : checkPartitions(partitions);
    const at = (timestamp: number) =>
      listOffsets(
        this.cluster,
        chosen.map((partition) => ({ topic, partition, timestamp })),
      );
    const [earliest, latest, atTimestamp] = await Promise.all([
      at(OffsetSpec.earliest),
      at(OffsetSpec.latest),
      typeof to === "object" && "timestamp" in to ? at(to.timestamp) : undefined,
    ]);
    const offsets = chosen.map((partition, index) => ({
      topic,
      partition,
      offset: targetOffset(to, {
        earliest: earliest[index],
        latest: latest[index],
        atTimestamp: atTimestamp?.[index],
      }),
    }));
    if (dryRun) await this.checkEmpty(groupId);
    else await this.commit(groupId, offsets);
    return offsets;
  }

  /** Deletes empty groups and their offsets; rejects with the first group's error (e.g. NON_EMPTY_GROUP). */
  async deleteGroups(groupIds: string[]): Promise<DeleteGroupResult[]> {
    const settled = await Promise.allSettled(
      groupIds.map((groupId) =>
        aboutGroup(
          groupId,
          this.coordinators.call(
            groupId,
            "deleteGroups",
            { groupIds: [groupId] },
            (answer) => answerFor(answer.results, groupId, "DeleteGroups").error,
          ),
        ),
      ),
    );
    const failed = settled.find((result) => result.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    for (const groupId of groupIds) this.coordinators.forget(groupId);
    return groupIds.map((groupId) => ({ groupId }));
  }

  private async commit(groupId: string, offsets: TopicPartitionOffset[]): Promise<void> {
    const topics = [...new Set(offsets.map(({ topic }) => topic))].map((topic) => ({
      topic,
      partitions: offsets
        .filter((each) => each.topic === topic)
        .map(({ partition, offset }) => ({ partition, offset, metadata: "" })),
    }));
    await aboutGroup(
      groupId,
      this.coordinators.call(
        groupId,
        "offsetCommit",
        { groupId, memberId: "", memberEpoch: adminMemberEpoch, topics },
        (answer) => firstError(answer.error, answer.topics),
      ),
    );
  }

  /** What the coordinator would refuse a commit for, checked by a dry run. */
  private async checkEmpty(groupId: string): Promise<void> {
    const group = await this.describeGroup(groupId).catch((error: unknown) => {
      if (error instanceof BrookError && error.code === "GROUP_ID_NOT_FOUND") return undefined;
      throw error;
    });
    if (group !== undefined && group.members.length > 0) {
      throw new BrookError(
        "NON_EMPTY_GROUP",
        `group "${groupId}" has ${group.members.length} member(s); stop its consumers first (brook group describe shows them)`,
      );
    }
  }

  /**
   * The last stable offset of each partition of each topic (indexed by partition; the high watermark
   * where no transaction is open); none for a deleted topic.
   */
  private async logEndOffsets(topics: string[]): Promise<Map<string, number[] | undefined>> {
    const partitions = await Promise.all(
      topics.map((topic) =>
        this.partitionsOf(topic).catch((error: unknown) => {
          if (error instanceof BrookError && error.code === "UNKNOWN_TOPIC") return undefined;
          throw error;
        }),
      ),
    );
    const queries = topics.flatMap((topic, index) =>
      (partitions[index] ?? []).map((partition) => ({ topic, partition, timestamp: OffsetSpec.latest })),
    );
    const offsets = await listOffsets(this.cluster, queries, "read_committed");
    const ends = new Map<string, number[] | undefined>(
      topics.map((topic, index) => [topic, partitions[index] === undefined ? undefined : []]),
    );
    for (const [index, { topic, partition }] of queries.entries()) {
      ends.get(topic)![partition] = offsets[index];
    }
    return ends;
  }

  private async partitionsOf(topic: string): Promise<number[]> {
    const metadata = await this.retrying(() => this.cluster.metadata.topic(topic));
    return metadata.partitions.map(({ partition }) => partition);
  }

  private retrying<T>(task: () => Promise<T>): Promise<T> {
    const { retry, random } = this.cluster.options;
    return withRetry(retry, { random, onRetry: () => this.cluster.metadata.markStale() }, task);
  }
}

/** One entry per group, sorted by id; a group two brokers list (its coordinator just moved) appears once. */
function mergeListedGroups(listed: ListedGroup__Output[]): GroupOverview[] {
  const byId = new Map<string, GroupOverview>();
  for (const { groupId, state, members, coordinator, type, protocolType } of listed) {
    if (!byId.has(groupId)) {
      byId.set(groupId, {
        groupId,
        state,
        members,
        coordinator,
        type: groupType(type) ?? "consumer",
        protocolType,
      });
    }
  }
  return [...byId.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
}

/** The offset a reset moves a partition to, given its log start, high watermark and timestamp lookup. */
function targetOffset(
  to: ResetTarget,
  { earliest, latest, atTimestamp }: { earliest: number; latest: number; atTimestamp?: number },
): number {
  if (to === "earliest") return earliest;
  if (to === "latest") return latest;
  if ("offset" in to) return Math.min(latest, Math.max(earliest, to.offset));
  // ListOffsets answers -1 when no record is at or after the time: nothing to re-read, so the end.
  return atTimestamp === undefined || atTimestamp < 0 ? latest : atTimestamp;
}

/** Lag on every partition of the topics the group has offsets on or is assigned; pure. */
function toGroupLag(
  group: GroupDescription,
  committed: GroupOffset[],
  logEndOffsets: Map<string, number[] | undefined>,
): GroupLag {
  const committedAt = new Map(
    committed.map(({ topic, partition, offset }) => [key(topic, partition), offset]),
  );
  const partitions = [...logEndOffsets].flatMap(([topic, ends]) => {
    const numbers =
      ends === undefined
        ? committed.filter((each) => each.topic === topic).map(({ partition }) => partition)
        : ends.map((_, partition) => partition);
    return numbers.map((partition) =>
      partitionLag(topic, partition, committedAt.get(key(topic, partition)) ?? -1, ends?.[partition] ?? null),
    );
  });
  return {
    group: group.groupId,
    state: group.state,
    type: group.type,
    assignor: group.type === null ? null : group.assignor,
    members: group.members.map(({ memberId, instanceId, clientId, clientHost, assignment }) => ({
      memberId,
      instanceId,
      clientId,
      host: clientHost,
      partitions: assignment,
    })),
    partitions,
    totalLag: partitions.reduce((sum, { lag }) => sum + (lag ?? 0), 0),
  };
}

function partitionLag(
  topic: string,
  partition: number,
  committedOffset: number,
  logEndOffset: number | null,
): PartitionLag {
  // A commit past the high watermark (the log was truncated under it) leaves nothing to read: lag 0.
  const lag =
    committedOffset < 0 || logEndOffset === null ? null : Math.max(0, logEndOffset - committedOffset);
  return { topic, partition, committedOffset, logEndOffset, lag };
}

/** The topics the group has committed offsets on or whose partitions a member holds or is moving to. */
function lagTopics(group: GroupDescription, committed: GroupOffset[]): string[] {
  const assigned = group.members.flatMap((member) => [...member.assignment, ...member.targetAssignment]);
  return [...new Set([...committed, ...assigned].map(({ topic }) => topic))].sort();
}

function toGroupDescription(group: GroupDescription__Output): GroupDescription {
  return {
    groupId: group.groupId,
    state: group.state,
    // A broker from before classic groups leaves the type out: its groups are all Brook's.
    type: group.state === "dead" ? null : (groupType(group.type) ?? "consumer"),
    protocolType: group.protocolType,
    protocolName: group.protocolName,
    assignor: assignorOf(group),
    generationId: group.generationId,
    groupEpoch: group.groupEpoch,
    assignmentEpoch: group.assignmentEpoch,
    coordinator: group.coordinator,
    members: group.members.map(toGroupMember),
  };
}

/** A Brook group's server-side assignor (a broker from before them leaves it out: uniform), or a classic group's. */
function assignorOf(group: GroupDescription__Output): string {
  if (group.state === "dead") return "";
  if (group.type === "classic") return group.protocolName;
  return group.serverAssignor || "uniform";
}

function groupType(type: string): GroupType | undefined {
  return type === "consumer" || type === "classic" ? type : undefined;
}

function toGroupMember(member: GroupMemberDescription__Output): GroupMember {
  return {
    memberId: member.memberId,
    instanceId: member.instanceId === "" ? null : member.instanceId,
    clientId: member.clientId,
    clientHost: member.clientHost,
    memberEpoch: member.memberEpoch,
    subscribedTopicNames: member.subscribedTopicNames,
    subscribedTopicRegex: member.subscribedTopicRegex === "" ? null : member.subscribedTopicRegex,
    assignment: toTopicPartitions(member.assignment),
    targetAssignment: toTopicPartitions(member.targetAssignment),
    ...(member.memberMetadata.length > 0 ? { metadata: member.memberMetadata } : {}),
  };
}

function toTopicPartitions(groups: GroupTopicPartitions__Output[]): TopicPartition[] {
  return groups
    .flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition })))
    .sort(byTopicPartition);
}

/** The answer about `groupId` in a per-group list; a broker that leaves it out broke the contract. */
function answerFor<T extends { groupId: string }>(answers: T[], groupId: string, rpc: string): T {
  const answer = answers.find((each) => each.groupId === groupId);
  if (answer === undefined) {
    throw new BrookError(
      "UNKNOWN_SERVER_ERROR",
      `the coordinator did not answer ${rpc} for group "${groupId}"`,
    );
  }
  return answer;
}

/** The request's error, else the first partition's, named after its partition. */
function firstError(
  error: WireError__Output | null,
  topics: { topic: string; partitions: { partition: number; error: WireError__Output | null }[] }[],
): WireError__Output | undefined {
  if (fromWireError(error) !== undefined) return error!;
  for (const { topic, partitions } of topics) {
    for (const { partition, error: partitionError } of partitions) {
      const typed = fromWireError(partitionError);
      if (typed !== undefined) return { code: typed.code, message: `${topic}-${partition}: ${typed.detail}` };
    }
  }
  return undefined;
}

/** Names the group in the error a call about it rejects with, unless the broker's message already does. */
async function aboutGroup<T>(groupId: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (!(error instanceof BrookError)) throw error;
    const message = error.detail;
    if ([`'${groupId}'`, `"${groupId}"`].some((name) => message.includes(name))) throw error;
    throw namedError(error, `group "${groupId}"`);
  }
}

function checkResetTarget(to: ResetTarget): void {
  if (typeof to === "string") return;
  const value = "offset" in to ? to.offset : to.timestamp;
  if (!Number.isSafeInteger(value) || value < 0) {
    const what = "offset" in to ? "offset" : "timestamp";
    throw new BrookError("INVALID_REQUEST", `reset to ${what} ${value}: give a whole number ≥ 0`);
  }
}

/** Distinct, sorted partition numbers; at least one. */
function checkPartitions(partitions: number[]): number[] {
  if (partitions.length === 0 || !partitions.every((p) => Number.isSafeInteger(p) && p >= 0)) {
    throw new BrookError("INVALID_REQUEST", `partitions must be whole numbers ≥ 0, got [${partitions}]`);
  }
  return [...new Set(partitions)].sort((a, b) => a - b);
}

function byTopicPartition(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
