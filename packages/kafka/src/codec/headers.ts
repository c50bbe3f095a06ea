// Request and response headers, and which header version goes with which (api, version):
//   request header  v0: api_key api_version correlation_id       (only ControlledShutdown v0)
//                   v1: ... client_id (int16-length nullable string, even in v2: KIP-482)
//                   v2: ... tagged fields                         (flexible versions)
//   response header v0: correlation_id
//                   v1: ... tagged fields                         (flexible versions, except ApiVersions: KIP-511)

import { apiSchema, isFlexible } from "./apis.js";
import { compileStruct } from "./compile.js";
import { inMessage } from "./errors.js";
import { primitiveCodec } from "./primitives.js";
import { Reader } from "./reader.js";
import type { Writer } from "./writer.js";

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  headerVersion: number;
  /** Where the body starts in the frame. */
  headerBytes: number;
}

/** ControlledShutdown v0 predates client ids; it is the one request with header v0. */
const CONTROLLED_SHUTDOWN_API_KEY = 7;

const clientIdCodec = primitiveCodec("string", false, true);
/** A tagged-field section with no known tags: the header tags are skipped (Kafka defines none). */
const headerTaggedFields = compileStruct([], { version: 0, flexible: true });

/**
 * The request header version of (api, version). It is known even for versions past the described ones,
 * since flexible ranges are open; an api Brook does not describe gets v1.
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === CONTROLLED_SHUTDOWN_API_KEY && apiVersion === 0) return 0;
  const schema = apiSchema(apiKey);
  return schema !== undefined && isFlexible(schema, apiVersion) ? 2 : 1;
}

/** The response header version; ApiVersions answers with v0 whatever its version (KIP-511). */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  const schema = apiSchema(apiKey);
  if (schema === undefined) return 0;
  if (schema.responseHeaderVersion !== null) return schema.responseHeaderVersion;
  return isFlexible(schema, apiVersion) ? 1 : 0;
}

/**
 * Reads the header of a request frame (the bytes after the size prefix). It needs no body schema, so it
 * works for a version the broker does not support: the broker must answer an ApiVersions request of any
 * version (KIP-511). Throws only KafkaDecodeError.
 */
export function decodeRequestHeader(frame: Buffer): RequestHeader {
  const reader = new Reader(frame);
  let apiKey: number | null = null;
  let apiVersion: number | null = null;
  try {
    apiKey = reader.int16();
    apiVersion = reader.int16();
    const correlationId = reader.int32();
    const headerVersion = requestHeaderVersion(apiKey, apiVersion);
    const clientId = headerVersion >= 1 ? (clientIdCodec.read(reader) as string | null) : null;
    if (headerVersion >= 2) headerTaggedFields.read(reader);
    return { apiKey, apiVersion, correlationId, clientId, headerVersion, headerBytes: reader.pos };
  } catch (error) {
    throw inMessage(error, "request header", apiKey, apiVersion);
  }
}

export function writeRequestHeader(
  writer: Writer,
  header: { apiKey: number; apiVersion: number; correlationId: number; clientId: string | null },
): void {
  const headerVersion = requestHeaderVersion(header.apiKey, header.apiVersion);
  writer.int16(header.apiKey);
  writer.int16(header.apiVersion);
  writer.int32(header.correlationId);
  if (headerVersion >= 1) clientIdCodec.write(writer, header.clientId);
  if (headerVersion >= 2) writer.unsignedVarint(0);
}

export function writeResponseHeader(
  writer: Writer,
  apiKey: number,
  apiVersion: number,
  correlationId: number,
) {
  writer.int32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) >= 1) writer.unsignedVarint(0);
}

/** Reads a response header; returns the correlation id and where the body starts. */
export function decodeResponseHeader(
  frame: Buffer,
  apiKey: number,
  apiVersion: number,
): { correlationId: number; headerBytes: number } {
  const reader = new Reader(frame);
  try {
    const correlationId = reader.int32();
    if (responseHeaderVersion(apiKey, apiVersion) >= 1) headerTaggedFields.read(reader);
    return { correlationId, headerBytes: reader.pos };
  } catch (error) {
    throw inMessage(error, "response header", apiKey, apiVersion);
  }
}
