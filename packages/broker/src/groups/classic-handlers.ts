// The classic group API the Kafka listener serves Kafka clients with (JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup, OffsetCommit/Fetch, DescribeGroups, ListGroups, DeleteGroups): plain request and response
// types of the broker's own (the broker never imports the Kafka codec), argument checks, and the group
// lookup, around the coordinator (I/O) and ClassicGroup (rules). A failure of the whole request rejects
// with a BrookError whose code the listener maps to Kafka's; per-member, per-partition and per-group
// failures are in the answer. docs/consumer-groups.md, "Kafka clients (classic protocol)", has the rules.
//
// JoinGroup and SyncGroup are long polls: their promises settle when the group decides (at the latest
// by the group's rebalance timeout). Pass an AbortSignal and abort it when the connection closes: the
// wait is dropped at once and the member's session starts counting.

import {
  asBrookError,
  BrookError,
  CONSUMER_PROTOCOL_TYPE,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
} from "@brook/protocol";
import type { BrokerContext } from "../context.js";
import type { TopicPartition } from "./assignor.js";
import type { GroupType } from "./base-group.js";
import type {
  ClassicGroup,
  ClassicGroupState,
  ClassicJoinInput,
  ClassicJoinResult,
  ClassicMemberIdentity,
  ClassicProtocol,
  ClassicSyncResult,
} from "./classic-group.js";
import type { Group, GroupCoordinator } from "./coordinator.js";

export type { ClassicJoinResult, ClassicProtocol, ClassicSyncResult };

/**
 * A JoinGroup as the rulebook takes it (ClassicJoinInput), plus the group, the reason (v8+, logged), and
 * v0's rebalance timeout of -1 (the session timeout); skip-assignment support (v9+) defaults to false.
 */
export interface ClassicJoinGroupRequest extends Omit<ClassicJoinInput, "supportsSkipAssignment"> {
  groupId: string;
  supportsSkipAssignment?: boolean;
  reason?: string | null;
}

export type ClassicJoinGroupResponse = ClassicJoinResult;

export interface ClassicSyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** SyncGroup v5: checked against the group's when given. */
  protocolType?: string | null;
  protocolName?: string | null;
  /** The leader's assignment, one entry per member; followers send none. */
  assignments: readonly { memberId: string; assignment: Buffer }[];
}

export type ClassicSyncGroupResponse = ClassicSyncResult;

export interface ClassicHeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface ClassicLeaveGroupRequest {
  groupId: string;
  /** One member (LeaveGroup v0-2), or several (v3+); an instance id with member id "" names a static member. */
  members: readonly (ClassicMemberIdentity & { reason?: string | null })[];
}

export interface ClassicLeaveGroupResponse {
  /** In request order; `error` unset for a member that left. */
  members: (ClassicMemberIdentity & { error?: BrookError })[];
}

export interface ClassicOffsetCommitRequest {
  groupId: string;
  /** -1 with member id "" for a "simple" commit (no group membership): allowed while the group is empty. */
  generationId: number;
  memberId: string;
  /** OffsetCommit v7+. */
  groupInstanceId: string | null;
  topics: readonly {
    topic: string;
    partitions: readonly {
      partition: number;
      offset: number;
      leaderEpoch?: number;
      metadata: string | null;
    }[];
  }[];
}

export interface ClassicOffsetCommitResponse {
  topics: { topic: string; partitions: { partition: number; error?: BrookError }[] }[];
}

export interface ClassicOffsetFetchRequest {
  groupId: string;
  /** null: every partition the group has committed on. */
  topics: readonly { topic: string; partitions: readonly number[] }[] | null;
  /** OffsetFetch v7+'s RequireStable (KIP-447): partitions with a transaction's offset pending are unstable. */
  requireStable?: boolean;
}

export interface ClassicOffsetFetchResponse {
  /** offset -1 where nothing is committed; leaderEpoch -1 where none was given. */
  topics: {
    topic: string;
    partitions: {
      partition: number;
      offset: number;
      leaderEpoch: number;
      metadata: string;
      /** UNSTABLE_OFFSET_COMMIT (offset -1) where a transaction's offset is pending and stability was required. */
      error?: BrookError;
    }[];
  }[];
}

export interface ClassicGroupDescription {
  groupId: string;
  /** NOT_COORDINATOR and the like; an absent group is state "Dead" without an error, as in Kafka. */
  error?: BrookError;
  /** Kafka's names: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead; Brook's groups: Empty, Reconciling, Stable. */
  state: string;
  protocolType: string;
  /** The chosen assignor; "" unless Stable (Kafka's rule). */
  protocolName: string;
  /** "classic", or "consumer" for a group of Brook's own consumers; null when absent. */
  type: GroupType | null;
  /** Metadata and assignment are empty unless the group is Stable (Kafka's rule). */
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    metadata: Buffer;
    assignment: Buffer;
  }[];
}

export interface ClassicListGroupsRequest {
  /** ListGroups v4+: Kafka's state names, any case; empty or absent for all. */
  statesFilter?: readonly string[];
  /** ListGroups v5+: "classic" / "consumer", any case; empty or absent for all. */
  typesFilter?: readonly string[];
}

export interface ClassicListedGroup {
  groupId: string;
  /** "consumer" for consumer groups of either protocol (Brook's groups too, as Kafka 4 lists KIP-848 groups). */
  protocolType: string;
  state: string;
  type: GroupType;
}

export interface ClassicDeleteGroupResult {
  groupId: string;
  /** GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, NOT_COORDINATOR, ...; unset when deleted. */
  error?: BrookError;
}

export interface OffsetToCommit extends TopicPartition {
  offset: number;
  metadata: string;
  leaderEpoch?: number;
}

/** Kafka's offset.metadata.max.bytes. */
const offsetMetadataMaxChars = 4096;

export class ClassicGroupHandlers {
  constructor(
    private readonly ctx: BrokerContext,
    private readonly coordinator: GroupCoordinator,
  ) {}

  async joinGroup(
    request: ClassicJoinGroupRequest,
    options: { signal?: AbortSignal } = {},
  ): Promise<ClassicJoinGroupResponse> {
    const sessionTimeoutMs = this.checkSessionTimeout(request.sessionTimeoutMs);
    const { shard, group } = this.coordinator.classicGroup(request.groupId, request.memberId === "");
    if (group === undefined) throw unknownMember(request.groupId, request.memberId);
    if (request.reason) {
      this.ctx.logger.debug(
        { group: request.groupId, member: request.memberId, reason: request.reason },
        "JoinGroup",
      );
    }
    return this.coordinator.classic.join(
      shard,
      group,
      {
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        clientId: request.clientId,
        clientHost: request.clientHost,
        sessionTimeoutMs,
        rebalanceTimeoutMs: request.rebalanceTimeoutMs > 0 ? request.rebalanceTimeoutMs : sessionTimeoutMs,
        protocolType: request.protocolType,
        protocols: request.protocols,
        requireKnownMemberId: request.requireKnownMemberId && request.groupInstanceId === null,
        supportsSkipAssignment: request.supportsSkipAssignment ?? false,
      },
      options.signal,
    );
  }

  async syncGroup(
    request: ClassicSyncGroupRequest,
    options: { signal?: AbortSignal } = {},
  ): Promise<ClassicSyncGroupResponse> {
    const { shard, group } = this.existing(request.groupId, request.memberId);
    return this.coordinator.classic.sync(
      shard,
      group,
      {
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        generationId: request.generationId,
        protocolType: request.protocolType ?? null,
        protocolName: request.protocolName ?? null,
        assignments: request.assignments,
      },
      options.signal,
    );
  }

  async heartbeat(request: ClassicHeartbeatRequest): Promise<void> {
    const { shard, group } = this.existing(request.groupId, request.memberId);
    await this.coordinator.classic.heartbeat(shard, group, request);
  }

  async leaveGroup(request: ClassicLeaveGroupRequest): Promise<ClassicLeaveGroupResponse> {
    const { shard, group } = this.coordinator.classicGroup(request.groupId, false);
    const identities = request.members.map(({ memberId, groupInstanceId }) => ({
      memberId,
      groupInstanceId,
    }));
    const errors =
      group === undefined
        ? identities.map(({ memberId }) => unknownMember(request.groupId, memberId))
        : await this.coordinator.classic.leave(shard, group, identities);
    for (const [index, { memberId, groupInstanceId, reason }] of request.members.entries()) {
      if (errors[index] !== undefined) continue;
      this.ctx.logger.info(
        { group: request.groupId, member: memberId, instanceId: groupInstanceId, reason },
        "member left classic group",
      );
    }
    return {
      members: identities.map((identity, index) => ({
        ...identity,
        ...(errors[index] && { error: errors[index] }),
      })),
    };
  }

  /** OffsetCommit v2-8: the classic validation (Kafka's), then the same offset records Brook's groups write. */
  async offsetCommit(request: ClassicOffsetCommitRequest): Promise<ClassicOffsetCommitResponse> {
    const image = this.ctx.metadata.image;
    const { shard, group: found } = this.coordinator.locate(request.groupId);
    const group = found ?? this.absentGroupForCommit(request);
    validateClassicCommit(group, request);
    const accepted: OffsetToCommit[] = [];
    const topics = request.topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map(({ partition, offset, leaderEpoch, metadata }) => {
        const error = checkCommit(
          image.topic(topic)?.partitions.length,
          topic,
          partition,
          offset,
          metadata ?? "",
        );
        if (error === undefined) {
          accepted.push({
            topic,
            partition,
            offset,
            metadata: metadata ?? "",
            ...(leaderEpoch !== undefined && leaderEpoch >= 0 && { leaderEpoch }),
          });
        }
        return error === undefined ? { partition } : { partition, error };
      }),
    }));
    await this.coordinator.commitOffsets(shard, group, accepted);
    return { topics };
  }

  async offsetFetch(request: ClassicOffsetFetchRequest): Promise<ClassicOffsetFetchResponse> {
    const wanted =
      request.topics?.flatMap(({ topic, partitions }) =>
        partitions.map((partition) => ({ topic, partition })),
      ) ?? null;
    const topics = await this.coordinator.fetchOffsets(request.groupId, wanted, {
      requireStable: request.requireStable,
    });
    return {
      topics: topics.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map(({ partition, committed, unstable }) => ({
          partition,
          offset: committed?.offset ?? -1,
          leaderEpoch: committed?.leaderEpoch ?? -1,
          metadata: committed?.metadata ?? "",
          ...(unstable && { error: unstableOffset(request.groupId, topic, partition) }),
        })),
      })),
    };
  }

  async describeGroups(groupIds: readonly string[]): Promise<ClassicGroupDescription[]> {
    return Promise.all(
      groupIds.map(async (groupId): Promise<ClassicGroupDescription> => {
        try {
          const { shard, group } = this.coordinator.locate(groupId);
          await this.coordinator.committed(shard);
          return describe(groupId, group);
        } catch (error) {
          return { ...describe(groupId, undefined), error: asBrookError(error) };
        }
      }),
    );
  }

  /** The groups this broker coordinates (the listener asks every broker, as Kafka clients do). */
  async listGroups(request: ClassicListGroupsRequest = {}): Promise<ClassicListedGroup[]> {
    const states = new Set((request.statesFilter ?? []).map((state) => state.toLowerCase()));
    const types = new Set((request.typesFilter ?? []).map((type) => type.toLowerCase()));
    return [...this.coordinator.groups()]
      .map(
        (group): ClassicListedGroup => ({
          groupId: group.groupId,
          protocolType: protocolTypeOf(group),
          state: kafkaState(group),
          type: group.type,
        }),
      )
      .filter(
        ({ state, type }) =>
          (states.size === 0 || states.has(state.toLowerCase())) && (types.size === 0 || types.has(type)),
      );
  }

  async deleteGroups(groupIds: readonly string[]): Promise<ClassicDeleteGroupResult[]> {
    return Promise.all(
      groupIds.map(async (groupId) => {
        try {
          await this.coordinator.deleteGroup(groupId);
          return { groupId };
        } catch (error) {
          return { groupId, error: asBrookError(error) };
        }
      }),
    );
  }

  private checkSessionTimeout(sessionTimeoutMs: number): number {
    const { sessionTimeoutMsMin, sessionTimeoutMsMax } = this.coordinator.config;
    if (sessionTimeoutMs < sessionTimeoutMsMin || sessionTimeoutMs > sessionTimeoutMsMax) {
      throw new BrookError(
        "INVALID_SESSION_TIMEOUT",
        `session timeout must be ${sessionTimeoutMsMin}-${sessionTimeoutMsMax} ms, got ${sessionTimeoutMs}`,
      );
    }
    return sessionTimeoutMs;
  }

  /** The classic group a member's SyncGroup or Heartbeat names: it must exist. */
  private existing(groupId: string, memberId: string) {
    const { shard, group } = this.coordinator.classicGroup(groupId, false);
    if (group === undefined) throw unknownMember(groupId, memberId);
    return { shard, group };
  }

  /** A simple commit makes a group with only offsets (Kafka's "simple" group); a member's commit to none is ILLEGAL_GENERATION. */
  private absentGroupForCommit(request: ClassicOffsetCommitRequest): Group {
    if (request.generationId < 0) return this.coordinator.offsetsOnlyGroup(request.groupId);
    throw new BrookError(
      "ILLEGAL_GENERATION",
      `group '${request.groupId}' does not exist (any more); member ${request.memberId} must join it again`,
    );
  }
}

/**
 * A classic commit to either kind of group. A classic group applies Kafka's rules (ClassicGroup). A
 * group of Brook's consumers takes only simple commits (generation -1), and only while it has no members.
 */
function validateClassicCommit(group: Group, request: ClassicOffsetCommitRequest): void {
  if (group.type === "classic") {
    group.validateCommit(request);
    return;
  }
  const simple = request.generationId < 0 && request.memberId === "" && request.groupInstanceId === null;
  if (group.memberCount > 0) {
    throw new BrookError(
      simple ? "UNKNOWN_MEMBER_ID" : "INCONSISTENT_GROUP_PROTOCOL",
      `group '${group.groupId}' has ${group.memberCount} Brook consumer(s) (not the classic protocol); only they may commit`,
    );
  }
  if (request.generationId >= 0) throw unknownMember(group.groupId, request.memberId);
}

/** One partition's commit, checked against the topic; undefined when it may be written. */
export function checkCommit(
  partitionCount: number | undefined,
  topic: string,
  partition: number,
  offset: number,
  metadata: string,
): BrookError | undefined {
  if (partitionCount === undefined) return new BrookError("UNKNOWN_TOPIC", `topic '${topic}' does not exist`);
  if (partition < 0 || partition >= partitionCount) {
    return new BrookError("UNKNOWN_PARTITION", `topic '${topic}' has partitions 0-${partitionCount - 1}`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0) {
    return new BrookError("INVALID_REQUEST", `committed offset must be >= 0, got ${offset}`);
  }
  if (metadata.length > offsetMetadataMaxChars) {
    return new BrookError(
      "INVALID_REQUEST",
      `offset metadata is limited to ${offsetMetadataMaxChars} characters`,
    );
  }
  return undefined;
}

/** OffsetFetch's answer, with stability required, for a partition a transaction holds an offset on (KIP-447). */
export function unstableOffset(groupId: string, topic: string, partition: number): BrookError {
  return new BrookError(
    "UNSTABLE_OFFSET_COMMIT",
    `a transaction that commits group '${groupId}'s offset on ${topic}-${partition} has not committed or aborted yet; retry once it ends`,
  );
}

/** Kafka's protocol type: "consumer" for Brook's groups (as Kafka 4 reports KIP-848 groups). */
export function protocolTypeOf(group: Group): string {
  return group.type === "consumer" ? CONSUMER_PROTOCOL_TYPE : (group.protocolType ?? "");
}

function describe(groupId: string, group: Group | undefined): ClassicGroupDescription {
  const absent = { groupId, state: "Dead", protocolType: "", protocolName: "", type: null, members: [] };
  if (group === undefined) return absent;
  if (group.type === "classic") return describeClassic(group);
  return {
    ...absent,
    state: kafkaState(group),
    protocolType: protocolTypeOf(group),
    type: "consumer",
    // Brook's members in ConsumerProtocol terms, so Kafka tools show their subscriptions and partitions.
    members: group.memberSnapshots().map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.instanceId === "" ? null : member.instanceId,
      clientId: member.clientId,
      clientHost: member.clientHost,
      metadata: encodeConsumerSubscription({ topics: member.subscribedTopicNames }),
      assignment: encodeConsumerAssignment({ assignedPartitions: groupByTopic(member.assigned) }),
    })),
  };
}

function describeClassic(group: ClassicGroup): ClassicGroupDescription {
  const stable = group.state === "Stable";
  const none = Buffer.alloc(0);
  return {
    groupId: group.groupId,
    state: group.state,
    protocolType: group.protocolType ?? "",
    protocolName: stable ? (group.protocolName ?? "") : "",
    type: "classic",
    members: group.memberViews().map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      clientId: member.clientId,
      clientHost: member.clientHost,
      metadata: stable ? group.metadataOf(member) : none,
      assignment: stable ? member.assignment : none,
    })),
  };
}

/** A group's state in Kafka's words: a classic group's as it is; Brook's capitalized (Kafka 4's names). */
function kafkaState(group: Group): ClassicGroupState | string {
  if (group.type === "classic") return group.state;
  return group.state.charAt(0).toUpperCase() + group.state.slice(1);
}

function groupByTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions)
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  return [...byTopic].map(([topic, list]) => ({ topic, partitions: list }));
}

function unknownMember(groupId: string, memberId: string): BrookError {
  return new BrookError(
    "UNKNOWN_MEMBER_ID",
    `group '${groupId}' has no member ${memberId === "" ? "without an id" : memberId}; join again`,
  );
}
