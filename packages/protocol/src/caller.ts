// Who sent a request, as the front end that received it (gRPC, the Kafka
// listener) authenticated it; every package that checks a caller takes this.

import type * as grpc from "@grpc/grpc-js";
import { BrookError } from "./errors.js";

/**
 * Who sent a request, as its front end authenticated it. Requests that only the cluster's own nodes may
 * make (a replica fetch, transaction markers) check `nodeId` against the id they claim.
 */
export interface Caller {
  /** The cluster node the caller proved to be (a node token signed with the cluster secret); else undefined. */
  readonly nodeId?: number;
  /** Kafka's principal: "User:alice", or "User:ANONYMOUS" for a client that did not authenticate. */
  readonly principal: string;
  /** The caller's address, as ACLs' host field matches it. */
  readonly host: string;
}

export const anonymousPrincipal = "User:ANONYMOUS";

/** A caller that proved nothing: the default for front ends without authentication, and for tests. */
export function anonymousCaller(host = "unknown"): Caller {
  return { principal: anonymousPrincipal, host };
}

/** Refuses a request that claims to come from broker `claimed` unless the caller is that node. */
export function requireNode(caller: Caller, what: string, claimed?: number): void {
  if (caller.nodeId === undefined) {
    throw new BrookError(
      "CLUSTER_AUTHORIZATION_FAILED",
      `${what} is for the cluster's own nodes; ${caller.principal} is not one`,
    );
  }
  // Node 0 is the operator (a tool holding the cluster secret): it may act for the cluster, never as a broker.
  if (claimed !== undefined && (caller.nodeId !== claimed || claimed < 1)) {
    throw new BrookError(
      "CLUSTER_AUTHORIZATION_FAILED",
      `${what} claims to come from broker ${claimed}, but the caller is node ${caller.nodeId}`,
    );
  }
}

/** How a gRPC service learns who is calling: from the call's metadata, TLS peer and address. May throw a BrookError. */
export type CallerOf = (call: SurfaceCall) => Caller;

/** What every kind of server call offers (grpc-js does not export its name for it). */
export type SurfaceCall = Pick<
  grpc.ServerUnaryCall<unknown, unknown>,
  "metadata" | "getPeer" | "getPath" | "getAuthContext"
>;

/** The host part of grpc-js's peer string ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000", "127.0.0.1:5000"). */
export function peerHost(peer: string): string {
  const address = peer.replace(/^ipv[46]:/, "");
  const bracketed = /^\[([^\]]+)\]/.exec(address);
  if (bracketed) return bracketed[1] as string;
  const colon = address.lastIndexOf(":");
  return colon > 0 ? address.slice(0, colon) : address;
}

/** Everyone anonymous: the default where no authentication is wired in. */
export const anonymousCallerOf: CallerOf = (call) => anonymousCaller(peerHost(call.getPeer()));
