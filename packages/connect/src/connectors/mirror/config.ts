// brook-mirror's config keys (MirrorMaker 2's names where it has them) and the limits the connector keeps
// to: how often it writes offset syncs, and how much translation history it holds per partition.

import type { ConfigSchema, ConfigValues } from "../../config/config-def.js";

export const mirrorConfigSchema = {
  "source.bootstrap.servers": {
    type: "list",
    doc: "The source cluster's brokers, host:port, comma-separated (their Kafka listeners when source.protocol=kafka); any one that answers is enough.",
    importance: "high",
  },
  "source.protocol": {
    type: "string",
    doc: "How the source is read: brook (the Brook SDK, gRPC) or kafka (kafkajs over the Kafka protocol: any Kafka-protocol cluster).",
    default: "brook",
    choices: ["brook", "kafka"],
    importance: "high",
  },
  "source.cluster.alias": {
    type: "string",
    doc: "The source cluster's name: the prefix of every mirrored topic (source.orders).",
    default: "source",
    importance: "high",
  },
  topics: {
    type: "list",
    doc: "Regular expressions of the source topics to mirror (whole names); internal topics (__*) never are.",
    default: [".*"],
    importance: "high",
  },
  "topics.exclude": {
    type: "list",
    doc: "Regular expressions of source topics not to mirror, though `topics` matches them.",
    optional: true,
  },
  "replication.policy.separator": {
    type: "string",
    doc: "Between the alias and the source topic's name in the target topic's name.",
    default: ".",
  },
  "refresh.topics.interval.ms": {
    type: "int",
    doc: "How often the source's topics are listed: new ones are mirrored, grown ones grown in the target.",
    default: 5_000,
    min: 100,
  },
  "sync.group.offsets.enabled": {
    type: "boolean",
    doc: "Commit source groups' translated offsets to the same groups in the target (while they have no members).",
    default: true,
  },
  groups: {
    type: "list",
    doc: "Regular expressions of the source consumer groups whose offsets are translated.",
    default: [".*"],
  },
  "groups.exclude": {
    type: "list",
    doc: "Regular expressions of source groups never translated.",
    default: ["connect-.*", "__.*"],
  },
  "emit.checkpoints.interval.ms": {
    type: "int",
    doc: "How often task 0 translates the source groups' committed offsets.",
    default: 5_000,
    min: 100,
  },
  "offset-syncs.topic": {
    type: "string",
    doc: "The target cluster's topic of offset syncs (upstream offset -> downstream offset), created if missing.",
    default: "__mirror-offset-syncs",
  },
} as const satisfies ConfigSchema;

export type MirrorConfig = ConfigValues<typeof mirrorConfigSchema>;

export const mirrorLimits = {
  /** An offset sync is written at least every this many mirrored records of a partition (MM2's offset.lag.max). */
  syncRecordsMax: 100,
  /** ... and at least this often while a partition has mirrored records not covered by a sync. */
  syncIntervalMs: 1_000,
  /** Offset syncs kept per partition for translation; older ones are thinned out (translation gets coarser). */
  syncHistoryMax: 64,
  /** How often a task wakes to write due offset syncs, update lag, refresh topics and emit checkpoints. */
  tickMs: 500,
  /** The source consumer's long-poll wait: how quickly a partition added while idle is fetched. */
  fetchMaxWaitMs: 500,
  /** Source records read ahead of the task (source.protocol=kafka: fetched, not yet handed on). */
  recordsQueuedMax: 1_000,
  /** While that queue is full the Kafka source's fetch waits, heartbeating its group at least this often. */
  heartbeatWhileFullMs: 1_000,
} as const;
