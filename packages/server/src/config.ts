// The node's configuration: one schema for flags, environment and config
// file (precedence in that order, then defaults). Every key is validated at
// start-up with a message that names the key, the source and the bad value.

import { readFileSync } from "node:fs";
import { defaultReplicaLagTimeMaxMs } from "@brook/broker";
import { defaultHeartbeatIntervalMs, defaultSessionTimeoutMs } from "@brook/controller";
import { BrookError } from "@brook/protocol";

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
  /** Address the gRPC listeners bind to. */
  readonly host: string;
  /** Host clients are told to connect to; defaults to `host`. */
  readonly advertisedHost: string;
  readonly brokerPort: number;
  readonly controllerPort: number;
  /** HTTP port for /healthz, /readyz and /metrics. */
  readonly httpPort: number;
  /**
   * Every voter of the controller quorum, this node included: node id →
   * "host:port" of its controller listener (Kafka's controller.quorum.voters).
   * Default: this node alone at advertisedHost:controllerPort.
   */
  readonly controllerQuorumVoters: ReadonlyMap<number, string>;
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
}

type Source = "flag" | "env" | "file" | "default";
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
  controllerQuorumVoters: {
    env: "BROOK_CONTROLLER_QUORUM_VOTERS",
    flag: "--controller-quorum-voters",
    parse: quorumVoters,
    expected:
      "id@host:port for each voter, comma-separated (1@127.0.0.1:9093,2@127.0.0.1:9193,...), ids unique and from 1",
    doc: "The controller quorum's voters (default: this node alone).",
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
};

/**
 * Resolves the configuration. `flags` holds values given on the command line
 * (keyed by NodeConfig field), `env` the process environment, and
 * `configFile` an optional JSON file with NodeConfig field names as keys.
 */
export function resolveConfig(flags: Raw, env: NodeJS.ProcessEnv, configFile?: string): NodeConfig {
  const file = configFile ? readConfigFile(configFile) : {};
  const config: Raw = {};
  for (const [field, key] of Object.entries(CONFIG_SCHEMA) as Array<[keyof NodeConfig, Key<unknown>]>) {
    const [source, raw] = pick(field, key, flags, env, file);
    if (raw === undefined) continue;
    const value = key.parse(raw);
    if (value === undefined) {
      const name =
        source === "env"
          ? key.env
          : source === "flag"
            ? key.flag
            : source === "file"
              ? `${field} in ${configFile}`
              : field;
      throw new BrookError(
        "INVALID_CONFIG",
        `${name}=${JSON.stringify(raw)} is not valid: expected ${key.expected}`,
      );
    }
    config[field] = value;
  }
  config.advertisedHost ??= config.host;
  config.controllerQuorumVoters ??= new Map([
    [config.nodeId as number, `${config.advertisedHost}:${config.controllerPort}`],
  ]);
  const resolved = config as unknown as NodeConfig;
  checkQuorumVoters(resolved);
  if (resolved.brokerSessionTimeoutMs <= resolved.brokerHeartbeatIntervalMs) {
    throw new BrookError(
      "INVALID_CONFIG",
      `broker session timeout ${resolved.brokerSessionTimeoutMs} ms must exceed the heartbeat interval ${resolved.brokerHeartbeatIntervalMs} ms (several times over, so one late heartbeat does not fence a broker)`,
    );
  }
  if (resolved.roles.length !== 2) {
    throw new BrookError(
      "INVALID_CONFIG",
      `roles=${resolved.roles.join(",")}: this version runs broker and controller together in one node (BROOK_ROLES=broker,controller)`,
    );
  }
  return resolved;
}

/** This node must be a voter, reachable at its own controller port. */
function checkQuorumVoters(config: NodeConfig): void {
  const own = config.controllerQuorumVoters.get(config.nodeId);
  const listed = [...config.controllerQuorumVoters].map(([id, address]) => `${id}@${address}`).join(",");
  if (own === undefined) {
    throw new BrookError(
      "INVALID_CONFIG",
      `controller quorum voters ${listed} do not include this node (id ${config.nodeId}); every node runs a controller, so add ${config.nodeId}@${config.advertisedHost}:${config.controllerPort}`,
    );
  }
  const ownPort = Number(own.slice(own.lastIndexOf(":") + 1));
  if (ownPort !== config.controllerPort) {
    throw new BrookError(
      "INVALID_CONFIG",
      `controller quorum voters give node ${config.nodeId} port ${ownPort}, but its controller port is ${config.controllerPort}; make them agree`,
    );
  }
}

function pick(
  field: string,
  key: Key<unknown>,
  flags: Raw,
  env: NodeJS.ProcessEnv,
  file: Raw,
): [Source, unknown] {
  if (flags[field] !== undefined) return ["flag", flags[field]];
  if (env[key.env] !== undefined) return ["env", env[key.env]];
  if (file[field] !== undefined) return ["file", file[field]];
  return ["default", key.defaultValue];
}

function readConfigFile(path: string): Raw {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new BrookError("INVALID_CONFIG", `cannot read config file ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new BrookError("INVALID_CONFIG", `config file ${path} must hold a JSON object`);
  }
  const unknown = Object.keys(parsed).filter((k) => !(k in CONFIG_SCHEMA));
  if (unknown.length > 0) {
    throw new BrookError("INVALID_CONFIG", `config file ${path} has unknown keys: ${unknown.join(", ")}`);
  }
  return parsed as Raw;
}
