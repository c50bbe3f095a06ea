// Produce: append each partition's batches on its leader and answer per
// partition. acks=1 answers after the append; acks=all (-1) once the high
// watermark covers the batch, i.e. every ISR member has it (durably, by
// default), refused with NOT_ENOUGH_REPLICAS while the ISR is below
// min.insync.replicas; acks=0 clients do not wait for the answer. A broker whose
// lease has lapsed (leadership-lease.ts: no word from the active controller for a
// session) takes no writes, and its acks=all waits end with NOT_LEADER.

import {
  asBrookError,
  BrookError,
  noError,
  type PartitionProduceResponse,
  type ProduceRequest__Output,
  type ProduceResponse,
  toWireError,
} from "@brook/protocol";
import type { Refusals } from "./access.js";
import type { BrokerContext } from "./context.js";
import { isInternalTopic } from "./groups/records.js";
import type { LeaderLease } from "./leadership-lease.js";

const validAcks = new Set([-1, 0, 1]);

/** `refused`: topics the caller may not write, each with its refusal (every partition of one answers it). */
export async function produce(
  ctx: BrokerContext,
  request: ProduceRequest__Output,
  refused: Refusals = new Map(),
): Promise<ProduceResponse> {
  if (!validAcks.has(request.acks)) {
    throw new BrookError("INVALID_REQUEST", `acks must be -1 (all), 0 or 1, got ${request.acks}`);
  }
  const timeoutMs =
    request.timeoutMs > 0
      ? Math.min(request.timeoutMs, ctx.limits.produceTimeoutMsMax)
      : ctx.limits.produceTimeoutMsDefault;
  const image = ctx.metadata.image;

  const topics = request.topics.map((topicData) => ({
    topic: topicData.topic,
    partitions: topicData.partitions.map(async (data): Promise<PartitionProduceResponse> => {
      try {
        if (topicData.topic === "") throw new BrookError("INVALID_REQUEST", "produce request names no topic");
        const refusal = refused.get(topicData.topic);
        if (refusal !== undefined) throw refusal;
        if (isInternalTopic(topicData.topic)) {
          throw new BrookError(
            "INVALID_REQUEST",
            `'${topicData.topic}' is internal: only group coordinators write it`,
          );
        }
        if (!data.records || data.records.length === 0) {
          throw new BrookError(
            "INVALID_REQUEST",
            `no record batches for ${topicData.topic}-${data.partition}`,
          );
        }
        const partition = ctx.replicas.get(image, topicData.topic, data.partition);
        const lapse = ctx.lease.lapsed();
        if (lapse !== undefined) throw lapse;
        const result = partition.append(data.records, request.acks);
        if (!result.duplicate) {
          ctx.observer.produced(
            topicData.topic,
            result.lastOffset - result.baseOffset + 1,
            data.records.length,
          );
        }
        if (request.acks === -1) {
          await whileLeased(ctx.lease, partition.waitForHighWatermark(result.lastOffset + 1, timeoutMs));
        }
        return {
          partition: data.partition,
          error: noError,
          baseOffset: result.baseOffset,
          logAppendTimeMs: -1,
          logStartOffset: partition.log.logStartOffset,
        };
      } catch (error) {
        const typed = asBrookError(error);
        if (typed.code === "UNKNOWN_SERVER_ERROR") {
          ctx.logger.error(
            { err: error, topic: topicData.topic, partition: data.partition },
            "produce failed",
          );
        }
        return {
          partition: data.partition,
          error: toWireError(typed),
          baseOffset: -1,
          logAppendTimeMs: -1,
          logStartOffset: -1,
        };
      }
    }),
  }));

  return {
    topics: await Promise.all(
      topics.map(async ({ topic, partitions }) => ({ topic, partitions: await Promise.all(partitions) })),
    ),
  };
}

/**
 * `commit`, unless the lease lapses first: then NOT_LEADER, since a new leader may
 * already be taking writes and these records may never be committed here.
 */
function whileLeased(lease: LeaderLease, commit: Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const cancel = lease.onLapse(() =>
      reject(lease.lapsed() ?? new BrookError("NOT_LEADER", "this broker's lease lapsed")),
    );
    commit.then(resolve, reject).finally(cancel);
  });
}
