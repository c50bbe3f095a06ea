// FindCoordinator: a group's coordinator is the leader of its __consumer_offsets partition, as for
// Brook's own groups, and a transactional id's (key type 1) the leader of its __transaction_state
// partition; Kafka clients get that broker's Kafka endpoint.

import { KafkaErrorCode } from "../error-codes.js";
import { brookErrorOf, kafkaErrorCodeOf } from "../errors.js";
import type {
  FindCoordinatorRequest,
  FindCoordinatorResponseCoordinatorInput,
  FindCoordinatorResponseInput,
} from "../generated/messages.js";
import type { RequestContext } from "./context.js";

const GROUP_KEY = 0;
const TRANSACTION_KEY = 1;

export async function findCoordinator(
  request: FindCoordinatorRequest,
  ctx: RequestContext,
): Promise<FindCoordinatorResponseInput> {
  // v4 batches keys; earlier versions ask for one.
  const keys = ctx.apiVersion >= 4 ? request.coordinatorKeys : [request.key];
  const coordinators = await Promise.all(keys.map((key) => coordinatorOf(key, request.keyType, ctx)));
  const [first] = coordinators;
  return {
    throttleTimeMs: 0,
    errorCode: first?.errorCode ?? KafkaErrorCode.NONE,
    errorMessage: first?.errorMessage ?? null,
    nodeId: first?.nodeId ?? -1,
    host: first?.host ?? "",
    port: first?.port ?? -1,
    coordinators,
  };
}

async function coordinatorOf(
  key: string,
  keyType: number,
  ctx: RequestContext,
): Promise<FindCoordinatorResponseCoordinatorInput> {
  const none = { key, nodeId: -1, host: "", port: -1 };
  if (keyType !== GROUP_KEY && keyType !== TRANSACTION_KEY) {
    return {
      ...none,
      errorCode: KafkaErrorCode.INVALID_REQUEST,
      errorMessage: `unknown coordinator key type ${keyType}: 0 is a group, 1 a transactional id`,
    };
  }
  const resourceType = keyType === GROUP_KEY ? "group" : "transactionalId";
  if (!ctx.broker.access.allowed(ctx.caller, "describe", resourceType, key)) {
    const errorCode =
      keyType === GROUP_KEY
        ? KafkaErrorCode.GROUP_AUTHORIZATION_FAILED
        : KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    return {
      ...none,
      errorCode,
      errorMessage: `${ctx.caller.principal} may not describe ${resourceType} ${key}`,
    };
  }
  const answer = await ctx.broker.groups.findCoordinator(
    keyType === GROUP_KEY ? { groupId: key, transactionalId: "" } : { groupId: "", transactionalId: key },
  );
  const error = brookErrorOf(answer.error);
  if (error !== undefined)
    return { ...none, errorCode: kafkaErrorCodeOf(error), errorMessage: error.message };
  const broker = ctx.broker.metadata.image.brokers.get(answer.nodeId ?? -1);
  const endpoint = broker?.kafkaEndpoint;
  if (endpoint === undefined) {
    return {
      ...none,
      errorCode: KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorMessage: `broker ${answer.nodeId} runs no Kafka listener`,
    };
  }
  return {
    key,
    nodeId: answer.nodeId ?? -1,
    host: endpoint.host,
    port: endpoint.port,
    errorCode: KafkaErrorCode.NONE,
    errorMessage: null,
  };
}
