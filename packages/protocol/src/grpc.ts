// Loads proto/*.proto once and hands out the typed service definitions and
// client constructors, plus the one place where BrookError crosses the wire
// (as a per-partition Error message, or as a gRPC status with a code trailer).

import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import {
  BrookError,
  ERRORS,
  type ErrorCode,
  isAssertionError,
  isErrorCode,
  stopOnAssertion,
} from "./errors.js";
import type { ProtoGrpcType as BrokerProto } from "./generated/broker.js";
import type { RaftClient } from "./generated/brook/raft/v1/Raft.js";
import type { BrokerClient } from "./generated/brook/v1/Broker.js";
import type { ControllerClient } from "./generated/brook/v1/Controller.js";
import type { Error__Output as WireError } from "./generated/brook/v1/Error.js";
import type { ProtoGrpcType as ControllerProto } from "./generated/controller.js";
import type { ProtoGrpcType as RaftProto } from "./generated/raft.js";
import { type NodeIdentity, nodeTokenInterceptor } from "./node-auth.js";

// src/ and dist/ sit at the same depth, so this resolves to <repo>/proto from both.
const protoDir = fileURLToPath(new URL("../../../proto/", import.meta.url));

/** Must match the flags in scripts/gen-proto.mjs, or the generated types lie. */
const loaderOptions = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoDir],
};

const definition = loadSync(["broker.proto", "controller.proto", "raft.proto"], loaderOptions);
const loaded = grpc.loadPackageDefinition(definition) as unknown as BrokerProto & ControllerProto & RaftProto;

export const BrokerService = loaded.brook.v1.Broker.service;
export const ControllerService = loaded.brook.v1.Controller.service;
/** Controller-to-controller Raft traffic (packages/raft's transport). */
export const RaftService = loaded.brook.raft.v1.Raft.service;

/**
 * gRPC messages are capped so a peer can't make us buffer an unbounded frame.
 * A produce request holds batches for many partitions, so it may exceed one
 * topic's max.message.bytes; a request over this cap fails with
 * RESOURCE_EXHAUSTED before any of it is decoded.
 */
export const grpcMessageBytesMax = 64 * 1024 * 1024;

export const grpcChannelOptions: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": grpcMessageBytesMax,
  "grpc.max_send_message_length": grpcMessageBytesMax,
  // A peer that went silent (cut off by the network, its host frozen) is found out within about 2 s and
  // its calls fail UNAVAILABLE, so clients retry at the new leader instead of waiting out their deadline
  // (30 s): with 30 s pings a producer stuck on a cut-off leader moved on only when the network healed.
  "grpc.keepalive_time_ms": 500,
  "grpc.keepalive_timeout_ms": 1_500,
  // A peer that was down is dialled again within a second of coming back.
  // gRPC's default backoff grows to 120 s: a Raft leader then left a restarted
  // voter unheard of (stuck campaigning, never caught up) for as long as it
  // had been down, and a follower its restarted partition leader.
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1_000,
  // What a server may send on this connection before the client has read it
  // (HTTP/2's window; 64 KiB by default). Fetch responses of up to 8 MiB then
  // arrive without waiting on the reader's WINDOW_UPDATEs: a follower at
  // 1 KiB records went from about 45 to 57 MB/s, a consumer from about 230 to
  // 320 MB/s (docs/performance.md). It bounds the unread bytes per connection.
  "grpc-node.flow_control_window": 8 * 1024 * 1024,
};

/** Calls one client connection may have open at once on a server (HTTP/2 streams); more wait at the client. */
export const grpcServerStreamsMax = 256;

/**
 * The options of every Brook gRPC server (broker, controller and Raft): the channel options, and a
 * bound on the concurrent calls of one connection, so one client cannot hold unbounded calls (and their
 * requests' memory) at once. A well-behaved client past it queues its calls until one finishes.
 */
export const grpcServerOptions: grpc.ChannelOptions = {
  ...grpcChannelOptions,
  "grpc.max_concurrent_streams": grpcServerStreamsMax,
};

/**
 * How a client channel is secured: TLS credentials (default: plaintext), and who it calls as: a node
 * (node identity, for calls between nodes) and any other interceptors (a user's credentials).
 */
export interface ChannelSecurity {
  readonly credentials?: grpc.ChannelCredentials;
  readonly node?: NodeIdentity;
  readonly interceptors?: readonly grpc.Interceptor[];
}

function clientOptions(security: ChannelSecurity, options: grpc.ChannelOptions): grpc.ClientOptions {
  const interceptors = [...(security.interceptors ?? [])];
  if (security.node) interceptors.push(nodeTokenInterceptor(security.node));
  return interceptors.length === 0 ? options : { ...options, interceptors };
}

function credentialsOf(security: ChannelSecurity): grpc.ChannelCredentials {
  return security.credentials ?? grpc.credentials.createInsecure();
}

export function createBrokerClient(address: string, security: ChannelSecurity = {}): BrokerClient {
  return new loaded.brook.v1.Broker(
    address,
    credentialsOf(security),
    clientOptions(security, grpcChannelOptions),
  );
}

export function createControllerClient(address: string, security: ChannelSecurity = {}): ControllerClient {
  return new loaded.brook.v1.Controller(
    address,
    credentialsOf(security),
    clientOptions(security, grpcChannelOptions),
  );
}

export function createRaftClient(
  address: string,
  options: grpc.ChannelOptions = grpcChannelOptions,
  security: ChannelSecurity = {},
): RaftClient {
  return new loaded.brook.raft.v1.Raft(address, credentialsOf(security), clientOptions(security, options));
}

// ---- errors on the wire ------------------------------------------------------

const errorCodeKey = "brook-error-code";

/** The per-partition / per-topic Error message; `null` means success. */
export function toWireError(error: unknown): { code: string; message: string } {
  const brook = asBrookError(error);
  return { code: brook.code, message: brook.message };
}

export const noError = { code: "", message: "" };

/** Rebuilds the typed error from a per-partition Error message, if there is one. */
export function fromWireError(error: WireError | null | undefined): BrookError | undefined {
  if (!error || error.code === "") return undefined;
  const code: ErrorCode = isErrorCode(error.code) ? error.code : "UNKNOWN_SERVER_ERROR";
  return new BrookError(code, stripCode(error.message, code));
}

/** A request-level failure as a gRPC status carrying the Brook code in a trailer. */
export function toServiceError(error: unknown): Partial<grpc.StatusObject> {
  const brook = asBrookError(error);
  const metadata = new grpc.Metadata();
  metadata.set(errorCodeKey, brook.code);
  return { code: ERRORS[brook.code].grpcStatus, details: brook.message, metadata };
}

/** Rebuilds the typed error from a failed gRPC call (ours, or the transport's). */
export function fromServiceError(error: grpc.ServiceError): BrookError {
  const trailer = error.metadata?.get(errorCodeKey)[0];
  if (typeof trailer === "string" && isErrorCode(trailer)) {
    return new BrookError(trailer, stripCode(error.details, trailer), { cause: error });
  }
  if (endedWithoutStatus(error)) {
    return new BrookError("BROKER_NOT_AVAILABLE", `the call was cut off: ${error.details}`, { cause: error });
  }
  switch (error.code) {
    case grpc.status.UNAVAILABLE:
      return new BrookError("BROKER_NOT_AVAILABLE", unreachableReason(error.details), { cause: error });
    case grpc.status.DEADLINE_EXCEEDED:
      return new BrookError("REQUEST_TIMED_OUT", error.details, { cause: error });
    case grpc.status.RESOURCE_EXHAUSTED:
      return new BrookError("REQUEST_TOO_LARGE", error.details, { cause: error });
    case grpc.status.CANCELLED:
      return new BrookError("CLIENT_CLOSED", error.details, { cause: error });
    default:
      return new BrookError("UNKNOWN_SERVER_ERROR", error.details, { cause: error });
  }
}

/**
 * The stream ended before any status arrived (grpc-js: INTERNAL, "Received RST_STREAM with code 0 (Call
 * ended without gRPC status)"): the transport cut the call, as a dropped connection does, so the request
 * may or may not have been handled and may be retried the same way. Seen once per few thousand calls
 * while the chaos suite cut and healed links; as UNKNOWN_SERVER_ERROR it failed sends and stopped a
 * consumer for good.
 */
function endedWithoutStatus(error: grpc.ServiceError): boolean {
  return error.code === grpc.status.INTERNAL && error.details.startsWith("Received RST_STREAM with code 0");
}

/** Adapts an async handler to grpc-js's callback style, mapping failures to typed statuses. */
/** A unary handler from an async function of the request (and the call, for who is calling). */
export function unary<Req, Res>(
  handler: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let answer: Promise<Res>;
    try {
      answer = handler(call.request, call);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error)),
    );
  };
}

/**
 * Whether a failed call never reached a Brook server: the connection could not be made or the deadline
 * passed with no answer (a server's own failures carry the code trailer). The SDK counts only answers,
 * whatever they say, as contact with the cluster.
 */
export function isTransportFailure(error: unknown): boolean {
  const cause =
    error instanceof BrookError ? (error.cause as Partial<grpc.ServiceError> | undefined) : undefined;
  if (cause?.metadata === undefined || cause.metadata.get(errorCodeKey).length > 0) return false;
  if (cause.code === grpc.status.INTERNAL) return endedWithoutStatus(cause as grpc.ServiceError);
  return cause.code === grpc.status.UNAVAILABLE || cause.code === grpc.status.DEADLINE_EXCEEDED;
}

/**
 * grpc-js's text for an unreachable peer, as a person would say it: "connect ECONNREFUSED
 * 127.0.0.1:9292. Resolution note: " becomes "connection refused (127.0.0.1:9292)".
 */
export function unreachableReason(details: string): string {
  const address = /(?:ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET) (\S+?)\.?(?:\s|$)/.exec(
    details,
  )?.[1];
  const at = address ? ` (${address})` : "";
  if (details.includes("ECONNREFUSED")) return `connection refused${at}`;
  if (details.includes("ETIMEDOUT")) return `connection timed out${at}`;
  if (details.includes("EHOSTUNREACH") || details.includes("ENETUNREACH")) return `no route to host${at}`;
  if (details.includes("ECONNRESET")) return `connection reset${at}`;
  const unresolved = /Name resolution failed for target dns:(\S+)/.exec(details);
  if (unresolved) return `host name ${unresolved[1]} does not resolve`;
  return details
    .replace(/\s*Resolution note:\s*$/, "")
    .replace(/^No connection established\. Last error: (Error: )?/, "");
}

/**
 * A failure as a typed error, UNKNOWN_SERVER_ERROR for anything untyped. Every catch-all that answers a
 * request with a failure goes through here, so an assertion is never answered: it stops the process.
 */
export function asBrookError(error: unknown): BrookError {
  if (error instanceof BrookError) return error;
  if (isAssertionError(error)) stopOnAssertion(error);
  const message = error instanceof Error ? error.message : String(error);
  return new BrookError("UNKNOWN_SERVER_ERROR", message, { cause: error });
}

function stripCode(message: string, code: string): string {
  return message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message;
}

export type { RaftHandlers } from "./generated/brook/raft/v1/Raft.js";
export type { BrokerHandlers } from "./generated/brook/v1/Broker.js";
export type { ControllerHandlers } from "./generated/brook/v1/Controller.js";
export type { BrokerClient, ControllerClient, RaftClient };
