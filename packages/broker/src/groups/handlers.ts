// The consumer-group RPCs: argument checks and wire shapes around the
// GroupCoordinator (I/O) and ConsumerGroup (rules). Failures a client acts on
// travel in the response's error fields, as the data-path RPCs' do.

import {
  asBrookError,
  BrookError,
  type ConsumerGroupHeartbeatRequest__Output,
  type ConsumerGroupHeartbeatResponse,
  type DeleteGroupsRequest__Output,
  type DeleteGroupsResponse,
  type DescribeGroupsRequest__Output,
  type DescribeGroupsResponse,
  type FindCoordinatorRequest__Output,
  type FindCoordinatorResponse,
  type GroupDescription,
  type GroupTopicPartitions,
  type ListGroupsResponse,
  noError,
  type OffsetCommitRequest__Output,
  type OffsetCommitResponse,
  type OffsetCommitTopicResponse,
  type OffsetFetchRequest__Output,
  type OffsetFetchResponse,
  type OffsetFetchTopic,
  toWireError,
} from "@brook/protocol";
import type { BrokerContext } from "../context.js";
import { type GroupCoordinator, partitionForGroup, validateGroupId } from "./coordinator.js";
import { compileSubscription, type TopicPartition } from "./group.js";
import { groupRecord, OFFSETS_TOPIC, offsetRecord } from "./records.js";

/** Kafka's offset.metadata.max.bytes. */
const offsetMetadataMaxChars = 4096;
/** At most this many subscribed names per member, to bound what every heartbeat costs. */
const subscribedTopicsMax = 10_000;

export class GroupHandlers {
  private creatingOffsetsTopic: Promise<unknown> | undefined;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly coordinator: GroupCoordinator,
  ) {}

  async findCoordinator(request: FindCoordinatorRequest__Output): Promise<FindCoordinatorResponse> {
    try {
      validateGroupId(request.groupId);
      const image = this.ctx.metadata.image;
      const topic = image.topic(OFFSETS_TOPIC);
      if (topic === undefined) {
        this.createOffsetsTopic();
        throw new BrookError("COORDINATOR_NOT_AVAILABLE", `creating ${OFFSETS_TOPIC}; retry shortly`);
      }
      const index = partitionForGroup(request.groupId, topic.partitions.length);
      const leader = topic.partitions[index].leader;
      const broker = image.brokers.get(leader);
      if (leader < 0 || broker === undefined || broker.fenced) {
        throw new BrookError(
          "COORDINATOR_NOT_AVAILABLE",
          `${OFFSETS_TOPIC}-${index}, which holds group '${request.groupId}', has no leader right now`,
        );
      }
      return { error: noError, nodeId: leader, host: broker.host, port: broker.port };
    } catch (error) {
      return { error: toWireError(asBrookError(error)), nodeId: -1, host: "", port: -1 };
    }
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
      const { shard, group } = this.coordinator.group(request.groupId, request.memberEpoch === 0);
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

  async offsetCommit(request: OffsetCommitRequest__Output): Promise<OffsetCommitResponse> {
    try {
      const image = this.ctx.metadata.image;
      // Only an admin or a standalone consumer (no member id) may start a group by committing.
      const { shard, group } = this.coordinator.group(request.groupId, request.memberId === "");
      if (group === undefined) {
        throw new BrookError(
          "UNKNOWN_MEMBER_ID",
          `group '${request.groupId}' has no member ${request.memberId}`,
        );
      }
      const accepted: { topic: string; partition: number; offset: number; metadata: string }[] = [];
      const topics: OffsetCommitTopicResponse[] = request.topics.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map(({ partition, offset, metadata }) => {
          const error = checkCommit(
            image.topic(topic)?.partitions.length,
            topic,
            partition,
            offset,
            metadata,
          );
          if (error === undefined) accepted.push({ topic, partition, offset, metadata });
          return { partition, error: error === undefined ? noError : toWireError(error) };
        }),
      }));
      try {
        group.validateCommit(request.memberId, request.memberEpoch, accepted);
      } finally {
        if (group.isEmpty) shard.groups.delete(group.groupId);
      }
      const nowMs = this.coordinator.nowMs();
      this.coordinator.append(
        shard,
        accepted.map(({ topic, partition, offset, metadata }) =>
          offsetRecord(request.groupId, topic, partition, { offset, metadata, commitTimestampMs: nowMs }),
        ),
      );
      // In memory once in the log: what the log will hold is what the group answers with.
      for (const { topic, partition, offset, metadata } of accepted) {
        group.setOffset({ topic, partition }, { offset, metadata, commitTimestampMs: nowMs });
      }
      if (!group.isEmpty) shard.groups.set(group.groupId, group);
      await this.coordinator.committed(shard);
      return { error: noError, topics };
    } catch (error) {
      return { error: toWireError(asBrookError(error)), topics: [] };
    }
  }

  async offsetFetch(request: OffsetFetchRequest__Output): Promise<OffsetFetchResponse> {
    try {
      const { shard, group } = this.coordinator.group(request.groupId, false);
      // Read after write: what this coordinator has appended is replicated before it is read back.
      await this.coordinator.committed(shard);
      const wanted: TopicPartition[] =
        request.topics.length > 0 ? fromWire(request.topics) : [...(group?.committedOffsets() ?? [])];
      const byTopic = new Map<string, OffsetFetchTopic>();
      for (const tp of wanted) {
        const committed = group?.committedOffset(tp);
        let topic = byTopic.get(tp.topic);
        if (topic === undefined) {
          topic = { topic: tp.topic, partitions: [] };
          byTopic.set(tp.topic, topic);
        }
        topic.partitions?.push({
          partition: tp.partition,
          offset: committed?.offset ?? -1,
          metadata: committed?.metadata ?? "",
          commitTimestampMs: committed?.commitTimestampMs ?? -1,
          error: noError,
        });
      }
      return { error: noError, topics: [...byTopic.values()] };
    } catch (error) {
      return { error: toWireError(asBrookError(error)), topics: [] };
    }
  }

  async listGroups(): Promise<ListGroupsResponse> {
    const groups = [...this.coordinator.groups()].map((group) => ({
      groupId: group.groupId,
      state: group.state,
      members: group.memberCount,
      coordinator: this.ctx.brokerId,
    }));
    return { error: noError, groups };
  }

  async describeGroups(request: DescribeGroupsRequest__Output): Promise<DescribeGroupsResponse> {
    const groups = await Promise.all(
      request.groupIds.map(async (groupId): Promise<GroupDescription> => {
        try {
          const { shard, group } = this.coordinator.group(groupId, false);
          await this.coordinator.committed(shard);
          if (group === undefined) {
            return { groupId, error: noError, state: "dead", coordinator: this.ctx.brokerId, members: [] };
          }
          return {
            groupId,
            error: noError,
            state: group.state,
            groupEpoch: group.groupEpoch,
            assignmentEpoch: group.assignmentEpoch,
            coordinator: this.ctx.brokerId,
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
          const { shard, group } = this.coordinator.group(groupId, false);
          if (group === undefined) {
            throw new BrookError("GROUP_ID_NOT_FOUND", `group '${groupId}' does not exist`);
          }
          if (group.memberCount > 0) {
            throw new BrookError(
              "NON_EMPTY_GROUP",
              `group '${groupId}' has ${group.memberCount} active member(s); stop them first`,
            );
          }
          const tombstones = [...group.committedOffsets()].map(({ topic, partition }) =>
            offsetRecord(groupId, topic, partition, null),
          );
          shard.groups.delete(groupId);
          await this.coordinator.write(shard, [...tombstones, groupRecord(groupId, null)]);
          return { groupId, error: noError };
        } catch (error) {
          return { groupId, error: toWireError(asBrookError(error)) };
        }
      }),
    );
    return { results };
  }

  /**
   * Asks the controller for __consumer_offsets, once at a time; callers
   * answer COORDINATOR_NOT_AVAILABLE meanwhile and the client retries.
   */
  private createOffsetsTopic(): void {
    if (this.creatingOffsetsTopic !== undefined) return;
    const live = [...this.ctx.metadata.image.brokers.values()].filter((broker) => !broker.fenced).length;
    const replicationFactor = Math.max(1, Math.min(3, live));
    this.ctx.logger.info(
      { topic: OFFSETS_TOPIC, partitions: this.coordinator.config.offsetsTopicPartitions, replicationFactor },
      "creating the consumer offsets topic",
    );
    this.creatingOffsetsTopic = this.ctx.controller
      .createTopics({
        topics: [
          {
            name: OFFSETS_TOPIC,
            numPartitions: this.coordinator.config.offsetsTopicPartitions,
            replicationFactor,
            // Committed offsets are kept until a group is deleted, not aged out.
            configs: [{ key: "retention.ms", value: "-1" }],
          },
        ],
        validateOnly: false,
      })
      .then((response) => {
        const error = response.topics?.[0]?.error;
        if (error?.code && error.code !== "TOPIC_ALREADY_EXISTS") {
          this.ctx.logger.warn({ error }, "could not create the consumer offsets topic");
        }
      })
      .catch((error: unknown) =>
        this.ctx.logger.warn({ err: error }, "could not create the consumer offsets topic"),
      )
      .finally(() => {
        this.creatingOffsetsTopic = undefined;
      });
  }
}

function checkCommit(
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

function fromWire(topics: readonly { topic: string; partitions: number[] }[]): TopicPartition[] {
  return topics.flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition })));
}

function toWire(partitions: readonly TopicPartition[]): GroupTopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions)
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  return [...byTopic].map(([topic, list]) => ({ topic, partitions: list.sort((a, b) => a - b) }));
}
