// Turns one raw config string into the typed value its ConfigKey asks for, the way Kafka's ConfigDef.parseType
// does (values are trimmed; lists are comma-separated), and says in words what was expected when it cannot.
// validate.ts applies it to a whole schema; the transforms' flat config reuses the list and boolean parsers.

import type { ConfigKey, ConfigType } from "./config-def.js";

/** A typed config value, as ConfigValues holds them. */
export type ConfigValue = string | number | boolean | string[];

export type ParsedValue = { ok: true; value: ConfigValue } | { ok: false; message: string };

const integerPattern = /^[+-]?\d+$/;
const numberPattern = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Kafka's LIST: comma-separated, each item trimmed, empty items dropped. */
export function parseList(raw: string): string[] {
  return raw
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** Kafka's BOOLEAN: "true" or "false" in any case; undefined for anything else. */
export function parseBoolean(raw: string): boolean | undefined {
  const lower = raw.trim().toLowerCase();
  return lower === "true" ? true : lower === "false" ? false : undefined;
}

function bounds(key: ConfigKey): string {
  if (key.min !== undefined && key.max !== undefined) return ` between ${key.min} and ${key.max}`;
  if (key.min !== undefined) return ` ≥ ${key.min}`;
  if (key.max !== undefined) return ` ≤ ${key.max}`;
  return "";
}

function oneOf(choices: readonly string[]): string {
  return `one of ${choices.map((choice) => JSON.stringify(choice)).join(", ")}`;
}

/** What a key accepts, in words: "an integer ≥ 1", "true or false", "one of "a", "b"". */
export function expectation(key: ConfigKey): string {
  switch (key.type) {
    case "int":
      return `an integer${bounds(key)}`;
    case "double":
      return `a number${bounds(key)}`;
    case "boolean":
      return "true or false";
    case "list":
      return key.choices ? `a comma-separated list of ${oneOf(key.choices)}` : "a comma-separated list";
    case "string":
    case "password":
      return key.choices ? oneOf(key.choices) : "a string";
    default:
      return unreachable(key.type);
  }
}

function unreachable(type: never): never {
  throw new Error(`unknown config type ${String(type)}`);
}

/** A password is never echoed back in a message. */
function shown(type: ConfigType, raw: string): string {
  return type === "password" ? "[hidden]" : JSON.stringify(raw);
}

function failure(key: ConfigKey, raw: string): ParsedValue {
  return { ok: false, message: `must be ${expectation(key)}, got ${shown(key.type, raw)}` };
}

/** Whether a typed value keeps to the key's bounds and choices. */
function withinLimits(key: ConfigKey, value: ConfigValue): boolean {
  if (typeof value === "number") {
    return (key.min === undefined || value >= key.min) && (key.max === undefined || value <= key.max);
  }
  if (!key.choices) return true;
  const choices = key.choices;
  if (Array.isArray(value)) return value.every((item) => choices.includes(item));
  return typeof value !== "string" || choices.includes(value);
}

function parseType(key: ConfigKey, raw: string): ConfigValue | undefined {
  const trimmed = raw.trim();
  switch (key.type) {
    case "int": {
      const value = Number(trimmed);
      return integerPattern.test(trimmed) && Number.isSafeInteger(value) ? value : undefined;
    }
    case "double":
      return numberPattern.test(trimmed) ? Number(trimmed) : undefined;
    case "boolean":
      return parseBoolean(trimmed);
    case "list":
      return parseList(trimmed);
    case "string":
    case "password":
      return trimmed;
    default:
      return unreachable(key.type);
  }
}

/** Parses one raw string for a key, enforcing its type, bounds (inclusive) and choices. */
export function parseValue(key: ConfigKey, raw: string): ParsedValue {
  const value = parseType(key, raw);
  if (value === undefined || !withinLimits(key, value)) return failure(key, raw);
  return { ok: true, value };
}

/** A typed value as a string, as Kafka's ConfigDef.convertToString writes it (lists joined by commas). */
export function valueToString(type: ConfigType, value: ConfigValue): string {
  if (type === "password") return "[hidden]";
  return Array.isArray(value) ? value.join(",") : String(value);
}
