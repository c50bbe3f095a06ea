// Consumer groups for Kafka clients: the classic protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup)
// on the broker's group coordinator, and offsets in the same __consumer_offsets as Brook's own groups.
// Group-level failures arrive as a thrown BrookError and become the answer's error code; JoinGroup and
// SyncGroup wait for the rebalance, and end early when the client's connection closes.

import { MemberIdRequiredError } from "@brook/broker";
import { asBrookError, type BrookError } from "@brook/protocol";
import { CLUSTER_RESOURCE_NAME } from "@brook/security";
import { KafkaErrorCode } from "../error-codes.js";
import { kafkaErrorCodeOf } from "../errors.js";
import type {
  DeleteGroupsRequest,
  DeleteGroupsResponseInput,
  DescribeGroupsRequest,
  DescribeGroupsResponseInput,
  HeartbeatRequest,
  HeartbeatResponseInput,
  JoinGroupRequest,
  JoinGroupResponseInput,
  LeaveGroupRequest,
  LeaveGroupResponseInput,
  ListGroupsRequest,
  ListGroupsResponseInput,
  OffsetCommitRequest,
  OffsetCommitResponseInput,
  OffsetFetchRequest,
  OffsetFetchResponseGroupInput,
  OffsetFetchResponseInput,
  SyncGroupRequest,
  SyncGroupResponseInput,
} from "../generated/messages.js";
import { fromInt64, type RequestContext, requireAccess, toInt64 } from "./context.js";

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
const codeOf = (error: BrookError | undefined) =>
  error === undefined ? KafkaErrorCode.NONE : kafkaErrorCodeOf(error);
/** Before a version made these fields nullable, an absent value is sent as "". */
const orEmpty = (value: string | null) => value ?? "";

export async function joinGroup(
  request: JoinGroupRequest,
  ctx: RequestContext,
): Promise<JoinGroupResponseInput> {
  try {
    requireAccess(ctx, "read", "group", request.groupId);
    const joined = await ctx.broker.groups.classic.joinGroup(
      {
        groupId: request.groupId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        clientId: ctx.clientId ?? "",
        clientHost: ctx.clientHost,
        sessionTimeoutMs: request.sessionTimeoutMs,
        rebalanceTimeoutMs: request.rebalanceTimeoutMs,
        protocolType: request.protocolType,
        protocols: request.protocols,
        requireKnownMemberId: ctx.apiVersion >= 4,
        supportsSkipAssignment: ctx.apiVersion >= 9,
        reason: request.reason,
      },
      { signal: ctx.signal },
    );
    return {
      throttleTimeMs: 0,
      errorCode: KafkaErrorCode.NONE,
      generationId: joined.generationId,
      protocolType: joined.protocolType,
      protocolName: ctx.apiVersion >= 7 ? joined.protocolName : orEmpty(joined.protocolName),
      leader: joined.leaderId,
      skipAssignment: joined.skipAssignment,
      memberId: joined.memberId,
      members: joined.members,
    };
  } catch (error) {
    // KIP-394: a new member is told its id with MEMBER_ID_REQUIRED and joins again with it.
    const memberId = error instanceof MemberIdRequiredError ? error.memberId : request.memberId;
    return {
      throttleTimeMs: 0,
      errorCode: kafkaErrorCodeOf(error),
      generationId: -1,
      protocolType: null,
      protocolName: ctx.apiVersion >= 7 ? null : "",
      leader: "",
      memberId,
      members: [],
    };
  }
}

export async function syncGroup(
  request: SyncGroupRequest,
  ctx: RequestContext,
): Promise<SyncGroupResponseInput> {
  try {
    requireAccess(ctx, "read", "group", request.groupId);
    const synced = await ctx.broker.groups.classic.syncGroup(request, { signal: ctx.signal });
    return { throttleTimeMs: 0, errorCode: KafkaErrorCode.NONE, ...synced };
  } catch (error) {
    return {
      throttleTimeMs: 0,
      errorCode: kafkaErrorCodeOf(error),
      protocolType: null,
      protocolName: null,
      assignment: Buffer.alloc(0),
    };
  }
}

export async function heartbeat(
  request: HeartbeatRequest,
  ctx: RequestContext,
): Promise<HeartbeatResponseInput> {
  try {
    requireAccess(ctx, "read", "group", request.groupId);
    await ctx.broker.groups.classic.heartbeat(request);
    return { throttleTimeMs: 0, errorCode: KafkaErrorCode.NONE };
  } catch (error) {
    return { throttleTimeMs: 0, errorCode: kafkaErrorCodeOf(error) };
  }
}

export async function leaveGroup(
  request: LeaveGroupRequest,
  ctx: RequestContext,
): Promise<LeaveGroupResponseInput> {
  // v0-2 name one member; v3+ (KIP-345) a batch, static members by instance id.
  const members =
    ctx.apiVersion >= 3
      ? request.members.map(({ memberId, groupInstanceId, reason }) => ({
          memberId,
          groupInstanceId,
          reason,
        }))
      : [{ memberId: request.memberId, groupInstanceId: null }];
  try {
    requireAccess(ctx, "read", "group", request.groupId);
    const left = await ctx.broker.groups.classic.leaveGroup({ groupId: request.groupId, members });
    const results = left.members.map(({ memberId, groupInstanceId, error }) => ({
      memberId,
      groupInstanceId,
      errorCode: codeOf(error),
    }));
    return {
      throttleTimeMs: 0,
      errorCode: ctx.apiVersion >= 3 ? KafkaErrorCode.NONE : (results[0]?.errorCode ?? KafkaErrorCode.NONE),
      members: results,
    };
  } catch (error) {
    return { throttleTimeMs: 0, errorCode: kafkaErrorCodeOf(error), members: [] };
  }
}

export async function offsetCommit(
  request: OffsetCommitRequest,
  ctx: RequestContext,
): Promise<OffsetCommitResponseInput> {
  const topics = request.topics.map((topic) => ({
    topic: topic.name,
    partitions: topic.partitions.map((p) => ({
      partition: p.partitionIndex,
      offset: fromInt64(p.committedOffset),
      leaderEpoch: p.committedLeaderEpoch,
      metadata: p.committedMetadata,
    })),
  }));
  try {
    requireAccess(ctx, "read", "group", request.groupId);
    // Every topic must be readable; a commit naming one that is not fails whole (Kafka answers per topic).
    for (const topic of request.topics) requireAccess(ctx, "read", "topic", topic.name);
    const answer = await ctx.broker.groups.classic.offsetCommit({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      topics,
    });
    return {
      throttleTimeMs: 0,
      topics: answer.topics.map((topic) => ({
        name: topic.topic,
        partitions: topic.partitions.map((p) => ({
          partitionIndex: p.partition,
          errorCode: codeOf(p.error),
        })),
      })),
    };
  } catch (error) {
    const errorCode = kafkaErrorCodeOf(error);
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
      })),
    };
  }
}

export async function offsetFetch(
  request: OffsetFetchRequest,
  ctx: RequestContext,
): Promise<OffsetFetchResponseInput> {
  // v8 batches groups; earlier versions ask for one, answered at the top level.
  const asked =
    ctx.apiVersion >= 8
      ? request.groups.map(({ groupId, topics }) => ({ groupId, topics }))
      : [{ groupId: request.groupId, topics: request.topics }];
  // RequireStable (v7+, KIP-447) is one flag for every group of the request, as in Kafka.
  const requireStable = ctx.apiVersion >= 7 && request.requireStable;
  const groups = await Promise.all(
    asked.map(({ groupId, topics }) => fetchOffsets(groupId, topics, requireStable, ctx)),
  );
  const [first] = groups;
  return {
    throttleTimeMs: 0,
    topics: (first?.topics ?? []).map((topic) => ({ name: topic.name, partitions: topic.partitions })),
    errorCode: first?.errorCode ?? KafkaErrorCode.NONE,
    groups,
  };
}

async function fetchOffsets(
  groupId: string,
  topics: readonly { name: string; partitionIndexes: number[] }[] | null,
  requireStable: boolean,
  ctx: RequestContext,
): Promise<OffsetFetchResponseGroupInput> {
  try {
    requireAccess(ctx, "describe", "group", groupId);
    const answer = await ctx.broker.groups.classic.offsetFetch({
      groupId,
      topics:
        topics === null
          ? null
          : topics.map(({ name, partitionIndexes }) => ({ topic: name, partitions: partitionIndexes })),
      requireStable,
    });
    return {
      groupId,
      errorCode: KafkaErrorCode.NONE,
      topics: answer.topics.map((topic) => ({
        name: topic.topic,
        partitions: topic.partitions.map((p) => ({
          partitionIndex: p.partition,
          committedOffset: toInt64(p.offset),
          committedLeaderEpoch: p.leaderEpoch,
          metadata: p.metadata,
          errorCode: codeOf(p.error),
        })),
      })),
    };
  } catch (error) {
    return { groupId, errorCode: kafkaErrorCodeOf(error), topics: [] };
  }
}

export async function describeGroups(
  request: DescribeGroupsRequest,
  ctx: RequestContext,
): Promise<DescribeGroupsResponseInput> {
  const groups = await ctx.broker.groups.classic.describeGroups(request.groups);
  return {
    throttleTimeMs: 0,
    groups: groups.map((group) => ({
      errorCode: allowed(ctx, "describe", group.groupId)
        ? codeOf(group.error)
        : KafkaErrorCode.GROUP_AUTHORIZATION_FAILED,
      groupId: group.groupId,
      groupState: group.state,
      protocolType: group.protocolType,
      protocolData: group.protocolName,
      members: group.members.map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        memberMetadata: member.metadata,
        memberAssignment: member.assignment,
      })),
      authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    })),
  };
}

export async function listGroups(
  request: ListGroupsRequest,
  ctx: RequestContext,
): Promise<ListGroupsResponseInput> {
  try {
    const groups = await ctx.broker.groups.classic.listGroups({ statesFilter: request.statesFilter });
    // Describe on the cluster lists every group; else only those the caller may describe (as Kafka).
    const all = ctx.broker.access.allowed(ctx.caller, "describe", "cluster", CLUSTER_RESOURCE_NAME);
    const visible = all ? groups : groups.filter(({ groupId }) => allowed(ctx, "describe", groupId));
    return {
      throttleTimeMs: 0,
      errorCode: KafkaErrorCode.NONE,
      groups: visible.map(({ groupId, protocolType, state }) => ({
        groupId,
        protocolType,
        groupState: state,
      })),
    };
  } catch (error) {
    return { throttleTimeMs: 0, errorCode: kafkaErrorCodeOf(asBrookError(error)), groups: [] };
  }
}

export async function deleteGroups(
  request: DeleteGroupsRequest,
  ctx: RequestContext,
): Promise<DeleteGroupsResponseInput> {
  const permitted = request.groupsNames.filter((groupId) => allowed(ctx, "delete", groupId));
  const results = await ctx.broker.groups.classic.deleteGroups(permitted);
  const denied = request.groupsNames
    .filter((groupId) => !permitted.includes(groupId))
    .map((groupId) => ({ groupId, errorCode: KafkaErrorCode.GROUP_AUTHORIZATION_FAILED }));
  return {
    throttleTimeMs: 0,
    results: [...results.map(({ groupId, error }) => ({ groupId, errorCode: codeOf(error) })), ...denied],
  };
}

function allowed(ctx: RequestContext, operation: "describe" | "delete", groupId: string): boolean {
  return ctx.broker.access.allowed(ctx.caller, operation, "group", groupId);
}
