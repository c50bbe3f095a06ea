// Which topics an application reads and writes on the cluster, worked out from its topology: the source
// topics of each sub-topology (its own input topics and repartition topics), and the internal topics the
// application creates: `<applicationId>-<name>-repartition` and `<applicationId>-<store>-changelog`.
// Pure: the partition counts of the input topics go in, the plan comes out.

import { TopologyError } from "../errors.js";
import { changelogTopic } from "../stores/state-store.js";
import type { StoreSpec, Topology, TopologyNode } from "../topology.js";

/** Kafka's windowstore.changelog.additional.retention.ms: a windowed changelog keeps a day past the store. */
export const windowChangelogExtraRetentionMs = 86_400_000;

export interface Subtopology {
  index: number;
  /** The topics its sources read, as named on the cluster. */
  sourceTopics: string[];
  /** The internal (repartition) topics its sinks write, as named on the cluster. */
  repartitionSinks: string[];
  stores: StoreSpec[];
}

export type InternalTopicKind = "repartition" | "changelog";

export interface InternalTopic {
  name: string;
  kind: InternalTopicKind;
  partitions: number;
  configs: Record<string, string>;
}

export function subtopologiesOf(topology: Topology, applicationId: string): Subtopology[] {
  const clusterName = (node: { topic: string; internal: boolean }) =>
    node.internal ? `${applicationId}-${node.topic}` : node.topic;
  return topology.subtopologies().map((nodes, index) => {
    const storeNames = new Set(nodes.flatMap((node) => (node.kind === "processor" ? node.stores : [])));
    return {
      index,
      sourceTopics: nodes.flatMap((node) => (node.kind === "source" ? [clusterName(node)] : [])),
      repartitionSinks: nodes.flatMap((node: TopologyNode) =>
        node.kind === "sink" && node.internal ? [clusterName(node)] : [],
      ),
      stores: [...topology.stores.values()].filter((spec) => storeNames.has(spec.name)),
    };
  });
}

/** The topics the application reads that it does not create: they must exist before it starts. */
export function inputTopics(subtopologies: readonly Subtopology[]): string[] {
  const internal = new Set(subtopologies.flatMap((sub) => sub.repartitionSinks));
  const sources = subtopologies.flatMap((sub) => sub.sourceTopics);
  return [...new Set(sources.filter((topic) => !internal.has(topic)))].sort();
}

/**
 * The internal topics with their partition counts, as Kafka Streams sizes them: a repartition topic gets
 * as many partitions as the most partitioned source of the sub-topology that writes it, and a changelog as
 * many as the most partitioned source of its store's sub-topology (one changelog partition per task).
 */
export function planInternalTopics(
  applicationId: string,
  subtopologies: readonly Subtopology[],
  inputPartitions: ReadonlyMap<string, number>,
): InternalTopic[] {
  const counts = new Map(inputPartitions);
  // A repartition topic's writer may itself read repartition topics: resolve until nothing changes.
  for (let round = 0; round <= subtopologies.length; round++) {
    let changed = false;
    for (const sub of subtopologies) {
      const known = sub.sourceTopics.map((topic) => counts.get(topic));
      if (known.some((count) => count === undefined)) continue;
      const partitions = Math.max(...(known as number[]));
      for (const topic of sub.repartitionSinks) {
        if (counts.get(topic) !== partitions) {
          counts.set(topic, partitions);
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  copartition(subtopologies, inputPartitions, counts);
  const plan: InternalTopic[] = [];
  for (const sub of subtopologies) {
    for (const topic of sub.repartitionSinks) {
      const partitions = counts.get(topic);
      if (partitions === undefined)
        throw new TopologyError(`cannot size repartition topic ${topic}: a cycle`);
      plan.push({ name: topic, kind: "repartition", partitions, configs: { "cleanup.policy": "delete" } });
    }
  }
  for (const sub of subtopologies) {
    const partitions = Math.max(...sub.sourceTopics.map((topic) => counts.get(topic) ?? 0));
    for (const store of sub.stores) {
      const name = changelogTopic(applicationId, store.name);
      plan.push({ name, kind: "changelog", partitions, configs: changelogConfigs(store) });
    }
  }
  return plan;
}

/**
 * Kafka's co-partitioning rule: the topics one sub-topology reads together (a join) must have as many
 * partitions each, or key k would sit in partition p of one and q of the other. Input topics that differ
 * are an error; repartition topics among them take the input topics' count (or the largest of theirs).
 */
function copartition(
  subtopologies: readonly Subtopology[],
  inputPartitions: ReadonlyMap<string, number>,
  counts: Map<string, number>,
): void {
  for (const sub of subtopologies) {
    if (sub.sourceTopics.length < 2) continue;
    const inputs = sub.sourceTopics.filter((topic) => inputPartitions.has(topic));
    const sizes = new Set(inputs.map((topic) => inputPartitions.get(topic)));
    if (sizes.size > 1) {
      const listed = inputs.map((topic) => `${topic} (${inputPartitions.get(topic)})`).join(", ");
      throw new TopologyError(`topics joined must have as many partitions each, and ${listed} do not`);
    }
    const partitions =
      inputs.length > 0
        ? (inputPartitions.get(inputs[0] as string) as number)
        : Math.max(...sub.sourceTopics.map((topic) => counts.get(topic) ?? 0));
    for (const topic of sub.sourceTopics) if (!inputPartitions.has(topic)) counts.set(topic, partitions);
  }
}

/** Key-value stores: compacted; windowed ones also drop windows a day past the store's retention. */
function changelogConfigs(store: StoreSpec): Record<string, string> {
  switch (store.kind) {
    case "keyValue":
      return { "cleanup.policy": "compact" };
    case "window":
    case "session":
      return {
        "cleanup.policy": "compact,delete",
        "retention.ms": String(store.retentionMs + windowChangelogExtraRetentionMs),
      };
  }
}
