// The mirror's decisions about topics and group offsets, apart from the calls that carry them out: which
// target topics to create or grow, which translated offsets a source group gets, and which of them may be
// committed in the target (never moving a group back). Pure.

import type { GroupOffset, NewPartitions, NewTopic, TopicPartitionOffset } from "@brook/client";
import type { MirrorNames } from "./names.js";
import type { OffsetTranslator } from "./offset-translation.js";

/** A mirrored source topic as the plan needs it. */
export interface SourceTopic {
  name: string;
  partitions: number;
  /** The source's cleanup.policy, when it has one: a compacted topic stays compacted in the target. */
  cleanupPolicy?: string;
}

export interface TopicPlan {
  create: NewTopic[];
  grow: NewPartitions[];
}

/**
 * What the target needs so that every partition of `sources` has a copy: missing topics created with the
 * source's partition count (and cleanup.policy), topics with fewer partitions grown. `targetPartitions`
 * has the partition count of every target topic that exists.
 */
export function planTargetTopics(
  sources: readonly SourceTopic[],
  targetPartitions: ReadonlyMap<string, number>,
  names: MirrorNames,
): TopicPlan {
  const plan: TopicPlan = { create: [], grow: [] };
  for (const { name, partitions, cleanupPolicy } of sources) {
    const topic = names.targetTopic(name);
    const existing = targetPartitions.get(topic);
    if (existing === undefined) {
      const configEntries =
        cleanupPolicy === undefined ? [] : [{ name: "cleanup.policy", value: cleanupPolicy }];
      plan.create.push({ topic, numPartitions: partitions, configEntries });
    } else if (existing < partitions) {
      plan.grow.push({ topic, count: partitions });
    }
  }
  return plan;
}

/** A source group's committed offsets on mirrored topics, translated to the target's topics and offsets. */
export function translateGroupOffsets(
  offsets: readonly GroupOffset[],
  names: MirrorNames,
  translator: OffsetTranslator,
): TopicPartitionOffset[] {
  const translated: TopicPartitionOffset[] = [];
  for (const { topic, partition, offset } of offsets) {
    if (offset < 0 || !names.mirrorsTopic(topic)) continue;
    const target = translator.translate(topic, partition, offset);
    if (target !== undefined) translated.push({ topic: names.targetTopic(topic), partition, offset: target });
  }
  return translated;
}

/** The translated offsets ahead of what the target group has committed (-1 or absent: nothing). */
export function forwardOnly(
  translated: readonly TopicPartitionOffset[],
  targetCommitted: readonly GroupOffset[],
): TopicPartitionOffset[] {
  const current = new Map(
    targetCommitted.map(({ topic, partition, offset }) => [`${topic}:${partition}`, offset]),
  );
  return translated.filter(
    ({ topic, partition, offset }) => offset > (current.get(`${topic}:${partition}`) ?? -1),
  );
}
