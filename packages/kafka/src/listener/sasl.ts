// SASL/SCRAM on a Kafka connection, as Kafka's SaslServerAuthenticator does it: until the client has
// authenticated, the connection serves ApiVersions, one SaslHandshake (v1: the tokens then travel in
// SaslAuthenticate requests, KIP-152) and the SaslAuthenticate requests of one SCRAM exchange; anything
// else, or anything out of order, closes it. Pure: a decoded request in, the encoded answer and what
// the connection must do next out; the connection (connection.ts) does the I/O and the sequencing.
//
// Where Kafka's own behaviour is followed, and where not (the Kafka sources named are
// clients/.../security/authenticator/SaslServerAuthenticator.java and .../scram/internals/ScramSaslServer.java):
// - a request other than ApiVersions or SaslHandshake before the handshake: closed unanswered
//   ("Unexpected Kafka request of type X during SASL handshake");
// - ApiVersions at most once, and only before the handshake (Kafka: IllegalStateException, closed);
// - SaslHandshake v0 promises the client raw SASL tokens outside Kafka's framing, which Brook does not
//   do: UNSUPPORTED_VERSION, then closed. Every current client sends v1 when SaslAuthenticate is listed;
//   v0 is advertised all the same, as by Kafka, since librdkafka enables SASL only if it is;
// - a mechanism not enabled: UNSUPPORTED_SASL_MECHANISM with the enabled ones, then closed;
// - a second SaslHandshake during the exchange: ILLEGAL_SASL_STATE, then closed; ApiVersions then gets
//   its error response with ILLEGAL_SASL_STATE too; other apis are closed unanswered (Kafka answers each
//   with its api's generic error response first, which Brook's codec does not build);
// - SaslAuthenticate before any handshake: ILLEGAL_SASL_STATE, then closed. Kafka closes without an
//   answer (it treats it like any other unexpected request); the answer tells the client why;
// - every SCRAM failure: SASL_AUTHENTICATION_FAILED with Kafka's fixed text naming only the mechanism,
//   so the answer never says whether the user exists, except an authzid that is not the username, whose
//   own text Kafka shows (SaslAuthenticationException); then closed;
// - success: the session lifetime is 0 (KIP-368: no re-authentication), the principal User:<username>.

import {
  SCRAM_MECHANISMS,
  type ScramCredential,
  ScramError,
  type ScramMechanism,
  ScramServer,
} from "@brook/security";
import { encodeResponse, type KafkaRequest } from "../codec/messages.js";
import { KafkaErrorCode } from "../error-codes.js";
import { ApiKey, type SaslAuthenticateResponseInput } from "../generated/messages.js";
import { apiVersions } from "../handlers/api-versions.js";

/** Kafka's sasl.server.max.receive.size default: the largest frame a client may send before it authenticates. */
export const SASL_REQUEST_BYTES_MAX = 512 * 1024;
/** The first SaslHandshake version whose tokens travel in SaslAuthenticate requests (KIP-152). */
const SASL_HANDSHAKE_VERSION_FRAMED = 1;
/** How long a connection may take to authenticate before it is closed (Brook's; Kafka has no such bound). */
export const SASL_AUTHENTICATION_TIMEOUT_MS_DEFAULT = 10_000;

/** The listener's `sasl` option: SCRAM with these mechanisms and this credential store. */
export interface KafkaSaslOptions {
  /** Kafka's sasl.enabled.mechanisms: offered in SaslHandshake, in this order. At least one. */
  readonly mechanisms: readonly ScramMechanism[];
  /** The stored credential of a user for a mechanism; undefined when there is none (the login fails). */
  credentialOf(username: string, mechanism: ScramMechanism): ScramCredential | undefined;
  /**
   * Keys the made-up salts unknown users are shown (ScramServer's unknownUserSecret). Give every broker
   * the same one, so an unknown user's salt does not differ between brokers and restarts.
   */
  readonly unknownUserSecret?: Buffer;
  /** A connection not authenticated this long after it opened is closed; default 10 s. */
  readonly authenticationTimeoutMs?: number;
}

/** The `sasl` option is unusable: the listener does not start. */
export class KafkaSaslConfigError extends Error {
  override readonly name = "KafkaSaslConfigError";
}

/** Checks the option once, at listener start, so a bad one fails there rather than on a client's login. */
export function checkSaslOptions(options: KafkaSaslOptions): void {
  if (options.mechanisms.length === 0) throw new KafkaSaslConfigError("no SASL mechanism is enabled");
  for (const mechanism of options.mechanisms) {
    if (!SCRAM_MECHANISMS.includes(mechanism)) {
      throw new KafkaSaslConfigError(
        `SASL mechanism '${String(mechanism)}' is not one of ${SCRAM_MECHANISMS.join(", ")}`,
      );
    }
  }
  const timeoutMs = options.authenticationTimeoutMs;
  if (timeoutMs !== undefined && !(Number.isSafeInteger(timeoutMs) && timeoutMs > 0)) {
    throw new KafkaSaslConfigError(`authenticationTimeoutMs must be a positive integer, not ${timeoutMs}`);
  }
}

/**
 * What the connection does with a request it gave the session:
 * - continue: write the answer; the client is still unauthenticated;
 * - authenticated: write the answer; from the next request on, the client is `principal`;
 * - refused: write the answer if there is one, then close; `reason` is for the log.
 */
export type SaslStep =
  | { readonly outcome: "continue"; readonly answer: Buffer[] }
  | { readonly outcome: "authenticated"; readonly answer: Buffer[]; readonly principal: string }
  | { readonly outcome: "refused"; readonly answer: Buffer[] | undefined; readonly reason: string };

/** A session used after it ended: the connection let a request through that it must not have. */
export class SaslSessionEndedError extends Error {
  override readonly name = "SaslSessionEndedError";
}

/**
 * Where the session is (Kafka's SaslState, less re-authentication):
 * - handshake: waiting for SaslHandshake; ApiVersions may come first, once;
 * - client-first / client-final: the handshake chose `mechanism`; the next SaslAuthenticate carries that
 *   SCRAM message;
 * - ended: authenticated or refused; the connection no longer asks the session anything.
 */
type SessionState =
  | { readonly step: "handshake"; readonly apiVersionsAnswered: boolean }
  | { readonly step: "client-first"; readonly mechanism: ScramMechanism; readonly server: ScramServer }
  | { readonly step: "client-final"; readonly mechanism: ScramMechanism; readonly server: ScramServer }
  | { readonly step: "ended" };

/** The authentication of one connection. */
export class SaslSession {
  private state: SessionState = { step: "handshake", apiVersionsAnswered: false };

  constructor(private readonly options: KafkaSaslOptions) {}

  /** Handles one request of a client that has not authenticated yet. Throws only on a bug. */
  handle(request: KafkaRequest): SaslStep {
    const state = this.state;
    switch (state.step) {
      case "handshake":
        return this.beforeHandshake(request, state.apiVersionsAnswered);
      case "client-first":
      case "client-final":
        return this.duringExchange(request, state);
      case "ended":
        throw new SaslSessionEndedError(`api ${request.apiKey} reached a SASL session that has ended`);
      default:
        return unreachable(state);
    }
  }

  private beforeHandshake(request: KafkaRequest, apiVersionsAnswered: boolean): SaslStep {
    const { apiVersion, correlationId } = request;
    switch (request.apiKey) {
      case ApiKey.ApiVersions:
        if (apiVersionsAnswered) return this.refuse(undefined, "a second ApiVersions request before SASL");
        this.state = { step: "handshake", apiVersionsAnswered: true };
        return {
          outcome: "continue",
          answer: encodeResponse(request.apiKey, apiVersion, correlationId, apiVersions()),
        };
      case ApiKey.SaslHandshake:
        if (apiVersion < SASL_HANDSHAKE_VERSION_FRAMED) return this.rawTokensRefused(correlationId);
        return this.handshake(request.body.mechanism, apiVersion, correlationId);
      case ApiKey.SaslAuthenticate:
        return this.refuse(
          authenticateAnswer(apiVersion, correlationId, {
            errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE,
            errorMessage: "SaslAuthenticate request received before SaslHandshake",
          }),
          "a SaslAuthenticate request before SaslHandshake",
        );
      default:
        return this.refuse(
          undefined,
          `Unexpected Kafka request of type ${apiName(request)} during SASL handshake`,
        );
    }
  }

  private rawTokensRefused(correlationId: number): SaslStep {
    const answer = encodeResponse(ApiKey.SaslHandshake, 0, correlationId, {
      errorCode: KafkaErrorCode.UNSUPPORTED_VERSION,
      mechanisms: this.options.mechanisms,
    });
    return this.refuse(answer, "SaslHandshake v0 (raw SASL tokens), which Brook does not serve; v1 is");
  }

  private handshake(mechanism: string, apiVersion: number, correlationId: number): SaslStep {
    const enabled = this.options.mechanisms;
    // Exact match, as Kafka's enabledMechanisms.contains: the names are upper case on every client.
    const chosen = enabled.find((name) => name === mechanism);
    if (chosen === undefined) {
      const answer = encodeResponse(ApiKey.SaslHandshake, apiVersion, correlationId, {
        errorCode: KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM,
        mechanisms: enabled,
      });
      return this.refuse(answer, `SASL mechanism '${clip(mechanism)}', which is not enabled`);
    }
    const server = new ScramServer(
      chosen,
      (username) => this.options.credentialOf(username, chosen),
      undefined,
      this.options.unknownUserSecret,
    );
    this.state = { step: "client-first", mechanism: chosen, server };
    return {
      outcome: "continue",
      answer: encodeResponse(ApiKey.SaslHandshake, apiVersion, correlationId, {
        errorCode: KafkaErrorCode.NONE,
        mechanisms: enabled,
      }),
    };
  }

  private duringExchange(
    request: KafkaRequest,
    state: Extract<SessionState, { step: "client-first" | "client-final" }>,
  ): SaslStep {
    const { apiVersion, correlationId } = request;
    const unexpected = `Unexpected Kafka request of type ${apiName(request)} during SASL authentication`;
    switch (request.apiKey) {
      case ApiKey.SaslAuthenticate:
        return this.scramStep(request.body.authBytes, state, apiVersion, correlationId);
      case ApiKey.SaslHandshake: {
        const body = { errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
        return this.refuse(encodeResponse(request.apiKey, apiVersion, correlationId, body), unexpected);
      }
      case ApiKey.ApiVersions: {
        const body = { errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE, apiKeys: [], throttleTimeMs: 0 };
        return this.refuse(encodeResponse(request.apiKey, apiVersion, correlationId, body), unexpected);
      }
      default:
        return this.refuse(undefined, unexpected);
    }
  }

  /** One SCRAM message: client-first gets server-first, client-final gets server-final and a principal. */
  private scramStep(
    authBytes: Buffer,
    state: Extract<SessionState, { step: "client-first" | "client-final" }>,
    apiVersion: number,
    correlationId: number,
  ): SaslStep {
    const { mechanism, server } = state;
    try {
      if (state.step === "client-first") {
        const serverFirst = server.handleClientFirst(authBytes);
        this.state = { step: "client-final", mechanism, server };
        return {
          outcome: "continue",
          answer: authenticateAnswer(apiVersion, correlationId, { authBytes: serverFirst }),
        };
      }
      const { serverFinal, username } = server.handleClientFinal(authBytes);
      this.state = { step: "ended" };
      return {
        outcome: "authenticated",
        answer: authenticateAnswer(apiVersion, correlationId, { authBytes: serverFinal }),
        principal: `User:${username}`,
      };
    } catch (error) {
      // Anything but a ScramError is a bug (a lookup that returned another mechanism's credential):
      // it propagates, and the connection closes as for any handler that throws.
      if (!(error instanceof ScramError)) throw error;
      const answer = authenticateAnswer(apiVersion, correlationId, {
        errorCode: KafkaErrorCode.SASL_AUTHENTICATION_FAILED,
        errorMessage: failureMessage(error, mechanism),
      });
      return this.refuse(
        answer,
        `SASL/${mechanism} authentication failed (${error.reason}: ${error.message})`,
      );
    }
  }

  private refuse(answer: Buffer[] | undefined, reason: string): SaslStep {
    this.state = { step: "ended" };
    return { outcome: "refused", answer, reason };
  }
}

/**
 * The text a failed client is shown: Kafka's fixed one (SaslServerAuthenticator.handleSaslToken), which
 * names only the mechanism, for every failure but an authzid mismatch, whose message Kafka passes on.
 */
export function failureMessage(error: ScramError, mechanism: ScramMechanism): string {
  switch (error.reason) {
    case "authzid-mismatch":
      return error.message;
    case "authentication-failed":
    case "malformed":
    case "unsupported":
    case "out-of-order":
      return `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`;
    default:
      return unreachable(error.reason);
  }
}

function authenticateAnswer(
  apiVersion: number,
  correlationId: number,
  body: Partial<SaslAuthenticateResponseInput>,
): Buffer[] {
  return encodeResponse(ApiKey.SaslAuthenticate, apiVersion, correlationId, {
    errorCode: KafkaErrorCode.NONE,
    errorMessage: null,
    authBytes: Buffer.alloc(0),
    // KIP-368: 0 tells the client its session never expires, so it never re-authenticates.
    sessionLifetimeMs: 0n,
    ...body,
  });
}

const API_NAMES = new Map<number, string>(Object.entries(ApiKey).map(([name, key]) => [key, name]));

function apiName(request: KafkaRequest): string {
  return API_NAMES.get(request.apiKey) ?? String(request.apiKey);
}

/** A client's mechanism name goes into a log line: cut short, so it cannot flood the log. */
function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function unreachable(value: never): never {
  throw new Error(`unexpected ${JSON.stringify(value)}`);
}
