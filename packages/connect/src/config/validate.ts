// Validation of a raw (string) config against a connector's schema: typed values with defaults applied, and
// one error per bad key, as Kafka's ConfigDef.parse and validate do. describeConfig writes the body Kafka
// Connect returns from PUT /connector-plugins/{plugin}/config/validate (ConfigInfos), which UIs already read.

import type { ConfigKey, ConfigKeyError, ConfigSchema, ConfigValues, RawConfig } from "./config-def.js";
import { type ConfigValue, parseValue, valueToString } from "./parse-value.js";

/** A config that does not validate; the message names every bad key. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(readonly errors: ConfigKeyError[]) {
    super(errors.map((error) => `config "${error.key}": ${error.message}`).join("; "));
  }
}

type KeyResult = { ok: true; value: ConfigValue | undefined } | { ok: false; message: string };

function defaultOf(key: ConfigKey): KeyResult {
  const fallback = key.default;
  if (fallback === undefined) {
    return key.optional ? { ok: true, value: undefined } : { ok: false, message: "is required" };
  }
  if (typeof fallback === "string") {
    const parsed = parseValue(key, fallback);
    return parsed.ok ? parsed : { ok: false, message: `has an invalid default: ${parsed.message}` };
  }
  return { ok: true, value: Array.isArray(fallback) ? [...fallback] : (fallback as ConfigValue) };
}

/** One key's typed value: the raw string parsed, or the default when the key is absent. */
function resolveKey(key: ConfigKey, raw: string | undefined): KeyResult {
  return raw === undefined ? defaultOf(key) : parseValue(key, raw);
}

/**
 * Typed values for every key of the schema and the errors of those that are wrong (a key in error has no
 * value). Keys not in the schema are ignored: a connector is handed the whole config, runtime keys included.
 */
export function validateConfig<S extends ConfigSchema>(
  schema: S,
  raw: RawConfig,
): { values: Partial<ConfigValues<S>>; errors: ConfigKeyError[] } {
  const values: Record<string, ConfigValue | undefined> = {};
  const errors: ConfigKeyError[] = [];
  for (const [name, key] of Object.entries(schema)) {
    const result = resolveKey(key, raw[name]);
    if (result.ok) values[name] = result.value;
    else errors.push({ key: name, message: result.message });
  }
  return { values: values as Partial<ConfigValues<S>>, errors };
}

/** The typed config, or a ConfigError naming every bad key. */
export function parseConfig<S extends ConfigSchema>(schema: S, raw: RawConfig): ConfigValues<S> {
  const { values, errors } = validateConfig(schema, raw);
  if (errors.length > 0) throw new ConfigError(errors);
  return values as ConfigValues<S>;
}

/** Kafka Connect's ConfigKeyInfo. */
export interface ConfigKeyInfo {
  name: string;
  type: "STRING" | "INT" | "DOUBLE" | "BOOLEAN" | "LIST" | "PASSWORD";
  required: boolean;
  default_value: string | null;
  importance: "HIGH" | "MEDIUM" | "LOW";
  documentation: string;
  group: string | null;
  width: "NONE";
  display_name: string;
  dependents: string[];
  order: number;
}

/** Kafka Connect's ConfigValueInfo: the value as validated and what is wrong with it. */
export interface ConfigValueInfo {
  name: string;
  value: string | null;
  recommended_values: string[];
  errors: string[];
  visible: boolean;
}

/** Kafka Connect's ConfigInfos: the body of PUT /connector-plugins/{plugin}/config/validate. */
export interface ConfigInfos {
  name: string;
  error_count: number;
  groups: string[];
  configs: { definition: ConfigKeyInfo; value: ConfigValueInfo }[];
}

function definitionOf(name: string, key: ConfigKey, order: number): ConfigKeyInfo {
  const fallback = key.default;
  return {
    name,
    type: key.type.toUpperCase() as ConfigKeyInfo["type"],
    required: fallback === undefined && !key.optional,
    default_value: fallback === undefined ? null : valueToString(key.type, fallback as ConfigValue),
    importance: (key.importance ?? "medium").toUpperCase() as ConfigKeyInfo["importance"],
    documentation: key.doc,
    group: null,
    width: "NONE",
    display_name: name,
    dependents: [],
    order,
  };
}

/** The value shown for a key: as parsed (defaults included), or as given when it does not parse. */
function shownValue(key: ConfigKey, raw: string | undefined, result: KeyResult): string | null {
  if (result.ok) return result.value === undefined ? null : valueToString(key.type, result.value);
  if (raw === undefined) return null;
  return key.type === "password" ? "[hidden]" : raw;
}

/**
 * The validate endpoint's answer for a schema and a raw config. `name` is the plugin's (Kafka answers with
 * the connector class); the connector.class value by default. Only the schema's keys are described: the
 * runtime merges its own keys (name, tasks.max, transforms...) into the schema it passes when it wants them.
 */
export function describeConfig(
  schema: ConfigSchema,
  raw: RawConfig,
  name: string = raw["connector.class"] ?? "",
): ConfigInfos {
  const configs = Object.entries(schema).map(([keyName, key], index) => {
    const result = resolveKey(key, raw[keyName]);
    const value: ConfigValueInfo = {
      name: keyName,
      value: shownValue(key, raw[keyName], result),
      recommended_values: key.choices ? [...key.choices] : [],
      errors: result.ok ? [] : [result.message],
      visible: true,
    };
    return { definition: definitionOf(keyName, key, index + 1), value };
  });
  const errorCount = configs.filter((config) => config.value.errors.length > 0).length;
  return { name, error_count: errorCount, groups: [], configs };
}
