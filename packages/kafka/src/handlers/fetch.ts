// Fetch: Kafka consumers read through the broker's own long-poll fetch and get the stored batches as
// they are. Fetch sessions (KIP-227) are not kept: every answer has session id 0, which tells the client
// to send full requests, as a broker out of session slots does. KIP-320: a stale current leader epoch
// is fenced (FENCED_LEADER_EPOCH), and from v12 a consumer's last fetched epoch is checked against this
// leader's log (diverging epoch), so a consumer that read past a truncation point learns where to go.

import type { FetchPartitionResponse } from "@brook/protocol";
import { KafkaErrorCode } from "../error-codes.js";
import { brookErrorOf, kafkaErrorCodeOfWire } from "../errors.js";
import type {
  FetchRequest,
  FetchRequestPartition,
  FetchResponseInput,
  FetchResponsePartitionInput,
} from "../generated/messages.js";
import { fromInt64, type RequestContext, throttleClient, toInt64 } from "./context.js";

const CONSUMER_REPLICA_ID = -1;
const READ_COMMITTED = 1;
/** KIP-219: from Fetch v8 the client waits out throttle_time_ms itself; before, the broker delays the answer. */
const FETCH_CLIENT_THROTTLES_FROM = 8;

export async function fetch(request: FetchRequest, ctx: RequestContext): Promise<FetchResponseInput> {
  if (request.replicaId !== CONSUMER_REPLICA_ID) return refuseReplica(request);
  const diverged = divergences(request, ctx);
  const answer = await ctx.broker.fetch(
    {
      replicaId: CONSUMER_REPLICA_ID,
      isolationLevel: request.isolationLevel === READ_COMMITTED ? READ_COMMITTED : 0,
      maxWaitMs: diverged.size > 0 ? 0 : request.maxWaitMs,
      minBytes: request.minBytes,
      maxBytes: request.maxBytes,
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions
          .filter((p) => !diverged.has(key(topic.topic, p.partition)))
          .map((p) => ({
            partition: p.partition,
            fetchOffset: fromInt64(p.fetchOffset),
            partitionMaxBytes: p.partitionMaxBytes,
            currentLeaderEpoch: p.currentLeaderEpoch,
          })),
      })),
    },
    ctx.caller,
  );
  const answers = new Map<string, FetchPartitionResponse>();
  for (const topic of answer.topics ?? []) {
    for (const p of topic.partitions ?? []) answers.set(key(topic.topic ?? "", p.partition ?? 0), p);
  }
  const readCommitted = request.isolationLevel === READ_COMMITTED;
  const throttleTimeMs = answer.throttleTimeMs ?? 0;
  await throttleClient(ctx, throttleTimeMs, FETCH_CLIENT_THROTTLES_FROM);
  return {
    throttleTimeMs,
    errorCode: KafkaErrorCode.NONE,
    sessionId: 0,
    responses: request.topics.map((topic) => ({
      topic: topic.topic,
      partitions: topic.partitions.map((p) => {
        const divergence = diverged.get(key(topic.topic, p.partition));
        if (divergence !== undefined) return divergence;
        return partitionAnswer(
          topic.topic,
          p,
          answers.get(key(topic.topic, p.partition)),
          readCommitted,
          ctx,
        );
      }),
    })),
  };
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

function partitionAnswer(
  topic: string,
  request: FetchRequestPartition,
  answer: FetchPartitionResponse | undefined,
  readCommitted: boolean,
  ctx: RequestContext,
): FetchResponsePartitionInput {
  const errorCode =
    answer === undefined ? KafkaErrorCode.UNKNOWN_SERVER_ERROR : kafkaErrorCodeOfWire(answer.error);
  const highWatermark = toInt64(Number(answer?.highWatermark ?? -1));
  // The broker always reports it; an answer without one (an error) repeats the high watermark.
  const lastStableOffset =
    answer?.lastStableOffset === undefined || answer.lastStableOffset === null
      ? highWatermark
      : toInt64(Number(answer.lastStableOffset));
  return {
    partitionIndex: request.partition,
    errorCode,
    highWatermark,
    lastStableOffset,
    logStartOffset: toInt64(Number(answer?.logStartOffset ?? -1)),
    currentLeader:
      errorCode === KafkaErrorCode.NONE ? undefined : currentLeader(topic, request.partition, ctx),
    // null (not an empty list) for read_uncommitted, as Kafka answers.
    abortedTransactions: readCommitted
      ? (answer?.abortedTransactions ?? []).map((aborted) => ({
          producerId: toInt64(Number(aborted.producerId ?? -1)),
          firstOffset: toInt64(Number(aborted.firstOffset ?? -1)),
        }))
      : null,
    preferredReadReplica: -1,
    records: (answer?.records as Buffer | undefined) ?? null,
  };
}

/** Who leads now, as this broker knows it: a client told NOT_LEADER can go there without a metadata round trip. */
function currentLeader(topic: string, partition: number, ctx: RequestContext) {
  const state = ctx.broker.metadata.image.partition(topic, partition);
  return state === undefined ? undefined : { leaderId: state.leader, leaderEpoch: state.leaderEpoch };
}

/**
 * v12: partitions whose last fetched epoch does not end where the consumer thinks (this leader's log
 * has that epoch ending before the fetch offset, or knows only an earlier epoch). They are answered
 * with the diverging epoch and end offset instead of records.
 */
function divergences(request: FetchRequest, ctx: RequestContext): Map<string, FetchResponsePartitionInput> {
  const diverged = new Map<string, FetchResponsePartitionInput>();
  for (const topic of request.topics) {
    for (const p of topic.partitions) {
      if (p.lastFetchedEpoch < 0) continue;
      const answer = ctx.broker.offsetForLeaderEpoch(
        {
          replicaId: CONSUMER_REPLICA_ID,
          topics: [
            {
              topic: topic.topic,
              partitions: [
                {
                  partition: p.partition,
                  currentLeaderEpoch: p.currentLeaderEpoch,
                  leaderEpoch: p.lastFetchedEpoch,
                },
              ],
            },
          ],
        },
        ctx.caller,
      );
      const found = answer.topics?.[0]?.partitions?.[0];
      if (found === undefined || brookErrorOf(found.error) !== undefined) continue; // the fetch reports it
      const endOffset = Number(found.endOffset ?? -1);
      if (found.leaderEpoch === p.lastFetchedEpoch && endOffset >= fromInt64(p.fetchOffset)) continue;
      diverged.set(key(topic.topic, p.partition), {
        partitionIndex: p.partition,
        errorCode: KafkaErrorCode.NONE,
        highWatermark: -1n,
        divergingEpoch: { epoch: found.leaderEpoch ?? -1, endOffset: toInt64(endOffset) },
        abortedTransactions: null,
        records: null,
      });
    }
  }
  return diverged;
}

/** Kafka clients are consumers; replicas fetch over Brook's own protocol. A client claiming a broker id is refused. */
/**
 * Brook's nodes replicate over gRPC, with node identity; a replica fetch on the Kafka listener is a
 * client claiming to be a broker, and moves nothing (Kafka answers the same to a client without
 * ClusterAction).
 */
function refuseReplica(request: FetchRequest): FetchResponseInput {
  return {
    throttleTimeMs: 0,
    errorCode: KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    sessionId: 0,
    responses: request.topics.map((topic) => ({
      topic: topic.topic,
      partitions: topic.partitions.map((p) => ({
        partitionIndex: p.partition,
        errorCode: KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        highWatermark: -1n,
        abortedTransactions: null,
        records: null,
      })),
    })),
  };
}
