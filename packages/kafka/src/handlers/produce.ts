// Produce: Kafka clients' record batches go through the broker's own produce path byte for byte (the
// same validation, acks, min.insync.replicas, high-watermark, idempotent- and transactional-producer rules
// as gRPC).

import { KafkaErrorCode } from "../error-codes.js";
import { brookErrorOf, kafkaErrorCodeOf } from "../errors.js";
import type {
  ProduceRequest,
  ProduceResponseInput,
  ProduceResponsePartitionInput,
} from "../generated/messages.js";
import { type RequestContext, throttleClient, toInt64 } from "./context.js";

/** KIP-219: from Produce v6 the client waits out throttle_time_ms itself; before, the broker delays the answer. */
const PRODUCE_CLIENT_THROTTLES_FROM = 6;

export interface ProduceOutcome {
  response: ProduceResponseInput;
  /** Some partition failed: an acks=0 client hears of it only through its connection closing, as in Kafka. */
  failed: boolean;
}

export async function produce(request: ProduceRequest, ctx: RequestContext): Promise<ProduceOutcome> {
  // A transactional producer's batches carry its producer id, epoch and the transactional bit; the
  // partition's producer state checks them (request.transactionalId itself only names the producer).
  // Writing for a transactional id needs Write on it: without, every partition is refused (as Kafka).
  const { transactionalId } = request;
  const refusal = transactionalId
    ? ctx.broker.access.refusal(ctx.caller, "write", "transactionalId", transactionalId)
    : undefined;
  if (refusal !== undefined) return refuseAll(request, kafkaErrorCodeOf(refusal));
  const answer = await ctx.broker.produce(
    {
      acks: request.acks,
      timeoutMs: request.timeoutMs,
      topics: request.topicData.map((topic) => ({
        topic: topic.name,
        partitions: topic.partitionData.map((p) => ({
          partition: p.index,
          records: p.records ?? Buffer.alloc(0),
        })),
      })),
    },
    ctx.caller,
  );
  let failed = false;
  const responses = (answer.topics ?? []).map((topic) => ({
    name: topic.topic ?? "",
    partitionResponses: (topic.partitions ?? []).map((p): ProduceResponsePartitionInput => {
      const error = brookErrorOf(p.error);
      if (error !== undefined) failed = true;
      return {
        index: p.partition ?? 0,
        errorCode: error === undefined ? KafkaErrorCode.NONE : kafkaErrorCodeOf(error),
        baseOffset: toInt64(Number(p.baseOffset ?? -1)),
        logAppendTimeMs: -1n,
        logStartOffset: toInt64(Number(p.logStartOffset ?? -1)),
        recordErrors: [],
        errorMessage: error?.message ?? null,
      };
    }),
  }));
  const throttleTimeMs = answer.throttleTimeMs ?? 0;
  await throttleClient(ctx, throttleTimeMs, PRODUCE_CLIENT_THROTTLES_FROM);
  return { response: { responses, throttleTimeMs }, failed };
}

function refuseAll(request: ProduceRequest, errorCode: number): ProduceOutcome {
  const responses = request.topicData.map((topic) => ({
    name: topic.name,
    partitionResponses: topic.partitionData.map(
      (p): ProduceResponsePartitionInput => ({
        index: p.index,
        errorCode,
        baseOffset: -1n,
        logAppendTimeMs: -1n,
        logStartOffset: -1n,
        recordErrors: [],
        errorMessage: null,
      }),
    ),
  }));
  return { response: { responses, throttleTimeMs: 0 }, failed: true };
}
