// Converters turn a connector's data into the bytes on a topic and back, as Kafka Connect's do (key.converter,
// value.converter): JSON, UTF-8 strings, or raw bytes. A Buffer passes through every converter unchanged and
// null is null both ways (a tombstone), so a connector that already has bytes never pays for a conversion.

import type { RawConfig } from "./config/config-def.js";
import { parseBoolean } from "./config/parse-value.js";
import { ConfigError } from "./config/validate.js";

export type ConverterName = "json" | "string" | "bytes";

export const converterNames: readonly ConverterName[] = ["json", "string", "bytes"];

/**
 * A converter's own config, as Kafka's (value.converter.schemas.enable=true gives { "schemas.enable": "true" }).
 * "schemas.enable" (json only, false when omitted): decoding unwraps Kafka's {"schema", "payload"} envelope
 * to its payload, so data written by Kafka's JsonConverter with schemas is readable. Encoding always writes
 * plain JSON. Other keys are ignored.
 */
export interface ConverterOptions {
  "schemas.enable"?: boolean | string;
}

export interface Converter {
  /** Data to bytes; `topic` (where the bytes go) only names it in errors. */
  fromData(data: unknown, topic?: string): Buffer | null;
  /** Bytes to data; `topic` (where the bytes came from) only names it in errors. */
  toData(bytes: Buffer | null, topic?: string): unknown;
}

/** Data a converter cannot write, or bytes it cannot read; the message names the converter and the topic. */
export class ConversionError extends Error {
  override readonly name = "ConversionError";

  constructor(
    readonly converter: ConverterName,
    detail: string,
    readonly topic?: string,
    options?: ErrorOptions,
  ) {
    super(`${converter} converter${topic === undefined ? "" : ` (topic "${topic}")`}: ${detail}`, options);
  }
}

function describe(data: unknown): string {
  if (data === null) return "null";
  if (Array.isArray(data)) return "an array";
  if (data instanceof Uint8Array) return "a Uint8Array";
  return typeof data === "object"
    ? `an object (${data.constructor?.name ?? "no prototype"})`
    : `a ${typeof data}`;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function jsonBytes(data: unknown, topic: string | undefined): Buffer {
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch (error) {
    throw new ConversionError("json", `cannot write ${describe(data)}: ${reason(error)}`, topic, {
      cause: error,
    });
  }
  if (text === undefined) throw new ConversionError("json", `cannot write ${describe(data)} as JSON`, topic);
  return Buffer.from(text, "utf8");
}

/** Kafka's JsonConverter envelope: an object with exactly the keys schema and payload. */
function isEnvelope(data: unknown): data is { schema: unknown; payload: unknown } {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return false;
  const keys = Object.keys(data);
  return keys.length === 2 && keys.includes("schema") && keys.includes("payload");
}

function jsonConverter(schemasEnable: boolean): Converter {
  return {
    fromData: (data, topic) => jsonBytes(data, topic),
    toData: (bytes, topic) => {
      if (bytes === null) return null;
      let data: unknown;
      try {
        data = JSON.parse(bytes.toString("utf8"));
      } catch (error) {
        throw new ConversionError("json", `cannot read ${bytes.length} bytes: ${reason(error)}`, topic, {
          cause: error,
        });
      }
      return schemasEnable && isEnvelope(data) ? data.payload : data;
    },
  };
}

/** Kafka's StringConverter: UTF-8; other data as its string, objects and arrays as JSON. */
const stringConverter: Converter = {
  fromData: (data, topic) => {
    if (typeof data === "string") return Buffer.from(data, "utf8");
    if (typeof data === "object") return jsonBytes(data, topic);
    return Buffer.from(String(data), "utf8");
  },
  toData: (bytes) => (bytes === null ? null : bytes.toString("utf8")),
};

/** Kafka's ByteArrayConverter: bytes as they are; a string is taken as UTF-8, anything else is refused. */
const bytesConverter: Converter = {
  fromData: (data, topic) => {
    if (typeof data === "string") return Buffer.from(data, "utf8");
    if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    throw new ConversionError("bytes", `needs a Buffer or a string, got ${describe(data)}`, topic);
  },
  toData: (bytes) => bytes,
};

/** Every converter's common rules: a Buffer passes unchanged; null and undefined are null. */
function withPassThrough(converter: Converter): Converter {
  return {
    fromData: (data, topic) => {
      if (data === null || data === undefined) return null;
      return Buffer.isBuffer(data) ? data : converter.fromData(data, topic);
    },
    toData: (bytes, topic) => converter.toData(bytes, topic),
  };
}

function schemasEnableOf(options: ConverterOptions): boolean {
  const setting = options["schemas.enable"];
  if (setting === undefined || typeof setting === "boolean") return setting ?? false;
  const enabled = parseBoolean(setting);
  if (enabled === undefined) {
    throw new ConfigError([
      { key: "schemas.enable", message: `must be true or false, got ${JSON.stringify(setting)}` },
    ]);
  }
  return enabled;
}

/** The converter of a name; throws ConfigError for a bad option. */
export function converterFor(name: ConverterName, options: ConverterOptions = {}): Converter {
  switch (name) {
    case "json":
      return withPassThrough(jsonConverter(schemasEnableOf(options)));
    case "string":
      return withPassThrough(stringConverter);
    case "bytes":
      return withPassThrough(bytesConverter);
    default: {
      const unknown: never = name;
      throw new ConversionError(unknown, "no such converter");
    }
  }
}

/** Kafka's converter classes, so configs written for Kafka Connect work unchanged. */
const kafkaConverterClasses: Record<string, ConverterName> = {
  "org.apache.kafka.connect.json.JsonConverter": "json",
  "org.apache.kafka.connect.storage.StringConverter": "string",
  "org.apache.kafka.connect.converters.ByteArrayConverter": "bytes",
};

function converterName(value: string): ConverterName | undefined {
  const trimmed = value.trim();
  return converterNames.find((name) => name === trimmed) ?? kafkaConverterClasses[trimmed];
}

/**
 * The key or value converter a connector config names: `key.converter` / `value.converter` (a short name or
 * Kafka's class name) and `key.converter.schemas.enable`; `fallback` when absent. Throws ConfigError naming
 * the key that is wrong.
 */
export function converterFromConfig(
  raw: RawConfig,
  which: "key" | "value",
  fallback: ConverterName = "json",
): Converter {
  const nameKey = `${which}.converter`;
  const name = raw[nameKey] === undefined ? fallback : converterName(raw[nameKey]);
  if (name === undefined) {
    const known = [...converterNames, ...Object.keys(kafkaConverterClasses)].join(", ");
    const message = `must be one of ${known}, got ${JSON.stringify(raw[nameKey])}`;
    throw new ConfigError([{ key: nameKey, message }]);
  }
  const schemasEnable = raw[`${nameKey}.schemas.enable`];
  try {
    return converterFor(name, schemasEnable === undefined ? {} : { "schemas.enable": schemasEnable });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(error.errors.map(({ key, message }) => ({ key: `${nameKey}.${key}`, message })));
  }
}
