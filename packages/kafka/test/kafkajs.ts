// Loads kafkajs 2.2.4's own protocol encoders and decoders (an independent implementation of the
// classic versions) for the cross-checks, and flattens what its decoders return into wire order.

import { createRequire } from "node:module";
import type { Leaf } from "./arbitraries.js";

const require = createRequire(import.meta.url);

interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  encode(): Promise<unknown>;
}

interface KafkajsEncoder {
  buffer: Buffer;
}

type RequestModule = (args: unknown) => KafkajsRequest;
type ResponseModule = { decode(payload: Buffer): Promise<Record<string, unknown>> };

const frameRequest = require("kafkajs/src/protocol/request") as (args: {
  correlationId: number;
  clientId: string;
  request: KafkajsRequest;
}) => Promise<KafkajsEncoder>;

/** The whole request frame (size prefix, header v1, body) kafkajs sends for `args`. */
export async function kafkajsRequestFrame(
  api: string,
  version: number,
  args: unknown,
  correlationId: number,
  clientId: string,
): Promise<Buffer> {
  const build = require(`kafkajs/src/protocol/requests/${api}/v${version}/request`) as RequestModule;
  const encoder = await frameRequest({ correlationId, clientId, request: build(args) });
  return encoder.buffer;
}

/** What kafkajs's decoder makes of a response body (the bytes after the correlation id). */
export function kafkajsDecodeResponse(
  api: string,
  version: number,
  body: Buffer,
): Promise<Record<string, unknown>> {
  const module = require(`kafkajs/src/protocol/requests/${api}/v${version}/response`) as ResponseModule;
  return module.decode(body);
}

/**
 * The values of a kafkajs decoder result in the order its keys were read. Since kafkajs 1.x some
 * decoders report `throttleTime: 0` and move the wire value to `clientSideThrottleTime`; that value is
 * put back in place. `derived` names keys kafkajs computes rather than reads.
 */
export function kafkajsLeaves(value: unknown, derived: ReadonlySet<string>, out: Leaf[] = []): Leaf[] {
  if (value === null || typeof value !== "object" || Buffer.isBuffer(value)) {
    out.push(value as Leaf);
  } else if (Array.isArray(value)) {
    for (const item of value) kafkajsLeaves(item, derived, out);
  } else {
    const record = value as Record<string, unknown>;
    const throttleMoved = "clientSideThrottleTime" in record;
    for (const [key, item] of Object.entries(record)) {
      if (derived.has(key) || (throttleMoved && key === "clientSideThrottleTime")) continue;
      if (throttleMoved && key === "throttleTime") {
        if (record.clientSideThrottleTime !== undefined) out.push(record.clientSideThrottleTime as number);
        continue;
      }
      kafkajsLeaves(item, derived, out);
    }
  }
  return out;
}
