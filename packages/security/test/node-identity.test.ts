// Node identity tokens: a token signed with the cluster secret verifies once, for its method, within the
// time window (both ways), as the node it names (the operator, node 0, included); a wrong key, another
// method, a replay, a negative id and every malformed shape are refused without throwing; a refused
// token does not use up its nonce; the replay cache is bounded and frees its entries as they expire; and
// the cluster secret must be long enough.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  clusterSecretKey,
  clusterSecretLengthMin,
  NodeTokenVerifier,
  newClusterSecret,
  nodeTokenWindowMs,
  operatorNodeId,
  signNodeToken,
} from "../src/node-identity.js";

const t0 = 1_700_000_000_000;
const method = "/brook.v1.Broker/Fetch";
const key = clusterSecretKey("k".repeat(40));
const otherKey = clusterSecretKey("o".repeat(40));

/** A clock the test moves by hand. */
function manualClock(start = t0) {
  let now = start;
  return {
    now: () => now,
    set: (ms: number) => {
      now = ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function verifierAt(start = t0, options: { windowMs?: number; replayCacheMax?: number } = {}) {
  const clock = manualClock(start);
  return { clock, verifier: new NodeTokenVerifier(key, { now: clock.now, ...options }) };
}

function refusal(result: { ok: boolean; reason?: string }): string {
  expect(result.ok).toBe(false);
  return (result as { reason: string }).reason;
}

describe("signing and verifying", () => {
  it("round-trips: the verifier learns the node id", () => {
    const { verifier } = verifierAt();
    const token = signNodeToken(key, 3, method, t0);
    expect(token).toMatch(/^n1\.3\.1700000000000\.[\w-]{16,64}\.[\w-]+$/);
    expect(verifier.verify(token, method)).toEqual({ ok: true, nodeId: 3 });
  });

  it("a fractional time is signed as its whole milliseconds", () => {
    const { verifier } = verifierAt();
    const token = signNodeToken(key, 2, method, t0 + 0.75);
    expect(token.split(".")[2]).toBe(String(t0));
    expect(verifier.verify(token, method)).toEqual({ ok: true, nodeId: 2 });
  });

  it("every token gets a fresh nonce", () => {
    const nonces = new Set(Array.from({ length: 50 }, () => signNodeToken(key, 1, method, t0).split(".")[3]));
    expect(nonces.size).toBe(50);
  });

  it("refuses a token signed with another key", () => {
    const { verifier } = verifierAt();
    const reason = refusal(verifier.verify(signNodeToken(otherKey, 3, method, t0), method));
    expect(reason).toContain("did not sign");
    expect(reason).toContain("node 3");
  });

  it("refuses a token made for another method path", () => {
    const { verifier } = verifierAt();
    const token = signNodeToken(key, 3, "/brook.v1.Broker/Fetch", t0);
    expect(refusal(verifier.verify(token, "/brook.raft.v1.Raft/AppendEntries"))).toContain("another method");
    expect(refusal(verifier.verify(token, "/brook.v1.Broker/Fetch2"))).toContain("another method");
    // Refusing it did not use it up: it still works for the path it was made for.
    expect(verifier.verify(token, method)).toEqual({ ok: true, nodeId: 3 });
  });

  it("refuses a token whose node id was changed (the MAC covers it)", () => {
    const { verifier } = verifierAt();
    const [v, , issued, nonce, mac] = signNodeToken(key, 3, method, t0).split(".");
    expect(refusal(verifier.verify([v, "4", issued, nonce, mac].join("."), method))).toContain(
      "did not sign",
    );
    expect(refusal(verifier.verify([v, "0", issued, nonce, mac].join("."), method))).toContain(
      "did not sign",
    );
  });

  it("refuses a token whose time or nonce was changed", () => {
    const { verifier } = verifierAt();
    const [v, id, issued, nonce, mac] = signNodeToken(key, 3, method, t0).split(".") as string[];
    const later = String(Number(issued) + 1);
    expect(refusal(verifier.verify([v, id, later, nonce, mac].join("."), method))).toContain("did not sign");
    const otherNonce = `${nonce.slice(0, -1)}${nonce.endsWith("A") ? "B" : "A"}`;
    expect(refusal(verifier.verify([v, id, issued, otherNonce, mac].join("."), method))).toContain(
      "did not sign",
    );
  });
});

describe("replays", () => {
  it("refuses the same token twice", () => {
    const { verifier } = verifierAt();
    const token = signNodeToken(key, 5, method, t0);
    expect(verifier.verify(token, method)).toEqual({ ok: true, nodeId: 5 });
    expect(refusal(verifier.verify(token, method))).toContain("used twice");
    expect(refusal(verifier.verify(token, method))).toContain("used twice");
  });

  it("refuses a nonce seen before even for another method (the nonce is what is remembered)", () => {
    const { verifier } = verifierAt();
    const nonce = "a-nonce-of-twenty-chars";
    expect(verifier.verify(signNodeToken(key, 5, method, t0, nonce), method).ok).toBe(true);
    const other = "/brook.v1.Broker/Produce";
    expect(refusal(verifier.verify(signNodeToken(key, 5, other, t0, nonce), other))).toContain("used twice");
  });

  it("a forged token does not burn the nonce of a genuine one", () => {
    const { verifier } = verifierAt();
    const nonce = "nonce-the-attacker-saw";
    expect(verifier.verify(signNodeToken(otherKey, 5, method, t0, nonce), method).ok).toBe(false);
    expect(verifier.verify(signNodeToken(key, 5, method, t0, nonce), method)).toEqual({
      ok: true,
      nodeId: 5,
    });
  });

  it("a token refused as outside the window is not remembered", () => {
    const { verifier, clock } = verifierAt();
    const token = signNodeToken(key, 5, method, t0 + 2 * nodeTokenWindowMs);
    expect(refusal(verifier.verify(token, method))).toContain("clocks more than");
    clock.set(t0 + 2 * nodeTokenWindowMs);
    expect(verifier.verify(token, method)).toEqual({ ok: true, nodeId: 5 });
  });

  it("still refuses a replay just before its nonce is forgotten (two windows after it was seen)", () => {
    // A token issued one window in the future stays valid until one window past its time: its nonce
    // must be remembered that long.
    const { verifier, clock } = verifierAt();
    const token = signNodeToken(key, 5, method, t0 + nodeTokenWindowMs);
    expect(verifier.verify(token, method).ok).toBe(true);
    clock.set(t0 + 2 * nodeTokenWindowMs - 1);
    // Verifying another token first makes the verifier sweep its expired nonces.
    expect(verifier.verify(signNodeToken(key, 5, method, clock.now()), method).ok).toBe(true);
    expect(refusal(verifier.verify(token, method))).toContain("used twice");
  });
});

describe("the time window", () => {
  it("accepts a token up to the window away, both ways, and refuses one a millisecond further", () => {
    const { verifier } = verifierAt();
    expect(verifier.verify(signNodeToken(key, 1, method, t0 - nodeTokenWindowMs), method).ok).toBe(true);
    expect(verifier.verify(signNodeToken(key, 1, method, t0 + nodeTokenWindowMs), method).ok).toBe(true);
    const old = refusal(verifier.verify(signNodeToken(key, 1, method, t0 - nodeTokenWindowMs - 1), method));
    expect(old).toContain(`issued ${nodeTokenWindowMs + 1} ms ago`);
    const future = refusal(
      verifier.verify(signNodeToken(key, 1, method, t0 + nodeTokenWindowMs + 1), method),
    );
    expect(future).toContain(`issued ${-(nodeTokenWindowMs + 1)} ms ago`);
  });

  it("follows the injected clock and window", () => {
    const { verifier, clock } = verifierAt(t0, { windowMs: 1_000 });
    const token = signNodeToken(key, 1, method, t0);
    clock.advance(1_001);
    expect(refusal(verifier.verify(token, method))).toContain("clocks more than 1000 ms apart");
    clock.set(t0 - 1_001);
    expect(verifier.verify(token, method).ok).toBe(false);
    clock.set(t0 - 1_000);
    expect(verifier.verify(token, method)).toEqual({ ok: true, nodeId: 1 });
  });
});

describe("node ids", () => {
  it("the operator (node 0) verifies as node 0", () => {
    const { verifier } = verifierAt();
    expect(operatorNodeId).toBe(0);
    expect(verifier.verify(signNodeToken(key, operatorNodeId, method, t0), method)).toEqual({
      ok: true,
      nodeId: 0,
    });
  });

  it("refuses a negative or fractional id even when the MAC is right", () => {
    const { verifier } = verifierAt();
    expect(refusal(verifier.verify(signNodeToken(key, -1, method, t0), method))).toBe(
      "a malformed node token",
    );
    expect(refusal(verifier.verify(signNodeToken(key, -7, method, t0), method))).toBe(
      "a malformed node token",
    );
    // A fractional id has a '.' in it: the token has too many parts.
    expect(refusal(verifier.verify(signNodeToken(key, 1.5, method, t0), method))).toBe("not a node token");
  });

  it("large ids round-trip", () => {
    const { verifier } = verifierAt();
    expect(verifier.verify(signNodeToken(key, 2 ** 31 - 1, method, t0), method)).toEqual({
      ok: true,
      nodeId: 2 ** 31 - 1,
    });
  });
});

describe("malformed tokens", () => {
  const good = signNodeToken(key, 3, method, t0, "0123456789abcdef");
  const [, id, issued, nonce, mac] = good.split(".") as string[];

  it.each([
    ["empty", ""],
    ["a word", "hello"],
    ["a dot", "."],
    ["only the version", "n1"],
    ["four parts", `n1.${id}.${issued}.${nonce}`],
    ["six parts", `${good}.x`],
    ["another version", `n2.${id}.${issued}.${nonce}.${mac}`],
    ["a user token's version", `u1.${id}.${issued}.${nonce}.${mac}`],
    ["an id that is not a number", `n1.three.${issued}.${nonce}.${mac}`],
    ["a negative id", `n1.-3.${issued}.${nonce}.${mac}`],
    ["a time that is not a number", `n1.${id}.soon.${nonce}.${mac}`],
    ["an infinite time", `n1.${id}.Infinity.${nonce}.${mac}`],
    ["a nonce too short", `n1.${id}.${issued}.short.${mac}`],
    ["a nonce too long", `n1.${id}.${issued}.${"a".repeat(65)}.${mac}`],
    ["a nonce with other characters", `n1.${id}.${issued}.${"a+b/c=d".repeat(3)}.${mac}`],
    ["an empty MAC", `n1.${id}.${issued}.${nonce}.`],
    ["a truncated MAC", `n1.${id}.${issued}.${nonce}.${mac.slice(1)}`],
    ["a MAC one character longer", `n1.${id}.${issued}.${nonce}.${mac}A`],
    ["a MAC with a multi-byte character", `n1.${id}.${issued}.${nonce}.${mac.slice(1)}é`],
    [
      "a MAC in another alphabet",
      `n1.${id}.${issued}.${nonce}.${Buffer.from(mac, "base64url").toString("hex")}`,
    ],
    ["spaces around it", ` ${good} `],
  ])("refuses %s", (_what, token) => {
    const { verifier } = verifierAt();
    const result = verifier.verify(token, method);
    expect(result.ok).toBe(false);
  });

  it("the genuine token itself verifies (the cases above differ from it only as named)", () => {
    const { verifier } = verifierAt();
    expect(verifier.verify(good, method)).toEqual({ ok: true, nodeId: 3 });
  });

  it("arbitrary strings never throw and never verify", () => {
    const { verifier } = verifierAt();
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), fc.string(), (token, path) => {
        const result = verifier.verify(token, path);
        expect(result.ok).toBe(false);
        expect(typeof (result as { reason: string }).reason).toBe("string");
      }),
      { numRuns: 500 },
    );
  });

  it("arbitrary five-part tokens of the right version never throw and never verify", () => {
    const { verifier } = verifierAt();
    const part = fc.oneof(
      fc.string({ maxLength: 80 }).map((s) => s.replaceAll(".", "")),
      fc.integer().map(String),
      // Never the genuine MAC, so no combination can be the genuine token.
      fc.constantFrom(id, issued, nonce, mac.slice(1), "", "-0", "0x10", "1e3", "NaN"),
    );
    fc.assert(
      fc.property(part, part, part, part, (a, b, c, d) => {
        const result = verifier.verify(`n1.${a}.${b}.${c}.${d}`, method);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

describe("the replay cache bound", () => {
  it("refuses new tokens while full, and accepts them again once old nonces expire", () => {
    const { verifier, clock } = verifierAt(t0, { replayCacheMax: 3 });
    for (let i = 0; i < 3; i++) {
      expect(verifier.verify(signNodeToken(key, 1, method, clock.now()), method).ok).toBe(true);
      clock.advance(1_000);
    }
    const refused = signNodeToken(key, 1, method, clock.now());
    expect(verifier.verify(refused, method).ok).toBe(false);
    expect(verifier.verify(signNodeToken(key, 2, method, clock.now()), method).ok).toBe(false);

    // Nonces are kept two windows from when they were seen: the first expires at t0 + 2 windows.
    clock.set(t0 + 2 * nodeTokenWindowMs - 1);
    expect(verifier.verify(signNodeToken(key, 1, method, clock.now()), method).ok).toBe(false);
    clock.set(t0 + 2 * nodeTokenWindowMs);
    expect(verifier.verify(signNodeToken(key, 1, method, clock.now()), method)).toEqual({
      ok: true,
      nodeId: 1,
    });
    // Only the first had expired: full again.
    expect(verifier.verify(signNodeToken(key, 1, method, clock.now()), method).ok).toBe(false);

    // Once every one has expired, there is room for three again.
    clock.advance(4 * nodeTokenWindowMs);
    for (let i = 0; i < 3; i++) {
      expect(verifier.verify(signNodeToken(key, 1, method, clock.now()), method).ok).toBe(true);
    }
    expect(verifier.verify(signNodeToken(key, 1, method, clock.now()), method).ok).toBe(false);
  });

  it("a token refused because the cache was full can be used once there is room (it was not remembered)", () => {
    const { verifier, clock } = verifierAt(t0, { replayCacheMax: 1, windowMs: 10_000 });
    expect(verifier.verify(signNodeToken(key, 1, method, t0), method).ok).toBe(true);
    const waiting = signNodeToken(key, 1, method, t0 + 10_000);
    expect(verifier.verify(waiting, method).ok).toBe(false);
    clock.set(t0 + 20_000);
    expect(verifier.verify(waiting, method)).toEqual({ ok: true, nodeId: 1 });
    expect(verifier.verify(waiting, method).ok).toBe(false);
  });
});

describe("the cluster secret", () => {
  it(`needs at least ${clusterSecretLengthMin} characters after trimming`, () => {
    expect(clusterSecretLengthMin).toBe(32);
    expect(() => clusterSecretKey("x".repeat(31))).toThrow(
      "the cluster secret has 31 characters; it needs at least 32 (make one with `brook cluster secret`)",
    );
    expect(() => clusterSecretKey("")).toThrow("the cluster secret has 0 characters");
    expect(() => clusterSecretKey(`  ${"x".repeat(31)}\n\n`)).toThrow("has 31 characters");
    expect(clusterSecretKey("x".repeat(32))).toEqual(Buffer.from("x".repeat(32)));
  });

  it("is the file's text without surrounding whitespace, as UTF-8 bytes", () => {
    const text = "s".repeat(32);
    expect(clusterSecretKey(`${text}\n`)).toEqual(Buffer.from(text));
    expect(clusterSecretKey(`\t ${text} \r\n`)).toEqual(Buffer.from(text));
    // The same secret written with and without a trailing newline signs alike.
    const signed = signNodeToken(clusterSecretKey(`${text}\n`), 1, method, t0);
    expect(new NodeTokenVerifier(clusterSecretKey(text), { now: () => t0 }).verify(signed, method).ok).toBe(
      true,
    );
  });

  it("a new secret is long enough, random and base64url", () => {
    const a = newClusterSecret();
    const b = newClusterSecret();
    expect(a).toMatch(/^[\w-]{43}$/);
    expect(a).not.toBe(b);
    expect(clusterSecretKey(a)).toEqual(Buffer.from(a));
  });
});
