// Public API of @brook/controller: the single writer of cluster metadata.
export {
  type AlterPartitionRequest,
  type BrokerRegistration,
  type BrokerSessions,
  electLeader,
  noLeader,
  type PartitionState,
  planAlterPartition,
  planBrokerRegistration,
  planFenceExpiredBrokers,
  planFencing,
  planPreferredLeaderElection,
  planUnfence,
  sessionAlive,
} from "@brook/metadata";
export { type ControllerLogger, silentControllerLogger } from "./change-log.js";
export {
  type BrokerHeartbeat,
  type BrokerHeartbeatReply,
  Controller,
  defaultHeartbeatIntervalMs,
  defaultSessionCheckIntervalMs,
  defaultSessionTimeoutMs,
  type ImageListener,
  type TopicOutcome,
  termStartHeartbeats,
} from "./controller.js";
export { activeControllerIdOf, NotActiveControllerError } from "./errors.js";
export type {
  CommitListener,
  ControllerQuorumMember,
  MetadataLog,
  SnapshotListener,
} from "./metadata-log.js";
export {
  assignReplicas,
  type PlacementBroker,
  partitionsPerTopicMax,
  placementStart,
  rackAlternatedOrder,
} from "./placement.js";
export { type ProducerIdBlock, planProducerIdBlock, producerIdBlockSize } from "./producer-id-decisions.js";
export {
  defaultElectionTimeoutMs,
  type MetadataQuorumStatus,
  RaftMetadataLog,
  type RaftMetadataLogOptions,
} from "./raft-metadata-log.js";
export {
  planLogDirOffline,
  planReplicaResignations,
  type ReplicaResignation,
} from "./replica-failure-decisions.js";
export {
  type AclCreateOutcome,
  type AclDeleteOutcome,
  type AlterUserScramCredentialsPlan,
  type AlterUserScramCredentialsRequest,
  type CreateAclsPlan,
  type DeleteAclsPlan,
  planAlterUserScramCredentials,
  planCreateAcls,
  planDeleteAcls,
  type ScramCredentialDeletion,
  type ScramCredentialUpsertion,
  type UserOutcome,
} from "./security-decisions.js";
export {
  allocateProducerIds,
  alterPartition,
  alterUserScramCredentials,
  brokerHeartbeat,
  controllerHandlers,
  createAcls,
  createPartitions,
  createTopics,
  deleteAcls,
  deleteTopics,
  describeQuorum,
  fetchMetadata,
  registerBroker,
} from "./service.js";
export {
  type CreatePartitionsRequest,
  type CreateTopicRequest,
  defaultTopicDefaults,
  planCreatePartitions,
  planCreateTopic,
  planDeleteTopic,
  type TopicDefaults,
} from "./topic-decisions.js";
