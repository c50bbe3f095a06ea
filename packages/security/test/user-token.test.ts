// User tokens: a token signed with the cluster secret names its principal (any text, non-ASCII and the
// longest user name included) until it expires; a changed principal, expiry or MAC, another cluster's
// key, an expired token and every malformed shape are refused without throwing.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clusterSecretKey, signNodeToken } from "../src/node-identity.js";
import { signUserToken, userTokenLifetimeMs, verifyUserToken } from "../src/user-token.js";

const key = clusterSecretKey("k".repeat(40));
const otherKey = clusterSecretKey("o".repeat(40));
const t0 = 1_700_000_000_000;
const expires = t0 + userTokenLifetimeMs;

function refusal(result: { ok: boolean; reason?: string }): string {
  expect(result.ok).toBe(false);
  return (result as { reason: string }).reason;
}

/** The token with part `index` (0: version, 1: principal, 2: expiry, 3: MAC) replaced. */
function withPart(token: string, index: number, value: string): string {
  const parts = token.split(".");
  parts[index] = value;
  return parts.join(".");
}

describe("user tokens", () => {
  it("round-trip: the principal and expiry come back", () => {
    const token = signUserToken(key, "User:alice", expires);
    expect(token).toMatch(/^u1\.[\w-]+\.\d+\.[\w-]{43}$/);
    expect(verifyUserToken(key, token, t0)).toEqual({
      ok: true,
      principal: "User:alice",
      expiresMs: expires,
    });
    expect(verifyUserToken(key, token, expires - 1)).toEqual({
      ok: true,
      principal: "User:alice",
      expiresMs: expires,
    });
  });

  it("an expiry is signed as its whole milliseconds", () => {
    const token = signUserToken(key, "User:alice", expires + 0.9);
    expect(verifyUserToken(key, token, t0)).toMatchObject({ ok: true, expiresMs: expires });
  });

  it("are refused from their expiry on", () => {
    const token = signUserToken(key, "User:alice", expires);
    expect(refusal(verifyUserToken(key, token, expires))).toBe("an expired user token; authenticate again");
    expect(refusal(verifyUserToken(key, token, expires + 60_000))).toContain("expired");
  });

  it("refuse a changed principal", () => {
    const token = signUserToken(key, "User:alice", expires);
    const admin = Buffer.from("User:admin", "utf8").toString("base64url");
    expect(refusal(verifyUserToken(key, withPart(token, 1, admin), t0))).toBe(
      "a user token this cluster did not sign",
    );
    // One more character, or one less: still not signed.
    const alice = token.split(".")[1] as string;
    expect(verifyUserToken(key, withPart(token, 1, `${alice}A`), t0).ok).toBe(false);
    expect(verifyUserToken(key, withPart(token, 1, alice.slice(0, -1)), t0).ok).toBe(false);
  });

  it("refuse a changed expiry", () => {
    const token = signUserToken(key, "User:alice", expires);
    expect(refusal(verifyUserToken(key, withPart(token, 2, String(expires + 1)), t0))).toBe(
      "a user token this cluster did not sign",
    );
    expect(verifyUserToken(key, withPart(token, 2, String(expires * 10)), t0).ok).toBe(false);
    // An already expired token cannot be extended: the expiry is under the MAC.
    const old = signUserToken(key, "User:alice", t0 - 1);
    expect(verifyUserToken(key, withPart(old, 2, String(expires)), t0).ok).toBe(false);
  });

  it("refuse a changed MAC", () => {
    const token = signUserToken(key, "User:alice", expires);
    const mac = token.split(".")[3] as string;
    const flipped = `${mac.slice(0, 10)}${mac[10] === "A" ? "B" : "A"}${mac.slice(11)}`;
    expect(refusal(verifyUserToken(key, withPart(token, 3, flipped), t0))).toBe(
      "a user token this cluster did not sign",
    );
    expect(verifyUserToken(key, withPart(token, 3, mac.slice(1)), t0).ok).toBe(false);
    expect(verifyUserToken(key, withPart(token, 3, `${mac}A`), t0).ok).toBe(false);
    expect(verifyUserToken(key, withPart(token, 3, ""), t0).ok).toBe(false);
    expect(verifyUserToken(key, withPart(token, 3, `${mac.slice(1)}é`), t0).ok).toBe(false);
  });

  it("refuse another cluster's token", () => {
    const token = signUserToken(otherKey, "User:alice", expires);
    expect(refusal(verifyUserToken(key, token, t0))).toBe("a user token this cluster did not sign");
  });

  it("carry a non-ASCII principal", () => {
    for (const principal of ["User:Zoë", "User:日本語ユーザー", "User:🙂-emoji", "User:a.b.c", "User:x y"]) {
      const token = signUserToken(key, principal, expires);
      expect(token.split(".")).toHaveLength(4);
      expect(verifyUserToken(key, token, t0)).toEqual({ ok: true, principal, expiresMs: expires });
    }
  });

  it("carry the principal of the longest user name, whatever its characters", () => {
    // The metadata log takes user names of up to 255 characters (packages/metadata's userNameLengthMax),
    // of any well-formed text: up to 3 UTF-8 bytes a character.
    for (const char of ["a", "é", "日"]) {
      const principal = `User:${char.repeat(255)}`;
      const token = signUserToken(key, principal, expires);
      expect(verifyUserToken(key, token, t0), char).toEqual({ ok: true, principal, expiresMs: expires });
    }
    const astral = `User:${"🙂".repeat(127)}`; // 254 UTF-16 code units, 4 bytes each pair
    expect(verifyUserToken(key, signUserToken(key, astral, expires), t0)).toMatchObject({
      ok: true,
      principal: astral,
    });
  });

  it("arbitrary principals round-trip", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 100 }), (name) => {
        const principal = `User:${name}`;
        expect(verifyUserToken(key, signUserToken(key, principal, expires), t0)).toEqual({
          ok: true,
          principal,
          expiresMs: expires,
        });
      }),
      { numRuns: 200 },
    );
  });

  it.each([
    ["empty", ""],
    ["a word", "hello"],
    ["three parts", "u1.VXNlcjphbGljZQ.1"],
    ["five parts", `${signUserToken(key, "User:alice", expires)}.x`],
    ["another version", withPart(signUserToken(key, "User:alice", expires), 0, "u2")],
    ["a node token", signNodeToken(key, 1, "/brook.v1.Broker/Fetch", t0)],
    ["an expiry that is not a number", withPart(signUserToken(key, "User:alice", expires), 2, "later")],
    ["a fractional expiry", withPart(signUserToken(key, "User:alice", expires), 2, "1e400")],
    ["an empty principal", withPart(signUserToken(key, "User:alice", expires), 1, "")],
    ["a principal in standard base64", withPart(signUserToken(key, "User:alice", expires), 1, "VXNl+/==")],
    // Past 1024 bytes of principal: refused before any MAC is computed over it.
    ["a principal too long to be one", signUserToken(key, `User:${"x".repeat(1100)}`, expires)],
  ])("refuse %s without throwing", (_what, token) => {
    expect(verifyUserToken(key, token, t0).ok).toBe(false);
  });

  it("arbitrary strings never throw and never verify", () => {
    const part = fc.oneof(
      fc.string({ maxLength: 60 }).map((s) => s.replaceAll(".", "")),
      fc.integer().map(String),
      fc.constantFrom("u1", "VXNlcjphbGljZQ", String(expires), "", "NaN", "-0"),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "grapheme", maxLength: 300 }),
          fc.tuple(part, part, part).map(([a, b, c]) => `u1.${a}.${b}.${c}`),
        ),
        fc.integer({ min: 0, max: 2 * t0 }),
        (token, now) => {
          const result = verifyUserToken(key, token, now);
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
