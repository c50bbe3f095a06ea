// A connector's config schema, in the manner of Kafka's ConfigDef: each key has a type, a doc line, and a
// default unless it is required. Raw configs are string maps (the REST API's and connectors.yaml's
// shape); validation turns them into typed values and names every key that is wrong.

export type ConfigType = "string" | "int" | "double" | "boolean" | "list" | "password";

export interface ConfigKey {
  type: ConfigType;
  doc: string;
  /** The value when the key is absent. A key with no default and not `optional` is required. */
  default?: string | number | boolean | readonly string[];
  /** Absent is allowed and stays undefined. */
  optional?: boolean;
  /** The only values a string may take. */
  choices?: readonly string[];
  /** Bounds of an int or double, inclusive. */
  min?: number;
  max?: number;
  importance?: "high" | "medium" | "low";
}

export type ConfigSchema = Record<string, ConfigKey>;

type ValueOf<K extends ConfigKey> = K["type"] extends "int" | "double"
  ? number
  : K["type"] extends "boolean"
    ? boolean
    : K["type"] extends "list"
      ? string[]
      : string;

/** The typed config a schema validates to: optional keys may be undefined. */
export type ConfigValues<S extends ConfigSchema> = {
  [P in keyof S]: S[P] extends { optional: true } ? ValueOf<S[P]> | undefined : ValueOf<S[P]>;
};

/** A connector's raw config: every value a string, as Kafka Connect's REST API sends them. */
export type RawConfig = Record<string, string>;

export interface ConfigKeyError {
  key: string;
  message: string;
}
