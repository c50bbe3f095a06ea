// Rule: a connection's SASL session follows Kafka's SaslServerAuthenticator: ApiVersions once, then one
// SaslHandshake v1 naming an enabled mechanism, then the SaslAuthenticate requests of one SCRAM exchange,
// which end with the principal User:<username>; anything else, or anything out of order, is refused
// (with Kafka's answer where Kafka gives one), and every SCRAM failure shows the client Kafka's fixed
// text, which never says whether the user exists.

import {
  SCRAM_AUTHZID_MISMATCH_MESSAGE,
  ScramClient,
  type ScramCredential,
  type ScramMechanism,
  scramCredential,
} from "@brook/security";
import { describe, expect, it } from "vitest";
import type { KafkaRequest } from "../src/codec/messages.js";
import {
  ApiKey,
  type ApiKeyNumber,
  decodeResponse,
  KafkaErrorCode,
  KafkaSaslConfigError,
  type KafkaSaslOptions,
  type ResponseBodies,
  startKafkaListener,
  supportedApiVersions,
} from "../src/index.js";
import { checkSaslOptions, SaslSession, SaslSessionEndedError, type SaslStep } from "../src/listener/sasl.js";
import { silentLogger } from "./listener-fixture.js";

const MECHANISMS: readonly ScramMechanism[] = ["SCRAM-SHA-256", "SCRAM-SHA-512"];
const PASSWORDS = new Map([
  ["alice", "alice-secret"],
  ["al,ice=", "odd-name-secret"],
]);
const CREDENTIALS = new Map<string, ScramCredential>(
  [...PASSWORDS].flatMap(([user, password]) =>
    MECHANISMS.map((mechanism) => [`${user}/${mechanism}`, scramCredential(mechanism, password)]),
  ),
);
const options: KafkaSaslOptions = {
  mechanisms: MECHANISMS,
  credentialOf: (username, mechanism) => CREDENTIALS.get(`${username}/${mechanism}`),
};

let nextId = 0;
function request<K extends ApiKeyNumber>(
  apiKey: K,
  apiVersion: number,
  body: Extract<KafkaRequest, { apiKey: K }>["body"],
): KafkaRequest {
  return { apiKey, apiVersion, correlationId: ++nextId, clientId: "test", body } as KafkaRequest;
}
const apiVersionsRequest = () =>
  request(ApiKey.ApiVersions, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
const handshake = (mechanism: string) => request(ApiKey.SaslHandshake, 1, { mechanism });
const authenticate = (authBytes: Buffer, version = 2) =>
  request(ApiKey.SaslAuthenticate, version, { authBytes });
const metadataRequest = () =>
  request(ApiKey.Metadata, 9, {
    topics: [{ topicId: "00000000-0000-0000-0000-000000000000", name: "t" }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });

/** The body of an answer, decoded as the client would. */
function answerOf<K extends ApiKeyNumber>(step: SaslStep, apiKey: K, version: number): ResponseBodies[K] {
  if (step.answer === undefined) throw new Error(`no answer (${step.outcome})`);
  return decodeResponse(apiKey, version, Buffer.concat(step.answer).subarray(4)).body as ResponseBodies[K];
}

/** Runs a SCRAM exchange as `username`/`password` up to its last step, which is returned. */
function exchange(
  session: SaslSession,
  mechanism: ScramMechanism,
  username: string,
  password: string,
  version = 2,
): { client: ScramClient; first: SaslStep; last: SaslStep } {
  expect(session.handle(handshake(mechanism)).outcome).toBe("continue");
  const client = new ScramClient(mechanism, username, password);
  const first = session.handle(authenticate(client.clientFirst(), version));
  if (first.outcome !== "continue") return { client, first, last: first };
  const serverFirst = answerOf(first, ApiKey.SaslAuthenticate, version).authBytes;
  const last = session.handle(authenticate(client.handleServerFirst(serverFirst), version));
  return { client, first, last };
}

const FAILED = (mechanism: string) =>
  `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`;

describe("a SASL session", () => {
  it.each(MECHANISMS.flatMap((mechanism) => [0, 1, 2].map((version) => ({ mechanism, version }))))(
    "authenticates with $mechanism over SaslAuthenticate v$version",
    ({ mechanism, version }) => {
      const session = new SaslSession(options);
      const versions = session.handle(apiVersionsRequest());
      expect(versions.outcome).toBe("continue");
      expect(answerOf(versions, ApiKey.ApiVersions, 3).apiKeys).toEqual(supportedApiVersions());
      const { client, last } = exchange(session, mechanism, "alice", "alice-secret", version);
      expect(last).toMatchObject({ outcome: "authenticated", principal: "User:alice" });
      const final = answerOf(last, ApiKey.SaslAuthenticate, version);
      expect(final).toMatchObject({ errorCode: 0, errorMessage: null, sessionLifetimeMs: 0n });
      expect(() => client.verifyServerFinal(final.authBytes)).not.toThrow();
      // The exchange is over: the connection must not hand the session anything more.
      expect(() => session.handle(apiVersionsRequest())).toThrow(SaslSessionEndedError);
    },
  );

  it("answers the handshake with the enabled mechanisms, in the configured order", () => {
    const session = new SaslSession({ ...options, mechanisms: ["SCRAM-SHA-512", "SCRAM-SHA-256"] });
    const step = session.handle(handshake("SCRAM-SHA-256"));
    expect(answerOf(step, ApiKey.SaslHandshake, 1)).toEqual({
      errorCode: 0,
      mechanisms: ["SCRAM-SHA-512", "SCRAM-SHA-256"],
    });
  });

  it("unescapes the SCRAM username: the principal is the name itself", () => {
    const { last } = exchange(new SaslSession(options), "SCRAM-SHA-256", "al,ice=", "odd-name-secret");
    expect(last).toMatchObject({ outcome: "authenticated", principal: "User:al,ice=" });
  });

  it("refuses a mechanism it does not enable with UNSUPPORTED_SASL_MECHANISM and the enabled ones", () => {
    for (const mechanism of ["PLAIN", "scram-sha-256", "SCRAM-SHA-512"]) {
      const session = new SaslSession({ ...options, mechanisms: ["SCRAM-SHA-256"] });
      const step = session.handle(handshake(mechanism));
      expect(step.outcome).toBe("refused");
      expect(answerOf(step, ApiKey.SaslHandshake, 1)).toEqual({
        errorCode: KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM,
        mechanisms: ["SCRAM-SHA-256"],
      });
    }
  });

  it("fails a wrong password, an unknown user and a malformed message alike, with Kafka's text", () => {
    for (const mechanism of MECHANISMS) {
      const wrong = exchange(new SaslSession(options), mechanism, "alice", "guess").last;
      const unknown = exchange(new SaslSession(options), mechanism, "mallory", "guess").last;
      const malformedSession = new SaslSession(options);
      malformedSession.handle(handshake(mechanism));
      const malformed = malformedSession.handle(authenticate(Buffer.from("not scram at all")));
      for (const step of [wrong, unknown, malformed]) {
        expect(step.outcome).toBe("refused");
        expect(answerOf(step, ApiKey.SaslAuthenticate, 2)).toEqual({
          errorCode: KafkaErrorCode.SASL_AUTHENTICATION_FAILED,
          errorMessage: FAILED(mechanism),
          authBytes: Buffer.alloc(0),
          sessionLifetimeMs: 0n,
        });
      }
    }
  });

  it("shows an authzid that is not the username Kafka's own text", () => {
    const session = new SaslSession(options);
    session.handle(handshake("SCRAM-SHA-256"));
    const step = session.handle(authenticate(Buffer.from("n,a=bob,n=alice,r=abcdefgh")));
    expect(step.outcome).toBe("refused");
    expect(answerOf(step, ApiKey.SaslAuthenticate, 2)).toMatchObject({
      errorCode: KafkaErrorCode.SASL_AUTHENTICATION_FAILED,
      errorMessage: SCRAM_AUTHZID_MISMATCH_MESSAGE,
    });
  });

  it("serves ApiVersions once, before the handshake only", () => {
    const twice = new SaslSession(options);
    twice.handle(apiVersionsRequest());
    expect(twice.handle(apiVersionsRequest())).toMatchObject({ outcome: "refused", answer: undefined });

    const during = new SaslSession(options);
    during.handle(handshake("SCRAM-SHA-256"));
    const step = during.handle(apiVersionsRequest());
    expect(step.outcome).toBe("refused");
    expect(answerOf(step, ApiKey.ApiVersions, 3)).toMatchObject({
      errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE,
      apiKeys: [],
    });
  });

  it("refuses a SaslHandshake v0, whose tokens would travel unframed, with UNSUPPORTED_VERSION", () => {
    const step = new SaslSession(options).handle(
      request(ApiKey.SaslHandshake, 0, { mechanism: "SCRAM-SHA-256" }),
    );
    expect(step.outcome).toBe("refused");
    expect(answerOf(step, ApiKey.SaslHandshake, 0)).toEqual({
      errorCode: KafkaErrorCode.UNSUPPORTED_VERSION,
      mechanisms: MECHANISMS,
    });
  });

  it("refuses SaslAuthenticate before the handshake with ILLEGAL_SASL_STATE", () => {
    const step = new SaslSession(options).handle(authenticate(Buffer.from("n,,n=alice,r=abc")));
    expect(step.outcome).toBe("refused");
    expect(answerOf(step, ApiKey.SaslAuthenticate, 2)).toMatchObject({
      errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE,
      authBytes: Buffer.alloc(0),
    });
  });

  it("refuses a second handshake with ILLEGAL_SASL_STATE, before and after the first SCRAM message", () => {
    for (const messagesFirst of [0, 1]) {
      const session = new SaslSession(options);
      session.handle(handshake("SCRAM-SHA-256"));
      if (messagesFirst === 1) {
        const client = new ScramClient("SCRAM-SHA-256", "alice", "alice-secret");
        expect(session.handle(authenticate(client.clientFirst())).outcome).toBe("continue");
      }
      const step = session.handle(handshake("SCRAM-SHA-256"));
      expect(step.outcome).toBe("refused");
      expect(answerOf(step, ApiKey.SaslHandshake, 1)).toEqual({
        errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE,
        mechanisms: [],
      });
    }
  });

  it("refuses every other api unanswered, before and during the exchange, naming it as Kafka does", () => {
    const before = new SaslSession(options).handle(metadataRequest());
    expect(before).toEqual({
      outcome: "refused",
      answer: undefined,
      reason: "Unexpected Kafka request of type Metadata during SASL handshake",
    });
    const session = new SaslSession(options);
    session.handle(handshake("SCRAM-SHA-512"));
    expect(session.handle(metadataRequest())).toEqual({
      outcome: "refused",
      answer: undefined,
      reason: "Unexpected Kafka request of type Metadata during SASL authentication",
    });
  });

  it("lets a lookup that breaks its contract surface as a bug, not as a failed login", () => {
    const wrongMechanism = new SaslSession({
      ...options,
      credentialOf: () => scramCredential("SCRAM-SHA-512", "x"),
    });
    wrongMechanism.handle(handshake("SCRAM-SHA-256"));
    const client = new ScramClient("SCRAM-SHA-256", "alice", "x");
    expect(() => wrongMechanism.handle(authenticate(client.clientFirst()))).toThrow(
      /not a SCRAM-SHA-256 credential/,
    );
  });
});

describe("the sasl option", () => {
  it("is checked when the listener starts", async () => {
    const bad: KafkaSaslOptions[] = [
      { ...options, mechanisms: [] },
      { ...options, mechanisms: ["PLAIN" as ScramMechanism] },
      { ...options, authenticationTimeoutMs: 0 },
      { ...options, authenticationTimeoutMs: Number.NaN },
    ];
    for (const sasl of bad) expect(() => checkSaslOptions(sasl)).toThrow(KafkaSaslConfigError);
    expect(() => checkSaslOptions(options)).not.toThrow();
    await expect(
      startKafkaListener({
        host: "127.0.0.1",
        port: 0,
        broker: {} as never, // never reached: the option is refused first
        autoCreateTopics: false,
        logger: silentLogger,
        sasl: bad[0],
      }),
    ).rejects.toThrow(KafkaSaslConfigError);
  });
});
