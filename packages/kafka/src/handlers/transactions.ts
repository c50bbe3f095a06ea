// AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and TxnOffsetCommit: a Kafka transactional producer's
// calls, translated to the broker's transaction coordinator and group coordinator (docs/transactions.md).
// Every failure becomes the Kafka error code of its Brook error; a transactional producer reads
// PRODUCER_FENCED, INVALID_TXN_STATE and CONCURRENT_TRANSACTIONS from here exactly as from Kafka.

import { KafkaErrorCode } from "../error-codes.js";
import { brookErrorOf, kafkaErrorCodeOf, kafkaErrorCodeOfWire } from "../errors.js";
import type {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponseInput,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponseInput,
  EndTxnRequest,
  EndTxnResponseInput,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponseInput,
} from "../generated/messages.js";
import { fromInt64, type RequestContext, requireAccess } from "./context.js";

/**
 * KIP-588: the first version of each api whose clients know PRODUCER_FENCED (code 90). Older ones, kafkajs
 * 2.x among them, are told INVALID_PRODUCER_EPOCH instead, as Kafka tells them: both mean "a newer
 * instance took the transactional id; this one must stop".
 */
const producerFencedSince = {
  AddPartitionsToTxn: 2,
  AddOffsetsToTxn: 2,
  EndTxn: 2,
  TxnOffsetCommit: 3,
} as const;

function forVersion(code: number, api: keyof typeof producerFencedSince, ctx: RequestContext): number {
  return code === KafkaErrorCode.PRODUCER_FENCED && ctx.apiVersion < producerFencedSince[api]
    ? KafkaErrorCode.INVALID_PRODUCER_EPOCH
    : code;
}

export async function addPartitionsToTxn(
  request: AddPartitionsToTxnRequest,
  ctx: RequestContext,
): Promise<AddPartitionsToTxnResponseInput> {
  try {
    requireAccess(ctx, "write", "transactionalId", request.transactionalId);
    for (const topic of request.topics) requireAccess(ctx, "write", "topic", topic.name);
    const answer = await ctx.broker.transactions.addPartitionsToTxn({
      transactionalId: request.transactionalId,
      producerId: fromInt64(request.producerId),
      producerEpoch: request.producerEpoch,
      topics: request.topics.map((topic) => ({ topic: topic.name, partitions: topic.partitions })),
    });
    const codes = new Map<string, number>();
    for (const topic of answer.topics ?? []) {
      for (const p of topic.partitions ?? []) {
        codes.set(`${topic.topic}\u0000${p.partition}`, kafkaErrorCodeOfWire(p.error));
      }
    }
    return partitionResults(request, (topic, partition) =>
      forVersion(
        // A partition the coordinator did not answer for was not added.
        codes.get(`${topic}\u0000${partition}`) ?? KafkaErrorCode.UNKNOWN_SERVER_ERROR,
        "AddPartitionsToTxn",
        ctx,
      ),
    );
  } catch (error) {
    const errorCode = forVersion(kafkaErrorCodeOf(error), "AddPartitionsToTxn", ctx);
    return partitionResults(request, () => errorCode);
  }
}

function partitionResults(
  request: AddPartitionsToTxnRequest,
  codeOf: (topic: string, partition: number) => number,
): AddPartitionsToTxnResponseInput {
  return {
    throttleTimeMs: 0,
    results: request.topics.map((topic) => ({
      name: topic.name,
      results: topic.partitions.map((partition) => ({
        partitionIndex: partition,
        errorCode: codeOf(topic.name, partition),
      })),
    })),
  };
}

export async function addOffsetsToTxn(
  request: AddOffsetsToTxnRequest,
  ctx: RequestContext,
): Promise<AddOffsetsToTxnResponseInput> {
  const errorCode = await codeOfCall(() => {
    requireAccess(ctx, "write", "transactionalId", request.transactionalId);
    requireAccess(ctx, "read", "group", request.groupId);
    return ctx.broker.transactions.addOffsetsToTxn({
      transactionalId: request.transactionalId,
      producerId: fromInt64(request.producerId),
      producerEpoch: request.producerEpoch,
      groupId: request.groupId,
    });
  });
  return { throttleTimeMs: 0, errorCode: forVersion(errorCode, "AddOffsetsToTxn", ctx) };
}

export async function endTxn(request: EndTxnRequest, ctx: RequestContext): Promise<EndTxnResponseInput> {
  const errorCode = await codeOfCall(() => {
    requireAccess(ctx, "write", "transactionalId", request.transactionalId);
    return ctx.broker.transactions.endTxn({
      transactionalId: request.transactionalId,
      producerId: fromInt64(request.producerId),
      producerEpoch: request.producerEpoch,
      committed: request.committed,
    });
  });
  return { throttleTimeMs: 0, errorCode: forVersion(errorCode, "EndTxn", ctx) };
}

/** A call answered with one error field (or throwing): its Kafka error code. */
async function codeOfCall(call: () => Promise<{ error?: { code?: string; message?: string } | null }>) {
  try {
    return kafkaErrorCodeOfWire((await call()).error);
  } catch (error) {
    return kafkaErrorCodeOf(error);
  }
}

export async function txnOffsetCommit(
  request: TxnOffsetCommitRequest,
  ctx: RequestContext,
): Promise<TxnOffsetCommitResponseInput> {
  const everyPartition = (code: number): TxnOffsetCommitResponseInput => {
    const errorCode = forVersion(code, "TxnOffsetCommit", ctx);
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
      })),
    };
  };
  try {
    requireAccess(ctx, "write", "transactionalId", request.transactionalId);
    requireAccess(ctx, "read", "group", request.groupId);
    for (const topic of request.topics) requireAccess(ctx, "read", "topic", topic.name);
    const answer = await ctx.broker.groups.txnOffsetCommit({
      transactionalId: request.transactionalId,
      groupId: request.groupId,
      producerId: fromInt64(request.producerId),
      producerEpoch: request.producerEpoch,
      // v3+ carries the member's identity (KIP-447); a classic member's epoch is its generation.
      memberId: request.memberId,
      memberEpoch: request.generationId,
      topics: request.topics.map((topic) => ({
        topic: topic.name,
        partitions: topic.partitions.map((p) => ({
          partition: p.partitionIndex,
          offset: fromInt64(p.committedOffset),
          metadata: p.committedMetadata ?? "",
        })),
      })),
    });
    const whole = brookErrorOf(answer.error);
    if (whole !== undefined) return everyPartition(kafkaErrorCodeOf(whole));
    const codes = new Map<string, number>();
    for (const topic of answer.topics ?? []) {
      for (const p of topic.partitions ?? []) {
        codes.set(`${topic.topic}\u0000${p.partition}`, kafkaErrorCodeOfWire(p.error));
      }
    }
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: forVersion(
            codes.get(`${topic.name}\u0000${p.partitionIndex}`) ?? KafkaErrorCode.NONE,
            "TxnOffsetCommit",
            ctx,
          ),
        })),
      })),
    };
  } catch (error) {
    return everyPartition(kafkaErrorCodeOf(error));
  }
}
