// Consumer groups for Kafka clients: offsets in the same __consumer_offsets as Brook's own groups, and
// the classic protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) on the broker's group coordinator.

import { KafkaErrorCode } from "../error-codes.js";
import { kafkaErrorCodeOfWire } from "../errors.js";
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
  OffsetFetchResponseGroupTopicInput,
  OffsetFetchResponseInput,
  SyncGroupRequest,
  SyncGroupResponseInput,
} from "../generated/messages.js";
import { type RequestContext, toInt64 } from "./context.js";

const codeOf = kafkaErrorCodeOfWire;

export async function offsetFetch(
  request: OffsetFetchRequest,
  ctx: RequestContext,
): Promise<OffsetFetchResponseInput> {
  // v8 batches groups; earlier versions ask for one, with the answer at the top level.
  const asked =
    ctx.apiVersion >= 8
      ? request.groups.map((group) => ({ groupId: group.groupId, topics: group.topics }))
      : [{ groupId: request.groupId, topics: request.topics }];
  const groups = await Promise.all(asked.map((group) => fetchGroupOffsets(group.groupId, group.topics, ctx)));
  const [first] = groups;
  return {
    throttleTimeMs: 0,
    topics: first?.topics ?? [],
    errorCode: first?.errorCode ?? KafkaErrorCode.NONE,
    groups,
  };
}

async function fetchGroupOffsets(
  groupId: string,
  topics: { name: string; partitionIndexes: number[] }[] | null,
  ctx: RequestContext,
): Promise<{ groupId: string; errorCode: number; topics: OffsetFetchResponseGroupTopicInput[] }> {
  const answer = await ctx.broker.groups.offsetFetch({
    groupId,
    topics: (topics ?? []).map((topic) => ({ topic: topic.name, partitions: topic.partitionIndexes })),
  });
  const errorCode = codeOf(answer.error);
  return {
    groupId,
    errorCode,
    topics: (answer.topics ?? []).map((topic) => ({
      name: topic.topic ?? "",
      partitions: (topic.partitions ?? []).map((p) => ({
        partitionIndex: p.partition ?? 0,
        committedOffset: toInt64(Number(p.offset ?? -1)),
        committedLeaderEpoch: -1,
        metadata: p.metadata ?? "",
        errorCode: codeOf(p.error),
      })),
    })),
  };
}

export async function listGroups(
  _request: ListGroupsRequest,
  ctx: RequestContext,
): Promise<ListGroupsResponseInput> {
  const answer = await ctx.broker.groups.listGroups();
  return {
    throttleTimeMs: 0,
    errorCode: codeOf(answer.error),
    groups: (answer.groups ?? []).map((group) => ({
      groupId: group.groupId ?? "",
      protocolType: "consumer",
      groupState: group.state ?? "",
    })),
  };
}

export async function deleteGroups(
  request: DeleteGroupsRequest,
  ctx: RequestContext,
): Promise<DeleteGroupsResponseInput> {
  const answer = await ctx.broker.groups.deleteGroups({ groupIds: request.groupsNames });
  return {
    throttleTimeMs: 0,
    results: (answer.results ?? []).map((result) => ({
      groupId: result.groupId ?? "",
      errorCode: codeOf(result.error),
    })),
  };
}

const classicPending = (api: string) => {
  throw new Error(`${api}: the classic group protocol is not wired yet`);
};

export async function offsetCommit(
  _request: OffsetCommitRequest,
  _ctx: RequestContext,
): Promise<OffsetCommitResponseInput> {
  return classicPending("OffsetCommit");
}
export async function joinGroup(
  _request: JoinGroupRequest,
  _ctx: RequestContext,
): Promise<JoinGroupResponseInput> {
  return classicPending("JoinGroup");
}
export async function syncGroup(
  _request: SyncGroupRequest,
  _ctx: RequestContext,
): Promise<SyncGroupResponseInput> {
  return classicPending("SyncGroup");
}
export async function heartbeat(
  _request: HeartbeatRequest,
  _ctx: RequestContext,
): Promise<HeartbeatResponseInput> {
  return classicPending("Heartbeat");
}
export async function leaveGroup(
  _request: LeaveGroupRequest,
  _ctx: RequestContext,
): Promise<LeaveGroupResponseInput> {
  return classicPending("LeaveGroup");
}
export async function describeGroups(
  _request: DescribeGroupsRequest,
  _ctx: RequestContext,
): Promise<DescribeGroupsResponseInput> {
  return classicPending("DescribeGroups");
}
