// The consumer-group RPCs: argument checks and wire shapes around the
// GroupCoordinator (I/O) and ConsumerGroup (rules). Failures a client acts on
// travel in the response's error fields, as the data-path RPCs' do. List and
// describe show classic groups too (Kafka clients'); `classic` is the domain
// API the Kafka listener serves them with (classic-handlers.ts).

import {
  asBrookError,
  BrookError,
  CONSUMER_PROTOCOL_TYPE,
  type ConsumerGroupHeartbeatRequest__Output,
  type ConsumerGroupHeartbeatResponse,
  type DeleteGroupsRequest__Output,
  type DeleteGroupsResponse,
  type DescribeGroupsRequest__Output,
  type DescribeGroupsResponse,
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  type FindCoordinatorRequest__Output,
  type FindCoordinatorResponse,
  type GroupDescription,
  type GroupMemberDescription,
  type GroupTopicPartitions,
  type ListedGroup,
  type ListGroupsResponse,
  noError,
  type OffsetCommitRequest__Output,
  type OffsetCommitResponse,
  type OffsetCommitTopic__Output,
  type OffsetCommitTopicResponse,
  type OffsetFetchRequest__Output,
  type OffsetFetchResponse,
  type TxnOffsetCommitRequest__Output,
  type TxnOffsetCommitResponse,
  toWireError,
} from "@brook/protocol";
import type { BrokerContext } from "../context.js";
import { CoordinatorFinder, type InternalTopicSizes } from "../find-coordinator.js";
import { defaultTransactionCoordinatorConfig } from "../transactions/coordinator.js";
import type { ClassicGroup, ClassicMemberView } from "./classic-group.js";
import {
  ClassicGroupHandlers,
  checkCommit,
  type OffsetToCommit,
  protocolTypeOf,
  unstableOffset,
} from "./classic-handlers.js";
import type { Group, GroupCoordinator } from "./coordinator.js";
import { compileSubscription, memberMetadataOf, type TopicPartition } from "./group.js";
import { parseServerAssignor } from "./server-assignor.js";

/** At most this many subscribed names per member, to bound what every heartbeat costs. */
const subscribedTopicsMax = 10_000;

export class GroupHandlers {
  /** Classic groups (Kafka clients' JoinGroup/SyncGroup), for the Kafka listener. */
  readonly classic: ClassicGroupHandlers;
  private readonly finder: CoordinatorFinder;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly coordinator: GroupCoordinator,
    internalTopics: Partial<InternalTopicSizes> = {},
  ) {
    this.classic = new ClassicGroupHandlers(ctx, coordinator);
    this.finder = new CoordinatorFinder(ctx, {
      offsetsTopicPartitions: coordinator.config.offsetsTopicPartitions,
      transactionStateTopicPartitions: defaultTransactionCoordinatorConfig.transactionStateTopicPartitions,
      ...internalTopics,
    });
  }

  /** Either kind of coordinator (groups and transactional ids): find-coordinator.ts. */
  findCoordinator(request: FindCoordinatorRequest__Output): Promise<FindCoordinatorResponse> {
    return this.finder.findCoordinator(request);
  }

  async heartbeat(
    request: ConsumerGroupHeartbeatRequest__Output,
    clientHost: string,
  ): Promise<ConsumerGroupHeartbeatResponse> {
    const config = this.coordinator.config;
    try {
      const sessionTimeoutMs = request.sessionTimeoutMs || config.sessionTimeoutMsDefault;
      if (sessionTimeoutMs < config.sessionTimeoutMsMin || sessionTimeoutMs > config.sessionTimeoutMsMax) {
        throw new BrookError(
          "INVALID_REQUEST",
          `session timeout must be ${config.sessionTimeoutMsMin}-${config.sessionTimeoutMsMax} ms, got ${sessionTimeoutMs}`,
        );
      }
      if (
        request.memberEpoch === 0 &&
        request.subscribedTopicNames.length === 0 &&
        !request.subscribedTopicRegex
      ) {
        throw new BrookError(
          "INVALID_REQUEST",
          "a member joining a group must subscribe to a topic or a regex",
        );
      }
      if (request.subscribedTopicNames.length > subscribedTopicsMax) {
        throw new BrookError("INVALID_REQUEST", `at most ${subscribedTopicsMax} subscribed topic names`);
      }
      if (request.subscribedTopicRegex) compileSubscription(request.subscribedTopicRegex);
      const serverAssignor = parseServerAssignor(request.serverAssignor);
      const { shard, group } = this.coordinator.consumerGroup(request.groupId, request.memberEpoch === 0);
      if (group === undefined) {
        throw new BrookError(
          "UNKNOWN_MEMBER_ID",
          `group '${request.groupId}' has no member ${request.memberId}; join with epoch 0`,
        );
      }
      const before = JSON.stringify(group.snapshot());
      const out = group.heartbeat(
        {
          memberId: request.memberId,
          memberEpoch: request.memberEpoch,
          instanceId: request.instanceId,
          clientId: request.clientId,
          clientHost,
          sessionTimeoutMs,
          rebalanceTimeoutMs: request.rebalanceTimeoutMs || config.rebalanceTimeoutMsDefault,
          subscribedTopicNames: [...new Set(request.subscribedTopicNames)].sort(),
          subscribedTopicRegex: request.subscribedTopicRegex,
          owned: fromWire(request.ownedPartitions),
          serverAssignor,
          memberMetadata: request.memberMetadata,
        },
        this.coordinator.nowMs(),
        this.coordinator.topics,
      );
      if (JSON.stringify(group.snapshot()) !== before || group.isEmpty) {
        await this.coordinator.persist(shard, group);
      } else {
        await this.coordinator.committed(shard);
      }
      return {
        error: noError,
        memberId: out.memberId,
        memberEpoch: out.memberEpoch,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        assignment: toWire(out.assignment),
      };
    } catch (error) {
      return {
        error: toWireError(asBrookError(error)),
        memberId: request.memberId,
        memberEpoch: -1,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        assignment: [],
      };
    }
  }

  /**
   * Offsets committed inside a producer's transaction: appended now, visible once its commit marker
   * lands on the group's partition, dropped on abort. A member id (a consumer of the group that also
   * produces) is checked as OffsetCommit checks it; without one, any producer may commit.
   */
  async txnOffsetCommit(request: TxnOffsetCommitRequest__Output): Promise<TxnOffsetCommitResponse> {
    try {
      const producer = { producerId: Number(request.producerId), producerEpoch: request.producerEpoch };
      if (!request.transactionalId || producer.producerId < 0 || producer.producerEpoch < 0) {
        throw new BrookError(
          "INVALID_REQUEST",
          "a transactional offset commit names its transactional id, producer id and epoch",
        );
      }
      const { shard, group } = this.coordinator.locate(request.groupId);
      const { accepted, topics } = this.checkOffsets(request.topics);
      if (request.memberId) validateTxnCommitMember(request.groupId, group, request, accepted);
      await this.coordinator.commitTxnOffsets(shard, request.groupId, producer, accepted);
      return { error: noError, topics };
    } catch (error) {
      return { error: toWireError(asBrookError(error)), topics: [] };
    }
  }

  async offsetCommit(request: OffsetCommitRequest__Output): Promise<OffsetCommitResponse> {
    try {
      const { shard, group: found } = this.coordinator.locate(request.groupId);
      // Only an admin or a standalone consumer (no member id) may start a group by committing.
      if (found === undefined && request.memberId !== "") {
        throw new BrookError(
          "UNKNOWN_MEMBER_ID",
          `group '${request.groupId}' has no member ${request.memberId}`,
        );
      }
      const group = found ?? this.coordinator.offsetsOnlyGroup(request.groupId);
      const { accepted, topics } = this.checkOffsets(request.topics);
      validateBrookCommit(group, request.memberId, request.memberEpoch, accepted);
      await this.coordinator.commitOffsets(shard, group, accepted);
      return { error: noError, topics };
    } catch (error) {
      return { error: toWireError(asBrookError(error)), topics: [] };
    }
  }

  /** Each partition's offset checked: a refused one answers its error, the others are committed. */
  private checkOffsets(requested: readonly OffsetCommitTopic__Output[]): {
    accepted: OffsetToCommit[];
    topics: OffsetCommitTopicResponse[];
  } {
    const image = this.ctx.metadata.image;
    const accepted: OffsetToCommit[] = [];
    const topics = requested.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map(({ partition, offset, metadata }) => {
        const error = checkCommit(image.topic(topic)?.partitions.length, topic, partition, offset, metadata);
        if (error === undefined) accepted.push({ topic, partition, offset, metadata });
        return { partition, error: error === undefined ? noError : toWireError(error) };
      }),
    }));
    return { accepted, topics };
  }

  async offsetFetch(request: OffsetFetchRequest__Output): Promise<OffsetFetchResponse> {
    try {
      const wanted = request.topics.length > 0 ? fromWire(request.topics) : null;
      const topics = await this.coordinator.fetchOffsets(request.groupId, wanted, {
        requireStable: request.requireStable,
      });
      return {
        error: noError,
        topics: topics.map(({ topic, partitions }) => ({
          topic,
          partitions: partitions.map(({ partition, committed, unstable }) => ({
            partition,
            offset: committed?.offset ?? -1,
            metadata: committed?.metadata ?? "",
            commitTimestampMs: committed?.commitTimestampMs ?? -1,
            error: unstable ? toWireError(unstableOffset(request.groupId, topic, partition)) : noError,
          })),
        })),
      };
    } catch (error) {
      return { error: toWireError(asBrookError(error)), topics: [] };
    }
  }

  async listGroups(): Promise<ListGroupsResponse> {
    const groups = [...this.coordinator.groups()].map(
      (group): ListedGroup => ({
        groupId: group.groupId,
        state: stateName(group),
        members: group.memberCount,
        coordinator: this.ctx.brokerId,
        type: group.type,
        protocolType: protocolTypeOf(group),
      }),
    );
    return { error: noError, groups };
  }

  async describeGroups(request: DescribeGroupsRequest__Output): Promise<DescribeGroupsResponse> {
    const groups = await Promise.all(
      request.groupIds.map(async (groupId): Promise<GroupDescription> => {
        try {
          const { shard, group } = this.coordinator.locate(groupId);
          await this.coordinator.committed(shard);
          if (group === undefined) {
            return { groupId, error: noError, state: "dead", coordinator: this.ctx.brokerId, members: [] };
          }
          const described = {
            groupId,
            error: noError,
            state: stateName(group),
            coordinator: this.ctx.brokerId,
            type: group.type,
            protocolType: protocolTypeOf(group),
          };
          if (group.type === "classic") {
            return {
              ...described,
              protocolName: group.protocolName ?? "",
              generationId: group.generationId,
              members: group.memberViews().map((member) => describeClassicMember(group, member)),
            };
          }
          return {
            ...described,
            groupEpoch: group.groupEpoch,
            assignmentEpoch: group.assignmentEpoch,
            serverAssignor: group.serverAssignor,
            members: group.memberSnapshots().map((member) => ({
              memberId: member.memberId,
              instanceId: member.instanceId,
              clientId: member.clientId,
              clientHost: member.clientHost,
              memberEpoch: member.memberEpoch,
              subscribedTopicNames: member.subscribedTopicNames,
              subscribedTopicRegex: member.subscribedTopicRegex,
              assignment: toWire(member.assigned),
              targetAssignment: toWire(member.target),
              memberMetadata: memberMetadataOf(member),
            })),
          };
        } catch (error) {
          return { groupId, error: toWireError(asBrookError(error)), state: "", members: [] };
        }
      }),
    );
    return { groups };
  }

  async deleteGroups(request: DeleteGroupsRequest__Output): Promise<DeleteGroupsResponse> {
    const results = await Promise.all(
      request.groupIds.map(async (groupId) => {
        try {
          await this.coordinator.deleteGroup(groupId);
          return { groupId, error: noError };
        } catch (error) {
          return { groupId, error: toWireError(asBrookError(error)) };
        }
      }),
    );
    return { results };
  }
}

/**
 * Whether a Brook commit (OffsetCommit over gRPC) may write to `group`. An empty member id is an
 * admin's or a standalone consumer's commit, allowed only while the group has no members; Brook's
 * members commit with their epoch. A classic group's members are Kafka clients: they commit through
 * the Kafka listener, never here.
 */
function validateBrookCommit(
  group: Group,
  memberId: string,
  memberEpoch: number,
  partitions: readonly TopicPartition[],
): void {
  if (group.type === "consumer") {
    group.validateCommit(memberId, memberEpoch, partitions);
    return;
  }
  if (group.memberCount > 0) {
    throw new BrookError(
      memberId === "" ? "NON_EMPTY_GROUP" : "INCONSISTENT_GROUP_PROTOCOL",
      `group '${group.groupId}' has ${group.memberCount} Kafka client member(s) (classic protocol); only they may commit`,
    );
  }
  if (memberId !== "") {
    throw new BrookError("UNKNOWN_MEMBER_ID", `group '${group.groupId}' has no member ${memberId}`);
  }
}

/**
 * A transactional commit that names a member: the member must be the group's, at its current epoch
 * (Brook's groups) or generation (classic groups), and hold the partitions, as OffsetCommit requires.
 */
function validateTxnCommitMember(
  groupId: string,
  group: Group | undefined,
  request: { memberId: string; memberEpoch: number },
  partitions: readonly TopicPartition[],
): void {
  if (group === undefined) {
    throw new BrookError("UNKNOWN_MEMBER_ID", `group '${groupId}' has no member ${request.memberId}`);
  }
  if (group.type === "consumer") {
    group.validateCommit(request.memberId, request.memberEpoch, partitions);
    return;
  }
  group.validateCommit({
    memberId: request.memberId,
    groupInstanceId: null,
    generationId: request.memberEpoch,
  });
}

/** The state as `brook group list/describe` show it: Brook's own, or a classic group's in kebab case. */
function stateName(group: Group): string {
  if (group.type === "consumer") return group.state;
  return group.state.replace(
    /[A-Z]/g,
    (letter, index: number) => `${index > 0 ? "-" : ""}${letter.toLowerCase()}`,
  );
}

/** A classic member, its subscription and assignment decoded when they are ConsumerProtocol bytes. */
function describeClassicMember(group: ClassicGroup, member: ClassicMemberView): GroupMemberDescription {
  const consumer = group.protocolType === CONSUMER_PROTOCOL_TYPE;
  return {
    memberId: member.memberId,
    instanceId: member.groupInstanceId ?? "",
    clientId: member.clientId,
    clientHost: member.clientHost,
    memberEpoch: group.generationId,
    subscribedTopicNames: consumer
      ? decodedOrNothing(() => decodeConsumerSubscription(group.metadataOf(member)).topics)
      : [],
    subscribedTopicRegex: "",
    assignment: consumer
      ? decodedOrNothing(() => decodeConsumerAssignment(member.assignment).assignedPartitions)
      : [],
    targetAssignment: [],
  };
}

/** A client's bytes that do not decode are shown as nothing rather than failing the whole description. */
function decodedOrNothing<T>(decode: () => T[]): T[] {
  try {
    return decode();
  } catch {
    return [];
  }
}

function fromWire(topics: readonly { topic: string; partitions: number[] }[]): TopicPartition[] {
  return topics.flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition })));
}

function toWire(partitions: readonly TopicPartition[]): GroupTopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions)
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  return [...byTopic].map(([topic, list]) => ({ topic, partitions: list.sort((a, b) => a - b) }));
}
