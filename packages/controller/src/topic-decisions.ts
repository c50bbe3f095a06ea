// The controller's topic decisions as pure functions of the current image:
// each returns the records to append, or throws the typed error to answer.

import {
  type MetadataImage,
  type MetadataRecord,
  validateTopicConfigs,
  validateTopicName,
} from "@brook/metadata";
import { BrookError } from "@brook/protocol";
import { assignReplicas } from "./placement.js";

export interface CreateTopicRequest {
  readonly name: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly configs: ReadonlyMap<string, string>;
}

/** Kafka's convention: -1 asks for the cluster default. */
export const useDefault = -1;
export const defaultPartitions = 1;
/** Three copies where the cluster has three live brokers; fewer on a smaller cluster. */
export const defaultReplicationFactorMax = 3;

export function planCreateTopic(
  image: MetadataImage,
  request: CreateTopicRequest,
  topicId: string,
): MetadataRecord[] {
  validateTopicName(request.name);
  if (image.topic(request.name)) {
    throw new BrookError("TOPIC_ALREADY_EXISTS", `topic '${request.name}' already exists`);
  }
  validateTopicConfigs(request.configs);
  // Only unfenced brokers take replicas, as in Kafka: a fenced one is down or
  // has not caught up, and a new partition led by it would start offline.
  const liveBrokers = [...image.brokers.values()].filter((broker) => !broker.fenced);
  const numPartitions = request.numPartitions === useDefault ? defaultPartitions : request.numPartitions;
  const replicationFactor =
    request.replicationFactor === useDefault
      ? Math.min(defaultReplicationFactorMax, Math.max(liveBrokers.length, 1))
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
    ...assignment.map(
      (replicas, partition): MetadataRecord => ({
        type: "partition",
        topicId,
        partition,
        replicas,
        isr: replicas,
        leader: replicas[0],
        leaderEpoch: 0,
        partitionEpoch: 0,
      }),
    ),
  ];
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
