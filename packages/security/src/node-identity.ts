// Node identity: how a node proves to another that it is node N. Every node
// of a cluster holds the same cluster secret; a call between nodes carries a
// token, an HMAC-SHA256 under that secret over the node id, the time, a fresh
// nonce and the gRPC method it is for. The receiver recomputes the HMAC,
// accepts the token only within a time window and only once (the nonce is
// remembered for the window), and then knows the caller is node N. It works
// the same with and without TLS: without TLS an eavesdropper sees tokens but
// cannot forge one or use one twice (docs/security.md, decision 50).

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * The id an operator's tools sign with (`brook --cluster-secret-file`): whoever holds the cluster secret
 * may act for the cluster (make the first users and ACLs), but is none of its nodes, so it cannot
 * fetch as a replica, change an ISR or register a broker.
 */
export const operatorNodeId = 0;

/** A cluster secret shorter than this is refused: 32 characters of a random base64 string carry ~192 bits. */
export const clusterSecretLengthMin = 32;

/** How far a token's time may be from the receiver's clock (both ways), and so how long a nonce is remembered. */
export const nodeTokenWindowMs = 60_000;

/** At most this many nonces are remembered; past it tokens are refused until old ones expire. */
export const nodeTokenReplayCacheMax = 200_000;

const version = "n1";

export type NodeTokenResult =
  | { readonly ok: true; readonly nodeId: number }
  | { readonly ok: false; readonly reason: string };

export interface NodeTokenVerifierOptions {
  readonly now?: () => number;
  readonly windowMs?: number;
  readonly replayCacheMax?: number;
}

/** The secret as bytes; a typed error (by message) when it is too short to be one. */
export function clusterSecretKey(text: string): Buffer {
  const trimmed = text.trim();
  if (trimmed.length < clusterSecretLengthMin) {
    throw new Error(
      `the cluster secret has ${trimmed.length} characters; it needs at least ${clusterSecretLengthMin} (make one with \`brook cluster secret\`)`,
    );
  }
  return Buffer.from(trimmed, "utf8");
}

/** A new random cluster secret: 32 bytes, base64url. */
export function newClusterSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** The token node `nodeId` sends with a call to `method` (a gRPC path such as "/brook.v1.Broker/Calls"). */
export function signNodeToken(
  key: Buffer,
  nodeId: number,
  method: string,
  nowMs: number,
  nonce: string = randomBytes(16).toString("base64url"),
): string {
  const issued = Math.floor(nowMs);
  return `${version}.${nodeId}.${issued}.${nonce}.${mac(key, nodeId, issued, nonce, method)}`;
}

/**
 * Checks tokens for one receiving node. Owns the replay cache: nonces seen in
 * the window, oldest first, so expired ones are dropped from the front.
 */
export class NodeTokenVerifier {
  private readonly seen = new Map<string, number>();
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly replayCacheMax: number;

  constructor(
    private readonly key: Buffer,
    options: NodeTokenVerifierOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? nodeTokenWindowMs;
    this.replayCacheMax = options.replayCacheMax ?? nodeTokenReplayCacheMax;
  }

  verify(token: string, method: string): NodeTokenResult {
    const parts = token.split(".");
    if (parts.length !== 5 || parts[0] !== version) return refuse("not a node token");
    const [, idText, issuedText, nonce, given] = parts as [string, string, string, string, string];
    const nodeId = Number(idText);
    const issued = Number(issuedText);
    if (
      !Number.isInteger(nodeId) ||
      nodeId < 0 ||
      !Number.isInteger(issued) ||
      !/^[\w-]{16,64}$/.test(nonce)
    ) {
      return refuse("a malformed node token");
    }
    if (!sameMac(mac(this.key, nodeId, issued, nonce, method), given)) {
      return refuse(
        `a node token for node ${nodeId} that the cluster secret did not sign (or for another method)`,
      );
    }
    const now = this.now();
    if (Math.abs(now - issued) > this.windowMs) {
      return refuse(
        `a node token from node ${nodeId} issued ${now - issued} ms ago; clocks more than ${this.windowMs} ms apart?`,
      );
    }
    return this.remember(nonce, nodeId, now);
  }

  /** Records the nonce: refused when it was seen before (a replay) or the cache is full. */
  private remember(nonce: string, nodeId: number, now: number): NodeTokenResult {
    for (const [old, expires] of this.seen) {
      if (expires > now) break;
      this.seen.delete(old);
    }
    if (this.seen.has(nonce)) return refuse(`a node token from node ${nodeId} used twice`);
    if (this.seen.size >= this.replayCacheMax) {
      return refuse(
        `a node token from node ${nodeId}: ${this.replayCacheMax} tokens already in the window; retry shortly`,
      );
    }
    // Kept for two windows: a token can be issued up to one window in the future.
    this.seen.set(nonce, now + 2 * this.windowMs);
    return { ok: true, nodeId };
  }
}

function mac(key: Buffer, nodeId: number, issued: number, nonce: string, method: string): string {
  return createHmac("sha256", key)
    .update(`brook-node-token\n${version}\n${nodeId}\n${issued}\n${nonce}\n${method}`)
    .digest("base64url");
}

function sameMac(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function refuse(reason: string): NodeTokenResult {
  return { ok: false, reason };
}
