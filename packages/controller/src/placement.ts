// Where a new topic's replicas go: pure functions of the live brokers.
// Round-robin with a shifting start, as Kafka's non-rack-aware assignment:
// partition p's replicas are consecutive brokers starting at (start + p), so
// leaders (the first replica) spread evenly and no broker holds two copies of
// one partition. The start is read off the image rather than kept by the
// controller, so whichever controller is active places a topic the same way.

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

/**
 * Where placement starts (an index into the sorted broker ids, as
 * assignReplicas takes it): the broker that is the preferred leader (first
 * replica) of the fewest partitions, the lowest id on a tie. So leaders keep
 * spreading across topics, and after deletions refill the brokers that lost some.
 */
export function placementStart(
  liveBrokerIds: readonly number[],
  preferredLeaderCounts: ReadonlyMap<number, number>,
): number {
  const brokers = [...liveBrokerIds].sort((a, b) => a - b);
  let start = 0;
  for (let i = 1; i < brokers.length; i++) {
    const count = preferredLeaderCounts.get(brokers[i]) ?? 0;
    if (count < (preferredLeaderCounts.get(brokers[start]) ?? 0)) start = i;
  }
  return start;
}
