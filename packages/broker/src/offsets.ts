// ListOffsets: earliest (-2), latest (-1, the high watermark: the next offset
// a consumer will see; read_committed: the last stable offset) or the first
// offset at or after a timestamp. And
// OffsetForLeaderEpoch, which followers ask before they truncate.

import {
  asBrookError,
  type ListOffsetsPartitionResponse,
  type ListOffsetsRequest__Output,
  type ListOffsetsResponse,
  noError,
  type OffsetForLeaderEpochPartitionResult,
  type OffsetForLeaderEpochRequest__Output,
  type OffsetForLeaderEpochResponse,
  toWireError,
} from "@brook/protocol";
import type { Refusals } from "./access.js";
import type { BrokerContext } from "./context.js";
import { isolationLevel } from "./fetch.js";

export const earliestTimestamp = -2;
export const latestTimestamp = -1;

/** `refused`: topics the caller may not describe, each with its refusal. */
export function listOffsets(
  ctx: BrokerContext,
  request: ListOffsetsRequest__Output,
  refused: Refusals = new Map(),
): ListOffsetsResponse {
  const image = ctx.metadata.image;
  const committed = isolationLevel(request.isolationLevel) === "read_committed";
  return {
    topics: request.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p): ListOffsetsPartitionResponse => {
        try {
          const refusal = refused.get(t.topic);
          if (refusal !== undefined) throw refusal;
          const partition = ctx.replicas.get(image, t.topic, p.partition);
          const { highWatermark, logStartOffset, lastStableOffset } = partition.offsets();
          // What a consumer of this isolation level can read up to.
          const visibleEnd = committed ? lastStableOffset : highWatermark;
          if (p.timestamp === earliestTimestamp)
            return { partition: p.partition, error: noError, offset: logStartOffset, timestamp: -1 };
          if (p.timestamp === latestTimestamp)
            return { partition: p.partition, error: noError, offset: visibleEnd, timestamp: -1 };
          const found = partition.log.offsetForTimestamp(p.timestamp);
          const visible = found !== undefined && found < visibleEnd;
          return {
            partition: p.partition,
            error: noError,
            offset: visible ? found : -1,
            timestamp: visible ? p.timestamp : -1,
          };
        } catch (error) {
          return {
            partition: p.partition,
            error: toWireError(asBrookError(error)),
            offset: -1,
            timestamp: -1,
          };
        }
      }),
    })),
  };
}

/**
 * Where each asked-for leader epoch ends in this leader's log (Kafka's
 * OffsetsForLeaderEpoch): the largest epoch at or below it that the leader
 * knows, and the first offset after that epoch; -1/-1 when it knows none.
 */
export function offsetForLeaderEpoch(
  ctx: BrokerContext,
  request: OffsetForLeaderEpochRequest__Output,
  refused: Refusals = new Map(),
): OffsetForLeaderEpochResponse {
  const image = ctx.metadata.image;
  return {
    topics: request.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p): OffsetForLeaderEpochPartitionResult => {
        try {
          const refusal = refused.get(t.topic);
          if (refusal !== undefined) throw refusal;
          const partition = ctx.replicas.get(image, t.topic, p.partition);
          const found = partition.endOffsetForEpoch(p.currentLeaderEpoch, p.leaderEpoch);
          return {
            partition: p.partition,
            error: noError,
            leaderEpoch: found?.leaderEpoch ?? -1,
            endOffset: found?.endOffset ?? -1,
          };
        } catch (error) {
          return {
            partition: p.partition,
            error: toWireError(asBrookError(error)),
            leaderEpoch: -1,
            endOffset: -1,
          };
        }
      }),
    })),
  };
}
