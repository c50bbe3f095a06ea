// The controller's topic decisions as pure functions of the current image:
// each returns the records to append, or throws the typed error to answer.
// Creating a topic, growing one (CreatePartitions) and deleting one.

import {
  type BrokerImage,
  type MetadataImage,
  type MetadataRecord,
  validateTopicConfigs,
  validateTopicName,
} from "@brook/metadata";
import { BrookError } from "@brook/protocol";
import { assignReplicas, partitionsPerTopicMax } from "./placement.js";

export interface CreateTopicRequest {
  readonly name: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly configs: ReadonlyMap<string, string>;
}

/** Kafka's convention: -1 asks for the cluster default. */
export const useDefault = -1;
/** Three copies where the cluster has three live brokers; fewer on a smaller cluster. */
export const defaultReplicationFactorMax = 3;

/**
 * What a request that asks for the cluster default (-1) gets: Kafka's
 * num.partitions and default.replication.factor, set on each controller
 * (the active one's apply).
 */
export interface TopicDefaults {
  readonly numPartitions: number;
  /** Undefined: min(3, live brokers), so a small cluster can still create topics. */
  readonly replicationFactor?: number;
}

export const defaultTopicDefaults: TopicDefaults = { numPartitions: 1 };

export function planCreateTopic(
  image: MetadataImage,
  request: CreateTopicRequest,
  topicId: string,
  defaults: TopicDefaults = defaultTopicDefaults,
): MetadataRecord[] {
  validateTopicName(request.name);
  if (image.topic(request.name)) {
    throw new BrookError("TOPIC_ALREADY_EXISTS", `topic '${request.name}' already exists`);
  }
  validateTopicConfigs(request.configs);
  const liveBrokers = liveBrokersOf(image);
  const numPartitions = request.numPartitions === useDefault ? defaults.numPartitions : request.numPartitions;
  const replicationFactor =
    request.replicationFactor === useDefault
      ? (defaults.replicationFactor ?? Math.min(defaultReplicationFactorMax, Math.max(liveBrokers.length, 1)))
      : request.replicationFactor;
  const assignment = assignReplicas(
    liveBrokers,
    numPartitions,
    replicationFactor,
    preferredLeaderCounts(image),
  );
  return [
    { type: "topic", name: request.name, topicId },
    ...[...withDurableDefaults(request.configs, replicationFactor)].map(
      ([key, value]): MetadataRecord => ({ type: "topic-config", topicId, key, value }),
    ),
    ...partitionRecords(topicId, 0, assignment, () => true),
  ];
}

export interface CreatePartitionsRequest {
  readonly topic: string;
  /** The new partition count, greater than the topic's. */
  readonly count: number;
  /**
   * The replicas of each new partition, leader first; absent or empty: placed
   * as a new topic's partitions are (placement.ts).
   */
  readonly assignments?: readonly (readonly number[])[];
}

/**
 * Kafka's CreatePartitions: appends partition records for partitions
 * current..count-1 of an existing topic, with the replication factor of its
 * partition 0. Placed replicas go on live brokers only, as for a new topic;
 * a manual assignment may name fenced brokers (they join the ISR once they
 * catch up) but not only fenced ones, since each new partition needs a leader.
 */
export function planCreatePartitions(
  image: MetadataImage,
  request: CreatePartitionsRequest,
): MetadataRecord[] {
  const topic = image.topic(request.topic);
  if (!topic) throw new BrookError("UNKNOWN_TOPIC", `topic '${request.topic}' does not exist`);
  const current = topic.partitions.length;
  if (!Number.isInteger(request.count) || request.count <= current) {
    throw new BrookError(
      "INVALID_PARTITIONS",
      `topic '${topic.name}' has ${current} partition(s); the new count must be a whole number greater than that, not ${request.count} (partitions can be added, never removed)`,
    );
  }
  if (request.count > partitionsPerTopicMax) {
    throw new BrookError(
      "INVALID_PARTITIONS",
      `partition count ${request.count} is out of range: a topic has at most ${partitionsPerTopicMax} partitions`,
    );
  }
  const replicationFactor = topic.partitions[0]?.replicas.length ?? 1;
  const added = request.count - current;
  const live = new Set(liveBrokersOf(image).map((broker) => broker.brokerId));
  const assignment =
    request.assignments && request.assignments.length > 0
      ? checkAssignments(image, request.assignments, { current, added, replicationFactor, live })
      : assignReplicas(liveBrokersOf(image), added, replicationFactor, preferredLeaderCounts(image));
  return partitionRecords(topic.topicId, current, assignment, (brokerId) => live.has(brokerId));
}

/** A new partition starts with its in-service replicas in sync and the first of them leading. */
function partitionRecords(
  topicId: string,
  firstPartition: number,
  assignment: readonly (readonly number[])[],
  inService: (brokerId: number) => boolean,
): MetadataRecord[] {
  return assignment.map((replicas, index): MetadataRecord => {
    const isr = replicas.filter(inService);
    return {
      type: "partition",
      topicId,
      partition: firstPartition + index,
      replicas: [...replicas],
      isr,
      leader: isr[0] ?? -1,
      leaderEpoch: 0,
      partitionEpoch: 0,
    };
  });
}

/** Kafka's checks of a manual assignment: one per new partition, the topic's replication factor, known brokers. */
function checkAssignments(
  image: MetadataImage,
  assignments: readonly (readonly number[])[],
  topic: { current: number; added: number; replicationFactor: number; live: ReadonlySet<number> },
): (readonly number[])[] {
  const invalid = (message: string) => new BrookError("INVALID_REPLICA_ASSIGNMENT", message);
  if (assignments.length !== topic.added) {
    throw invalid(
      `${assignments.length} assignment(s) for ${topic.added} new partition(s): give one list of brokers per new partition`,
    );
  }
  return assignments.map((replicas, index) => {
    const partition = topic.current + index;
    if (replicas.length !== topic.replicationFactor) {
      throw invalid(
        `partition ${partition} is assigned ${replicas.length} replica(s), but the topic's partitions have ${topic.replicationFactor}`,
      );
    }
    const unknown = replicas.filter((brokerId) => !image.brokers.has(brokerId));
    if (unknown.length > 0) {
      throw invalid(`partition ${partition} is assigned to unregistered broker(s) ${unknown.join(", ")}`);
    }
    if (new Set(replicas).size !== replicas.length) {
      throw invalid(`partition ${partition} is assigned the same broker twice (${replicas.join(", ")})`);
    }
    if (!replicas.some((brokerId) => topic.live.has(brokerId))) {
      throw invalid(
        `partition ${partition} is assigned only to fenced brokers (${replicas.join(", ")}): one must be in service to lead it`,
      );
    }
    return replicas;
  });
}

/**
 * Only unfenced brokers take placed replicas, as in Kafka: a fenced one is
 * down or has not caught up, and a new partition led by it would start offline.
 */
function liveBrokersOf(image: MetadataImage): BrokerImage[] {
  return [...image.brokers.values()].filter((broker) => !broker.fenced);
}

/**
 * Replication factor 3 or more gets min.insync.replicas=2 unless the request
 * says otherwise: with Kafka's default of 1, acks=all would be acknowledged by
 * a lone leader, and losing that one broker would lose acknowledged records.
 * With 2, every acknowledged record is on two brokers, so any one may fail;
 * 3 would make every single broker failure stop acks=all writes. The value
 * is written into the topic's configs, so `topic describe` shows it and later
 * changes to this default never alter existing topics.
 */
export function withDurableDefaults(
  configs: ReadonlyMap<string, string>,
  replicationFactor: number,
): ReadonlyMap<string, string> {
  if (replicationFactor < 3 || configs.has("min.insync.replicas")) return configs;
  return new Map([...configs, ["min.insync.replicas", "2"]]);
}

/** Broker id → how many partitions list it first among their replicas. */
function preferredLeaderCounts(image: MetadataImage): Map<number, number> {
  const counts = new Map<number, number>();
  for (const topic of image.topicsById.values()) {
    for (const { replicas } of topic.partitions) {
      if (replicas.length > 0) counts.set(replicas[0], (counts.get(replicas[0]) ?? 0) + 1);
    }
  }
  return counts;
}

export function planDeleteTopic(image: MetadataImage, name: string): MetadataRecord[] {
  const topic = image.topic(name);
  if (!topic) throw new BrookError("UNKNOWN_TOPIC", `topic '${name}' does not exist`);
  return [{ type: "remove-topic", topicId: topic.topicId }];
}
