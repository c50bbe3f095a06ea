// SASL/SCRAM on the Kafka listener, over real sockets and a real in-process broker: kafkajs and kcat log in
// with SCRAM-SHA-256 and -512 (in plain TCP and in TLS) and then produce and consume; a wrong password or
// an unknown user gets Kafka's SASL error and nothing is written; a client that skips SASL, or steps out
// of order, is answered as Kafka answers and closed, without the broker doing any work for it; requests
// pipelined behind SASL steps are handled in order and as the user authenticated by then; a connection
// that does not authenticate in time is closed; and a listener without SASL answers SaslHandshake with
// ILLEGAL_SASL_STATE, as Kafka's PLAINTEXT listener does.

import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Caller } from "@brook/protocol";
import { ScramClient, type ScramCredential, type ScramMechanism, scramCredential } from "@brook/security";
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from "kafkajs";
import { pino } from "pino";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  ApiKey,
  type ApiKeyNumber,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  FrameSplitter,
  KafkaErrorCode,
  type KafkaSaslOptions,
  type RequestInputs,
  type ResponseBodies,
  SASL_REQUEST_BYTES_MAX,
} from "../src/index.js";
import { type Dispatch, KafkaConnection } from "../src/listener/connection.js";
import { type ListenerFixture, silentLogger, startListenerFixture } from "./listener-fixture.js";

const MECHANISMS: readonly ScramMechanism[] = ["SCRAM-SHA-256", "SCRAM-SHA-512"];
const USERS = new Map([
  ["alice", "alice-secret"],
  ["bob", "bob-secret"],
]);
const CREDENTIALS = new Map<string, ScramCredential>(
  [...USERS].flatMap(([user, password]) =>
    MECHANISMS.map((mechanism) => [`${user}/${mechanism}`, scramCredential(mechanism, password)]),
  ),
);
const sasl: KafkaSaslOptions = {
  mechanisms: MECHANISMS,
  credentialOf: (username, mechanism) => CREDENTIALS.get(`${username}/${mechanism}`),
};
const FAILED = (mechanism: string) =>
  `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`;

const fixtures: ListenerFixture[] = [];
const clients: Socket[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(fixtures.splice(0).map((fixture) => fixture.close()));
});

async function listener(options: Parameters<typeof startListenerFixture>[0] = { sasl }) {
  const fixture = await startListenerFixture(options);
  fixtures.push(fixture);
  return fixture;
}

// ---------------------------------------------------------------------------------------------------
// A raw client: frames out, frames in, and whether the broker closed the connection.

interface RawClient {
  readonly frames: Buffer[];
  readonly closed: Promise<void>;
  isClosed(): boolean;
  send(...frames: Buffer[]): void;
  /** Waits for `count` answers in all (or fails on close/timeout). */
  answers(count: number): Promise<Buffer[]>;
}

function wrap(socket: Socket): RawClient {
  clients.push(socket);
  const frames: Buffer[] = [];
  const splitter = new FrameSplitter();
  let closed = false;
  socket.on("data", (chunk: Buffer) => frames.push(...splitter.push(chunk)));
  socket.on("error", () => undefined);
  const closedPromise = new Promise<void>((resolve) =>
    socket.on("close", () => {
      closed = true;
      resolve();
    }),
  );
  return {
    frames,
    closed: closedPromise,
    isClosed: () => closed,
    send: (...out) => socket.write(Buffer.concat(out)),
    answers: async (count) => {
      await until(() => frames.length >= count || closed);
      if (frames.length < count) throw new Error(`closed after ${frames.length} of ${count} answers`);
      return frames.slice(0, count);
    },
  };
}

async function rawClient(port: number): Promise<RawClient> {
  const socket = new Socket();
  await new Promise<void>((resolve) => socket.connect(port, "127.0.0.1", resolve));
  return wrap(socket);
}

const until = async (condition: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function frame<K extends ApiKeyNumber>(apiKey: K, version: number, id: number, body: RequestInputs[K]) {
  return Buffer.concat(encodeRequest(apiKey, version, id, "raw", body));
}
const apiVersionsFrame = (id: number) =>
  frame(ApiKey.ApiVersions, 3, id, { clientSoftwareName: "raw", clientSoftwareVersion: "1" });
const handshakeFrame = (id: number, mechanism: string) => frame(ApiKey.SaslHandshake, 1, id, { mechanism });
const authenticateFrame = (id: number, authBytes: Buffer, version = 2) =>
  frame(ApiKey.SaslAuthenticate, version, id, { authBytes });
const metadataFrame = (id: number, topic: string) =>
  frame(ApiKey.Metadata, 9, id, {
    topics: [{ name: topic }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });

function decoded<K extends ApiKeyNumber>(apiKey: K, version: number, answer: Buffer) {
  return decodeResponse(apiKey, version, answer) as { correlationId: number; body: ResponseBodies[K] };
}

/** Handshake and client-first; returns the client and the client-final message for `password`. */
async function firstHalf(client: RawClient, mechanism: ScramMechanism, username: string, password: string) {
  const scram = new ScramClient(mechanism, username, password);
  client.send(handshakeFrame(1, mechanism), authenticateFrame(2, scram.clientFirst()));
  const [, serverFirst] = await client.answers(2);
  const { body } = decoded(ApiKey.SaslAuthenticate, 2, serverFirst);
  expect(body.errorCode).toBe(0);
  return { scram, clientFinal: scram.handleServerFirst(body.authBytes) };
}

// ---------------------------------------------------------------------------------------------------

describe("kafkajs over SASL/SCRAM", () => {
  const kafka = (fixture: ListenerFixture, saslOptions: SASLOptions, extra: Partial<KafkaConfig> = {}) =>
    new Kafka({
      brokers: [fixture.bootstrap],
      clientId: "sasl-test",
      logLevel: logLevel.NOTHING,
      sasl: saslOptions,
      retry: { retries: 2, initialRetryTime: 50 },
      ...extra,
    });

  async function produceAndConsume(client: Kafka, topic: string): Promise<string[]> {
    const producer = client.producer();
    await producer.connect();
    await producer.send({ topic, messages: [1, 2, 3].map((i) => ({ key: `k${i}`, value: `v${i}` })) });
    await producer.disconnect();
    // A short fetch wait, so that disconnecting does not wait out kafkajs's 5 s long poll.
    const consumer = client.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: 100 });
    const seen: string[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
      await until(() => seen.length >= 3, 20_000);
    } finally {
      await consumer.disconnect();
    }
    return seen;
  }

  it.each(["scram-sha-256", "scram-sha-512"] as const)(
    "logs in with %s, then produces and consumes in a group",
    async (mechanism) => {
      const fixture = await listener();
      await fixture.createTopic("orders");
      const client = kafka(fixture, { mechanism, username: "alice", password: "alice-secret" });
      expect(await produceAndConsume(client, "orders")).toEqual(["v1", "v2", "v3"]);
    },
    30_000,
  );

  it.each([
    ["a wrong password", "alice", "not-her-password"],
    ["an unknown user", "mallory", "whatever"],
  ])("gets KafkaJSSASLAuthenticationError for %s, and nothing is written", async (_, username, password) => {
    const fixture = await listener();
    await fixture.createTopic("guarded");
    const producer = kafka(fixture, { mechanism: "scram-sha-256", username, password }).producer();
    const error = await producer.connect().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ name: "KafkaJSSASLAuthenticationError" });
    expect((error as Error).message).toContain(FAILED("SCRAM-SHA-256"));
    await producer.disconnect();
    const admin = kafka(fixture, {
      mechanism: "scram-sha-256",
      username: "bob",
      password: "bob-secret",
    }).admin();
    await admin.connect();
    expect(await admin.fetchTopicOffsets("guarded")).toMatchObject([{ partition: 0, high: "0" }]);
    await admin.disconnect();
  });

  it("logs in over TLS (SASL_SSL) and produces and consumes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brook-kafka-tls-"));
    try {
      const script = fileURLToPath(new URL("../../../scripts/gen-tls.sh", import.meta.url));
      const made = spawnSync("bash", [script, dir, "1"], { encoding: "utf8" });
      expect(made.status, made.stderr).toBe(0);
      const read = (file: string) => readFileSync(join(dir, file));
      const fixture = await listener({
        sasl,
        tls: { options: { key: read("node-1.key"), cert: read("node-1.crt") }, follow: () => undefined },
      });
      await fixture.createTopic("secure");
      const client = kafka(
        fixture,
        { mechanism: "scram-sha-512", username: "bob", password: "bob-secret" },
        { ssl: { ca: [read("ca.crt").toString()] } },
      );
      expect(await produceAndConsume(client, "secure")).toEqual(["v1", "v2", "v3"]);
      // Plaintext bytes on the TLS port never reach the SASL code: the TLS handshake fails first.
      const plain = await rawClient(fixture.port);
      plain.send(apiVersionsFrame(1));
      await plain.closed;
      expect(plain.frames).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe("kcat (librdkafka) over SASL/SCRAM", () => {
  const hasKcat = spawnSync("kcat", ["-V"]).status === 0;
  if (!hasKcat && process.env.REQUIRE_KCAT) throw new Error("kcat is not on the PATH: apt-get install kcat");
  const run = promisify(execFile);
  const kcat = (
    fixture: ListenerFixture,
    mechanism: ScramMechanism,
    username: string,
    password: string,
    metadataTimeoutSeconds = 10,
  ) =>
    run(
      "kcat",
      [
        ...["-b", fixture.bootstrap, "-X", "security.protocol=SASL_PLAINTEXT"],
        ...["-X", `sasl.mechanisms=${mechanism}`, "-X", `sasl.username=${username}`],
        ...["-X", `sasl.password=${password}`, "-L", "-m", String(metadataTimeoutSeconds)],
      ],
      { timeout: 20_000 },
    );

  it.skipIf(!hasKcat).each(MECHANISMS)(
    "lists metadata after logging in with %s",
    async (mechanism) => {
      const fixture = await listener();
      await fixture.createTopic("kcat-topic", 2);
      const { stdout } = await kcat(fixture, mechanism, "alice", "alice-secret");
      expect(stdout).toMatch(/1 brokers:/);
      expect(stdout).toMatch(/topic "kcat-topic" with 2 partitions/);
    },
    30_000,
  );

  it.skipIf(!hasKcat)(
    "fails with a wrong password, with Kafka's message",
    async () => {
      const fixture = await listener();
      // librdkafka reports the failure at once, then retries until -m's timeout: keep that short.
      const failure = await kcat(fixture, "SCRAM-SHA-256", "alice", "wrong", 2).then(
        () => undefined,
        (error: { code?: number; stderr?: string }) => error,
      );
      expect(failure?.code).not.toBe(0);
      expect(failure?.stderr).toContain(FAILED("SCRAM-SHA-256"));
    },
    30_000,
  );
});

describe("a client that does not follow SASL", () => {
  it("is closed unanswered when it sends Metadata first, and nothing is created; logged once at info", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const fixture = await listener({ sasl, logger: pino({ level: "info" }, sink) });
    const client = await rawClient(fixture.port);
    client.send(metadataFrame(1, "sneaky"), apiVersionsFrame(2));
    await client.closed;
    expect(client.frames).toEqual([]);
    expect(fixture.creations).toEqual([]);
    expect(fixture.hasTopic("sneaky")).toBe(false);
    const refusals = lines.filter((line) => line.includes("Unexpected Kafka request of type Metadata"));
    expect(refusals).toHaveLength(1);
    expect(JSON.parse(refusals[0])).toMatchObject({ level: 30 });
  });

  it("is closed after ApiVersions when it then skips the handshake", async () => {
    const fixture = await listener();
    const client = await rawClient(fixture.port);
    client.send(apiVersionsFrame(1), metadataFrame(2, "sneaky"));
    await client.closed;
    expect(client.frames.map((answer) => answer.readInt32BE(0))).toEqual([1]);
    const { body } = decoded(ApiKey.ApiVersions, 3, client.frames[0]);
    // v0 is listed as Kafka lists it: librdkafka turns SASL on only when it is.
    expect(body.apiKeys).toContainEqual({ apiKey: 17, minVersion: 0, maxVersion: 1 });
    expect(body.apiKeys).toContainEqual({ apiKey: 36, minVersion: 0, maxVersion: 2 });
    expect(fixture.creations).toEqual([]);
  });

  it("gets ILLEGAL_SASL_STATE for SaslAuthenticate before the handshake, then is closed", async () => {
    const fixture = await listener();
    const client = await rawClient(fixture.port);
    const scram = new ScramClient("SCRAM-SHA-256", "alice", "alice-secret");
    client.send(authenticateFrame(1, scram.clientFirst()), handshakeFrame(2, "SCRAM-SHA-256"));
    await client.closed;
    expect(client.frames).toHaveLength(1);
    const { correlationId, body } = decoded(ApiKey.SaslAuthenticate, 2, client.frames[0]);
    expect(correlationId).toBe(1);
    expect(body.errorCode).toBe(KafkaErrorCode.ILLEGAL_SASL_STATE);
  });

  it("gets ILLEGAL_SASL_STATE for a second handshake, then is closed", async () => {
    const fixture = await listener();
    const client = await rawClient(fixture.port);
    client.send(handshakeFrame(1, "SCRAM-SHA-256"), handshakeFrame(2, "SCRAM-SHA-512"));
    await client.closed;
    expect(client.frames).toHaveLength(2);
    expect(decoded(ApiKey.SaslHandshake, 1, client.frames[0]).body.errorCode).toBe(0);
    expect(decoded(ApiKey.SaslHandshake, 1, client.frames[1]).body).toEqual({
      errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE,
      mechanisms: [],
    });
  });

  it("gets UNSUPPORTED_SASL_MECHANISM with the enabled ones for PLAIN, then is closed", async () => {
    const fixture = await listener();
    const client = await rawClient(fixture.port);
    client.send(handshakeFrame(1, "PLAIN"));
    await client.closed;
    expect(decoded(ApiKey.SaslHandshake, 1, client.frames[0]).body).toEqual({
      errorCode: KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM,
      mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-512"],
    });
  });

  it("gets UNSUPPORTED_VERSION for a SaslHandshake v0 (raw tokens), which is not served, then is closed", async () => {
    const fixture = await listener();
    const client = await rawClient(fixture.port);
    client.send(frame(ApiKey.SaslHandshake, 0, 1, { mechanism: "SCRAM-SHA-256" }));
    await client.closed;
    expect(client.frames).toHaveLength(1);
    expect(decoded(ApiKey.SaslHandshake, 0, client.frames[0]).body.errorCode).toBe(
      KafkaErrorCode.UNSUPPORTED_VERSION,
    );
  });

  it("may not send a frame over sasl.server.max.receive.size before it authenticates; after, it may", async () => {
    const fixture = await listener();
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(SASL_REQUEST_BYTES_MAX + 1);
    const anonymous = await rawClient(fixture.port);
    anonymous.send(prefix);
    await anonymous.closed;

    const client = await rawClient(fixture.port);
    const { clientFinal } = await firstHalf(client, "SCRAM-SHA-256", "alice", "alice-secret");
    client.send(authenticateFrame(3, clientFinal));
    await client.answers(3);
    client.send(prefix); // the start of a frame an authenticated client may send
    await sleep(200);
    expect(client.isClosed()).toBe(false);
  });

  it("is closed if it has not authenticated in time; one that has stays open", async () => {
    const fixture = await listener({ sasl: { ...sasl, authenticationTimeoutMs: 300 } });
    const idle = await rawClient(fixture.port);
    const slow = await rawClient(fixture.port);
    slow.send(handshakeFrame(1, "SCRAM-SHA-256"));
    const quick = await rawClient(fixture.port);
    const { clientFinal } = await firstHalf(quick, "SCRAM-SHA-256", "alice", "alice-secret");
    quick.send(authenticateFrame(3, clientFinal));
    await quick.answers(3);
    const started = Date.now();
    await Promise.all([idle.closed, slow.closed]);
    expect(Date.now() - started).toBeLessThan(2_000);
    await sleep(400);
    quick.send(apiVersionsFrame(4));
    await quick.answers(4);
    expect(quick.isClosed()).toBe(false);
  });
});

describe("requests pipelined with SASL steps", () => {
  it("are answered in order; those behind the last step are handled once the client is authenticated", async () => {
    const fixture = await listener();
    const client = await rawClient(fixture.port);
    const scram = new ScramClient("SCRAM-SHA-512", "alice", "alice-secret");
    client.send(
      apiVersionsFrame(1),
      handshakeFrame(2, "SCRAM-SHA-512"),
      authenticateFrame(3, scram.clientFirst()),
    );
    const [, , serverFirst] = await client.answers(3);
    const clientFinal = scram.handleServerFirst(
      decoded(ApiKey.SaslAuthenticate, 2, serverFirst).body.authBytes,
    );
    // The last SCRAM message and two requests in one write: the requests must see an authenticated client.
    client.send(authenticateFrame(4, clientFinal), metadataFrame(5, "piped"), apiVersionsFrame(6));
    const answers = await client.answers(6);
    expect(answers.map((answer) => answer.readInt32BE(0))).toEqual([1, 2, 3, 4, 5, 6]);
    const final = decoded(ApiKey.SaslAuthenticate, 2, answers[3]).body;
    expect(final.errorCode).toBe(0);
    expect(() => scram.verifyServerFinal(final.authBytes)).not.toThrow();
    const metadata = decoded(ApiKey.Metadata, 9, answers[4]).body;
    expect(metadata.topics.map(({ name, errorCode }) => [name, errorCode])).toEqual([["piped", 0]]);
    expect(fixture.creations).toEqual(["piped"]);
  });

  it("behind an unfinished exchange, close the connection unhandled", async () => {
    const fixture = await listener();
    const client = await rawClient(fixture.port);
    const scram = new ScramClient("SCRAM-SHA-256", "alice", "alice-secret");
    client.send(
      handshakeFrame(1, "SCRAM-SHA-256"),
      authenticateFrame(2, scram.clientFirst()),
      metadataFrame(3, "early"),
      apiVersionsFrame(4),
    );
    await client.closed;
    expect(client.frames.map((answer) => answer.readInt32BE(0))).toEqual([1, 2]);
    expect(fixture.creations).toEqual([]);
  });

  it("behind a failed exchange, are never handled: the client reads the failure, then the close", async () => {
    const fixture = await listener();
    const client = await rawClient(fixture.port);
    const { clientFinal } = await firstHalf(client, "SCRAM-SHA-256", "alice", "wrong-password");
    client.send(authenticateFrame(3, clientFinal), metadataFrame(4, "after-failure"));
    await client.closed;
    expect(client.frames).toHaveLength(3);
    expect(decoded(ApiKey.SaslAuthenticate, 2, client.frames[2]).body).toMatchObject({
      errorCode: KafkaErrorCode.SASL_AUTHENTICATION_FAILED,
      errorMessage: FAILED("SCRAM-SHA-256"),
    });
    expect(fixture.creations).toEqual([]);
  });
});

describe("SaslHandshake and SaslAuthenticate outside an exchange", () => {
  it("after authentication: ILLEGAL_SASL_STATE, and the connection stays open", async () => {
    const fixture = await listener();
    const client = await rawClient(fixture.port);
    const { clientFinal } = await firstHalf(client, "SCRAM-SHA-256", "bob", "bob-secret");
    client.send(authenticateFrame(3, clientFinal));
    await client.answers(3);
    client.send(
      handshakeFrame(4, "SCRAM-SHA-256"),
      authenticateFrame(5, Buffer.from("n,,n=bob,r=again"), 1),
      apiVersionsFrame(6),
    );
    const answers = await client.answers(6);
    expect(decoded(ApiKey.SaslHandshake, 1, answers[3]).body).toEqual({
      errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE,
      mechanisms: [],
    });
    expect(decoded(ApiKey.SaslAuthenticate, 1, answers[4]).body).toEqual({
      errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE,
      errorMessage: "SaslAuthenticate request received after successful authentication",
      authBytes: Buffer.alloc(0),
      sessionLifetimeMs: 0n,
    });
    expect(decoded(ApiKey.ApiVersions, 3, answers[5]).body.errorCode).toBe(0);
    expect(client.isClosed()).toBe(false);
  });

  it("on a listener without SASL: ILLEGAL_SASL_STATE with no mechanisms, as Kafka's PLAINTEXT listener", async () => {
    const fixture = await listener({});
    const client = await rawClient(fixture.port);
    client.send(handshakeFrame(1, "SCRAM-SHA-256"), metadataFrame(2, "open"));
    const answers = await client.answers(2);
    expect(decoded(ApiKey.SaslHandshake, 1, answers[0]).body).toEqual({
      errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE,
      mechanisms: [],
    });
    expect(decoded(ApiKey.Metadata, 9, answers[1]).body.topics[0]).toMatchObject({
      name: "open",
      errorCode: 0,
    });
    expect(client.isClosed()).toBe(false);
  });

  it("kafkajs configured for SASL against a listener without it fails on the handshake", async () => {
    const fixture = await listener({});
    const producer = new Kafka({
      brokers: [fixture.bootstrap],
      logLevel: logLevel.NOTHING,
      sasl: { mechanism: "scram-sha-256", username: "alice", password: "alice-secret" },
      retry: { retries: 0 },
    }).producer();
    await expect(producer.connect()).rejects.toMatchObject({ type: "ILLEGAL_SASL_STATE" });
    await producer.disconnect();
  });
});

describe("the caller of an authenticated connection", () => {
  let server: Server | undefined;
  afterAll(() => server?.close());

  it("is User:<username> with the connection's host, replacing a TLS certificate's principal", async () => {
    const callers: Caller[] = [];
    const dispatch: Dispatch = async (request, connection) => {
      callers.push(connection.caller);
      return encodeResponse(ApiKey.ApiVersions, 3, request.correlationId, { errorCode: 0, apiKeys: [] });
    };
    const certificateCaller: Caller = { principal: "User:CN=client-cert", host: "127.0.0.1" };
    server = createServer(
      (socket) =>
        new KafkaConnection(
          socket,
          dispatch,
          { requestBytesMax: 1024 * 1024, requestsInFlightMax: 4 },
          silentLogger,
          certificateCaller,
          sasl,
        ),
    );
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const client = await rawClient((server.address() as { port: number }).port);
    client.send(apiVersionsFrame(9));
    await client.answers(1);
    expect(callers).toEqual([]); // answered by the SASL session: the dispatcher never saw it
    const first = client.frames.length;
    const scram = new ScramClient("SCRAM-SHA-256", "alice", "alice-secret");
    client.send(handshakeFrame(1, "SCRAM-SHA-256"), authenticateFrame(2, scram.clientFirst()));
    const serverFirst = (await client.answers(first + 2))[first + 1];
    const clientFinal = scram.handleServerFirst(
      decoded(ApiKey.SaslAuthenticate, 2, serverFirst).body.authBytes,
    );
    client.send(authenticateFrame(3, clientFinal), apiVersionsFrame(4));
    await client.answers(first + 4);
    expect(callers).toEqual([{ principal: "User:alice", host: "127.0.0.1" }]);
  });
});

describe("a raw SASL_SSL exchange", () => {
  it("authenticates over TLS byte for byte as over TCP", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brook-kafka-tls-"));
    try {
      const script = fileURLToPath(new URL("../../../scripts/gen-tls.sh", import.meta.url));
      expect(spawnSync("bash", [script, dir, "1"]).status).toBe(0);
      const read = (file: string) => readFileSync(join(dir, file));
      const fixture = await listener({
        sasl,
        tls: { options: { key: read("node-1.key"), cert: read("node-1.crt") }, follow: () => undefined },
      });
      const socket = tlsConnect({ host: "127.0.0.1", port: fixture.port, ca: read("ca.crt") });
      await new Promise<void>((resolve, reject) => {
        socket.once("secureConnect", resolve);
        socket.once("error", reject);
      });
      const client = wrap(socket);
      const { scram, clientFinal } = await firstHalf(client, "SCRAM-SHA-512", "alice", "alice-secret");
      client.send(authenticateFrame(3, clientFinal), metadataFrame(4, "over-tls"));
      const answers = await client.answers(4);
      expect(() =>
        scram.verifyServerFinal(decoded(ApiKey.SaslAuthenticate, 2, answers[2]).body.authBytes),
      ).not.toThrow();
      expect(decoded(ApiKey.Metadata, 9, answers[3]).body.topics[0]).toMatchObject({ name: "over-tls" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
