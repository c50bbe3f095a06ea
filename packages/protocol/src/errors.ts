// One table of every failure a client can see: stable code, gRPC status,
// whether retrying can help, and a message a person can act on. The SDK's
// retry loop reads only `retriable` from here; nothing else decides it.

import { status as GrpcStatus } from "@grpc/grpc-js";

export const ErrorCode = {
  UNKNOWN_SERVER_ERROR: "UNKNOWN_SERVER_ERROR",
  NOT_LEADER: "NOT_LEADER",
  UNKNOWN_TOPIC: "UNKNOWN_TOPIC",
  UNKNOWN_PARTITION: "UNKNOWN_PARTITION",
  TOPIC_ALREADY_EXISTS: "TOPIC_ALREADY_EXISTS",
  INVALID_TOPIC: "INVALID_TOPIC",
  INVALID_PARTITIONS: "INVALID_PARTITIONS",
  INVALID_REPLICATION_FACTOR: "INVALID_REPLICATION_FACTOR",
  INVALID_REPLICA_ASSIGNMENT: "INVALID_REPLICA_ASSIGNMENT",
  INVALID_CONFIG: "INVALID_CONFIG",
  INVALID_REQUEST: "INVALID_REQUEST",
  CORRUPT_BATCH: "CORRUPT_BATCH",
  UNSUPPORTED_BATCH: "UNSUPPORTED_BATCH",
  REQUEST_TOO_LARGE: "REQUEST_TOO_LARGE",
  RECORD_TOO_LARGE: "RECORD_TOO_LARGE",
  OFFSET_OUT_OF_RANGE: "OFFSET_OUT_OF_RANGE",
  NOT_ENOUGH_REPLICAS: "NOT_ENOUGH_REPLICAS",
  REQUEST_TIMED_OUT: "REQUEST_TIMED_OUT",
  NOT_CONTROLLER: "NOT_CONTROLLER",
  STORAGE_ERROR: "STORAGE_ERROR",
  CORRUPT_LOG: "CORRUPT_LOG",
  BROKER_NOT_AVAILABLE: "BROKER_NOT_AVAILABLE",
  CLUSTER_UNREACHABLE: "CLUSTER_UNREACHABLE",
  CLIENT_CLOSED: "CLIENT_CLOSED",
  FENCED_LEADER_EPOCH: "FENCED_LEADER_EPOCH",
  INVALID_PARTITION_EPOCH: "INVALID_PARTITION_EPOCH",
  INELIGIBLE_REPLICA: "INELIGIBLE_REPLICA",
  DUPLICATE_BROKER_REGISTRATION: "DUPLICATE_BROKER_REGISTRATION",
  STALE_BROKER_INCARNATION: "STALE_BROKER_INCARNATION",
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
  UNSTABLE_OFFSET_COMMIT: "UNSTABLE_OFFSET_COMMIT",
  CLUSTER_AUTHORIZATION_FAILED: "CLUSTER_AUTHORIZATION_FAILED",
  TOPIC_AUTHORIZATION_FAILED: "TOPIC_AUTHORIZATION_FAILED",
  GROUP_AUTHORIZATION_FAILED: "GROUP_AUTHORIZATION_FAILED",
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
  SASL_AUTHENTICATION_FAILED: "SASL_AUTHENTICATION_FAILED",
  UNSUPPORTED_SASL_MECHANISM: "UNSUPPORTED_SASL_MECHANISM",
  ILLEGAL_SASL_STATE: "ILLEGAL_SASL_STATE",
  RESOURCE_LIMIT_REACHED: "RESOURCE_LIMIT_REACHED",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorInfo {
  readonly grpcStatus: GrpcStatus;
  readonly retriable: boolean;
  /** What went wrong, phrased so the reader knows what to do next. */
  readonly message: string;
}

export const ERRORS: Readonly<Record<ErrorCode, ErrorInfo>> = {
  UNKNOWN_SERVER_ERROR: {
    grpcStatus: GrpcStatus.INTERNAL,
    retriable: false,
    message: "The server hit an unexpected error; see its log for details.",
  },
  NOT_LEADER: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: true,
    message: "This broker is not the leader for that partition; refresh metadata and retry on the leader.",
  },
  UNKNOWN_TOPIC: {
    grpcStatus: GrpcStatus.NOT_FOUND,
    retriable: false,
    message: "The topic does not exist; create it first (brook topic create).",
  },
  UNKNOWN_PARTITION: {
    grpcStatus: GrpcStatus.OUT_OF_RANGE,
    retriable: false,
    message: "The partition does not exist in that topic; check its partition count (brook topic describe).",
  },
  TOPIC_ALREADY_EXISTS: {
    grpcStatus: GrpcStatus.ALREADY_EXISTS,
    retriable: false,
    message: "A topic with that name already exists.",
  },
  INVALID_TOPIC: {
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    retriable: false,
    message:
      "Topic names are 1-249 characters of ASCII letters, digits, '.', '_' and '-', and may not be '.' or '..'.",
  },
  INVALID_PARTITIONS: {
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    retriable: false,
    message: "The partition count must be a whole number from 1 to the configured maximum.",
  },
  INVALID_REPLICATION_FACTOR: {
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    retriable: false,
    message: "The replication factor must be at least 1 and at most the number of live brokers.",
  },
  INVALID_REPLICA_ASSIGNMENT: {
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    retriable: false,
    message:
      "A manual replica assignment is not valid: give one list of distinct, registered broker ids per new partition, as long as the topic's replication factor.",
  },
  INVALID_CONFIG: {
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    retriable: false,
    message: "A configuration key or value is not valid.",
  },
  INVALID_REQUEST: {
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    retriable: false,
    message: "The request is malformed or misses a required field.",
  },
  CORRUPT_BATCH: {
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    retriable: true,
    message:
      "A record batch failed its length or CRC32C check; it was not written. The client should resend it.",
  },
  UNSUPPORTED_BATCH: {
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    retriable: false,
    message:
      "The record batch uses a format Brook does not accept: only RecordBatch v2 (magic 2), compressed with none, gzip, snappy, lz4 or zstd.",
  },
  REQUEST_TOO_LARGE: {
    grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED,
    retriable: false,
    message: "The request is larger than the server accepts; send smaller batches.",
  },
  RECORD_TOO_LARGE: {
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    retriable: false,
    message:
      "The record batch is larger than the topic's max.message.bytes; lower batchBytes or raise the limit.",
  },
  OFFSET_OUT_OF_RANGE: {
    grpcStatus: GrpcStatus.OUT_OF_RANGE,
    retriable: false,
    message: "The requested offset is outside the partition's log; seek to the earliest or latest offset.",
  },
  NOT_ENOUGH_REPLICAS: {
    grpcStatus: GrpcStatus.UNAVAILABLE,
    retriable: true,
    message: "Fewer replicas are in sync than min.insync.replicas requires; the write was refused.",
  },
  REQUEST_TIMED_OUT: {
    grpcStatus: GrpcStatus.DEADLINE_EXCEEDED,
    retriable: true,
    message: "The request did not complete in time.",
  },
  NOT_CONTROLLER: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: true,
    message: "This node is not the active controller; retry on the active controller.",
  },
  STORAGE_ERROR: {
    grpcStatus: GrpcStatus.UNAVAILABLE,
    retriable: true,
    message: "The broker could not read or write its log (disk full or I/O error); nothing was written.",
  },
  // Not CORRUPT_BATCH: that one blames the client's request (INVALID_ARGUMENT, "resend it"). Here the
  // broker's own stored copy went bad; another replica serves it once this one hands the partition over.
  CORRUPT_LOG: {
    grpcStatus: GrpcStatus.UNAVAILABLE,
    retriable: true,
    message:
      "The replica found a stored record batch that fails its CRC32C check; it served none of it and is repairing its copy from another replica. Retry: another replica will serve it.",
  },
  BROKER_NOT_AVAILABLE: {
    grpcStatus: GrpcStatus.UNAVAILABLE,
    retriable: true,
    message: "The broker could not be reached; check that it is running and the address is right.",
  },
  CLUSTER_UNREACHABLE: {
    grpcStatus: GrpcStatus.UNAVAILABLE,
    retriable: false,
    message:
      "No broker has answered for longer than the client's unreachable timeout; check that the cluster runs and the bootstrap addresses are right.",
  },
  CLIENT_CLOSED: {
    grpcStatus: GrpcStatus.CANCELLED,
    retriable: false,
    message: "The client was closed.",
  },
  FENCED_LEADER_EPOCH: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: true,
    message: "The request carries an old leader epoch; refresh metadata and retry with the current one.",
  },
  INVALID_PARTITION_EPOCH: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message:
      "The partition changed since the leader read it (stale partition epoch); apply the latest metadata and decide again.",
  },
  INELIGIBLE_REPLICA: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message: "A replica proposed for the ISR is fenced or not registered; it may rejoin once it is unfenced.",
  },
  DUPLICATE_BROKER_REGISTRATION: {
    grpcStatus: GrpcStatus.ALREADY_EXISTS,
    retriable: true,
    message:
      "Another live broker holds that node id; check node.id, or retry once the old broker's session has expired.",
  },
  STALE_BROKER_INCARNATION: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message:
      "This broker process is not the registered incarnation of its node id (a newer one registered, or it never did); it must register again.",
  },
  OFFSET_NOT_AVAILABLE: {
    grpcStatus: GrpcStatus.UNAVAILABLE,
    retriable: true,
    message:
      "The partition's new leader has not yet confirmed what its predecessor committed (its high watermark is below the start of its epoch); retry shortly.",
  },
  UNKNOWN_LEADER_EPOCH: {
    grpcStatus: GrpcStatus.UNAVAILABLE,
    retriable: true,
    message:
      "The request names a leader epoch newer than this broker knows; it has not applied the leadership change yet. Retry shortly.",
  },
  // Kafka's InvalidProducerEpochException: not retriable, the batch can never be accepted as it is.
  INVALID_PRODUCER_EPOCH: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message:
      "The batch carries a producer epoch older than the partition has seen for its producer id; that producer was replaced. Start a new producer.",
  },
  // Not retriable, as in Kafka: resending the same batch meets the same gap. The idempotent producer
  // fails the batch and starts over with a new producer id (see docs/replication.md).
  OUT_OF_ORDER_SEQUENCE_NUMBER: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message:
      "The batch's sequence number does not follow the last one the partition has from its producer: a batch before it is missing. The records were not written.",
  },
  COORDINATOR_NOT_AVAILABLE: {
    grpcStatus: GrpcStatus.UNAVAILABLE,
    retriable: true,
    message:
      "The group's coordinator is not available yet (__consumer_offsets is being created, or its partition has no leader); retry shortly.",
  },
  NOT_COORDINATOR: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: true,
    message: "This broker does not coordinate that group (any more); find the coordinator again and retry.",
  },
  COORDINATOR_LOAD_IN_PROGRESS: {
    grpcStatus: GrpcStatus.UNAVAILABLE,
    retriable: true,
    message: "The coordinator is still loading the group's state from __consumer_offsets; retry shortly.",
  },
  UNKNOWN_MEMBER_ID: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message:
      "The group does not know this member (its session expired, or it left); it must join again with epoch 0.",
  },
  FENCED_MEMBER_EPOCH: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message:
      "The member's epoch is not the one the coordinator gave it; it lost its partitions and must join again with epoch 0.",
  },
  STALE_MEMBER_EPOCH: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: true,
    message:
      "The commit carries an older member epoch than the member now has; heartbeat for the current assignment and commit again.",
  },
  FENCED_INSTANCE_ID: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message:
      "Another consumer joined with this member's group instance id and took its place; check that instance ids are unique.",
  },
  NON_EMPTY_GROUP: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message: "The group has active members; stop its consumers first (brook group describe shows them).",
  },
  GROUP_ID_NOT_FOUND: {
    grpcStatus: GrpcStatus.NOT_FOUND,
    retriable: false,
    message: "No such consumer group (brook group list shows the groups).",
  },
  INVALID_GROUP_ID: {
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    retriable: false,
    message: "Group ids are 1-255 characters and may not be empty.",
  },
  // Classic consumer groups (Kafka clients' JoinGroup/SyncGroup): retriable as in Kafka's table; a
  // Kafka client answers each of the non-retriable ones by rejoining, not by resending.
  ILLEGAL_GENERATION: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message:
      "The member's generation is not the group's current one (the group rebalanced without it); it must rejoin the group.",
  },
  REBALANCE_IN_PROGRESS: {
    grpcStatus: GrpcStatus.ABORTED,
    retriable: false,
    message: "The group is rebalancing; the member must rejoin the group, then commit again.",
  },
  MEMBER_ID_REQUIRED: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message:
      "The coordinator gave this new member an id; join again with that member id (Kafka clients do so on their own).",
  },
  INCONSISTENT_GROUP_PROTOCOL: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message:
      "The member's group protocol does not match the group's: its protocol type or assignors differ from the other members', or Brook consumers and Kafka clients share the group id; use one kind of consumer per group id.",
  },
  GROUP_MAX_SIZE_REACHED: {
    grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED,
    retriable: false,
    message: "The group has as many members as the broker allows; use fewer consumers or another group id.",
  },
  INVALID_SESSION_TIMEOUT: {
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    retriable: false,
    message: "The session timeout is outside the range the broker allows; choose one inside it.",
  },
  // Kafka's UNSUPPORTED_ASSIGNOR (KIP-848): the member named a server-side assignor the broker lacks.
  UNSUPPORTED_ASSIGNOR: {
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    retriable: false,
    message:
      'The consumer asked for a server-side assignor the broker does not have; use "uniform" or "range".',
  },
  // ---- Transactions (docs/transactions.md) ----
  // Kafka's ProducerFencedException: another instance with the same transactional id started.
  PRODUCER_FENCED: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message:
      "Another producer with the same transactional id has started (InitProducerId bumped its epoch); this one is fenced and must close.",
  },
  INVALID_TXN_STATE: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message:
      "The request does not fit the transaction's state (say, a commit with no transaction open, or a write after commit began).",
  },
  // Kafka's CONCURRENT_TRANSACTIONS: the previous transaction's markers are still being written.
  CONCURRENT_TRANSACTIONS: {
    grpcStatus: GrpcStatus.UNAVAILABLE,
    retriable: true,
    message: "The transactional id's previous transaction is still completing; retry shortly.",
  },
  INVALID_TRANSACTION_TIMEOUT: {
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    retriable: false,
    message: "The transaction timeout is outside what the broker allows (transaction.max.timeout.ms).",
  },
  INVALID_PRODUCER_ID_MAPPING: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message:
      "The producer id does not belong to that transactional id; call InitProducerId with the transactional id first.",
  },
  TRANSACTION_COORDINATOR_FENCED: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message:
      "A transaction coordinator older than one the partition has heard from sent markers; the newer coordinator completes the transaction.",
  },
  TRANSACTIONAL_ID_NOT_FOUND: {
    grpcStatus: GrpcStatus.NOT_FOUND,
    retriable: false,
    message: "No transaction is known under that transactional id.",
  },
  // Kafka's OPERATION_NOT_ATTEMPTED: Kafka clients abort the transaction on it rather than fail for good.
  OPERATION_NOT_ATTEMPTED: {
    grpcStatus: GrpcStatus.ABORTED,
    retriable: false,
    message:
      "Not attempted: another part of the same all-or-nothing request was refused (see its error); abort the transaction, or send the request again without the refused part.",
  },
  // Kafka's UNSTABLE_OFFSET_COMMIT (KIP-447): an OffsetFetch asked for stable offsets only, and a
  // transaction holding an offset of the group for the partition has not ended yet.
  UNSTABLE_OFFSET_COMMIT: {
    grpcStatus: GrpcStatus.UNAVAILABLE,
    retriable: true,
    message:
      "A transaction that commits an offset of this group for the partition has not committed or aborted yet, so the committed offset is about to change; retry shortly.",
  },
  // Kafka's CLUSTER_AUTHORIZATION_FAILED: a request only the cluster's own nodes (or a principal allowed
  // ClusterAction) may make, such as a replica fetch or an ISR change, from a caller that is not one.
  CLUSTER_AUTHORIZATION_FAILED: {
    grpcStatus: GrpcStatus.PERMISSION_DENIED,
    retriable: false,
    message: "Not authorized for that cluster operation.",
  },
  TOPIC_AUTHORIZATION_FAILED: {
    grpcStatus: GrpcStatus.PERMISSION_DENIED,
    retriable: false,
    message: "Not authorized to access that topic; ask an administrator for an ACL (brook acl add).",
  },
  GROUP_AUTHORIZATION_FAILED: {
    grpcStatus: GrpcStatus.PERMISSION_DENIED,
    retriable: false,
    message: "Not authorized to access that consumer group; ask an administrator for an ACL (brook acl add).",
  },
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: {
    grpcStatus: GrpcStatus.PERMISSION_DENIED,
    retriable: false,
    message: "Not authorized to use that transactional id; ask an administrator for an ACL (brook acl add).",
  },
  SASL_AUTHENTICATION_FAILED: {
    grpcStatus: GrpcStatus.UNAUTHENTICATED,
    retriable: false,
    message:
      "Authentication failed: wrong user name or password, or no credentials where the listener requires them.",
  },
  UNSUPPORTED_SASL_MECHANISM: {
    grpcStatus: GrpcStatus.UNAUTHENTICATED,
    retriable: false,
    message: "The listener does not offer that SASL mechanism; use SCRAM-SHA-256 or SCRAM-SHA-512.",
  },
  ILLEGAL_SASL_STATE: {
    grpcStatus: GrpcStatus.FAILED_PRECONDITION,
    retriable: false,
    message: "A SASL message arrived out of order for this connection's authentication.",
  },
  // A bounded table or queue is full (connections, requests in flight, groups, producer ids): the caller
  // is told which one, and may retry once load falls.
  RESOURCE_LIMIT_REACHED: {
    grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED,
    retriable: true,
    message: "A server-side limit was reached; retry later, or ask an administrator to raise it.",
  },
};

/** A failure with a stable code. Thrown by every package, carried over gRPC, rebuilt by the SDK. */
export class BrookError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  /** The message without its leading "CODE: ", for callers that say the code themselves. */
  readonly detail: string;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    const info = ERRORS[code];
    super(`${code}: ${detail || info.message}`, options);
    this.name = "BrookError";
    this.code = code;
    this.retriable = info.retriable;
    this.detail = detail || info.message;
  }
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERRORS, value);
}

/**
 * A failed invariant: the code is wrong, and the state it left may be too. Never an answer to a request:
 * the process stops (see stopOnAssertion). Recognised by its name, as node:assert's AssertionError and
 * the Raft core's own assert (which imports nothing) are.
 */
export class AssertionError extends Error {
  constructor(why: string) {
    super(`assertion failed: ${why}`);
    this.name = "AssertionError";
  }
}

export function isAssertionError(error: unknown): error is Error {
  return error instanceof Error && error.name === "AssertionError";
}

/** Programmer errors: conditions that cannot happen unless the code is wrong. */
export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new AssertionError(why);
}

/**
 * The default of a switch that must handle every case: a case left out is a compile error (`value` is not
 * `never` then), and a value no case matches at run time fails as an assertion instead of falling through.
 */
export function unreachable(value: never, what = "case"): never {
  throw new AssertionError(`unhandled ${what} ${JSON.stringify(value)}`);
}

/**
 * What a catch-all that turns failures into answers does with an assertion: it answers nothing. The
 * error is thrown out of every catch on the next tick, so the process's uncaughtException handler stops
 * the node (one fatal line naming the assertion, exit 1) even where a library catches what its callback
 * throws (grpc-js answers a handler's synchronous throw); and it is thrown here too, so the code that
 * caught it goes no further.
 */
export function stopOnAssertion(error: Error): never {
  process.nextTick(() => {
    throw error;
  });
  throw error;
}
