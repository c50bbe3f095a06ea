// What a streams application is configured with, its defaults, and the checks made before it starts.

import type { Brook, Logger } from "@brook/client";
import type { Clock } from "@brook/protocol";
import { TopologyError } from "../errors.js";
import type { Serde } from "../serdes.js";

/**
 * "at_least_once": output and changelog records are flushed before input offsets are committed, so a
 * crash replays (and may write twice) what came after the last commit. "exactly_once": each commit
 * interval's output, changelog writes and input offsets commit in one transaction, or none of them does.
 */
export type ProcessingGuarantee = "at_least_once" | "exactly_once";

export interface StreamsConfig {
  /** Names the consumer group, the transactional ids and every internal topic (`<applicationId>-...`). */
  applicationId: string;
  /** The client to reach the cluster through. */
  brook: Brook;
  /** Default "at_least_once", as Kafka Streams. */
  processingGuarantee?: ProcessingGuarantee;
  /** How often tasks commit. Default 30 s at least once, 100 ms exactly once (Kafka's defaults). */
  commitIntervalMs?: number;
  /** Warm copies of each task's stores kept on other instances. Default 0. */
  numStandbyReplicas?: number;
  /**
   * Kafka's group.instance.id: a stable name for this instance (unique within the application). A restart
   * under the same name takes its tasks back at once, instead of after the session timeout, and fences
   * its previous life's open transaction at once; but a close() without a restart leaves its partitions
   * unassigned for the session timeout too (static membership).
   */
  instanceId?: string;
  /** `host:port` where this instance answers interactive queries; shared with the other instances. */
  applicationServer?: string;
  /** Replication factor of the internal topics. Default: the cluster's default. */
  replicationFactor?: number;
  defaultKeySerde?: Serde<unknown>;
  defaultValueSerde?: Serde<unknown>;
  /** How often the wall-clock punctuations are checked. Default 100 ms. */
  wallClockPollMs?: number;
  logger?: Logger;
  clock?: Clock;
}

export const streamsDefaults = {
  commitIntervalMs: { at_least_once: 30_000, exactly_once: 100 },
  numStandbyReplicas: 0,
  wallClockPollMs: 100,
  /** Produce calls in flight before processing waits for the oldest. */
  sendsInFlightMax: 16,
  /** Waits between restarts of an instance's consumer and producer after a failure. */
  restartBackoffMs: { min: 200, max: 10_000 },
  /** How often an instance looks at the group to place its standby replicas and answer key lookups. */
  groupPollMs: 2_000,
  /** Exactly once: how long a transaction may stay open (Kafka Streams' 10 s). */
  transactionTimeoutMs: 10_000,
} as const;

export type ResolvedConfig = Required<
  Pick<StreamsConfig, "applicationId" | "brook" | "processingGuarantee" | "commitIntervalMs">
> &
  StreamsConfig & { numStandbyReplicas: number; wallClockPollMs: number };

export function resolveConfig(config: StreamsConfig): ResolvedConfig {
  if (!/^[a-zA-Z0-9._-]{1,200}$/.test(config.applicationId ?? "")) {
    throw new TopologyError(
      `applicationId must be 1 to 200 of [a-zA-Z0-9._-] (it names topics), got "${config.applicationId}"`,
    );
  }
  if (config.instanceId !== undefined && !/^[a-zA-Z0-9._-]{1,100}$/.test(config.instanceId)) {
    throw new TopologyError(`instanceId must be 1 to 100 of [a-zA-Z0-9._-], got "${config.instanceId}"`);
  }
  const processingGuarantee = config.processingGuarantee ?? "at_least_once";
  if (processingGuarantee !== "at_least_once" && processingGuarantee !== "exactly_once") {
    throw new TopologyError(
      `processingGuarantee is at_least_once or exactly_once, got ${processingGuarantee}`,
    );
  }
  const commitIntervalMs = config.commitIntervalMs ?? streamsDefaults.commitIntervalMs[processingGuarantee];
  positiveInteger("commitIntervalMs", commitIntervalMs);
  const numStandbyReplicas = config.numStandbyReplicas ?? streamsDefaults.numStandbyReplicas;
  if (!Number.isSafeInteger(numStandbyReplicas) || numStandbyReplicas < 0) {
    throw new TopologyError(`numStandbyReplicas must be an integer >= 0, got ${numStandbyReplicas}`);
  }
  const wallClockPollMs = config.wallClockPollMs ?? streamsDefaults.wallClockPollMs;
  positiveInteger("wallClockPollMs", wallClockPollMs);
  if (config.applicationServer !== undefined) parseEndpoint(config.applicationServer);
  return { ...config, processingGuarantee, commitIntervalMs, numStandbyReplicas, wallClockPollMs };
}

export interface Endpoint {
  host: string;
  port: number;
}

/** `host:port`, as application.server is given. */
export function parseEndpoint(text: string): Endpoint {
  const match = /^(.+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65_535) {
    throw new TopologyError(`applicationServer must be host:port, got "${text}"`);
  }
  return { host: match[1] as string, port };
}

function positiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TopologyError(`${name} must be an integer >= 1, got ${value}`);
  }
}
