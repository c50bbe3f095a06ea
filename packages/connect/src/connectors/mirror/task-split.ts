// Which task mirrors which source topic-partition: partition p of a topic goes to task
// (hash(topic) + p) mod taskCount. Every partition has exactly one owner, a topic's partitions spread over
// the tasks round-robin, and an owner never changes while taskCount stays (new topics and new partitions
// move nothing), so tasks never read the same partition at once. Pure.

import type { TopicPartition } from "@brook/client";

/** The task (0 .. taskCount - 1) that mirrors a source topic-partition. */
export function ownerTask({ topic, partition }: TopicPartition, taskCount: number): number {
  return (fnv1a(topic) + partition) % taskCount;
}

/** The partitions `taskId` mirrors, of those given. */
export function partitionsOfTask(
  partitions: readonly TopicPartition[],
  taskId: number,
  taskCount: number,
): TopicPartition[] {
  return partitions.filter((each) => ownerTask(each, taskCount) === taskId);
}

/** 32-bit FNV-1a over the name's UTF-16 code units: stable across processes and versions. */
function fnv1a(name: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < name.length; index++) {
    hash ^= name.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
