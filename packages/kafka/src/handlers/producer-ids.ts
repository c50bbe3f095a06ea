// InitProducerId: an idempotent Kafka producer gets its producer id and epoch from the same allocator
// as Brook's own producers, so the broker's sequence checks treat both alike; a transactional one gets
// its transactional id's, from that id's transaction coordinator.

import { kafkaErrorCodeOfWire } from "../errors.js";
import type { InitProducerIdRequest, InitProducerIdResponseInput } from "../generated/messages.js";
import { type RequestContext, toInt64 } from "./context.js";

export async function initProducerId(
  request: InitProducerIdRequest,
  ctx: RequestContext,
): Promise<InitProducerIdResponseInput> {
  // A transactional id goes to its transaction coordinator, which bumps the id's epoch (fencing an older
  // instance); without one, any broker hands out a fresh id for an idempotent producer.
  const answer = await ctx.broker.initProducerId(
    {
      transactionalId: request.transactionalId ?? "",
      transactionTimeoutMs: request.transactionalId === null ? 0 : request.transactionTimeoutMs,
    },
    ctx.caller,
  );
  return {
    throttleTimeMs: 0,
    errorCode: kafkaErrorCodeOfWire(answer.error),
    producerId: toInt64(Number(answer.producerId ?? -1)),
    producerEpoch: answer.producerEpoch ?? -1,
  };
}
