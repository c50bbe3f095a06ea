// ListOffsets and OffsetForLeaderEpoch: where a consumer starts (earliest, latest, a timestamp) and where
// a leader epoch ends, answered by the broker's own offset lookups.

import { KafkaErrorCode } from "../error-codes.js";
import { kafkaErrorCodeOfWire } from "../errors.js";
import type {
  ListOffsetsRequest,
  ListOffsetsResponseInput,
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponseInput,
} from "../generated/messages.js";
import { fromInt64, type RequestContext, toInt64 } from "./context.js";

/** KIP-734's "the record with the largest timestamp" (v7), which Brook does not index: refused per partition. */
const MAX_TIMESTAMP = -3n;

export function listOffsets(request: ListOffsetsRequest, ctx: RequestContext): ListOffsetsResponseInput {
  const answer = ctx.broker.listOffsets(
    {
      // v2+: read_committed's latest is the last stable offset.
      isolationLevel: ctx.apiVersion >= 2 ? request.isolationLevel : 0,
      topics: request.topics.map((topic) => ({
        topic: topic.name,
        partitions: topic.partitions
          .filter((p) => p.timestamp !== MAX_TIMESTAMP)
          .map((p) => ({ partition: p.partitionIndex, timestamp: fromInt64(p.timestamp) })),
      })),
    },
    ctx.caller,
  );
  const found = new Map<string, { errorCode: number; offset: number; timestamp: number }>();
  for (const topic of answer.topics ?? []) {
    for (const p of topic.partitions ?? []) {
      found.set(`${topic.topic}\u0000${p.partition}`, {
        errorCode: kafkaErrorCodeOfWire(p.error),
        offset: Number(p.offset ?? -1),
        timestamp: Number(p.timestamp ?? -1),
      });
    }
  }
  const image = ctx.broker.metadata.image;
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((p) => {
        const result = found.get(`${topic.name}\u0000${p.partitionIndex}`);
        if (result === undefined) {
          return { partitionIndex: p.partitionIndex, errorCode: KafkaErrorCode.UNSUPPORTED_VERSION };
        }
        const leaderEpoch = image.partition(topic.name, p.partitionIndex)?.leaderEpoch ?? -1;
        return {
          partitionIndex: p.partitionIndex,
          errorCode: result.errorCode,
          timestamp: toInt64(result.timestamp),
          offset: toInt64(result.offset),
          leaderEpoch: result.errorCode === KafkaErrorCode.NONE ? leaderEpoch : -1,
        };
      }),
    })),
  };
}

export function offsetForLeaderEpoch(
  request: OffsetForLeaderEpochRequest,
  ctx: RequestContext,
): OffsetForLeaderEpochResponseInput {
  const answer = ctx.broker.offsetForLeaderEpoch(
    {
      replicaId: -1,
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((p) => ({
          partition: p.partition,
          currentLeaderEpoch: p.currentLeaderEpoch,
          leaderEpoch: p.leaderEpoch,
        })),
      })),
    },
    ctx.caller,
  );
  return {
    throttleTimeMs: 0,
    topics: (answer.topics ?? []).map((topic) => ({
      topic: topic.topic ?? "",
      partitions: (topic.partitions ?? []).map((p) => {
        return {
          errorCode: kafkaErrorCodeOfWire(p.error),
          partition: p.partition ?? 0,
          leaderEpoch: p.leaderEpoch ?? -1,
          endOffset: toInt64(Number(p.endOffset ?? -1)),
        };
      }),
    })),
  };
}
