// The APIs the schemas describe, and their body codecs: each (api, version, request or response)
// is compiled on first use and cached, so a message costs a walk over closures, not over the schema.

import { API_SCHEMAS } from "../generated/schemas.js";
import { compileStruct, type Struct } from "./compile.js";
import type { Codec } from "./primitives.js";
import { type ApiSchema, inRange } from "./schema.js";

export type Direction = "request" | "response";

const SCHEMAS_BY_KEY: ReadonlyMap<number, ApiSchema> = new Map(
  API_SCHEMAS.map((schema) => [schema.apiKey, schema]),
);
const codecs = new Map<number, Codec<Struct>>();

/** The schema of an api key, or undefined for an api Brook does not describe. */
export function apiSchema(apiKey: number): ApiSchema | undefined {
  return SCHEMAS_BY_KEY.get(apiKey);
}

export function isSupported(apiKey: number, apiVersion: number): boolean {
  const schema = SCHEMAS_BY_KEY.get(apiKey);
  return schema !== undefined && inRange(schema.versions, apiVersion);
}

/**
 * Whether a version uses the flexible encoding. Flexible ranges are open ("3+"), so this answers for
 * versions past the described ones too, which reading the header of an unknown version needs.
 */
export function isFlexible(schema: ApiSchema, apiVersion: number): boolean {
  return inRange(schema.flexibleVersions, apiVersion);
}

/** The range of every described api, as an ApiVersions response lists them. */
export function supportedApiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return API_SCHEMAS.map((schema) => ({
    apiKey: schema.apiKey,
    minVersion: schema.versions.min,
    maxVersion: schema.versions.max,
  }));
}

/** The body codec of a supported (api, version); callers check isSupported first. */
export function bodyCodec(apiKey: number, apiVersion: number, direction: Direction): Codec<Struct> {
  const cacheKey = apiKey * 0x20000 + apiVersion * 2 + (direction === "request" ? 0 : 1);
  let codec = codecs.get(cacheKey);
  if (codec === undefined) {
    const schema = SCHEMAS_BY_KEY.get(apiKey);
    if (schema === undefined || !inRange(schema.versions, apiVersion)) {
      throw new RangeError(`api ${apiKey} v${apiVersion} is not described; check isSupported first`);
    }
    codec = compileStruct(schema[direction], {
      version: apiVersion,
      flexible: isFlexible(schema, apiVersion),
    });
    codecs.set(cacheKey, codec);
  }
  return codec;
}
