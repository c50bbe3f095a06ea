// Topic-level configuration: the keys a topic may set, their Kafka-compatible
// names, defaults, and validation. A topic stores only the keys it overrides;
// `resolveTopicConfig` fills in the rest, so changing a default here changes
// every topic that did not set the key.

import { BrookError } from "@brook/protocol";

export interface TopicConfig {
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly segmentBytes: number;
  readonly segmentMs: number;
  readonly maxMessageBytes: number;
  readonly minInsyncReplicas: number;
  /** "fsync": a record counts toward the high watermark once fsynced (group commit). "none": once written. */
  readonly flushMode: "fsync" | "none";
  readonly uncleanLeaderElection: boolean;
  /** Kafka's cleanup.policy: delete old segments, keep the latest record per key (compact), or both. */
  readonly cleanupPolicy: CleanupPolicy;
  /** How long a compacted topic keeps a tombstone (a null value) after it is written. */
  readonly deleteRetentionMs: number;
  /** A compacted partition is cleaned once this share of its sealed bytes is dirty (not cleaned yet). */
  readonly minCleanableDirtyRatio: number;
}

export type CleanupPolicy = "delete" | "compact" | "compact,delete";

/** Whether the policy keeps the latest record per key (the log cleaner works on it). */
export function compacts(policy: CleanupPolicy): boolean {
  return policy !== "delete";
}

/** Whether the policy deletes old segments by retention.ms and retention.bytes. */
export function deletes(policy: CleanupPolicy): boolean {
  return policy !== "compact";
}

type Parser = (value: string) => unknown;

const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Parser =>
  (value) => {
    const n = Number(value);
    return /^-?\d+$/.test(value) && Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
  };
/** Segment files are addressed with 32-bit positions (as in Kafka), so sizes stop at 2 GiB - 1. */
const int32Max = 2 ** 31 - 1;
const oneOf =
  (...choices: string[]): Parser =>
  (value) =>
    choices.includes(value) ? value : undefined;
const boolean: Parser = (value) => (value === "true" ? true : value === "false" ? false : undefined);
const fraction: Parser = (value) => {
  const n = Number(value);
  return /^\d*\.?\d+$/.test(value) && n >= 0 && n <= 1 ? n : undefined;
};
/** Kafka takes the two policies in either order, as a comma-separated list. */
const cleanupPolicy: Parser = (value) => {
  const parts = new Set(value.split(",").map((part) => part.trim()));
  if (parts.size === 0 || [...parts].some((part) => part !== "delete" && part !== "compact"))
    return undefined;
  if (parts.size === 2) return "compact,delete";
  return [...parts][0];
};

interface ConfigKey {
  readonly field: keyof TopicConfig;
  readonly parse: Parser;
  readonly defaultValue: string;
  readonly doc: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const TOPIC_CONFIG_KEYS: Readonly<Record<string, ConfigKey>> = {
  "retention.ms": {
    field: "retentionMs",
    parse: integer(-1),
    defaultValue: String(7 * DAY_MS),
    doc: "Delete whole segments whose newest record is older than this; -1 keeps them forever.",
  },
  "retention.bytes": {
    field: "retentionBytes",
    parse: integer(-1),
    defaultValue: "-1",
    doc: "Delete the oldest segments while the partition is larger than this; -1 for no limit.",
  },
  "segment.bytes": {
    field: "segmentBytes",
    parse: integer(1024, int32Max),
    defaultValue: String(1024 * 1024 * 1024),
    doc: "Roll to a new segment file when the active one would grow past this.",
  },
  "segment.ms": {
    field: "segmentMs",
    parse: integer(1),
    defaultValue: String(7 * DAY_MS),
    doc: "Roll to a new segment file when the active one is older than this.",
  },
  "max.message.bytes": {
    field: "maxMessageBytes",
    parse: integer(64, int32Max),
    defaultValue: String(1024 * 1024),
    doc: "Largest record batch the topic accepts.",
  },
  "min.insync.replicas": {
    field: "minInsyncReplicas",
    parse: integer(1),
    defaultValue: "1",
    doc: "With acks=all, refuse writes while fewer replicas than this are in sync.",
  },
  "flush.mode": {
    field: "flushMode",
    parse: oneOf("fsync", "none"),
    defaultValue: "fsync",
    doc: "fsync: records are acknowledged to consumers only once on disk (group commit); none: rely on the page cache.",
  },
  "unclean.leader.election.enable": {
    field: "uncleanLeaderElection",
    parse: boolean,
    defaultValue: "false",
    doc: "Allow an out-of-sync replica to become leader (may lose acknowledged records).",
  },
  "cleanup.policy": {
    field: "cleanupPolicy",
    parse: cleanupPolicy,
    defaultValue: "delete",
    doc: "delete: drop segments past retention.ms/retention.bytes; compact: keep the latest record per key (docs/compaction.md); compact,delete: both.",
  },
  "delete.retention.ms": {
    field: "deleteRetentionMs",
    parse: integer(0),
    defaultValue: String(DAY_MS),
    doc: "On a compacted topic, how long a tombstone (null value) is kept, so consumers that read slowly still see the delete.",
  },
  "min.cleanable.dirty.ratio": {
    field: "minCleanableDirtyRatio",
    parse: fraction,
    defaultValue: "0.5",
    doc: "On a compacted topic, clean a partition once this share (0 to 1) of its sealed bytes has not been cleaned yet.",
  },
};

/** Throws INVALID_CONFIG naming the first unknown key or bad value. */
export function validateTopicConfigs(entries: Iterable<readonly [string, string]>): void {
  for (const [key, value] of entries) {
    const spec = TOPIC_CONFIG_KEYS[key];
    if (!spec) {
      throw new BrookError(
        "INVALID_CONFIG",
        `unknown topic config '${key}'; known keys: ${Object.keys(TOPIC_CONFIG_KEYS).join(", ")}`,
      );
    }
    if (spec.parse(value) === undefined) {
      throw new BrookError(
        "INVALID_CONFIG",
        `invalid value '${value}' for topic config '${key}': ${spec.doc}`,
      );
    }
  }
}

export function resolveTopicConfig(overrides: ReadonlyMap<string, string>): TopicConfig {
  const config: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(TOPIC_CONFIG_KEYS)) {
    config[spec.field] = spec.parse(overrides.get(key) ?? spec.defaultValue);
  }
  return config as unknown as TopicConfig;
}

export const defaultTopicConfig: TopicConfig = resolveTopicConfig(new Map());
