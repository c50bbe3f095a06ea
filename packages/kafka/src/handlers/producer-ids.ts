// InitProducerId: an idempotent Kafka producer gets its producer id and epoch from the same allocator
// as Brook's own producers, so the broker's sequence checks treat both alike.

import { KafkaErrorCode } from "../error-codes.js";
import { kafkaErrorCodeOfWire } from "../errors.js";
import type { InitProducerIdRequest, InitProducerIdResponseInput } from "../generated/messages.js";
import { type RequestContext, toInt64 } from "./context.js";

export async function initProducerId(
  request: InitProducerIdRequest,
  ctx: RequestContext,
): Promise<InitProducerIdResponseInput> {
  if (request.transactionalId !== null) {
    return {
      throttleTimeMs: 0,
      errorCode: KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      producerId: -1n,
      producerEpoch: -1,
    };
  }
  const answer = await ctx.broker.initProducerId({ transactionalId: "", transactionTimeoutMs: 0 });
  return {
    throttleTimeMs: 0,
    errorCode: kafkaErrorCodeOfWire(answer.error),
    producerId: toInt64(Number(answer.producerId ?? -1)),
    producerEpoch: answer.producerEpoch ?? -1,
  };
}
