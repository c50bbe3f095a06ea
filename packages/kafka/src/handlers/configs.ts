// DescribeConfigs: a topic's configs (each key Brook knows, its value, and whether the topic set it or
// it is the default) and a few broker settings, in Kafka's terms (config sources and types).

import { TOPIC_CONFIG_KEYS } from "@brook/metadata";
import { CLUSTER_RESOURCE_NAME } from "@brook/security";
import { KafkaErrorCode } from "../error-codes.js";
import type {
  DescribeConfigsRequest,
  DescribeConfigsRequestResource,
  DescribeConfigsResponseConfigInput,
  DescribeConfigsResponseInput,
  DescribeConfigsResponseResultInput,
} from "../generated/messages.js";
import type { RequestContext } from "./context.js";

/** Kafka's ConfigResource.Type. */
const ResourceType = { topic: 2, broker: 4 } as const;
/** Kafka's ConfigEntry.ConfigSource. */
const ConfigSource = { dynamicTopic: 1, staticBroker: 4, default: 5 } as const;
/** Kafka's ConfigDef.Type, as DescribeConfigs v3+ reports it. */
const ConfigType = { boolean: 1, string: 2, int: 3, long: 5 } as const;

const TOPIC_CONFIG_TYPES: Readonly<Record<string, number>> = {
  "retention.ms": ConfigType.long,
  "retention.bytes": ConfigType.long,
  "segment.bytes": ConfigType.int,
  "segment.ms": ConfigType.long,
  "max.message.bytes": ConfigType.int,
  "min.insync.replicas": ConfigType.int,
  "flush.mode": ConfigType.string,
  "unclean.leader.election.enable": ConfigType.boolean,
};

export interface ConfigValue {
  name: string;
  value: string;
  isDefault: boolean;
  source: number;
  readOnly: boolean;
  isSensitive: boolean;
  type: number;
  documentation: string;
}

/** Every topic config key with the topic's value: its own where it set one, else the default. */
export function topicConfigs(overrides: ReadonlyMap<string, string>): ConfigValue[] {
  return Object.entries(TOPIC_CONFIG_KEYS).map(([name, spec]) => {
    const own = overrides.get(name);
    return {
      name,
      value: own ?? spec.defaultValue,
      isDefault: own === undefined,
      source: own === undefined ? ConfigSource.default : ConfigSource.dynamicTopic,
      readOnly: false,
      isSensitive: false,
      type: TOPIC_CONFIG_TYPES[name] ?? ConfigType.string,
      documentation: spec.doc,
    };
  });
}

export function describeConfigs(
  request: DescribeConfigsRequest,
  ctx: RequestContext,
): DescribeConfigsResponseInput {
  return {
    throttleTimeMs: 0,
    results: request.resources.map((resource) => describeResource(resource, request, ctx)),
  };
}

function describeResource(
  resource: DescribeConfigsRequestResource,
  request: DescribeConfigsRequest,
  ctx: RequestContext,
): DescribeConfigsResponseResultInput {
  const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
  const denied = deniedCode(resource, ctx);
  if (denied !== undefined) {
    return {
      ...base,
      errorCode: denied,
      errorMessage: `${ctx.caller.principal} may not describe its configs`,
      configs: [],
    };
  }
  let values: ConfigValue[];
  if (resource.resourceType === ResourceType.topic) {
    const topic = ctx.broker.metadata.image.topic(resource.resourceName);
    if (topic === undefined) {
      return {
        ...base,
        errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: `topic '${resource.resourceName}' does not exist`,
        configs: [],
      };
    }
    values = topicConfigs(topic.configs);
  } else if (resource.resourceType === ResourceType.broker) {
    values = brokerConfigs(ctx);
  } else {
    return {
      ...base,
      errorCode: KafkaErrorCode.INVALID_REQUEST,
      errorMessage: `resource type ${resource.resourceType} has no configs here (topics: 2, brokers: 4)`,
      configs: [],
    };
  }
  const keys = resource.configurationKeys;
  const wanted =
    keys === null || keys.length === 0 ? values : values.filter((value) => keys.includes(value.name));
  return {
    ...base,
    errorCode: KafkaErrorCode.NONE,
    errorMessage: null,
    configs: wanted.map((value) => entry(value, request)),
  };
}

/** DescribeConfigs on the topic, or on the cluster for a broker's configs (as Kafka); undefined: allowed. */
function deniedCode(resource: DescribeConfigsRequestResource, ctx: RequestContext): number | undefined {
  const access = ctx.broker.access;
  if (resource.resourceType === ResourceType.topic) {
    return access.allowed(ctx.caller, "describeConfigs", "topic", resource.resourceName)
      ? undefined
      : KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED;
  }
  if (resource.resourceType === ResourceType.broker) {
    return access.allowed(ctx.caller, "describeConfigs", "cluster", CLUSTER_RESOURCE_NAME)
      ? undefined
      : KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED;
  }
  return undefined;
}

/** The broker settings a Kafka tool most often asks for; Brook's full node configuration is BROOK_* variables. */
function brokerConfigs(ctx: RequestContext): ConfigValue[] {
  const fixed = (name: string, value: string, type: number, documentation: string): ConfigValue => ({
    name,
    value,
    isDefault: false,
    source: ConfigSource.staticBroker,
    readOnly: true,
    isSensitive: false,
    type,
    documentation,
  });
  return [
    fixed("broker.id", String(ctx.broker.brokerId), ConfigType.int, "This broker's node id (BROOK_NODE_ID)."),
    fixed(
      "auto.create.topics.enable",
      String(ctx.autoCreateTopics),
      ConfigType.boolean,
      "Metadata for an unknown topic creates it with the cluster defaults (BROOK_AUTO_CREATE_TOPICS).",
    ),
  ];
}

function entry(value: ConfigValue, request: DescribeConfigsRequest): DescribeConfigsResponseConfigInput {
  return {
    name: value.name,
    value: value.value,
    readOnly: value.readOnly,
    isDefault: value.isDefault,
    configSource: value.source,
    isSensitive: value.isSensitive,
    synonyms: request.includeSynonyms ? [{ name: value.name, value: value.value, source: value.source }] : [],
    configType: value.type,
    documentation: request.includeDocumentation ? value.documentation : null,
  };
}
