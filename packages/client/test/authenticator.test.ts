// The SDK's SASL/SCRAM login (SaslAuthenticator) against a fake BrokerClient whose saslAuthenticate runs
// a real exchange with @brook/security's ScramServer, as the broker's GrpcSasl does: the token lands on
// the client's call metadata and `ready` flips; concurrent callers share one exchange; the exchange goes
// without the old token; a server that cannot prove it knows the credential, and a refused password,
// leave the client without a token; the client authenticates again once its clock passes the refresh
// point.
import { randomBytes } from "node:crypto";
import {
  type BrokerClient,
  BrookError,
  ManualClock,
  type SaslAuthenticateRequest,
  toServiceError,
} from "@brook/protocol";
import {
  type ScramCredential,
  ScramError,
  ScramServer,
  scramCredential,
  signUserToken,
} from "@brook/security";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { SaslAuthenticator } from "../src/cluster/authenticator.js";

const tokenKey = "brook-auth-token";
const key = Buffer.from("k".repeat(40));
const hourMs = 60 * 60 * 1000;
const refreshMarginMs = 5 * 60 * 1000;

const credentials = new Map<string, ScramCredential>([
  ["alice/SCRAM-SHA-256", scramCredential("SCRAM-SHA-256", "alice-pw", { iterations: 4096 })],
  ["alice/SCRAM-SHA-512", scramCredential("SCRAM-SHA-512", "alice-pw", { iterations: 4096 })],
]);

interface FakeOptions {
  /** How long the tokens it hands out live (its wall clock, Date.now()). */
  lifetimeMs?: number;
  /** Rewrites server-final before it is sent (an impostor's answer). */
  serverFinal?: (bytes: Buffer) => Buffer;
}

/** A broker's SaslAuthenticate, as grpc-js's client stub calls back; records what it was sent. */
function fakeBroker(options: FakeOptions = {}) {
  const sessions = new Map<string, ScramServer>();
  const calls: Array<{ request: SaslAuthenticateRequest; metadata: grpc.Metadata }> = [];
  let tokens = 0;
  const answer = (request: SaslAuthenticateRequest) => {
    const mechanism = request.mechanism as "SCRAM-SHA-256" | "SCRAM-SHA-512";
    const authBytes = Buffer.from(request.authBytes as Buffer);
    if (request.sessionId === "") {
      const server = new ScramServer(mechanism, (user) => credentials.get(`${user}/${mechanism}`));
      const sessionId = randomBytes(18).toString("base64url");
      sessions.set(sessionId, server);
      return {
        sessionId,
        authBytes: server.handleClientFirst(authBytes),
        token: "",
        tokenExpiresMs: 0,
        principal: "",
      };
    }
    const server = sessions.get(request.sessionId ?? "");
    sessions.delete(request.sessionId ?? "");
    if (server === undefined) throw new BrookError("ILLEGAL_SASL_STATE", "no such session");
    let final: { serverFinal: Buffer; username: string };
    try {
      final = server.handleClientFinal(authBytes);
    } catch (error) {
      if (error instanceof ScramError)
        throw new BrookError("SASL_AUTHENTICATION_FAILED", "invalid credentials");
      throw error;
    }
    const tokenExpiresMs = Date.now() + (options.lifetimeMs ?? hourMs);
    tokens++;
    return {
      sessionId: "",
      authBytes: options.serverFinal?.(final.serverFinal) ?? final.serverFinal,
      token: `${signUserToken(key, `User:${final.username}`, tokenExpiresMs)}#${tokens}`,
      tokenExpiresMs,
      principal: `User:${final.username}`,
    };
  };
  const client = {
    saslAuthenticate(
      request: SaslAuthenticateRequest,
      metadata: grpc.Metadata,
      _options: grpc.CallOptions,
      callback: (error: grpc.ServiceError | null, response?: unknown) => void,
    ) {
      calls.push({ request, metadata });
      setImmediate(() => {
        let response: unknown;
        try {
          response = answer(request);
        } catch (error) {
          const status = toServiceError(error);
          callback(Object.assign(new Error(status.details), status) as grpc.ServiceError);
          return;
        }
        callback(null, response);
      });
      return { cancel() {} };
    },
  };
  return { client: client as unknown as BrokerClient, calls, tokensIssued: () => tokens };
}

function authenticator(
  password = "alice-pw",
  mechanism: "scram-sha-256" | "scram-sha-512" = "scram-sha-256",
) {
  const metadata = new grpc.Metadata();
  metadata.set("client-id", "test-client");
  const clock = new ManualClock();
  const auth = new SaslAuthenticator({ mechanism, username: "alice", password }, metadata, clock, 5_000);
  return { auth, metadata, clock };
}

describe("SaslAuthenticator", () => {
  it("puts the token on the client's metadata, and is ready from then on", async () => {
    const { auth, metadata } = authenticator();
    const broker = fakeBroker();
    expect(auth.ready).toBe(false);
    await auth.authenticate(broker.client);
    expect(auth.ready).toBe(true);
    const [token] = metadata.get(tokenKey);
    expect(String(token)).toMatch(/^u1\..+#1$/);
    // Both calls of one exchange, with the mechanism in Kafka's spelling and the session id of the first.
    expect(broker.calls.map((c) => c.request.mechanism)).toEqual(["SCRAM-SHA-256", "SCRAM-SHA-256"]);
    expect(broker.calls[0]?.request.sessionId).toBe("");
    expect(broker.calls[1]?.request.sessionId).not.toBe("");
    // The rest of the client's metadata goes with them.
    expect(broker.calls[0]?.metadata.get("client-id")).toEqual(["test-client"]);
    // The password never travels: only SCRAM's messages.
    for (const call of broker.calls)
      expect(Buffer.from(call.request.authBytes as Buffer).toString()).not.toContain("alice-pw");
  });

  it("logs in with SCRAM-SHA-512, the mechanism named in any case", async () => {
    const { auth, metadata } = authenticator("alice-pw", "SCRAM-SHA-512" as "scram-sha-512");
    const broker = fakeBroker();
    await auth.authenticate(broker.client);
    expect(broker.calls[0]?.request.mechanism).toBe("SCRAM-SHA-512");
    expect(metadata.get(tokenKey)).toHaveLength(1);
  });

  it("refuses an unknown mechanism when it is made", () => {
    let error: unknown;
    try {
      new SaslAuthenticator(
        { mechanism: "plain" as "scram-sha-256", username: "alice", password: "x" },
        new grpc.Metadata(),
        new ManualClock(),
        5_000,
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BrookError);
    expect((error as BrookError).code).toBe("UNSUPPORTED_SASL_MECHANISM");
  });

  it("shares one exchange among concurrent callers", async () => {
    const { auth } = authenticator();
    const broker = fakeBroker();
    const waiting = [
      auth.authenticate(broker.client),
      auth.authenticate(broker.client),
      auth.authenticate(broker.client),
    ];
    expect(waiting[1]).toBe(waiting[0]);
    expect(waiting[2]).toBe(waiting[0]);
    await Promise.all(waiting);
    expect(broker.calls).toHaveLength(2);
    expect(broker.tokensIssued()).toBe(1);
    // Once it is over, the next call starts a new one.
    await auth.authenticate(broker.client);
    expect(broker.calls).toHaveLength(4);
  });

  it("fails when the server's signature is wrong, and sets no token", async () => {
    const { auth, metadata } = authenticator();
    const impostor = fakeBroker({
      serverFinal: () => Buffer.from(`v=${randomBytes(32).toString("base64")}`),
    });
    const error = await auth.authenticate(impostor.client).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ScramError);
    expect((error as ScramError).reason).toBe("authentication-failed");
    expect((error as Error).message).toContain("the server's signature is wrong");
    expect(auth.ready).toBe(false);
    expect(metadata.get(tokenKey)).toEqual([]);
    // The failure is not kept: a genuine broker is tried afresh.
    await auth.authenticate(fakeBroker().client);
    expect(auth.ready).toBe(true);
  });

  it("passes on the broker's refusal of a wrong password, typed", async () => {
    const { auth, metadata } = authenticator("wrong");
    const error = await auth.authenticate(fakeBroker().client).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BrookError);
    expect((error as BrookError).code).toBe("SASL_AUTHENTICATION_FAILED");
    expect(auth.ready).toBe(false);
    expect(metadata.get(tokenKey)).toEqual([]);
  });

  it("authenticates again once the clock passes the refresh point (five minutes before expiry)", async () => {
    const { auth, metadata, clock } = authenticator();
    const broker = fakeBroker();
    await auth.authenticate(broker.client);
    const first = String(metadata.get(tokenKey)[0]);
    // The token lives an hour by the server's clock: refresh 55 minutes on (give or take the test's own ms).
    clock.advance(hourMs - refreshMarginMs - 1_000);
    expect(auth.ready).toBe(true);
    clock.advance(1_000);
    expect(auth.ready).toBe(false);

    await auth.authenticate(broker.client);
    expect(auth.ready).toBe(true);
    const second = metadata.get(tokenKey);
    expect(second).toHaveLength(1);
    expect(String(second[0])).not.toBe(first);
    // The new exchange went without the old token (which may be what stopped working).
    expect(broker.calls.slice(2).map((c) => c.metadata.get(tokenKey))).toEqual([[], []]);
    expect(broker.calls.slice(2).map((c) => c.metadata.get("client-id"))).toEqual([
      ["test-client"],
      ["test-client"],
    ]);
  });

  it("waits at least a minute before authenticating again, however short the token's life", async () => {
    const { auth, clock } = authenticator();
    await auth.authenticate(fakeBroker({ lifetimeMs: 2 * 60 * 1000 }).client);
    clock.advance(59_000);
    expect(auth.ready).toBe(true);
    clock.advance(1_000);
    expect(auth.ready).toBe(false);
  });
});
