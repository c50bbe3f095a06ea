// Where a new topic's replicas go: pure functions of the live brokers.
// Round-robin with a shifting start, as Kafka's non-rack-aware assignment:
// partition p's replicas are consecutive brokers starting at (start + p), so
// leaders (the first replica) spread evenly and no broker holds two copies of
// one partition.

import { BrookError } from "@brook/protocol";

export const partitionsPerTopicMax = 10_000;

export function assignReplicas(
  liveBrokerIds: readonly number[],
  numPartitions: number,
  replicationFactor: number,
  startIndex: number,
): number[][] {
  if (!Number.isInteger(numPartitions) || numPartitions < 1 || numPartitions > partitionsPerTopicMax) {
    throw new BrookError(
      "INVALID_PARTITIONS",
      `partition count ${numPartitions} is out of range: use 1 to ${partitionsPerTopicMax}`,
    );
  }
  if (
    !Number.isInteger(replicationFactor) ||
    replicationFactor < 1 ||
    replicationFactor > liveBrokerIds.length
  ) {
    throw new BrookError(
      "INVALID_REPLICATION_FACTOR",
      `replication factor ${replicationFactor} is out of range: ${liveBrokerIds.length} broker(s) are alive`,
    );
  }
  const brokers = [...liveBrokerIds].sort((a, b) => a - b);
  const assignment: number[][] = [];
  for (let p = 0; p < numPartitions; p++) {
    const first = (startIndex + p) % brokers.length;
    const replicas: number[] = [];
    for (let r = 0; r < replicationFactor; r++) replicas.push(brokers[(first + r) % brokers.length]);
    assignment.push(replicas);
  }
  return assignment;
}
