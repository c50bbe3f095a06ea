// A secured three-node cluster, as `make up TLS=1` makes one: TLS on every port, SASL/SCRAM required,
// ACLs. kafkajs and kcat log in with SCRAM over TLS and produce and consume; an ACL denies a topic to one
// user and allows it to another; a client without credentials or with the wrong password is refused;
// and the attacks of attacks.ts, by an outsider and by a logged-in user, are refused while an acks=all
// load beside them loses nothing.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Brook, type BrookConfig } from "@brook/client";
import {
  type ChannelSecurity,
  createBrokerClient,
  type SaslAuthenticateResponse__Output,
} from "@brook/protocol";
import { clusterSecretKey, operatorNodeId, ScramClient } from "@brook/security";
import { type Cluster, startCluster } from "@brook/testkit";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attackTheCluster, unary } from "./attacks.js";
import { onPath } from "./on-path.js";
import { acksAllLoad, createGuardedTopic, silentLogger } from "./security-load.js";

// kafkajs is CommonJS; what is checked here is the wire, not its typings.
const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require("kafkajs");

const kcat = onPath("kcat");
if (!kcat && process.env.REQUIRE_KCAT) throw new Error("kcat is not on the PATH: apt-get install kcat");

const topic = "orders";
const passwords = { alice: "alice-secret", bob: "bob-secret" };
let cluster: Cluster;
let ca: Buffer;
let operator: Brook;

/** The SDK over TLS, as `user` (or as nobody). */
function brookAs(user?: { name: string; password: string }): Brook {
  const config: BrookConfig = { brokers: cluster.bootstrap.split(","), logger: silentLogger, ssl: { ca } };
  if (user) config.sasl = { mechanism: "scram-sha-256", username: user.name, password: user.password };
  return new Brook(config);
}

// biome-ignore lint/suspicious/noExplicitAny: kafkajs's client, used as any real application would
function kafkajs(sasl?: { mechanism: string; username: string; password: string }): any {
  return new Kafka({
    brokers: cluster.kafkaBootstrap.split(","),
    clientId: "e2e-secured",
    logLevel: logLevel.NOTHING,
    ssl: { ca: [ca] },
    ...(sasl ? { sasl } : {}),
    retry: { retries: 1 },
  });
}

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3, secure: {} });
  ca = readFileSync(join(cluster.tlsDir as string, "ca.crt"));
  operator = new Brook({
    brokers: cluster.bootstrap.split(","),
    logger: silentLogger,
    ssl: { ca },
    clusterSecret: readFileSync(cluster.clusterSecretFile, "utf8"),
  });
  const admin = operator.admin();
  await admin.createUser("alice", passwords.alice);
  await admin.createUser("bob", passwords.bob);
  await admin.createAcls([
    { principal: "User:alice", resourceType: "topic", resourceName: topic, operation: "write" },
    { principal: "User:alice", resourceType: "topic", resourceName: topic, operation: "read" },
    { principal: "User:alice", resourceType: "group", resourceName: "orders-app", operation: "read" },
  ]);
  await admin.close();
  await createGuardedTopic(operator, topic);
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
});

describe("a secured cluster (TLS, SASL/SCRAM, ACLs)", () => {
  it("kafkajs logs in with SCRAM over TLS: alice produces and consumes in her group; bob is denied the topic", async () => {
    const alice = kafkajs({ mechanism: "scram-sha-256", username: "alice", password: passwords.alice });
    const producer = alice.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: "k", value: "from kafkajs" }] });
    await producer.disconnect();
    const consumer = alice.consumer({ groupId: "orders-app" });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen = new Promise<string>((resolve) => {
      consumer.run({
        eachMessage: async ({ message }: { message: { value: Buffer } }) => resolve(String(message.value)),
      });
    });
    expect(await seen).toBe("from kafkajs");
    await consumer.disconnect();

    const bob = kafkajs({ mechanism: "scram-sha-512", username: "bob", password: passwords.bob }).producer();
    await bob.connect();
    const denied = await bob.send({ topic, messages: [{ value: "from bob" }] }).catch((e: unknown) => e);
    expect(String(denied)).toContain("Not authorized to access topics: [Topic authorization failed]");
    await bob.disconnect();
  }, 60_000);

  it("kafkajs with a wrong password, or without SASL, is refused", async () => {
    const wrong = kafkajs({ mechanism: "scram-sha-256", username: "alice", password: "nope" }).producer();
    const failed = await wrong.connect().catch((e: unknown) => e);
    expect((failed as { name?: string }).name).toBe("KafkaJSSASLAuthenticationError");
    expect(String(failed)).toContain(
      "Authentication failed during authentication due to invalid credentials",
    );
    const anonymous = kafkajs().admin();
    expect(await anonymous.listTopics().catch((e: unknown) => e)).toBeInstanceOf(Error);
    await anonymous.disconnect();
  }, 60_000);

  it.skipIf(!kcat)(
    "kcat (librdkafka) logs in with SCRAM-SHA-512 over TLS and reads; bob is denied",
    async () => {
      const common = [
        "-b",
        cluster.kafkaBootstrap.split(",")[0] as string,
        "-X",
        "security.protocol=SASL_SSL",
        "-X",
        "sasl.mechanisms=SCRAM-SHA-512",
        "-X",
        `ssl.ca.location=${join(cluster.tlsDir as string, "ca.crt")}`,
      ];
      const asAlice = [...common, "-X", "sasl.username=alice", "-X", `sasl.password=${passwords.alice}`];
      const out = await run("kcat", [...asAlice, "-C", "-t", topic, "-o", "beginning", "-e", "-q"]);
      expect(out).toContain("from kafkajs");
      const asBob = [...common, "-X", "sasl.username=bob", "-X", `sasl.password=${passwords.bob}`];
      const denied = await run("kcat", [...asBob, "-C", "-t", topic, "-o", "beginning", "-e", "-q"]).catch(
        (e: Error) => e.message,
      );
      expect(denied).toMatch(/Topic authorization failed/);
    },
    60_000,
  );

  it("Brook's SDK logs in over gRPC; without credentials, or with the wrong password, it is refused", async () => {
    const alice = brookAs({ name: "alice", password: passwords.alice }).producer({ acks: -1 });
    await alice.send({ topic, messages: [{ value: "from the SDK" }] });
    await alice.close();
    for (const who of [undefined, { name: "alice", password: "nope" }]) {
      const admin = brookAs(who).admin();
      await expect(admin.listTopics()).rejects.toMatchObject({ code: "SASL_AUTHENTICATION_FAILED" });
      await admin.close();
    }
    const bob = brookAs({ name: "bob", password: passwords.bob }).producer();
    await expect(bob.send({ topic, messages: [{ value: "x" }] })).rejects.toMatchObject({
      code: "TOPIC_AUTHORIZATION_FAILED",
    });
    await bob.close();
  }, 60_000);

  it("an outsider, and a logged-in user, cannot act as a node; an acks=all load beside them loses nothing", async () => {
    // Alice writes; the operator reads back (alice may not make the reader's group).
    const load = await acksAllLoad(brookAs({ name: "alice", password: passwords.alice }), topic, operator);
    const tls = grpc.credentials.createSsl(ca);
    const observer: ChannelSecurity = {
      credentials: tls,
      node: {
        nodeId: operatorNodeId,
        key: clusterSecretKey(readFileSync(cluster.clusterSecretFile, "utf8")),
      },
    };
    // An outsider over TLS: the broker asks it to log in first, the controller port refuses it outright.
    const refusals = ["SASL_AUTHENTICATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED"];
    await attackTheCluster(cluster, { topic, attacker: { credentials: tls }, observer, refusals });
    // Alice, logged in: a user is not a node.
    const token = await loginToken("alice", passwords.alice, tls);
    const asAlice: ChannelSecurity = {
      credentials: tls,
      interceptors: [withMetadata("brook-auth-token", token)],
    };
    await attackTheCluster(cluster, {
      topic,
      attacker: asAlice,
      observer,
      refusals: ["CLUSTER_AUTHORIZATION_FAILED"],
    });
    expect(await load.lost()).toEqual([]);
  }, 120_000);
});

/** A SCRAM exchange over gRPC by hand: the token the second answer carries. */
async function loginToken(
  user: string,
  password: string,
  credentials: grpc.ChannelCredentials,
): Promise<string> {
  const client = createBrokerClient(cluster.bootstrap.split(",")[0] as string, { credentials });
  try {
    const scram = new ScramClient("SCRAM-SHA-256", user, password);
    const mechanism = "SCRAM-SHA-256";
    const first = (await unary(client, "SaslAuthenticate", {
      mechanism,
      sessionId: "",
      authBytes: scram.clientFirst(),
    })) as SaslAuthenticateResponse__Output;
    const final = (await unary(client, "SaslAuthenticate", {
      mechanism,
      sessionId: first.sessionId,
      authBytes: scram.handleServerFirst(first.authBytes),
    })) as SaslAuthenticateResponse__Output;
    scram.verifyServerFinal(final.authBytes);
    return final.token;
  } finally {
    client.close();
  }
}

function withMetadata(key: string, value: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(key, value);
        next(metadata, listener);
      },
    });
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} failed: ${stderr || error.message}`)) : resolve(stdout),
    );
  });
}
