// SASL/SCRAM for the SDK: one SCRAM exchange (SaslAuthenticate, two calls)
// with whichever broker the client reaches first gets a token signed by the
// cluster; every call to any broker then carries it, until it is close to
// expiring and the client authenticates again. The password never leaves
// the client: SCRAM sends a proof.

import { type BrokerClient, BrookError, type Clock } from "@brook/protocol";
import { ScramClient, type ScramMechanism } from "@brook/security";
import type * as grpc from "@grpc/grpc-js";
import { callUnary } from "./unary.js";

/** As KafkaJS takes it: `sasl: { mechanism: "scram-sha-256", username, password }`. */
export interface SaslConfig {
  mechanism: "scram-sha-256" | "scram-sha-512";
  username: string;
  password: string;
}

/** The metadata key the token travels under (the server's userTokenKey). */
const tokenKey = "brook-auth-token";
/** Authenticate again this long before the token expires. */
const refreshMarginMs = 5 * 60 * 1000;

export class SaslAuthenticator {
  /** When to authenticate again (the client's clock); 0: no token yet. */
  private refreshAtMs = 0;
  private authenticating: Promise<void> | undefined;
  private readonly mechanism: ScramMechanism;

  constructor(
    private readonly config: SaslConfig,
    /** The client's call metadata: the token is set on it, so every later call carries it. */
    private readonly metadata: grpc.Metadata,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {
    this.mechanism = mechanismOf(config.mechanism);
  }

  /** Whether calls may go now (a fresh token is held); else await authenticate() first. */
  get ready(): boolean {
    return this.clock.nowMs() < this.refreshAtMs;
  }

  /** One exchange at a time, shared by every call waiting for it. */
  authenticate(client: BrokerClient): Promise<void> {
    this.authenticating ??= this.exchange(client).finally(() => {
      this.authenticating = undefined;
    });
    return this.authenticating;
  }

  private async exchange(client: BrokerClient): Promise<void> {
    const scram = new ScramClient(this.mechanism, this.config.username, this.config.password);
    const options = { metadata: this.withoutToken(), timeoutMs: this.timeoutMs, clock: this.clock };
    const first = await callUnary(
      client,
      "saslAuthenticate",
      { mechanism: this.mechanism, sessionId: "", authBytes: scram.clientFirst() },
      options,
    );
    const clientFinal = scram.handleServerFirst(first.authBytes);
    const final = await callUnary(
      client,
      "saslAuthenticate",
      { mechanism: this.mechanism, sessionId: first.sessionId, authBytes: clientFinal },
      options,
    );
    scram.verifyServerFinal(final.authBytes); // the server proves it knows the credential too
    this.metadata.set(tokenKey, final.token);
    // The expiry is the server's wall clock: its distance from ours is what counts, and a minute at least
    // (clocks far apart must not make every call authenticate again).
    const lifetimeMs = final.tokenExpiresMs - Date.now() - refreshMarginMs;
    this.refreshAtMs = this.clock.nowMs() + Math.max(60_000, lifetimeMs);
  }

  /** The exchange goes without the old token, which may be the one that stopped working. */
  private withoutToken(): grpc.Metadata {
    const metadata = this.metadata.clone();
    metadata.remove(tokenKey);
    return metadata;
  }
}

function mechanismOf(name: string): ScramMechanism {
  const upper = name.toUpperCase();
  if (upper === "SCRAM-SHA-256" || upper === "SCRAM-SHA-512") return upper;
  throw new BrookError(
    "UNSUPPORTED_SASL_MECHANISM",
    `sasl.mechanism ${JSON.stringify(name)}: use scram-sha-256 or scram-sha-512`,
  );
}
