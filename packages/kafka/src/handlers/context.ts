// What every Kafka request handler gets: the broker, the listener's settings, and who is asking.

import type { BrokerApi } from "@brook/broker";
import type { Caller } from "@brook/protocol";
import type { Operation, ResourceType } from "@brook/security";
import type { Logger } from "pino";

/** Shared by every connection of one listener. */
export interface ListenerContext {
  readonly broker: BrokerApi;
  /** Kafka's auto.create.topics.enable. */
  readonly autoCreateTopics: boolean;
  readonly logger: Logger;
}

/** One request: the listener's context, the request's version, and the connection it came on. */
export interface RequestContext extends ListenerContext {
  readonly apiVersion: number;
  readonly clientId: string | null;
  readonly clientHost: string;
  /** Who is asking, as the connection authenticated it. */
  readonly caller: Caller;
  /** Stops reading the connection's requests for this long (a throttled client). */
  readonly mute: (ms: number) => void;
  /** Aborts when the connection closes: long waits (fetch, join) end early. */
  readonly signal: AbortSignal;
}

/** Kafka's int64 fields are bigint; Brook's offsets are numbers below 2^53. */
export const toInt64 = (value: number): bigint => BigInt(value);

/** An int64 off the wire as a number, clamped into the safe range (a nonsense offset stays nonsense). */
export function fromInt64(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (value < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(value);
}

/** Throws the resource's *_AUTHORIZATION_FAILED unless the connection's caller may (the handlers' try turns it into the error code). */
export function requireAccess(
  ctx: RequestContext,
  operation: Operation,
  resourceType: ResourceType,
  name: string,
): void {
  ctx.broker.access.require(ctx.caller, operation, resourceType, name);
}

/**
 * A request over its principal's quota (the broker answered a throttle time): as Kafka since KIP-219,
 * a client of a version that backs off by itself is answered at once with throttle_time_ms, and its
 * connection is not read for that long (so a client that ignores the field is slowed all the same); an
 * older one, which would not back off, gets its answer only after the throttle time (or when the
 * connection closes).
 */
export function throttleClient(
  ctx: RequestContext,
  throttleTimeMs: number,
  clientThrottlesFromVersion: number,
): Promise<void> {
  if (throttleTimeMs <= 0 || ctx.signal.aborted) return Promise.resolve();
  if (ctx.apiVersion >= clientThrottlesFromVersion) {
    ctx.mute(throttleTimeMs);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, throttleTimeMs);
    ctx.signal.addEventListener("abort", done, { once: true });
  });
}
