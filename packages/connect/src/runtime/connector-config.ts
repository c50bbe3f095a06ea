// The keys every connector has, whatever its class (Kafka Connect's ConnectorConfig, SinkConnectorConfig
// and the errors.* keys), and the parse of a whole raw config into what the runtime runs: the plugin, its
// typed config, the converters, the transform chain and the error policy. A config that does not parse
// names each bad key.

import type { AnyConnector } from "../api.js";
import type { ConfigSchema, ConfigValues, RawConfig } from "../config/config-def.js";
import { ConfigError, parseConfig } from "../config/validate.js";
import { type Converter, converterFromConfig } from "../converters.js";
import { buildTransforms, transformsFromConfig } from "../transforms/index.js";

export const commonConfigSchema = {
  name: { type: "string", doc: "The connector's unique name." },
  "connector.class": { type: "string", doc: "The plugin: file-source, postgres-sink, brook-mirror, ..." },
  "tasks.max": { type: "int", default: 1, min: 1, max: 1024, doc: "The most tasks to run." },
  "key.converter": {
    type: "string",
    default: "string",
    doc: "How keys become bytes and back: string, json or bytes (or Kafka's converter class names).",
  },
  "value.converter": {
    type: "string",
    default: "json",
    doc: "How values become bytes and back: json, string or bytes (or Kafka's converter class names).",
  },
  "errors.tolerance": {
    type: "string",
    default: "none",
    choices: ["none", "all"],
    doc: "none: a record that fails conversion, a transform or a sink's put fails the task; all: it is skipped (and sent to the dead-letter topic).",
  },
  "errors.retry.timeout": {
    type: "int",
    default: -1,
    min: -1,
    doc: "How long (ms) a retriable failure (a sink's put or flush, a source's send) is retried before the task fails; -1: for ever.",
  },
  "errors.retry.delay.max.ms": {
    type: "int",
    default: 10_000,
    min: 1,
    doc: "The longest wait between retries; waits double from 100 ms.",
  },
  "errors.deadletterqueue.topic.name": {
    type: "string",
    optional: true,
    doc: "Sinks: where records that fail go (with errors.tolerance=all), with the reason in __connect.errors.* headers.",
  },
  "errors.log.enable": { type: "boolean", default: true, doc: "Log each record skipped for an error." },
  "exactly.once.support": {
    type: "string",
    default: "requested",
    choices: ["requested", "required"],
    doc: "Sources: required fails a connector that cannot seek (or a worker without exactly-once); requested uses exactly-once where it can.",
  },
  "transaction.boundary.interval.ms": {
    type: "int",
    default: 200,
    min: 10,
    doc: "Exactly-once sources: how often a transaction of records and source offsets commits.",
  },
  "offset.flush.interval.ms": {
    type: "int",
    default: 5_000,
    min: 10,
    doc: "At-least-once sources: how often source offsets are committed; sinks: how often flush() is called and consumer offsets committed.",
  },
  "topic.creation.default.partitions": {
    type: "int",
    default: -1,
    min: -1,
    doc: "Sources: partitions of a topic the connector writes to that does not exist yet (-1: the cluster's default).",
  },
  "topic.creation.default.replication.factor": {
    type: "int",
    default: -1,
    min: -1,
    doc: "Sources: replication factor of a topic created for the connector (-1: the cluster's default, min(3, brokers)).",
  },
  topics: { type: "list", optional: true, doc: "Sinks: the topics to read." },
  "topics.regex": {
    type: "string",
    optional: true,
    doc: "Sinks: read every topic whose whole name matches.",
  },
} as const satisfies ConfigSchema;

export type CommonConfig = ConfigValues<typeof commonConfigSchema>;

/** A connector config ready to run. */
export interface ConnectorPlan {
  name: string;
  connector: AnyConnector;
  common: CommonConfig;
  pluginConfig: ConfigValues<ConfigSchema>;
  transforms: ReturnType<typeof buildTransforms>;
  keyConverter: Converter;
  valueConverter: Converter;
  /** tasks.max capped by what the plugin can use. */
  taskCount: number;
}

/** Parses a raw connector config; throws ConfigError naming every bad key. */
export function planConnector(raw: RawConfig, plugins: ReadonlyMap<string, AnyConnector>): ConnectorPlan {
  const common = parseConfig(commonConfigSchema, raw);
  const connector = plugins.get(common["connector.class"]);
  if (connector === undefined) {
    throw new ConfigError([
      {
        key: "connector.class",
        message: `no connector class "${common["connector.class"]}"; known: ${[...plugins.keys()].join(", ")}`,
      },
    ]);
  }
  checkKind(connector, common);
  const pluginConfig = parseConfig(connector.configSchema, raw);
  const transforms = buildTransforms(transformsFromConfig(raw));
  const cap = connector.kind === "source" ? (connector.maxTasks?.(pluginConfig) ?? Infinity) : Infinity;
  return {
    name: common.name,
    connector,
    common,
    pluginConfig,
    transforms,
    keyConverter: converterFromConfig(raw, "key", "string"),
    valueConverter: converterFromConfig(raw, "value", "json"),
    taskCount: Math.max(1, Math.min(common["tasks.max"], cap)),
  };
}

/** Every problem with a raw config, for PUT /connector-plugins/{plugin}/config/validate and POST checks. */
export function configProblems(raw: RawConfig, plugins: ReadonlyMap<string, AnyConnector>): string[] {
  try {
    planConnector(raw, plugins);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.errors.map(({ key, message }) => `${key}: ${message}`);
    return [error instanceof Error ? error.message : String(error)];
  }
}

function checkKind(connector: AnyConnector, common: CommonConfig): void {
  if (connector.kind === "sink" && (common.topics === undefined) === (common["topics.regex"] === undefined)) {
    throw new ConfigError([
      { key: "topics", message: "a sink needs exactly one of topics and topics.regex" },
    ]);
  }
  if (connector.kind === "source" && common["exactly.once.support"] === "required" && !connector.canSeek) {
    throw new ConfigError([
      {
        key: "exactly.once.support",
        message: `${connector.name} cannot start again at a committed offset, so it cannot be exactly-once`,
      },
    ]);
  }
}
