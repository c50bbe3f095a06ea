// User tokens: what a client gets for a successful SCRAM exchange over gRPC,
// and then sends with every call instead of repeating the exchange. A token
// names a principal and an expiry, signed (HMAC-SHA256) with the cluster
// secret, so any broker of the cluster accepts it; a receiver still checks
// that the user exists, so deleting a user ends its tokens at once.

import { createHmac, timingSafeEqual } from "node:crypto";

/** How long a token is good for: the client authenticates again before then. */
export const userTokenLifetimeMs = 60 * 60 * 1000;

const version = "u1";

export type UserTokenResult =
  | { readonly ok: true; readonly principal: string; readonly expiresMs: number }
  | { readonly ok: false; readonly reason: string };

export function signUserToken(key: Buffer, principal: string, expiresMs: number): string {
  const name = Buffer.from(principal, "utf8").toString("base64url");
  const expires = Math.floor(expiresMs);
  return `${version}.${name}.${expires}.${mac(key, name, expires)}`;
}

export function verifyUserToken(key: Buffer, token: string, nowMs: number): UserTokenResult {
  const parts = token.split(".");
  if (parts.length !== 4 || parts[0] !== version) return { ok: false, reason: "not a user token" };
  const [, name, expiresText, given] = parts as [string, string, string, string];
  const expires = Number(expiresText);
  // Up to 1024 UTF-8 bytes of principal in base64url: "User:" and a 255-character user name
  // (packages/metadata's userNameLengthMax) take up to 770 bytes, 1027 characters here.
  if (!Number.isInteger(expires) || !/^[\w-]{1,1366}$/.test(name))
    return { ok: false, reason: "a malformed user token" };
  const expected = Buffer.from(mac(key, name, expires));
  const actual = Buffer.from(given);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    return { ok: false, reason: "a user token this cluster did not sign" };
  }
  if (expires <= nowMs) return { ok: false, reason: "an expired user token; authenticate again" };
  return { ok: true, principal: Buffer.from(name, "base64url").toString("utf8"), expiresMs: expires };
}

function mac(key: Buffer, name: string, expires: number): string {
  return createHmac("sha256", key)
    .update(`brook-user-token\n${version}\n${name}\n${expires}`)
    .digest("base64url");
}
