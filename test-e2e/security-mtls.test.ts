// TLS client certificates as principals (--tls-client-auth requested, SASL off): a client that shows a
// certificate from the cluster's CA is User:<its CN>, on gRPC (the SDK) and on the Kafka listener
// (kafkajs); one that shows none is User:ANONYMOUS. An ACL for carol lets her write; the anonymous client
// and dave (a certificate, no ACL) are denied once that first ACL exists.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Brook } from "@brook/client";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "./security-load.js";

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require("kafkajs");

const topic = "certified";
let cluster: Cluster;
let tls: (file: string) => Buffer;

/** The SDK over TLS, showing `user`'s client certificate (or none). */
function brookAs(user?: string): Brook {
  const ssl = user
    ? { ca: tls("ca.crt"), cert: tls(`${user}.crt`), key: tls(`${user}.key`) }
    : { ca: tls("ca.crt") };
  return new Brook({ brokers: cluster.bootstrap.split(","), logger: silentLogger, ssl });
}

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3, secure: { sasl: false, certificateUsers: ["carol", "dave"] } });
  tls = (file) => readFileSync(join(cluster.tlsDir as string, file));
  const operator = new Brook({
    brokers: cluster.bootstrap.split(","),
    logger: silentLogger,
    ssl: { ca: tls("ca.crt") },
    clusterSecret: readFileSync(cluster.clusterSecretFile, "utf8"),
  });
  const admin = operator.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
  await admin.createAcls([
    { principal: "User:carol", resourceType: "topic", resourceName: topic, operation: "write" },
    {
      principal: "User:carol",
      resourceType: "cluster",
      resourceName: "kafka-cluster",
      operation: "idempotentWrite",
    },
  ]);
  await admin.close();
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
});

describe("TLS client certificates as principals", () => {
  it("the SDK: carol's certificate makes her User:carol, who may write; dave and a client without one may not", async () => {
    const carol = brookAs("carol").producer({ acks: -1 });
    await carol.send({ topic, messages: [{ value: "signed" }] });
    await carol.close();
    for (const who of ["dave", undefined]) {
      const producer = brookAs(who).producer({ acks: -1, idempotent: false });
      await expect(producer.send({ topic, messages: [{ value: "x" }] })).rejects.toMatchObject({
        code: "TOPIC_AUTHORIZATION_FAILED",
      });
      await producer.close();
    }
  }, 60_000);

  it("kafkajs: the same certificate on the Kafka listener", async () => {
    const kafka = (user?: string) =>
      new Kafka({
        brokers: cluster.kafkaBootstrap.split(","),
        logLevel: logLevel.NOTHING,
        retry: { retries: 1 },
        ssl: user
          ? { ca: [tls("ca.crt")], cert: tls(`${user}.crt`), key: tls(`${user}.key`) }
          : { ca: [tls("ca.crt")] },
      });
    const carol = kafka("carol").producer();
    await carol.connect();
    await carol.send({ topic, messages: [{ value: "signed by kafkajs" }] });
    await carol.disconnect();
    const dave = kafka("dave").producer();
    await dave.connect();
    const denied = await dave.send({ topic, messages: [{ value: "x" }] }).catch((e: unknown) => e);
    expect(String(denied)).toContain("Not authorized to access topics: [Topic authorization failed]");
    await dave.disconnect();
  }, 60_000);
});
