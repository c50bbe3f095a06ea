// FindCoordinator, on any broker: a group's coordinator is the leader of its
// partition of __consumer_offsets, a transactional id's the leader of its
// partition of __transaction_state (murmur2 of the key, modulo the topic's
// partitions). Each internal topic is created by the first FindCoordinator
// that needs it; callers retry on COORDINATOR_NOT_AVAILABLE meanwhile.

import {
  asBrookError,
  BrookError,
  type FindCoordinatorRequest__Output,
  type FindCoordinatorResponse,
  noError,
  partitionForKey,
  type TopicConfigEntry__Output,
  toWireError,
} from "@brook/protocol";
import type { BrokerContext } from "./context.js";
import { validateGroupId } from "./groups/coordinator.js";
import { OFFSETS_TOPIC } from "./groups/records.js";
import { TRANSACTION_STATE_TOPIC, validateTransactionalId } from "./transactions/records.js";

export interface InternalTopicSizes {
  /** Partitions of __consumer_offsets when this broker creates it. */
  readonly offsetsTopicPartitions: number;
  /** Partitions of __transaction_state when this broker creates it. */
  readonly transactionStateTopicPartitions: number;
}

/** The replication factor of an internal topic: 3, or every live broker when fewer. */
const internalReplicationFactorMax = 3;
/** min.insync.replicas of __transaction_state at RF 3: a state change survives the loss of one replica. */
const transactionStateMinInsyncReplicas = 2;

export class CoordinatorFinder {
  /** Creations in flight, one per internal topic: at most two entries. */
  private readonly creating = new Map<string, Promise<unknown>>();

  constructor(
    private readonly ctx: Pick<BrokerContext, "metadata" | "controller" | "logger">,
    private readonly sizes: InternalTopicSizes,
  ) {}

  async findCoordinator(request: FindCoordinatorRequest__Output): Promise<FindCoordinatorResponse> {
    try {
      const transactional = Boolean(request.transactionalId);
      const key = transactional ? request.transactionalId : request.groupId;
      if (transactional) validateTransactionalId(key);
      else validateGroupId(key);
      const topicName = transactional ? TRANSACTION_STATE_TOPIC : OFFSETS_TOPIC;
      const image = this.ctx.metadata.image;
      const topic = image.topic(topicName);
      if (topic === undefined) {
        this.create(topicName);
        throw new BrookError("COORDINATOR_NOT_AVAILABLE", `creating ${topicName}; retry shortly`);
      }
      const index = partitionForKey(key, topic.partitions.length);
      const leader = topic.partitions[index].leader;
      const broker = image.brokers.get(leader);
      if (leader < 0 || broker === undefined || broker.fenced) {
        throw new BrookError(
          "COORDINATOR_NOT_AVAILABLE",
          `${topicName}-${index}, which holds ${transactional ? "transactional id" : "group"} '${key}', has no leader right now`,
        );
      }
      return { error: noError, nodeId: leader, host: broker.host, port: broker.port };
    } catch (error) {
      return { error: toWireError(asBrookError(error)), nodeId: -1, host: "", port: -1 };
    }
  }

  /** Asks the controller for an internal topic, once at a time per topic. */
  private create(name: string): void {
    if (this.creating.has(name)) return;
    const live = [...this.ctx.metadata.image.brokers.values()].filter((broker) => !broker.fenced).length;
    const replicationFactor = Math.max(1, Math.min(internalReplicationFactorMax, live));
    const transactional = name === TRANSACTION_STATE_TOPIC;
    const numPartitions = transactional
      ? this.sizes.transactionStateTopicPartitions
      : this.sizes.offsetsTopicPartitions;
    // Committed offsets and transaction states are kept until deleted, not aged out: the log cleaner keeps
    // each key's latest record (a group's offset on a partition, a group, a transactional id's state) and
    // drops the older ones, so a coordinator taking over replays the live state, not every commit ever
    // made. Transactional offset commits and their markers are not cleaned yet (docs/compaction.md).
    const configs: TopicConfigEntry__Output[] = [{ key: "cleanup.policy", value: "compact" }];
    if (transactional) {
      configs.push({
        key: "min.insync.replicas",
        value: String(Math.min(transactionStateMinInsyncReplicas, replicationFactor)),
      });
    }
    this.ctx.logger.info(
      { topic: name, partitions: numPartitions, replicationFactor },
      "creating an internal topic",
    );
    const creation = this.ctx.controller
      .createTopics({ topics: [{ name, numPartitions, replicationFactor, configs }], validateOnly: false })
      .then((response) => {
        const error = response.topics?.[0]?.error;
        if (error?.code && error.code !== "TOPIC_ALREADY_EXISTS") {
          this.ctx.logger.warn({ error, topic: name }, "could not create an internal topic");
        }
      })
      .catch((error: unknown) =>
        this.ctx.logger.warn({ err: error, topic: name }, "could not create an internal topic"),
      )
      .finally(() => this.creating.delete(name));
    this.creating.set(name, creation);
  }
}
