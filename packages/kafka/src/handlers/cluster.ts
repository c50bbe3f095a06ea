// DescribeCluster: the brokers Kafka clients may use, the cluster id and the active controller.

import { KafkaErrorCode } from "../error-codes.js";
import type { DescribeClusterRequest, DescribeClusterResponseInput } from "../generated/messages.js";
import type { RequestContext } from "./context.js";
import { controllerIdForClients, kafkaBrokers } from "./endpoints.js";

/** v1's endpoint type for brokers (KIP-919); 2 (controllers) is not served: Brook's controllers speak gRPC. */
const BROKER_ENDPOINTS = 1;
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export function describeCluster(
  request: DescribeClusterRequest,
  ctx: RequestContext,
): DescribeClusterResponseInput {
  if (request.endpointType !== BROKER_ENDPOINTS) {
    return {
      throttleTimeMs: 0,
      errorCode: KafkaErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
      errorMessage: "only broker endpoints (type 1) are served; Brook's controllers speak gRPC",
      endpointType: request.endpointType,
      clusterId: ctx.broker.clusterId,
      controllerId: -1,
      brokers: [],
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    };
  }
  return {
    throttleTimeMs: 0,
    errorCode: KafkaErrorCode.NONE,
    errorMessage: null,
    endpointType: BROKER_ENDPOINTS,
    clusterId: ctx.broker.clusterId,
    controllerId: controllerIdForClients(ctx.broker.metadata.image, ctx.broker.activeControllerId()),
    brokers: kafkaBrokers(ctx.broker.metadata.image).map(({ id, endpoint, rack }) => ({
      brokerId: id,
      host: endpoint.host,
      port: endpoint.port,
      rack,
    })),
    clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}
