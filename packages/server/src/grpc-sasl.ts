// SCRAM over gRPC (the SaslAuthenticate RPC): the same exchange as Kafka's
// SaslAuthenticate, in two calls, ending in a user token signed with the
// cluster secret. The client then sends the token with every call, to any
// broker, until it expires. Sessions between the two calls are bounded in
// number and time, and each is used once.

import { randomBytes } from "node:crypto";
import type { SaslService } from "@brook/broker";
import {
  BrookError,
  type SaslAuthenticateRequest__Output,
  type SaslAuthenticateResponse,
} from "@brook/protocol";
import {
  isScramMechanism,
  type ScramCredential,
  ScramError,
  type ScramMechanism,
  ScramServer,
  signUserToken,
  userTokenLifetimeMs,
} from "@brook/security";

/** Exchanges begun and not finished, at most; more are refused until some finish or expire. */
export const saslSessionsMax = 10_000;
/** How long the second call may take after the first. */
export const saslSessionTimeoutMs = 30_000;

export interface GrpcSaslOptions {
  /** The cluster secret's key: signs tokens. */
  readonly key: Buffer;
  /** Makes unknown users' fake salts, the same on every broker. */
  readonly unknownUserSecret: Buffer;
  readonly mechanisms: readonly ScramMechanism[];
  credentialOf(username: string, mechanism: ScramMechanism): ScramCredential | undefined;
  readonly now?: () => number;
}

interface Session {
  readonly mechanism: ScramMechanism;
  readonly server: ScramServer;
  readonly expiresMs: number;
}

export class GrpcSasl implements SaslService {
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;
  private readonly unknownUserSecret: Buffer;

  constructor(private readonly options: GrpcSaslOptions) {
    this.now = options.now ?? Date.now;
    this.unknownUserSecret = options.unknownUserSecret;
  }

  async authenticate(request: SaslAuthenticateRequest__Output): Promise<SaslAuthenticateResponse> {
    const mechanism = this.mechanismOf(request.mechanism);
    return request.sessionId === ""
      ? this.first(mechanism, request.authBytes)
      : this.final(mechanism, request.sessionId, request.authBytes);
  }

  private mechanismOf(name: string): ScramMechanism {
    if (isScramMechanism(name) && this.options.mechanisms.includes(name)) return name;
    throw new BrookError(
      "UNSUPPORTED_SASL_MECHANISM",
      `mechanism ${JSON.stringify(name)} is not enabled; this cluster offers ${this.options.mechanisms.join(", ")}`,
    );
  }

  private first(mechanism: ScramMechanism, clientFirst: Buffer): SaslAuthenticateResponse {
    this.forgetExpired();
    if (this.sessions.size >= saslSessionsMax) {
      throw new BrookError(
        "RESOURCE_LIMIT_REACHED",
        `${saslSessionsMax} SCRAM exchanges are under way; retry shortly`,
      );
    }
    const lookup = (username: string) => this.options.credentialOf(username, mechanism);
    const server = new ScramServer(mechanism, lookup, undefined, this.unknownUserSecret);
    const serverFirst = scramStep(mechanism, () => server.handleClientFirst(clientFirst));
    const sessionId = randomBytes(18).toString("base64url");
    this.sessions.set(sessionId, { mechanism, server, expiresMs: this.now() + saslSessionTimeoutMs });
    return { sessionId, authBytes: serverFirst };
  }

  private final(mechanism: ScramMechanism, sessionId: string, clientFinal: Buffer): SaslAuthenticateResponse {
    const session = this.sessions.get(sessionId);
    this.sessions.delete(sessionId); // one use, whatever happens next
    if (session === undefined || session.expiresMs <= this.now() || session.mechanism !== mechanism) {
      throw new BrookError(
        "ILLEGAL_SASL_STATE",
        "no SCRAM exchange under way with that session id; start again",
      );
    }
    const { serverFinal, username } = scramStep(mechanism, () =>
      session.server.handleClientFinal(clientFinal),
    );
    const principal = `User:${username}`;
    const tokenExpiresMs = this.now() + userTokenLifetimeMs;
    return {
      authBytes: serverFinal,
      token: signUserToken(this.options.key, principal, tokenExpiresMs),
      tokenExpiresMs,
      principal,
    };
  }

  /** Sessions are kept in start order, so the expired ones are at the front. */
  private forgetExpired(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) {
      if (session.expiresMs > now) return;
      this.sessions.delete(id);
    }
  }
}

/** A SCRAM step; its failure as Kafka words it (the same message whether the user exists or not). */
function scramStep<T>(mechanism: ScramMechanism, step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (!(error instanceof ScramError)) throw error;
    const detail =
      error.reason === "authzid-mismatch"
        ? error.message
        : `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`;
    throw new BrookError("SASL_AUTHENTICATION_FAILED", detail);
  }
}
