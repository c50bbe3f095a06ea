// SCRAM over gRPC (GrpcSasl): a full exchange with @brook/security's ScramClient ends in a user token the
// cluster secret verifies; a wrong password and an unknown user fail alike with Kafka's message; a session
// id is good for one final step, within its time and for its mechanism; a mechanism the cluster does not
// offer is refused; and the table of exchanges under way is bounded.
import { BrookError, type SaslAuthenticateResponse__Output } from "@brook/protocol";
import {
  clusterSecretKey,
  SCRAM_AUTHZID_MISMATCH_MESSAGE,
  ScramClient,
  type ScramCredential,
  type ScramMechanism,
  scramCredential,
  userTokenLifetimeMs,
  verifyUserToken,
} from "@brook/security";
import { describe, expect, it } from "vitest";
import { GrpcSasl, type GrpcSaslOptions, saslSessionsMax, saslSessionTimeoutMs } from "../src/grpc-sasl.js";

const key = clusterSecretKey("k".repeat(40));
const unknownUserSecret = Buffer.alloc(32, 9);
const t0 = 1_700_000_000_000;
const salt = Buffer.alloc(32, 1);

const credentials = new Map<string, ScramCredential>([
  ["alice/SCRAM-SHA-256", scramCredential("SCRAM-SHA-256", "alice-pw", { salt, iterations: 4096 })],
  ["alice/SCRAM-SHA-512", scramCredential("SCRAM-SHA-512", "alice-pw", { salt, iterations: 4096 })],
]);

function saslAt(options: Partial<GrpcSaslOptions> = {}) {
  let now = t0;
  const lookups: string[] = [];
  const sasl = new GrpcSasl({
    key,
    unknownUserSecret,
    mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-512"],
    credentialOf: (username, mechanism) => {
      lookups.push(`${username}/${mechanism}`);
      return credentials.get(`${username}/${mechanism}`);
    },
    now: () => now,
    ...options,
  });
  return {
    sasl,
    lookups,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

type Response = SaslAuthenticateResponse__Output;

async function step(
  sasl: GrpcSasl,
  mechanism: string,
  sessionId: string,
  authBytes: Buffer,
): Promise<Response> {
  return (await sasl.authenticate({ mechanism, sessionId, authBytes })) as Response;
}

/** The first call: client-first in, session id and server-first out. */
async function begin(sasl: GrpcSasl, client: ScramClient): Promise<Response> {
  const first = await step(sasl, client.mechanism, "", client.clientFirst());
  expect(first.sessionId).toMatch(/^[\w-]{24}$/);
  return first;
}

/** Both calls, as the SDK makes them; resolves with the final answer after checking the server's proof. */
async function exchange(
  sasl: GrpcSasl,
  username: string,
  password: string,
  mechanism: ScramMechanism = "SCRAM-SHA-256",
): Promise<Response> {
  const client = new ScramClient(mechanism, username, password);
  const first = await begin(sasl, client);
  const final = await step(sasl, mechanism, first.sessionId, client.handleServerFirst(first.authBytes));
  client.verifyServerFinal(final.authBytes);
  return final;
}

async function brookError(promise: Promise<unknown>): Promise<BrookError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a BrookError");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BrookError);
  return error as BrookError;
}

const invalidCredentials = (mechanism: ScramMechanism) =>
  `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`;

describe("a SCRAM exchange over gRPC", () => {
  it("ends in a token the cluster secret verifies, for the user, good for the token lifetime", async () => {
    const { sasl } = saslAt();
    for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
      const final = await exchange(sasl, "alice", "alice-pw", mechanism);
      expect(final.principal).toBe("User:alice");
      expect(final.tokenExpiresMs).toBe(t0 + userTokenLifetimeMs);
      expect(verifyUserToken(key, final.token, t0)).toEqual({
        ok: true,
        principal: "User:alice",
        expiresMs: t0 + userTokenLifetimeMs,
      });
      expect(verifyUserToken(key, final.token, t0 + userTokenLifetimeMs).ok).toBe(false);
      expect(verifyUserToken(clusterSecretKey("o".repeat(40)), final.token, t0).ok).toBe(false);
    }
  });

  it("the first answer carries server-first and no token", async () => {
    const { sasl, lookups } = saslAt();
    const client = new ScramClient("SCRAM-SHA-256", "alice", "alice-pw");
    const first = await begin(sasl, client);
    expect(first.authBytes.toString()).toMatch(/^r=[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/);
    expect(first.token ?? "").toBe("");
    expect(lookups).toEqual(["alice/SCRAM-SHA-256"]);
  });

  it("the token's lifetime follows the injected clock at the final step", async () => {
    const { sasl, advance } = saslAt();
    const client = new ScramClient("SCRAM-SHA-256", "alice", "alice-pw");
    const first = await begin(sasl, client);
    advance(10_000);
    const final = await step(
      sasl,
      "SCRAM-SHA-256",
      first.sessionId,
      client.handleServerFirst(first.authBytes),
    );
    expect(final.tokenExpiresMs).toBe(t0 + 10_000 + userTokenLifetimeMs);
  });

  it("refuses a wrong password with Kafka's message", async () => {
    const { sasl } = saslAt();
    const error = await brookError(exchange(sasl, "alice", "wrong"));
    expect(error.code).toBe("SASL_AUTHENTICATION_FAILED");
    expect(error.detail).toBe(invalidCredentials("SCRAM-SHA-256"));
  });

  it("refuses an unknown user with the same message, after a first step that looks the same", async () => {
    const { sasl } = saslAt();
    const client = new ScramClient("SCRAM-SHA-512", "mallory", "anything");
    const first = await begin(sasl, client);
    // An unknown user gets a salt and the usual iterations, as a known one would.
    expect(first.authBytes.toString()).toMatch(/^r=[^,]+,s=[A-Za-z0-9+/=]{44},i=4096$/);
    const error = await brookError(
      step(sasl, "SCRAM-SHA-512", first.sessionId, client.handleServerFirst(first.authBytes)),
    );
    expect(error.code).toBe("SASL_AUTHENTICATION_FAILED");
    expect(error.detail).toBe(invalidCredentials("SCRAM-SHA-512"));
    expect(error.message).toBe((await brookError(exchange(sasl, "alice", "wrong", "SCRAM-SHA-512"))).message);
  });

  it("an unknown user's salt is the same on every broker of the cluster (the same unknownUserSecret)", async () => {
    const saltOf = async (sasl: GrpcSasl) => {
      const first = await begin(sasl, new ScramClient("SCRAM-SHA-256", "mallory", "x"));
      return /,s=([^,]+),/.exec(first.authBytes.toString())?.[1];
    };
    const one = await saltOf(saslAt().sasl);
    expect(one).toBeDefined();
    expect(await saltOf(saslAt().sasl)).toBe(one);
    expect(await saltOf(saslAt({ unknownUserSecret: Buffer.alloc(32, 8) }).sasl)).not.toBe(one);
  });

  it("passes on Kafka's authzid message, and refuses a malformed client-first with the usual one", async () => {
    const { sasl } = saslAt();
    const authzid = await brookError(
      step(sasl, "SCRAM-SHA-256", "", Buffer.from("n,a=bob,n=alice,r=abcdefghijklmnop")),
    );
    expect(authzid.code).toBe("SASL_AUTHENTICATION_FAILED");
    expect(authzid.detail).toBe(SCRAM_AUTHZID_MISMATCH_MESSAGE);
    const malformed = await brookError(step(sasl, "SCRAM-SHA-256", "", Buffer.from("hello")));
    expect(malformed.code).toBe("SASL_AUTHENTICATION_FAILED");
    expect(malformed.detail).toBe(invalidCredentials("SCRAM-SHA-256"));
  });
});

describe("sessions", () => {
  it("a session id is good for one final step: used twice → ILLEGAL_SASL_STATE", async () => {
    const { sasl } = saslAt();
    const client = new ScramClient("SCRAM-SHA-256", "alice", "alice-pw");
    const first = await begin(sasl, client);
    const clientFinal = client.handleServerFirst(first.authBytes);
    const final = await step(sasl, "SCRAM-SHA-256", first.sessionId, clientFinal);
    expect(final.principal).toBe("User:alice");
    const again = await brookError(step(sasl, "SCRAM-SHA-256", first.sessionId, clientFinal));
    expect(again.code).toBe("ILLEGAL_SASL_STATE");
    expect(again.detail).toBe("no SCRAM exchange under way with that session id; start again");
  });

  it("a failed final step ends the session too", async () => {
    const { sasl } = saslAt();
    const wrong = new ScramClient("SCRAM-SHA-256", "alice", "wrong");
    const first = await begin(sasl, wrong);
    const clientFinal = wrong.handleServerFirst(first.authBytes);
    expect((await brookError(step(sasl, "SCRAM-SHA-256", first.sessionId, clientFinal))).code).toBe(
      "SASL_AUTHENTICATION_FAILED",
    );
    expect((await brookError(step(sasl, "SCRAM-SHA-256", first.sessionId, clientFinal))).code).toBe(
      "ILLEGAL_SASL_STATE",
    );
  });

  it("refuses a session id it never gave", async () => {
    const { sasl } = saslAt();
    const error = await brookError(step(sasl, "SCRAM-SHA-256", "made-up-session-id-00000", Buffer.from("x")));
    expect(error.code).toBe("ILLEGAL_SASL_STATE");
  });

  it("a session expires after saslSessionTimeoutMs (injected clock)", async () => {
    expect(saslSessionTimeoutMs).toBe(30_000);
    const { sasl, advance } = saslAt();
    const late = new ScramClient("SCRAM-SHA-256", "alice", "alice-pw");
    const lateFirst = await begin(sasl, late);
    const inTime = new ScramClient("SCRAM-SHA-256", "alice", "alice-pw");
    const inTimeFirst = await begin(sasl, inTime);

    advance(saslSessionTimeoutMs - 1);
    const final = await step(
      sasl,
      "SCRAM-SHA-256",
      inTimeFirst.sessionId,
      inTime.handleServerFirst(inTimeFirst.authBytes),
    );
    expect(final.principal).toBe("User:alice");

    advance(1);
    const error = await brookError(
      step(sasl, "SCRAM-SHA-256", lateFirst.sessionId, late.handleServerFirst(lateFirst.authBytes)),
    );
    expect(error.code).toBe("ILLEGAL_SASL_STATE");
  });

  it("a session belongs to its mechanism: finishing it under another → ILLEGAL_SASL_STATE", async () => {
    const { sasl } = saslAt();
    const client = new ScramClient("SCRAM-SHA-256", "alice", "alice-pw");
    const first = await begin(sasl, client);
    const clientFinal = client.handleServerFirst(first.authBytes);
    const error = await brookError(step(sasl, "SCRAM-SHA-512", first.sessionId, clientFinal));
    expect(error.code).toBe("ILLEGAL_SASL_STATE");
    // ... and that ended it.
    expect((await brookError(step(sasl, "SCRAM-SHA-256", first.sessionId, clientFinal))).code).toBe(
      "ILLEGAL_SASL_STATE",
    );
  });
});

describe("mechanisms", () => {
  it("refuses a mechanism that is not enabled, naming those that are", async () => {
    const { sasl } = saslAt({ mechanisms: ["SCRAM-SHA-512"] });
    const client = new ScramClient("SCRAM-SHA-256", "alice", "alice-pw");
    const error = await brookError(step(sasl, "SCRAM-SHA-256", "", client.clientFirst()));
    expect(error.code).toBe("UNSUPPORTED_SASL_MECHANISM");
    expect(error.detail).toBe('mechanism "SCRAM-SHA-256" is not enabled; this cluster offers SCRAM-SHA-512');
    await expect(exchange(sasl, "alice", "alice-pw", "SCRAM-SHA-512")).resolves.toMatchObject({
      principal: "User:alice",
    });
  });

  it.each(["PLAIN", "GSSAPI", "scram-sha-256", "", "SCRAM-SHA-1"])("refuses %j", async (mechanism) => {
    const { sasl, lookups } = saslAt();
    const error = await brookError(step(sasl, mechanism, "", Buffer.from("n,,n=alice,r=abcdefghijklmnop")));
    expect(error.code).toBe("UNSUPPORTED_SASL_MECHANISM");
    expect(lookups).toEqual([]);
  });

  it("checks the mechanism on the final step too", async () => {
    const { sasl } = saslAt({ mechanisms: ["SCRAM-SHA-256"] });
    const client = new ScramClient("SCRAM-SHA-256", "alice", "alice-pw");
    const first = await begin(sasl, client);
    const error = await brookError(
      step(sasl, "PLAIN", first.sessionId, client.handleServerFirst(first.authBytes)),
    );
    expect(error.code).toBe("UNSUPPORTED_SASL_MECHANISM");
  });
});

describe("the session table bound", () => {
  it(`holds at most ${saslSessionsMax} exchanges under way; failed first steps take no place; finished and expired ones make room`, async () => {
    // The bound is a module constant (no option injects a smaller one), so this starts that many
    // first steps: well under a second. One client-first serves them all; each makes its own session.
    expect(saslSessionsMax).toBe(10_000);
    const { sasl, advance } = saslAt();
    const client = new ScramClient("SCRAM-SHA-256", "alice", "alice-pw");
    const clientFirst = client.clientFirst();
    const started: Response[] = [];
    for (let i = 0; i < saslSessionsMax - 1; i++)
      started.push(await step(sasl, "SCRAM-SHA-256", "", clientFirst));
    // First steps that fail are not kept: after many of them there is still the one place left.
    for (let i = 0; i < 20; i++) {
      expect((await brookError(step(sasl, "SCRAM-SHA-256", "", Buffer.from("not scram")))).code).toBe(
        "SASL_AUTHENTICATION_FAILED",
      );
    }
    started.push(await step(sasl, "SCRAM-SHA-256", "", clientFirst));
    expect(new Set(started.map((r) => r.sessionId)).size).toBe(saslSessionsMax);

    const full = await brookError(step(sasl, "SCRAM-SHA-256", "", clientFirst));
    expect(full.code).toBe("RESOURCE_LIMIT_REACHED");
    expect(full.detail).toBe("10000 SCRAM exchanges are under way; retry shortly");
    // A refused first step leaves the sessions under way as they were: the first can still finish.
    const final = await step(
      sasl,
      "SCRAM-SHA-256",
      (started[0] as Response).sessionId,
      client.handleServerFirst((started[0] as Response).authBytes),
    );
    expect(final.principal).toBe("User:alice");

    // Finishing one made room for exactly one.
    await step(sasl, "SCRAM-SHA-256", "", clientFirst);
    expect((await brookError(step(sasl, "SCRAM-SHA-256", "", clientFirst))).code).toBe(
      "RESOURCE_LIMIT_REACHED",
    );

    // Once they expire, they make room again.
    advance(saslSessionTimeoutMs);
    const fresh = await step(sasl, "SCRAM-SHA-256", "", clientFirst);
    expect(fresh.sessionId).not.toBe("");
    // An expired session cannot be finished.
    expect(
      (await brookError(step(sasl, "SCRAM-SHA-256", (started[1] as Response).sessionId, Buffer.from("x"))))
        .code,
    ).toBe("ILLEGAL_SASL_STATE");
  });
});
