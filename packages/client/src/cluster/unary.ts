// Turns one unary Broker RPC into a promise with a deadline; a failed call becomes a BrookError through
// fromServiceError, so callers only ever see typed errors.

import {
  type AddOffsetsToTxnRequest,
  type AddOffsetsToTxnResponse__Output,
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnResponse__Output,
  type BrokerClient,
  BrookError,
  type Clock,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse__Output,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse__Output,
  type CreateTopicsRequest,
  type CreateTopicsResponse__Output,
  type DeleteGroupsRequest,
  type DeleteGroupsResponse__Output,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse__Output,
  type DescribeClusterRequest,
  type DescribeClusterResponse__Output,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse__Output,
  type DescribeTopicsRequest,
  type DescribeTopicsResponse__Output,
  type DescribeTransactionsRequest,
  type DescribeTransactionsResponse__Output,
  type EndTxnRequest,
  type EndTxnResponse__Output,
  type FetchRequest,
  type FetchResponse__Output,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse__Output,
  fromServiceError,
  type InitProducerIdRequest,
  type InitProducerIdResponse__Output,
  type ListGroupsRequest,
  type ListGroupsResponse__Output,
  type ListOffsetsRequest,
  type ListOffsetsResponse__Output,
  type ListTransactionsRequest,
  type ListTransactionsResponse__Output,
  type MetadataRequest,
  type MetadataResponse__Output,
  type OffsetCommitRequest,
  type OffsetCommitResponse__Output,
  type OffsetFetchRequest,
  type OffsetFetchResponse__Output,
  type ProduceRequest,
  type ProduceResponse__Output,
  type SaslAuthenticateRequest,
  type SaslAuthenticateResponse__Output,
  type TxnOffsetCommitRequest,
  type TxnOffsetCommitResponse__Output,
} from "@brook/protocol";
import type * as grpc from "@grpc/grpc-js";

/** Request and response type of each Broker RPC, by the stub's method name. */
export interface BrokerRpcs {
  produce: [ProduceRequest, ProduceResponse__Output];
  saslAuthenticate: [SaslAuthenticateRequest, SaslAuthenticateResponse__Output];
  fetch: [FetchRequest, FetchResponse__Output];
  listOffsets: [ListOffsetsRequest, ListOffsetsResponse__Output];
  metadata: [MetadataRequest, MetadataResponse__Output];
  createTopics: [CreateTopicsRequest, CreateTopicsResponse__Output];
  deleteTopics: [DeleteTopicsRequest, DeleteTopicsResponse__Output];
  createPartitions: [CreatePartitionsRequest, CreatePartitionsResponse__Output];
  describeTopics: [DescribeTopicsRequest, DescribeTopicsResponse__Output];
  describeCluster: [DescribeClusterRequest, DescribeClusterResponse__Output];
  initProducerId: [InitProducerIdRequest, InitProducerIdResponse__Output];
  findCoordinator: [FindCoordinatorRequest, FindCoordinatorResponse__Output];
  consumerGroupHeartbeat: [ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse__Output];
  offsetCommit: [OffsetCommitRequest, OffsetCommitResponse__Output];
  offsetFetch: [OffsetFetchRequest, OffsetFetchResponse__Output];
  listGroups: [ListGroupsRequest, ListGroupsResponse__Output];
  describeGroups: [DescribeGroupsRequest, DescribeGroupsResponse__Output];
  deleteGroups: [DeleteGroupsRequest, DeleteGroupsResponse__Output];
  addPartitionsToTxn: [AddPartitionsToTxnRequest, AddPartitionsToTxnResponse__Output];
  addOffsetsToTxn: [AddOffsetsToTxnRequest, AddOffsetsToTxnResponse__Output];
  endTxn: [EndTxnRequest, EndTxnResponse__Output];
  txnOffsetCommit: [TxnOffsetCommitRequest, TxnOffsetCommitResponse__Output];
  listTransactions: [ListTransactionsRequest, ListTransactionsResponse__Output];
  describeTransactions: [DescribeTransactionsRequest, DescribeTransactionsResponse__Output];
}
export type BrokerRpc = keyof BrokerRpcs;

type UnaryStub<Req, Res> = (
  this: BrokerClient,
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientUnaryCall;

export interface UnaryOptions {
  /** Sent with the call; identifies the client in the broker's logs. */
  metadata: grpc.Metadata;
  timeoutMs: number;
  clock: Clock;
  /** Aborting cancels the call; it then rejects with CLIENT_CLOSED. */
  signal?: AbortSignal;
}

export function callUnary<M extends BrokerRpc>(
  client: BrokerClient,
  method: M,
  request: BrokerRpcs[M][0],
  options: UnaryOptions,
): Promise<BrokerRpcs[M][1]> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(new BrookError("CLIENT_CLOSED", "the call was cancelled"));
  const stub = client[method] as unknown as UnaryStub<BrokerRpcs[M][0], BrokerRpcs[M][1]>;
  return new Promise((resolve, reject) => {
    const call = stub.call(
      client,
      request,
      options.metadata.clone(),
      { deadline: options.clock.nowMs() + options.timeoutMs },
      (error, response) => {
        signal?.removeEventListener("abort", cancel);
        if (error) reject(fromServiceError(error));
        else if (response === undefined)
          reject(new BrookError("UNKNOWN_SERVER_ERROR", `${method}: no response`));
        else resolve(response);
      },
    );
    function cancel(): void {
      call.cancel();
    }
    signal?.addEventListener("abort", cancel, { once: true });
  });
}
