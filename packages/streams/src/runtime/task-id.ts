// Tasks are named as Kafka Streams names them: `<sub-topology>_<partition>`. Task s_p reads partition p of
// every source topic of sub-topology s and owns partition p of each of its stores' changelogs.

import type { TopicPartition } from "@brook/client";
import type { Subtopology } from "./internal-topics.js";

export interface TaskId {
  subtopology: number;
  partition: number;
}

export function taskName({ subtopology, partition }: TaskId): string {
  return `${subtopology}_${partition}`;
}

export function parseTaskName(name: string): TaskId {
  const [subtopology, partition] = name.split("_").map(Number);
  return { subtopology: subtopology as number, partition: partition as number };
}

/** The tasks the given partitions make: one per sub-topology that reads one of them, per partition. */
export function tasksOf(
  partitions: readonly TopicPartition[],
  subtopologies: readonly Subtopology[],
): TaskId[] {
  const names = new Set<string>();
  for (const { topic, partition } of partitions) {
    for (const sub of subtopologies) {
      if (sub.sourceTopics.includes(topic)) names.add(taskName({ subtopology: sub.index, partition }));
    }
  }
  return [...names].sort().map(parseTaskName);
}

/** Topic → the sub-topology that reads it (a topic is read by one source, so by one sub-topology). */
export function subtopologyByTopic(subtopologies: readonly Subtopology[]): Map<string, number> {
  return new Map(
    subtopologies.flatMap((sub) => sub.sourceTopics.map((topic) => [topic, sub.index] as const)),
  );
}

/** A partition as a map key. */
export function partitionKey({ topic, partition }: TopicPartition): string {
  return `${topic}\u0000${partition}`;
}
