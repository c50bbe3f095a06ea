// Public API of @brook/broker: partitions, produce/fetch, and the Broker gRPC service.
export {
  AccessControl,
  type AccessDecision,
  type AccessPolicy,
  allowEverything,
  deniedCode,
  type Refusals,
} from "./access.js";
export {
  Broker,
  type BrokerApi,
  type BrokerMetricsView,
  type BrokerOptions,
  type SaslService,
} from "./broker.js";
export type {
  BrokerLimits,
  BrokerObserver,
  ControllerChannel,
  MetadataSource,
  TxnMarkerChannel,
} from "./context.js";
export { defaultBrokerLimits, noBrokerObserver } from "./context.js";
export type { GroupType } from "./groups/base-group.js";
export type {
  ClassicGroupState,
  ClassicJoinMember,
  ClassicJoinResult,
  ClassicMemberIdentity,
  ClassicProtocol,
  ClassicSyncResult,
} from "./groups/classic-group.js";
export { MemberIdRequiredError } from "./groups/classic-group.js";
export type {
  ClassicDeleteGroupResult,
  ClassicGroupDescription,
  ClassicGroupHandlers,
  ClassicHeartbeatRequest,
  ClassicJoinGroupRequest,
  ClassicJoinGroupResponse,
  ClassicLeaveGroupRequest,
  ClassicLeaveGroupResponse,
  ClassicListedGroup,
  ClassicListGroupsRequest,
  ClassicOffsetCommitRequest,
  ClassicOffsetCommitResponse,
  ClassicOffsetFetchRequest,
  ClassicOffsetFetchResponse,
  ClassicSyncGroupRequest,
  ClassicSyncGroupResponse,
} from "./groups/classic-handlers.js";
export type { GroupCoordinatorConfig } from "./groups/coordinator.js";
export type { GroupHandlers } from "./groups/handlers.js";
export { isInternalTopic, OFFSETS_TOPIC } from "./groups/records.js";
export { defaultInFlightLimits, type InFlightLimits } from "./in-flight.js";
export { type LeaderLease, LeadershipLease, unleased } from "./leadership-lease.js";
export { defaultLogCleanerConfig, type LogCleanerConfig } from "./log-cleaner.js";
export { ClientQuotas, type QuotaConfig, RateQuota, type RateQuotaOptions } from "./quotas.js";
export { defaultReplicaFetcherOptions, type ReplicaFetcherOptions } from "./replica-fetcher.js";
export { defaultReplicaLagTimeMaxMs, type ReplicaFailures } from "./replica-manager.js";
export {
  defaultTransactionCoordinatorConfig,
  type TransactionCoordinatorConfig,
} from "./transactions/coordinator.js";
export { TRANSACTION_STATE_TOPIC } from "./transactions/records.js";
