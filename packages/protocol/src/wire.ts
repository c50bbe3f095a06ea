// Re-exports the generated message types under short names, so the rest of
// the code base never reaches into src/generated.

// proto/raft.proto, under Raft-prefixed names (its Entry and Message would clash).
export type {
  Entry as RaftEntry,
  Entry__Output as RaftEntry__Output,
} from "./generated/brook/raft/v1/Entry.js";
export type {
  Membership as RaftMembership,
  Membership__Output as RaftMembership__Output,
} from "./generated/brook/raft/v1/Membership.js";
export type {
  Message as RaftMessage,
  Message__Output as RaftMessage__Output,
} from "./generated/brook/raft/v1/Message.js";
export type {
  SnapshotChunk as RaftSnapshotChunk,
  SnapshotChunk__Output as RaftSnapshotChunk__Output,
} from "./generated/brook/raft/v1/SnapshotChunk.js";
export type {
  SnapshotMetadata as RaftSnapshotMetadata,
  SnapshotMetadata__Output as RaftSnapshotMetadata__Output,
} from "./generated/brook/raft/v1/SnapshotMetadata.js";
export type { StepAck__Output as RaftStepAck__Output } from "./generated/brook/raft/v1/StepAck.js";
export type {
  StepBatch as RaftStepBatch,
  StepBatch__Output as RaftStepBatch__Output,
} from "./generated/brook/raft/v1/StepBatch.js";
export type * from "./generated/brook/v1/AbortedTransaction.js";
export type * from "./generated/brook/v1/AddOffsetsToTxnRequest.js";
export type * from "./generated/brook/v1/AddOffsetsToTxnResponse.js";
export type * from "./generated/brook/v1/AddPartitionsToTxnRequest.js";
export type * from "./generated/brook/v1/AddPartitionsToTxnResponse.js";
export type * from "./generated/brook/v1/AllocateProducerIdsRequest.js";
export type * from "./generated/brook/v1/AllocateProducerIdsResponse.js";
export type * from "./generated/brook/v1/AlterPartitionRequest.js";
export type * from "./generated/brook/v1/AlterPartitionResponse.js";
export type * from "./generated/brook/v1/BrokerHeartbeatRequest.js";
export type * from "./generated/brook/v1/BrokerHeartbeatResponse.js";
export type * from "./generated/brook/v1/BrokerInfo.js";
export type * from "./generated/brook/v1/BrokerStatus.js";
export type * from "./generated/brook/v1/CallRequest.js";
export type * from "./generated/brook/v1/CallResponse.js";
export type * from "./generated/brook/v1/ConsumerGroupHeartbeatRequest.js";
export type * from "./generated/brook/v1/ConsumerGroupHeartbeatResponse.js";
export type * from "./generated/brook/v1/ControllerStatus.js";
export type * from "./generated/brook/v1/CreatableTopic.js";
export type * from "./generated/brook/v1/CreatePartitionsRequest.js";
export type * from "./generated/brook/v1/CreatePartitionsResponse.js";
export type * from "./generated/brook/v1/CreatePartitionsTopic.js";
export type * from "./generated/brook/v1/CreateTopicsRequest.js";
export type * from "./generated/brook/v1/CreateTopicsResponse.js";
export type * from "./generated/brook/v1/DeleteGroupResult.js";
export type * from "./generated/brook/v1/DeleteGroupsRequest.js";
export type * from "./generated/brook/v1/DeleteGroupsResponse.js";
export type * from "./generated/brook/v1/DeleteTopicsRequest.js";
export type * from "./generated/brook/v1/DeleteTopicsResponse.js";
export type * from "./generated/brook/v1/DescribeClusterRequest.js";
export type * from "./generated/brook/v1/DescribeClusterResponse.js";
export type * from "./generated/brook/v1/DescribeControllerRequest.js";
export type * from "./generated/brook/v1/DescribeControllerResponse.js";
export type * from "./generated/brook/v1/DescribeGroupsRequest.js";
export type * from "./generated/brook/v1/DescribeGroupsResponse.js";
export type * from "./generated/brook/v1/DescribeQuorumRequest.js";
export type * from "./generated/brook/v1/DescribeQuorumResponse.js";
export type * from "./generated/brook/v1/DescribeTopicsRequest.js";
export type * from "./generated/brook/v1/DescribeTopicsResponse.js";
export type * from "./generated/brook/v1/DescribeTransactionsRequest.js";
export type * from "./generated/brook/v1/DescribeTransactionsResponse.js";
export type * from "./generated/brook/v1/EndTxnRequest.js";
export type * from "./generated/brook/v1/EndTxnResponse.js";
export type { Error as WireError, Error__Output as WireError__Output } from "./generated/brook/v1/Error.js";
export type * from "./generated/brook/v1/FetchMetadataRequest.js";
export type * from "./generated/brook/v1/FetchMetadataResponse.js";
export type * from "./generated/brook/v1/FetchPartition.js";
export type * from "./generated/brook/v1/FetchPartitionResponse.js";
export type * from "./generated/brook/v1/FetchRequest.js";
export type * from "./generated/brook/v1/FetchResponse.js";
export type * from "./generated/brook/v1/FetchTopic.js";
export type * from "./generated/brook/v1/FetchTopicResponse.js";
export type * from "./generated/brook/v1/FindCoordinatorRequest.js";
export type * from "./generated/brook/v1/FindCoordinatorResponse.js";
export type * from "./generated/brook/v1/GroupDescription.js";
export type * from "./generated/brook/v1/GroupMemberDescription.js";
export type * from "./generated/brook/v1/GroupTopicPartitions.js";
export type * from "./generated/brook/v1/InitProducerIdRequest.js";
export type * from "./generated/brook/v1/InitProducerIdResponse.js";
export type * from "./generated/brook/v1/ListedGroup.js";
export type * from "./generated/brook/v1/ListedTransaction.js";
export type * from "./generated/brook/v1/ListGroupsRequest.js";
export type * from "./generated/brook/v1/ListGroupsResponse.js";
export type * from "./generated/brook/v1/ListOffsetsPartition.js";
export type * from "./generated/brook/v1/ListOffsetsPartitionResponse.js";
export type * from "./generated/brook/v1/ListOffsetsRequest.js";
export type * from "./generated/brook/v1/ListOffsetsResponse.js";
export type * from "./generated/brook/v1/ListOffsetsTopic.js";
export type * from "./generated/brook/v1/ListOffsetsTopicResponse.js";
export type * from "./generated/brook/v1/ListTransactionsRequest.js";
export type * from "./generated/brook/v1/ListTransactionsResponse.js";
export type * from "./generated/brook/v1/MetadataRequest.js";
export type * from "./generated/brook/v1/MetadataResponse.js";
export type * from "./generated/brook/v1/OffsetCommitPartition.js";
export type * from "./generated/brook/v1/OffsetCommitPartitionResponse.js";
export type * from "./generated/brook/v1/OffsetCommitRequest.js";
export type * from "./generated/brook/v1/OffsetCommitResponse.js";
export type * from "./generated/brook/v1/OffsetCommitTopic.js";
export type * from "./generated/brook/v1/OffsetCommitTopicResponse.js";
export type * from "./generated/brook/v1/OffsetFetchPartition.js";
export type * from "./generated/brook/v1/OffsetFetchRequest.js";
export type * from "./generated/brook/v1/OffsetFetchResponse.js";
export type * from "./generated/brook/v1/OffsetFetchTopic.js";
export type * from "./generated/brook/v1/OffsetForLeaderEpochPartition.js";
export type * from "./generated/brook/v1/OffsetForLeaderEpochPartitionResult.js";
export type * from "./generated/brook/v1/OffsetForLeaderEpochRequest.js";
export type * from "./generated/brook/v1/OffsetForLeaderEpochResponse.js";
export type * from "./generated/brook/v1/OffsetForLeaderEpochTopic.js";
export type * from "./generated/brook/v1/OffsetForLeaderEpochTopicResult.js";
export type * from "./generated/brook/v1/PartitionDescription.js";
export type * from "./generated/brook/v1/PartitionInfo.js";
export type * from "./generated/brook/v1/PartitionProduceData.js";
export type * from "./generated/brook/v1/PartitionProduceResponse.js";
export type * from "./generated/brook/v1/ProduceRequest.js";
export type * from "./generated/brook/v1/ProduceResponse.js";
export type * from "./generated/brook/v1/QuorumVoter.js";
export type * from "./generated/brook/v1/RegisterBrokerRequest.js";
export type * from "./generated/brook/v1/RegisterBrokerResponse.js";
export type * from "./generated/brook/v1/ReplicaAssignment.js";
export type * from "./generated/brook/v1/SaslAuthenticateRequest.js";
export type * from "./generated/brook/v1/SaslAuthenticateResponse.js";
export type * from "./generated/brook/v1/TopicConfigEntry.js";
export type * from "./generated/brook/v1/TopicDescription.js";
export type * from "./generated/brook/v1/TopicInfo.js";
export type * from "./generated/brook/v1/TopicProduceData.js";
export type * from "./generated/brook/v1/TopicProduceResponse.js";
export type * from "./generated/brook/v1/TopicResult.js";
export type * from "./generated/brook/v1/TransactionDescription.js";
export type * from "./generated/brook/v1/TxnMarker.js";
export type * from "./generated/brook/v1/TxnMarkerResult.js";
export type * from "./generated/brook/v1/TxnOffsetCommitRequest.js";
export type * from "./generated/brook/v1/TxnOffsetCommitResponse.js";
export type * from "./generated/brook/v1/TxnPartitionResult.js";
export type * from "./generated/brook/v1/TxnTopicResult.js";
export type * from "./generated/brook/v1/WriteTxnMarkersRequest.js";
export type * from "./generated/brook/v1/WriteTxnMarkersResponse.js";
