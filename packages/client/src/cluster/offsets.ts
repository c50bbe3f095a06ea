// ListOffsets for a set of partitions: each asked of its leader (one call per leader), retried as a whole
// on retriable errors. Used by admin.fetchTopicOffsets and consumer.endOffsets.

import { assert, BrookError, fromWireError, type ListOffsetsResponse__Output } from "@brook/protocol";
import { type IsolationLevel, isolationLevelWire } from "../consumer/isolation.js";
import { withRetry } from "../retry/retry-policy.js";
import type { Cluster } from "./cluster.js";

/** ListOffsets timestamps with a special meaning. */
export const OffsetSpec = { earliest: -2, latest: -1 } as const;

export interface OffsetQuery {
  topic: string;
  partition: number;
  /** OffsetSpec.earliest, OffsetSpec.latest (the high watermark), or a time in ms since the epoch. */
  timestamp: number;
}

/**
 * The offset for each query, in query order; at most one query per partition. With read_committed,
 * "latest" is the last stable offset (the high watermark when no transaction is open).
 */
export function listOffsets(
  cluster: Cluster,
  queries: OffsetQuery[],
  isolationLevel: IsolationLevel = "read_uncommitted",
): Promise<number[]> {
  const keys = new Set(queries.map(({ topic, partition }) => `${topic}\u0000${partition}`));
  assert(
    keys.size === queries.length,
    "one ListOffsets query per partition (answers are matched by partition)",
  );
  const { retry, random } = cluster.options;
  return withRetry(retry, { random, onRetry: () => cluster.metadata.markStale() }, async () => {
    const byLeader = new Map<string, number[]>();
    for (const [index, { topic, partition }] of queries.entries()) {
      const { address } = await cluster.metadata.leader(topic, partition);
      byLeader.set(address, [...(byLeader.get(address) ?? []), index]);
    }
    const offsets = new Array<number>(queries.length);
    await Promise.all(
      [...byLeader].map(async ([address, indexes]) => {
        const response = await cluster.call(address, "listOffsets", {
          topics: toTopics(queries, indexes),
          isolationLevel: isolationLevelWire(isolationLevel),
        });
        for (const index of indexes) offsets[index] = offsetOf(response, queries[index]);
      }),
    );
    return offsets;
  });
}

function toTopics(queries: OffsetQuery[], indexes: number[]) {
  const byTopic = new Map<string, { partition: number; timestamp: number }[]>();
  for (const index of indexes) {
    const { topic, partition, timestamp } = queries[index];
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), { partition, timestamp }]);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

function offsetOf(response: ListOffsetsResponse__Output, { topic, partition }: OffsetQuery): number {
  const answer = response.topics
    .find((each) => each.topic === topic)
    ?.partitions.find((each) => each.partition === partition);
  if (answer === undefined) {
    throw new BrookError(
      "UNKNOWN_SERVER_ERROR",
      `the broker did not answer ListOffsets for ${topic}-${partition}`,
    );
  }
  const error = fromWireError(answer.error);
  if (error !== undefined) throw error;
  return answer.offset;
}
