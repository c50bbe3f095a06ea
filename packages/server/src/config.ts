// The node's configuration: one schema for flags, environment and config
// file (precedence in that order, then defaults). Every key is validated at
// start-up with a message that names the key, the source and the bad value;
// an unknown config-file key or BROOK_* variable is refused, not ignored.
// docs/configuration.md is generated from CONFIG_SCHEMA (make docs).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  defaultInFlightLimits,
  defaultLogCleanerConfig,
  defaultReplicaLagTimeMaxMs,
  defaultTransactionCoordinatorConfig,
} from "@brook/broker";
import {
  defaultElectionTimeoutMs,
  defaultHeartbeatIntervalMs,
  defaultSessionTimeoutMs,
  partitionsPerTopicMax,
} from "@brook/controller";
import { BrookError } from "@brook/protocol";
import { isScramMechanism, SCRAM_MECHANISMS, type ScramMechanism } from "@brook/security";

export type Role = "broker" | "controller";

export interface NodeConfig {
  readonly nodeId: number;
  /**
   * The cluster's id, the same on every node; a new data dir is stamped with
   * it (a random one when unset), an existing one must match it.
   */
  readonly clusterId?: string;
  readonly roles: readonly Role[];
  readonly dataDir: string;
  /**
   * Where the controller quorum's Raft log lives (Kafka's metadata.log.dir);
   * default `<dataDir>/__cluster_metadata`. Apart from the partition logs, a
   * full or failing data disk does not stop the metadata log.
   */
  readonly metadataDir: string;
  /** Address the gRPC listeners bind to. */
  readonly host: string;
  /** Host clients are told to connect to; defaults to `host`. */
  readonly advertisedHost: string;
  readonly brokerPort: number;
  readonly controllerPort: number;
  /** HTTP port for /healthz, /readyz and /metrics. */
  readonly httpPort: number;
  /** Whether the broker serves the Kafka wire protocol (issue 15); on by default. */
  readonly kafkaEnabled: boolean;
  /** Port of the Kafka listener, bound on `host`; 0 picks a free one. */
  readonly kafkaPort: number;
  /** Host Kafka clients are told to connect to (Kafka's advertised.listeners); defaults to `advertisedHost`. */
  readonly kafkaAdvertisedHost: string;
  /** Port Kafka clients are told to connect to; undefined: the port the listener bound. */
  readonly kafkaAdvertisedPort?: number;
  /**
   * Every voter of the controller quorum, this node included: node id →
   * "host:port" of its controller listener (Kafka's controller.quorum.voters).
   * Default: this node alone at advertisedHost:controllerPort.
   */
  readonly controllerQuorumVoters: ReadonlyMap<number, string>;
  readonly controllerElectionTimeoutMs: number;
  readonly logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  readonly retentionCheckIntervalMs: number;
  /** The broker's rack (availability zone); replicas of a partition spread over racks. */
  readonly rack?: string;
  /** How often the broker heartbeats to the active controller. */
  readonly brokerHeartbeatIntervalMs: number;
  /** A broker the active controller has not heard from for this long is fenced. */
  readonly brokerSessionTimeoutMs: number;
  /** A follower that has not caught up with its leader for this long leaves the ISR (Kafka's replica.lag.time.max.ms). */
  readonly replicaLagTimeMaxMs: number;
  /** Kafka's auto.create.topics.enable: a Kafka Metadata request for an unknown topic creates it. */
  readonly autoCreateTopics: boolean;
  /** Kafka's num.partitions: partitions of a topic created without a count (-1), auto-created ones included. */
  readonly numPartitions: number;
  /** Kafka's default.replication.factor for a topic created without one (-1); undefined: min(3, live brokers). */
  readonly defaultReplicationFactor?: number;
  /** Kafka's transaction.max.timeout.ms: the longest transaction timeout a producer may ask for. */
  readonly transactionMaxTimeoutMs: number;
  /** Kafka's transaction.state.log.num.partitions: partitions of __transaction_state when it is created. */
  readonly transactionStateTopicPartitions: number;
  /** How often the log cleaner looks for a dirty compacted partition (Kafka's log.cleaner.backoff.ms). */
  readonly logCleanerIntervalMs: number;
  /** Keys one cleaner pass can remember (Kafka's log.cleaner.dedupe.buffer.size, in keys). */
  readonly logCleanerOffsetMapEntries: number;
  /** Bytes of log one cleaner pass reads at most. */
  readonly logCleanerBytesPerPass: number;
  /**
   * A file holding the cluster secret, the same on every node: nodes sign their calls to each other with
   * it (node identity, docs/security.md). Required when the cluster has more than this one node.
   */
  readonly clusterSecretFile?: string;
  /** The node's TLS certificate (PEM); with tlsKeyFile and tlsCaFile, turns TLS on for tlsListeners. */
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
  /** The CA that signs the nodes' (and clients') certificates: nodes verify each other with it. */
  readonly tlsCaFile?: string;
  /** Whether listeners ask clients for a certificate (its CN becomes their principal) or require one. */
  readonly tlsClientAuth: "none" | "requested" | "required";
  /** Which listeners serve TLS once it is on. */
  readonly tlsListeners: readonly TlsListener[];
  /**
   * SASL mechanisms clients authenticate with, on the Kafka listener and the broker gRPC port; empty:
   * SASL is off. When on, a client must authenticate before anything else.
   */
  readonly saslMechanisms: readonly ScramMechanism[];
  /** Principals every ACL check allows (Kafka's super.users), e.g. User:admin. */
  readonly superUsers: readonly string[];
  /** Kafka's allow.everyone.if.no.acl.found; unset: allowed only while the cluster has no ACL at all. */
  readonly allowEveryoneIfNoAclFound?: boolean;
  /** Bytes per second each principal may produce to this broker (Kafka's producer_byte_rate); unset: no quota. */
  readonly quotaProduceBytesPerSecond?: number;
  /** Produce and fetch requests one principal may have in progress on this broker, across its connections. */
  readonly principalRequestsInFlightMax: number;
  /** Record bytes one principal's produce requests in progress may hold on this broker. */
  readonly principalProduceBytesInFlightMax: number;
  /** Bytes per second each principal may fetch from this broker (Kafka's consumer_byte_rate); unset: no quota. */
  readonly quotaFetchBytesPerSecond?: number;
}

export type TlsListener = "broker" | "controller" | "kafka" | "http";
const tlsListenerNames: readonly TlsListener[] = ["broker", "controller", "kafka", "http"];

type Raw = Record<string, unknown>;

interface Key<T> {
  readonly env: string;
  readonly flag: string;
  readonly doc: string;
  readonly defaultValue?: T;
  readonly parse: (value: unknown) => T | undefined;
  readonly expected: string;
}

const port: Key<number>["parse"] = (v) => {
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 65535 && String(v).trim() !== "" ? n : undefined;
};
const nonNegativeInt =
  (max: number): Key<number>["parse"] =>
  (v) => {
    const n = Number(v);
    return Number.isInteger(n) && n >= 0 && n <= max && String(v).trim() !== "" ? n : undefined;
  };
const positiveInt =
  (max: number): Key<number>["parse"] =>
  (v) => {
    const n = nonNegativeInt(max)(v);
    return n === undefined || n === 0 ? undefined : n;
  };
/** true/false, as a string (flag, environment) or a JSON boolean (config file). */
const boolean: Key<boolean>["parse"] = (v) => {
  const text = String(v).trim().toLowerCase();
  return text === "true" ? true : text === "false" ? false : undefined;
};
const nonEmpty: Key<string>["parse"] = (v) =>
  typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
const roles: Key<Role[]>["parse"] = (v) => {
  const list = Array.isArray(v)
    ? v.map(String)
    : String(v)
        .split(",")
        .map((s) => s.trim());
  if (list.length === 0 || list.some((r) => r !== "broker" && r !== "controller")) return undefined;
  return [...new Set(list as Role[])].sort();
};
/** Kafka's `controller.quorum.voters`: `1@host:9093,2@host:9193,3@host:9293`. */
const quorumVoters: Key<ReadonlyMap<number, string>>["parse"] = (v) => {
  const voters = new Map<number, string>();
  for (const entry of String(v).split(",")) {
    const match = /^\s*(\d+)@([^\s:@]+):(\d+)\s*$/.exec(entry);
    if (!match || Number(match[1]) < 1 || voters.has(Number(match[1])) || port(match[3]) === undefined) {
      return undefined;
    }
    voters.set(Number(match[1]), `${match[2]}:${match[3]}`);
  }
  return voters;
};
/** Kafka's replication factor is an int16. */
const replicationFactorMax = 2 ** 15 - 1;
const logLevels = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
const logLevel: Key<NodeConfig["logLevel"]>["parse"] = (v) =>
  logLevels.includes(v as NodeConfig["logLevel"]) ? (v as NodeConfig["logLevel"]) : undefined;

export const CONFIG_SCHEMA: { readonly [K in keyof NodeConfig]: Key<NodeConfig[K]> } = {
  nodeId: {
    env: "BROOK_NODE_ID",
    flag: "--node-id",
    defaultValue: 1,
    // From 1: replica id 0 is what a Fetch that leaves the field out carries, so it means "a consumer".
    parse: positiveInt(2 ** 31 - 1),
    expected: "a whole number from 1",
    doc: "This node's id, unique in the cluster.",
  },
  clusterId: {
    env: "BROOK_CLUSTER_ID",
    flag: "--cluster-id",
    parse: (v) => (typeof v === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(v.trim()) ? v.trim() : undefined),
    expected: "1 to 64 letters, digits, '-' or '_'",
    doc: "The cluster's id, the same on every node (default: a random one per new data dir).",
  },
  roles: {
    env: "BROOK_ROLES",
    flag: "--roles",
    defaultValue: ["broker", "controller"],
    parse: roles,
    expected: "a comma-separated list of broker, controller",
    doc: "Which roles this process runs.",
  },
  dataDir: {
    env: "BROOK_DATA_DIR",
    flag: "--data-dir",
    defaultValue: "./data",
    parse: nonEmpty,
    expected: "a directory path",
    doc: "Where partition logs and metadata live.",
  },
  metadataDir: {
    env: "BROOK_METADATA_DIR",
    flag: "--metadata-dir",
    parse: nonEmpty,
    expected: "a directory path",
    doc: "Where the controller quorum's Raft log lives, as Kafka's metadata.log.dir (default: <data-dir>/__cluster_metadata).",
  },
  host: {
    env: "BROOK_HOST",
    flag: "--host",
    defaultValue: "127.0.0.1",
    parse: nonEmpty,
    expected: "a host name or IP address",
    doc: "Address the listeners bind to.",
  },
  advertisedHost: {
    env: "BROOK_ADVERTISED_HOST",
    flag: "--advertised-host",
    parse: nonEmpty,
    expected: "a host name or IP address",
    doc: "Host clients connect to (default: --host).",
  },
  brokerPort: {
    env: "BROOK_BROKER_PORT",
    flag: "--broker-port",
    defaultValue: 9092,
    parse: port,
    expected: "a port from 0 to 65535",
    doc: "Broker gRPC port (0 picks a free one).",
  },
  controllerPort: {
    env: "BROOK_CONTROLLER_PORT",
    flag: "--controller-port",
    defaultValue: 9093,
    parse: port,
    expected: "a port from 0 to 65535",
    doc: "Controller gRPC port (0 picks a free one).",
  },
  httpPort: {
    env: "BROOK_HTTP_PORT",
    flag: "--http-port",
    defaultValue: 9644,
    parse: port,
    expected: "a port from 0 to 65535",
    doc: "HTTP port for /healthz, /readyz and /metrics (0 picks a free one).",
  },
  kafkaEnabled: {
    env: "BROOK_KAFKA_ENABLED",
    flag: "--kafka-enabled",
    defaultValue: true,
    parse: boolean,
    expected: "true or false",
    doc: "Serve the Kafka wire protocol beside gRPC, so Kafka clients can connect (false: no Kafka listener).",
  },
  kafkaPort: {
    env: "BROOK_KAFKA_PORT",
    flag: "--kafka-port",
    defaultValue: 9094,
    parse: port,
    expected: "a port from 0 to 65535",
    doc: "Kafka wire-protocol port (0 picks a free one).",
  },
  kafkaAdvertisedHost: {
    env: "BROOK_KAFKA_ADVERTISED_HOST",
    flag: "--kafka-advertised-host",
    parse: nonEmpty,
    expected: "a host name or IP address",
    doc: "Host Kafka clients connect to, as in Kafka's advertised.listeners (default: --advertised-host).",
  },
  kafkaAdvertisedPort: {
    env: "BROOK_KAFKA_ADVERTISED_PORT",
    flag: "--kafka-advertised-port",
    parse: positiveInt(65535),
    expected: "a port from 1 to 65535",
    doc: "Port Kafka clients connect to, when it differs from the one bound (default: the Kafka listener's port).",
  },
  controllerQuorumVoters: {
    env: "BROOK_CONTROLLER_QUORUM_VOTERS",
    flag: "--controller-quorum-voters",
    parse: quorumVoters,
    expected:
      "id@host:port for each voter, comma-separated (1@127.0.0.1:9093,2@127.0.0.1:9193,...), ids unique and from 1",
    doc: "The controller quorum's voters (default: this node alone).",
  },
  controllerElectionTimeoutMs: {
    env: "BROOK_CONTROLLER_ELECTION_TIMEOUT_MS",
    flag: "--controller-election-timeout-ms",
    defaultValue: defaultElectionTimeoutMs,
    parse: positiveInt(60_000),
    expected: "milliseconds from 1 to 60000",
    doc: "A controller voter that has not heard from the active controller for this long (randomized up to twice it) campaigns to replace it (Kafka's controller.quorum.election.timeout.ms). Raise it on a slow or congested network.",
  },
  logLevel: {
    env: "BROOK_LOG_LEVEL",
    flag: "--log-level",
    defaultValue: "info",
    parse: logLevel,
    expected: logLevels.join(", "),
    doc: "Minimum level of log lines.",
  },
  retentionCheckIntervalMs: {
    env: "BROOK_RETENTION_CHECK_INTERVAL_MS",
    flag: "--retention-check-interval-ms",
    defaultValue: 60_000,
    parse: nonNegativeInt(2 ** 31 - 1),
    expected: "milliseconds",
    doc: "How often segments are checked against retention.",
  },
  rack: {
    env: "BROOK_RACK",
    flag: "--rack",
    parse: (v) => (typeof v === "string" && /^[A-Za-z0-9._-]{1,64}$/.test(v.trim()) ? v.trim() : undefined),
    expected: "1 to 64 letters, digits, '.', '-' or '_'",
    doc: "This broker's rack or zone (Kafka's broker.rack); replicas spread over racks.",
  },
  brokerHeartbeatIntervalMs: {
    env: "BROOK_BROKER_HEARTBEAT_INTERVAL_MS",
    flag: "--broker-heartbeat-interval-ms",
    defaultValue: defaultHeartbeatIntervalMs,
    parse: positiveInt(60_000),
    expected: "milliseconds from 1 to 60000",
    doc: "How often the broker heartbeats to the active controller.",
  },
  brokerSessionTimeoutMs: {
    env: "BROOK_BROKER_SESSION_TIMEOUT_MS",
    flag: "--broker-session-timeout-ms",
    defaultValue: defaultSessionTimeoutMs,
    parse: positiveInt(600_000),
    expected: "milliseconds from 1 to 600000",
    doc: "A broker not heard from for this long is fenced and its partitions get new leaders.",
  },
  replicaLagTimeMaxMs: {
    env: "BROOK_REPLICA_LAG_TIME_MAX_MS",
    flag: "--replica-lag-time-max-ms",
    defaultValue: defaultReplicaLagTimeMaxMs,
    parse: positiveInt(600_000),
    expected: "milliseconds from 1 to 600000",
    doc: "A follower not caught up with its leader for this long leaves the ISR.",
  },
  autoCreateTopics: {
    env: "BROOK_AUTO_CREATE_TOPICS",
    flag: "--auto-create-topics",
    defaultValue: true,
    parse: boolean,
    expected: "true or false",
    doc: "A Kafka client's Metadata request for an unknown topic creates it with the defaults below (Kafka's auto.create.topics.enable).",
  },
  numPartitions: {
    env: "BROOK_NUM_PARTITIONS",
    flag: "--num-partitions",
    defaultValue: 1,
    parse: positiveInt(partitionsPerTopicMax),
    expected: `a whole number from 1 to ${partitionsPerTopicMax}`,
    doc: "Partitions of a topic created without a count, auto-created ones included (Kafka's num.partitions).",
  },
  defaultReplicationFactor: {
    env: "BROOK_DEFAULT_REPLICATION_FACTOR",
    flag: "--default-replication-factor",
    parse: positiveInt(replicationFactorMax),
    expected: `a whole number from 1 to ${replicationFactorMax}`,
    doc: "Copies of each partition of a topic created without a replication factor (Kafka's default.replication.factor; default: 3, or every live broker when fewer are alive).",
  },
  transactionMaxTimeoutMs: {
    env: "BROOK_TRANSACTION_MAX_TIMEOUT_MS",
    flag: "--transaction-max-timeout-ms",
    defaultValue: defaultTransactionCoordinatorConfig.transactionTimeoutMsMax,
    // At least the default timeout (60 s), which a producer that names none gets.
    parse: (v) => {
      const n = positiveInt(2 ** 31 - 1)(v);
      return n !== undefined && n >= defaultTransactionCoordinatorConfig.transactionTimeoutMsDefault
        ? n
        : undefined;
    },
    expected: `milliseconds from ${defaultTransactionCoordinatorConfig.transactionTimeoutMsDefault} to ${2 ** 31 - 1}`,
    doc: "The longest transaction timeout a transactional producer may ask for; a longer one is refused with INVALID_TRANSACTION_TIMEOUT (Kafka's transaction.max.timeout.ms). Transactions open longer than their timeout are aborted.",
  },
  transactionStateTopicPartitions: {
    env: "BROOK_TRANSACTION_STATE_TOPIC_PARTITIONS",
    flag: "--transaction-state-topic-partitions",
    defaultValue: defaultTransactionCoordinatorConfig.transactionStateTopicPartitions,
    parse: positiveInt(partitionsPerTopicMax),
    expected: `a whole number from 1 to ${partitionsPerTopicMax}`,
    doc: "Partitions of __transaction_state, where transaction coordinators keep their state, when the first transactional producer creates it (Kafka's transaction.state.log.num.partitions). Later changes have no effect.",
  },
  logCleanerIntervalMs: {
    env: "BROOK_LOG_CLEANER_INTERVAL_MS",
    flag: "--log-cleaner-interval-ms",
    defaultValue: defaultLogCleanerConfig.intervalMs,
    parse: positiveInt(3_600_000),
    expected: "milliseconds from 1 to 3600000",
    doc: "How often the log cleaner looks for the dirtiest compacted partition and cleans it for one pass (Kafka's log.cleaner.backoff.ms).",
  },
  logCleanerOffsetMapEntries: {
    env: "BROOK_LOG_CLEANER_OFFSET_MAP_ENTRIES",
    flag: "--log-cleaner-offset-map-entries",
    defaultValue: defaultLogCleanerConfig.offsetMapEntriesMax,
    parse: positiveInt(100_000_000),
    expected: "a whole number from 1 to 100000000",
    doc: "Distinct keys one cleaner pass can remember, which bounds its memory (Kafka's log.cleaner.dedupe.buffer.size, counted in keys); a pass that meets more cleans up to where it filled.",
  },
  logCleanerBytesPerPass: {
    env: "BROOK_LOG_CLEANER_BYTES_PER_PASS",
    flag: "--log-cleaner-bytes-per-pass",
    defaultValue: defaultLogCleanerConfig.bytesPerPassMax,
    parse: positiveInt(2 ** 31 - 1),
    expected: `bytes from 1 to ${2 ** 31 - 1}`,
    doc: "Bytes of log one cleaner pass reads at most: the pass runs on the node's event loop, so this bounds how long it holds it.",
  },
  clusterSecretFile: {
    env: "BROOK_CLUSTER_SECRET_FILE",
    flag: "--cluster-secret-file",
    parse: nonEmpty,
    expected: "a file path",
    doc: "A file holding the cluster secret (at least 32 characters, the same on every node; `brook cluster secret` makes one). Nodes prove who they are to each other with it: replica fetches, ISR changes, broker registration and Raft are refused from anyone else. Required when the cluster has more than one node.",
  },
  tlsCertFile: {
    env: "BROOK_TLS_CERT_FILE",
    flag: "--tls-cert-file",
    parse: nonEmpty,
    expected: "a PEM file path",
    doc: "This node's TLS certificate (PEM). With --tls-key-file and --tls-ca-file it turns TLS on for --tls-listeners; the files are reloaded when they change.",
  },
  tlsKeyFile: {
    env: "BROOK_TLS_KEY_FILE",
    flag: "--tls-key-file",
    parse: nonEmpty,
    expected: "a PEM file path",
    doc: "The private key of --tls-cert-file (PEM).",
  },
  tlsCaFile: {
    env: "BROOK_TLS_CA_FILE",
    flag: "--tls-ca-file",
    parse: nonEmpty,
    expected: "a PEM file path",
    doc: "The CA that signs the nodes' certificates (and clients', for --tls-client-auth): nodes verify each other with it.",
  },
  tlsClientAuth: {
    env: "BROOK_TLS_CLIENT_AUTH",
    flag: "--tls-client-auth",
    defaultValue: "none",
    parse: (v) => (v === "none" || v === "requested" || v === "required" ? v : undefined),
    expected: "none, requested or required",
    doc: "Whether TLS listeners ask clients for a certificate signed by --tls-ca-file (requested: a client that shows one is known by its CN, User:<CN>) or refuse clients without one (required).",
  },
  tlsListeners: {
    env: "BROOK_TLS_LISTENERS",
    flag: "--tls-listeners",
    defaultValue: [...tlsListenerNames],
    parse: (v) => {
      const list = String(v)
        .split(",")
        .map((name) => name.trim());
      return list.every((name) => tlsListenerNames.includes(name as TlsListener))
        ? [...new Set(list as TlsListener[])]
        : undefined;
    },
    expected: `a comma-separated list of ${tlsListenerNames.join(", ")}`,
    doc: "Which listeners serve TLS once --tls-cert-file is set (all by default).",
  },
  saslMechanisms: {
    env: "BROOK_SASL_MECHANISMS",
    flag: "--sasl-mechanisms",
    defaultValue: [],
    parse: (v) => {
      const list = String(v)
        .split(",")
        .map((name) => name.trim().toUpperCase())
        .filter((name) => name !== "");
      return list.every(isScramMechanism) ? [...new Set(list)] : undefined;
    },
    expected: `a comma-separated list of ${SCRAM_MECHANISMS.join(", ")} (or empty: SASL off)`,
    doc: "SASL mechanisms clients log in with (Kafka's sasl.enabled.mechanisms), on the Kafka listener and the broker's gRPC port. Once set, every client must authenticate first; users are made with `brook user create`.",
  },
  superUsers: {
    env: "BROOK_SUPER_USERS",
    flag: "--super-users",
    defaultValue: [],
    parse: (v) => {
      const list = String(v)
        .split(/[;,]/)
        .map((name) => name.trim())
        .filter((name) => name !== "");
      return list.every((name) => /^User:\S+$/.test(name)) ? list : undefined;
    },
    expected: "principals such as User:admin, separated by ';' or ','",
    doc: "Principals allowed everything whatever the ACLs say (Kafka's super.users). The cluster's own nodes always are.",
  },
  allowEveryoneIfNoAclFound: {
    env: "BROOK_ALLOW_EVERYONE_IF_NO_ACL_FOUND",
    flag: "--allow-everyone-if-no-acl-found",
    parse: boolean,
    expected: "true or false",
    doc: "Whether a resource no ACL names is open to everyone (Kafka's allow.everyone.if.no.acl.found). Unset: yes while the cluster has no ACL at all, no from the first ACL on.",
  },
  principalRequestsInFlightMax: {
    env: "BROOK_PRINCIPAL_REQUESTS_IN_FLIGHT_MAX",
    flag: "--principal-requests-in-flight-max",
    defaultValue: defaultInFlightLimits.requestsPerPrincipal,
    parse: positiveInt(10_000_000),
    expected: "a whole number from 1",
    doc: "Produce and fetch requests one principal may have in progress on this broker at once, across all its connections (a long poll or a produce waiting for acks counts until answered); more are refused with RESOURCE_LIMIT_REACHED (retriable). The cluster's own nodes are not counted.",
  },
  principalProduceBytesInFlightMax: {
    env: "BROOK_PRINCIPAL_PRODUCE_BYTES_IN_FLIGHT_MAX",
    flag: "--principal-produce-bytes-in-flight-max",
    defaultValue: defaultInFlightLimits.produceBytesPerPrincipal,
    parse: positiveInt(2 ** 40),
    expected: "bytes from 1",
    doc: "Record bytes one principal's produce requests in progress on this broker may hold at once, across all its connections; a produce past it is refused with RESOURCE_LIMIT_REACHED (retriable).",
  },
  quotaProduceBytesPerSecond: {
    env: "BROOK_QUOTA_PRODUCE_BYTES_PER_SECOND",
    flag: "--quota-produce-bytes-per-second",
    parse: positiveInt(2 ** 53 - 1),
    expected: "bytes per second, a whole number from 1",
    doc: "Record bytes each principal may produce to this broker per second, over an 11-second window (Kafka's producer_byte_rate quota). A produce over it is answered with throttle_time_ms, and on gRPC the answer waits that long. Super users and the cluster's own nodes are never throttled. Unset: no quota.",
  },
  quotaFetchBytesPerSecond: {
    env: "BROOK_QUOTA_FETCH_BYTES_PER_SECOND",
    flag: "--quota-fetch-bytes-per-second",
    parse: positiveInt(2 ** 53 - 1),
    expected: "bytes per second, a whole number from 1",
    doc: "Record bytes each principal may fetch from this broker per second, as --quota-produce-bytes-per-second (Kafka's consumer_byte_rate quota); replication is never throttled. Unset: no quota.",
  },
};

/**
 * BROOK_* variables that are not node settings but may well be set where a
 * node starts: a shell that exported BROOK_BOOTSTRAP for the CLI also runs
 * `make up`. resolveConfig lets these pass; any other BROOK_* name is
 * refused, as a misspelt setting would otherwise be ignored without a word.
 */
export const NON_NODE_ENV: Readonly<Record<string, string>> = {
  BROOK_BOOTSTRAP: "The brokers the `brook` CLI connects to (its --bootstrap).",
  BROOK_CONNECT_URL: "The Connect worker `brook connect list|status|create|...` calls (their --url).",
  BROOK_HOME: "Where `brook drill` finds a `make up` cluster (the repository root).",
  BROOK_DRILL_BROKER_ID: "Set by `brook drill` for its stop and start commands: the broker they act on.",
  BROOK_VERSION: "The image tag deploy/docker-compose.yml runs.",
  BROOK_PUBLISH_ADDRESS: "The address deploy/docker-compose.yml publishes the nodes' ports on.",
  BROOK_USER: "The user the `brook` CLI logs in as (its --sasl-user).",
  BROOK_PASSWORD_FILE: "The file holding that user's password (the CLI's --sasl-password-file).",
  BROOK_PASSWORD: "That user's password, where a file will not do.",
  BROOK_SASL_MECHANISM: "The SASL mechanism the `brook` CLI logs in with (its --sasl-mechanism).",
};

/** Where a setting's value came from, named as its user wrote it: `--node-id`, `BROOK_NODE_ID` or `nodeId`. */
interface Origin {
  readonly name: string;
  readonly raw: unknown;
  /** "from the environment", "from config file node.json", ... */
  readonly where: string;
}

type Field = keyof NodeConfig;

/**
 * Resolves the configuration. `flags` holds values given on the command line
 * (keyed by NodeConfig field), `env` the process environment, and
 * `configFile` an optional JSON file with NodeConfig field names as keys.
 * Throws INVALID_CONFIG naming the key, where it came from and its value.
 */
export function resolveConfig(flags: Raw, env: NodeJS.ProcessEnv, configFile?: string): NodeConfig {
  checkEnvNames(env);
  const file = configFile ? readConfigFile(configFile) : {};
  const config: Raw = {};
  const origins = new Map<Field, Origin>();
  for (const [field, key] of Object.entries(CONFIG_SCHEMA) as Array<[Field, Key<unknown>]>) {
    const origin = pick(field, key, flags, env, file, configFile);
    origins.set(field, origin);
    if (origin.raw === undefined) continue;
    const value = key.parse(origin.raw);
    if (value === undefined) throw invalid(`${describe(origin)} is not valid: expected ${key.expected}`);
    config[field] = value;
  }
  config.advertisedHost ??= config.host;
  config.metadataDir ??= join(config.dataDir as string, "__cluster_metadata");
  config.kafkaAdvertisedHost ??= config.advertisedHost;
  config.controllerQuorumVoters ??= new Map([
    [config.nodeId as number, `${config.advertisedHost}:${config.controllerPort}`],
  ]);
  const resolved = config as unknown as NodeConfig;
  const origin = (field: Field) => describe(origins.get(field) as Origin);
  checkQuorumVoters(resolved, origin);
  if (resolved.controllerQuorumVoters.size > 1 && resolved.clusterSecretFile === undefined) {
    throw invalid(
      `a cluster of ${resolved.controllerQuorumVoters.size} nodes needs a shared cluster secret, so that its nodes can prove who they are to each other: write one with \`brook cluster-secret > cluster.secret\` and give every node --cluster-secret-file (BROOK_CLUSTER_SECRET_FILE)`,
    );
  }
  checkDistinctPorts(resolved, origin);
  checkTlsFiles(resolved, origin);
  if (resolved.brokerSessionTimeoutMs <= resolved.brokerHeartbeatIntervalMs) {
    throw invalid(
      `${origin("brokerSessionTimeoutMs")} must exceed ${origin("brokerHeartbeatIntervalMs")}, several times over, so that one late heartbeat does not fence a broker`,
    );
  }
  if (resolved.roles.length !== 2) {
    throw invalid(
      `${origin("roles")}: this version runs broker and controller together in one node (BROOK_ROLES=broker,controller)`,
    );
  }
  return resolved;
}

/** TLS needs the certificate, its key and the CA together (nodes verify each other's certificates). */
function checkTlsFiles(config: NodeConfig, origin: (field: Field) => string): void {
  const fields: Field[] = ["tlsCertFile", "tlsKeyFile", "tlsCaFile"];
  const set = fields.filter((field) => config[field] !== undefined);
  if (set.length !== 0 && set.length !== fields.length) {
    throw invalid(`TLS needs all of ${fields.map(origin).join(", ")}`);
  }
  if (set.length === 0 && config.tlsClientAuth !== "none") {
    throw invalid(
      `${origin("tlsClientAuth")} needs TLS: set --tls-cert-file, --tls-key-file and --tls-ca-file`,
    );
  }
}

/** Two listeners cannot share a port; the second would fail to bind, less clearly, at start-up. */
function checkDistinctPorts(config: NodeConfig, origin: (field: Field) => string): void {
  const fields: Field[] = ["brokerPort", "controllerPort", "httpPort"];
  if (config.kafkaEnabled) fields.push("kafkaPort");
  const seen = new Map<number, Field>();
  for (const field of fields) {
    const value = config[field] as number;
    const other = seen.get(value);
    if (value !== 0 && other !== undefined) {
      throw invalid(`${origin(field)} is also ${origin(other)}: give each listener a port of its own`);
    }
    seen.set(value, field);
  }
}

/**
 * Where Kafka clients are told to connect, as the broker registers it:
 * undefined while the listener is off, or when its port is not known yet
 * (0, a free port, before anything bound it).
 */
export function kafkaAdvertisedEndpoint(
  config: NodeConfig,
  boundPort: number,
): { host: string; port: number } | undefined {
  if (!config.kafkaEnabled) return undefined;
  const port = config.kafkaAdvertisedPort ?? boundPort;
  return port > 0 ? { host: config.kafkaAdvertisedHost, port } : undefined;
}

/** This node must be a voter, reachable at its own controller port. */
function checkQuorumVoters(config: NodeConfig, origin: (field: Field) => string): void {
  const own = config.controllerQuorumVoters.get(config.nodeId);
  if (own === undefined) {
    throw invalid(
      `${origin("controllerQuorumVoters")} does not include this node (${origin("nodeId")}); every node runs a controller, so add ${config.nodeId}@${config.advertisedHost}:${config.controllerPort}`,
    );
  }
  const ownPort = Number(own.slice(own.lastIndexOf(":") + 1));
  if (ownPort !== config.controllerPort) {
    throw invalid(
      `${origin("controllerQuorumVoters")} gives node ${config.nodeId} port ${ownPort}, but its controller port is ${config.controllerPort} (${origin("controllerPort")}); make them agree`,
    );
  }
}

function pick(
  field: Field,
  key: Key<unknown>,
  flags: Raw,
  env: NodeJS.ProcessEnv,
  file: Raw,
  path?: string,
): Origin {
  if (flags[field] !== undefined)
    return { name: key.flag, raw: flags[field], where: "from the command line" };
  if (env[key.env] !== undefined) return { name: key.env, raw: env[key.env], where: "from the environment" };
  if (file[field] !== undefined) return { name: field, raw: file[field], where: `from config file ${path}` };
  return { name: key.env, raw: key.defaultValue, where: "by default" };
}

function describe(origin: Origin): string {
  if (origin.raw === undefined) return `${origin.name} (not set)`;
  return `${origin.name}=${JSON.stringify(origin.raw)} ${origin.where}`;
}

/** Every BROOK_* variable must be a node setting or one of NON_NODE_ENV. */
function checkEnvNames(env: NodeJS.ProcessEnv): void {
  const settings = Object.values(CONFIG_SCHEMA).map((key) => key.env);
  const known = new Set([...settings, ...Object.keys(NON_NODE_ENV)]);
  const unknown = Object.keys(env)
    .filter((name) => name.startsWith("BROOK_") && !known.has(name))
    .sort();
  if (unknown.length === 0) return;
  throw invalid(
    `unknown environment variable ${unknown.map((name) => withSuggestion(name, settings)).join(", ")}: node settings are ${settings.join(", ")}; ${Object.keys(NON_NODE_ENV).join(", ")} belong to other tools and are let through (docs/configuration.md)`,
  );
}

function readConfigFile(path: string): Raw {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw invalid(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw invalid(`config file ${path} must hold a JSON object`);
  }
  const fields = Object.keys(CONFIG_SCHEMA);
  const unknown = Object.keys(parsed).filter((name) => !fields.includes(name));
  if (unknown.length > 0) {
    throw invalid(
      `config file ${path} has unknown key ${unknown.map((name) => withSuggestion(name, fields)).join(", ")}: its keys are ${fields.join(", ")}`,
    );
  }
  return parsed as Raw;
}

function invalid(message: string): BrookError {
  return new BrookError("INVALID_CONFIG", message);
}

/** `name`, and the known name it is likely a misspelling of (case, separators or two letters apart). */
function withSuggestion(name: string, known: readonly string[]): string {
  const plain = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");
  const close =
    known.find((k) => plain(k) === plain(name)) ??
    known.find((k) => editDistance(plain(k), plain(name)) <= 2);
  return close === undefined ? JSON.stringify(name) : `${JSON.stringify(name)} (did you mean ${close}?)`;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}
