// Public API of @brook/client: the Brook entry point, producer, consumer and admin, and their shapes.

// The coordinator's states of a transactional id, from the wire contract; named here for the CLI and apps.
export { BrookError, type ErrorCode, type TransactionStateName, transactionStates } from "@brook/protocol";
// The ACL model and SCRAM mechanisms the admin takes and returns, and the parsers of the names a person
// types ("Read", "DESCRIBE_CONFIGS", "transactional-id"), from @brook/security.
export {
  type AclBinding,
  type AclBindingFilter,
  type Operation,
  type OperationFilter,
  type PatternType,
  type PatternTypeFilter,
  type Permission,
  type PermissionFilter,
  parseOperation,
  parsePatternType,
  parsePermission,
  parseResourceType,
  type ResourceType,
  type ResourceTypeFilter,
  SCRAM_MECHANISMS,
  type ScramMechanism,
} from "@brook/security";
export type {
  BrokerEndpoint,
  ClusterDescription,
  ConfigEntry,
  CreatePartitionsOptions,
  CreateTopicsOptions,
  NewPartitions,
  NewTopic,
  PartitionDescription,
  PartitionOffsets,
  TopicDescription,
} from "./admin/admin.js";
export { Admin } from "./admin/admin.js";
export type {
  DeleteGroupResult,
  GroupDescription,
  GroupLag,
  GroupLagMember,
  GroupMember,
  GroupOffset,
  GroupOverview,
  PartitionLag,
  ResetOffsetsOptions,
  ResetTarget,
} from "./admin/groups.js";
export type {
  CreateUserOptions,
  DeletedAcls,
  NewAclBinding,
  UserCredentialDescription,
  UserDescription,
} from "./admin/security.js";
export { userDefaults } from "./admin/security.js";
export type { TransactionDescription, TransactionOverview } from "./admin/transactions.js";
export { Brook, type BrookConfig } from "./brook.js";
export type { SaslConfig } from "./cluster/authenticator.js";
export type { SslConfig } from "./cluster/cluster.js";
export { checkBrokerAddresses } from "./cluster/cluster.js";
export type { BrokerClientFactory } from "./cluster/connection-pool.js";
export {
  adminDefaults,
  clientDefaults,
  consumerDefaults,
  consumerLimits,
  defaultRetryPolicy,
  metadataLimits,
  producerDefaults,
  producerLimits,
} from "./config.js";
export { Consumer } from "./consumer/consumer.js";
export type { GroupState } from "./consumer/group-membership.js";
export type { IsolationLevel } from "./consumer/isolation.js";
export type {
  Assignment,
  Batch,
  ConsumedMessage,
  ConsumerOptions,
  EachBatchPayload,
  EachMessagePayload,
  GroupAssignor,
  MessageHeaders,
  OffsetResetPolicy,
  RebalanceListener,
  RunOptions,
  Subscription,
  TopicPartition,
  TopicPartitionOffset,
  TopicPartitions,
} from "./consumer/types.js";
export { consoleLogger, type Logger, silentLogger } from "./logger.js";
export { Producer } from "./producer/producer.js";
export type { GroupMetadataSource, SendOffsetsOptions } from "./producer/transaction.js";
export { Transaction } from "./producer/transaction.js";
export type { TransactionOffsets } from "./producer/transaction-manager.js";
export type { TransactionState } from "./producer/transaction-state.js";
export type {
  Acks,
  Message,
  ProducerBatchRecord,
  ProducerOptions,
  ProducerRecord,
  RecordMetadata,
} from "./producer/types.js";
export { backoffMs, type RetryPolicy } from "./retry/retry-policy.js";
