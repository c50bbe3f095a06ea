// Brook's errors as Kafka clients must see them: every Brook error code maps to one Kafka error code,
// chosen so that a Kafka client retries exactly what Brook's SDK retries (NOT_LEADER is Kafka's
// NOT_LEADER_OR_FOLLOWER, which makes a client refresh its metadata and go to the new leader). The table
// is a Record over every ErrorCode, so a new Brook code cannot be added without deciding its Kafka code.

import { asBrookError, type BrookError, type ErrorCode, fromWireError } from "@brook/protocol";
import { KafkaErrorCode, type KafkaErrorName } from "./error-codes.js";

const KAFKA_NAME_OF: Readonly<Record<ErrorCode, KafkaErrorName>> = {
  UNKNOWN_SERVER_ERROR: "UNKNOWN_SERVER_ERROR",
  NOT_LEADER: "NOT_LEADER_OR_FOLLOWER",
  UNKNOWN_TOPIC: "UNKNOWN_TOPIC_OR_PARTITION",
  UNKNOWN_PARTITION: "UNKNOWN_TOPIC_OR_PARTITION",
  TOPIC_ALREADY_EXISTS: "TOPIC_ALREADY_EXISTS",
  INVALID_TOPIC: "INVALID_TOPIC_EXCEPTION",
  INVALID_PARTITIONS: "INVALID_PARTITIONS",
  INVALID_REPLICATION_FACTOR: "INVALID_REPLICATION_FACTOR",
  INVALID_REPLICA_ASSIGNMENT: "INVALID_REPLICA_ASSIGNMENT",
  INVALID_CONFIG: "INVALID_CONFIG",
  INVALID_REQUEST: "INVALID_REQUEST",
  // Retriable in both: the client resends the same bytes.
  CORRUPT_BATCH: "CORRUPT_MESSAGE",
  UNSUPPORTED_BATCH: "UNSUPPORTED_FOR_MESSAGE_FORMAT",
  REQUEST_TOO_LARGE: "MESSAGE_TOO_LARGE",
  RECORD_TOO_LARGE: "MESSAGE_TOO_LARGE",
  OFFSET_OUT_OF_RANGE: "OFFSET_OUT_OF_RANGE",
  NOT_ENOUGH_REPLICAS: "NOT_ENOUGH_REPLICAS",
  REQUEST_TIMED_OUT: "REQUEST_TIMED_OUT",
  NOT_CONTROLLER: "NOT_CONTROLLER",
  STORAGE_ERROR: "KAFKA_STORAGE_ERROR",
  // KAFKA_STORAGE_ERROR makes a Kafka client refresh its metadata and retry; CORRUPT_MESSAGE would stop a consumer.
  CORRUPT_LOG: "KAFKA_STORAGE_ERROR",
  BROKER_NOT_AVAILABLE: "BROKER_NOT_AVAILABLE",
  // Client-side conditions; a broker never answers with them.
  CLUSTER_UNREACHABLE: "UNKNOWN_SERVER_ERROR",
  CLIENT_CLOSED: "UNKNOWN_SERVER_ERROR",
  FENCED_LEADER_EPOCH: "FENCED_LEADER_EPOCH",
  // Controller-internal: a broker's ISR change raced another; Kafka's closest is a stale update.
  INVALID_PARTITION_EPOCH: "INVALID_UPDATE_VERSION",
  INELIGIBLE_REPLICA: "INELIGIBLE_REPLICA",
  DUPLICATE_BROKER_REGISTRATION: "DUPLICATE_BROKER_REGISTRATION",
  STALE_BROKER_INCARNATION: "STALE_BROKER_EPOCH",
  UNKNOWN_LEADER_EPOCH: "UNKNOWN_LEADER_EPOCH",
  OFFSET_NOT_AVAILABLE: "OFFSET_NOT_AVAILABLE",
  INVALID_PRODUCER_EPOCH: "INVALID_PRODUCER_EPOCH",
  OUT_OF_ORDER_SEQUENCE_NUMBER: "OUT_OF_ORDER_SEQUENCE_NUMBER",
  COORDINATOR_NOT_AVAILABLE: "COORDINATOR_NOT_AVAILABLE",
  NOT_COORDINATOR: "NOT_COORDINATOR",
  COORDINATOR_LOAD_IN_PROGRESS: "COORDINATOR_LOAD_IN_PROGRESS",
  UNKNOWN_MEMBER_ID: "UNKNOWN_MEMBER_ID",
  FENCED_MEMBER_EPOCH: "FENCED_MEMBER_EPOCH",
  STALE_MEMBER_EPOCH: "STALE_MEMBER_EPOCH",
  FENCED_INSTANCE_ID: "FENCED_INSTANCE_ID",
  NON_EMPTY_GROUP: "NON_EMPTY_GROUP",
  GROUP_ID_NOT_FOUND: "GROUP_ID_NOT_FOUND",
  INVALID_GROUP_ID: "INVALID_GROUP_ID",
  ILLEGAL_GENERATION: "ILLEGAL_GENERATION",
  REBALANCE_IN_PROGRESS: "REBALANCE_IN_PROGRESS",
  MEMBER_ID_REQUIRED: "MEMBER_ID_REQUIRED",
  INCONSISTENT_GROUP_PROTOCOL: "INCONSISTENT_GROUP_PROTOCOL",
  GROUP_MAX_SIZE_REACHED: "GROUP_MAX_SIZE_REACHED",
  INVALID_SESSION_TIMEOUT: "INVALID_SESSION_TIMEOUT",
  UNSUPPORTED_ASSIGNOR: "UNSUPPORTED_ASSIGNOR",
  PRODUCER_FENCED: "PRODUCER_FENCED",
  INVALID_TXN_STATE: "INVALID_TXN_STATE",
  CONCURRENT_TRANSACTIONS: "CONCURRENT_TRANSACTIONS",
  INVALID_TRANSACTION_TIMEOUT: "INVALID_TRANSACTION_TIMEOUT",
  INVALID_PRODUCER_ID_MAPPING: "INVALID_PRODUCER_ID_MAPPING",
  TRANSACTION_COORDINATOR_FENCED: "TRANSACTION_COORDINATOR_FENCED",
  TRANSACTIONAL_ID_NOT_FOUND: "TRANSACTIONAL_ID_NOT_FOUND",
  OPERATION_NOT_ATTEMPTED: "OPERATION_NOT_ATTEMPTED",
  // Retriable in both (88): a read_committed Kafka consumer backs off and fetches the offset again.
  UNSTABLE_OFFSET_COMMIT: "UNSTABLE_OFFSET_COMMIT",
  CLUSTER_AUTHORIZATION_FAILED: "CLUSTER_AUTHORIZATION_FAILED",
  TOPIC_AUTHORIZATION_FAILED: "TOPIC_AUTHORIZATION_FAILED",
  GROUP_AUTHORIZATION_FAILED: "GROUP_AUTHORIZATION_FAILED",
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
  SASL_AUTHENTICATION_FAILED: "SASL_AUTHENTICATION_FAILED",
  UNSUPPORTED_SASL_MECHANISM: "UNSUPPORTED_SASL_MECHANISM",
  ILLEGAL_SASL_STATE: "ILLEGAL_SASL_STATE",
  // Kafka has no code for a full table; a throttled or refused client backs off on this one.
  RESOURCE_LIMIT_REACHED: "POLICY_VIOLATION",
};

/** The Kafka error code for any failure: a BrookError's by the table, anything else UNKNOWN_SERVER_ERROR. */
export function kafkaErrorCodeOf(error: unknown): number {
  return KafkaErrorCode[KAFKA_NAME_OF[asBrookError(error).code]];
}

/** A per-partition or per-topic error from a broker answer as a BrookError; undefined for success. */
export function brookErrorOf(
  error: { code?: string; message?: string } | null | undefined,
): BrookError | undefined {
  return fromWireError(error ? { code: error.code ?? "", message: error.message ?? "" } : undefined);
}

/** The Kafka error code of a per-partition or per-topic error from a broker answer (NONE for success). */
export function kafkaErrorCodeOfWire(error: { code?: string; message?: string } | null | undefined): number {
  const typed = brookErrorOf(error);
  return typed === undefined ? KafkaErrorCode.NONE : kafkaErrorCodeOf(typed);
}

/** A failure as a Kafka response's error code and message (the message without Brook's "CODE: " prefix). */
export function kafkaErrorOf(error: unknown): { errorCode: number; errorMessage: string } {
  const brook = asBrookError(error);
  return { errorCode: kafkaErrorCodeOf(brook), errorMessage: brook.detail };
}
