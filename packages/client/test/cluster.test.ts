import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Brook, silentLogger } from "../src/index.js";
import type { FakeCluster } from "./fake-cluster.js";
import { startFake } from "./helpers.js";

let cluster: FakeCluster;

afterEach(async () => {
  await cluster?.stop();
});

describe("cluster", () => {
  it("tries each bootstrap broker in turn until one answers", async () => {
    cluster = await startFake();
    cluster.createTopic("t", 1);
    // Port 1 on localhost refuses connections: BROKER_NOT_AVAILABLE, so the next address is tried.
    const admin = new Brook({ brokers: ["127.0.0.1:1", ...cluster.bootstrap], logger: silentLogger }).admin();
    expect(await admin.listTopics()).toEqual(["t"]);
    await admin.close();
  });

  it("fails with BROKER_NOT_AVAILABLE when no bootstrap broker answers", async () => {
    cluster = await startFake();
    const admin = new Brook({
      brokers: ["127.0.0.1:1"],
      logger: silentLogger,
      retry: { retries: 1, initialRetryTimeMs: 1 },
    }).admin();
    await expect(admin.listTopics()).rejects.toMatchObject({ code: "BROKER_NOT_AVAILABLE", retriable: true });
    await admin.close();
  });

  it("asks for metadata at most once per refresh interval however many lookups miss", async () => {
    cluster = await startFake();
    cluster.createTopic("t", 4);
    const producer = new Brook({ brokers: cluster.bootstrap, logger: silentLogger }).producer({ acks: 1 });
    await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        producer.send({ topic: "t", messages: [{ key: `${index}`, value: "x" }] }),
      ),
    );
    expect(cluster.callsOf("Metadata")).toHaveLength(1);
    await producer.close();
  });

  it("drops cached leaders of a topic that was deleted and created again (new topicId, epochs from 0)", async () => {
    cluster = await startFake(2);
    cluster.createTopic("t", 1, () => 1);
    cluster.moveLeader("t", 0, 2); // leader epoch 1
    const producer = new Brook({
      brokers: cluster.bootstrap,
      logger: silentLogger,
      retry: { retries: 3, initialRetryTimeMs: 1, maxRetryTimeMs: 5 },
    }).producer({ acks: 1 });
    await producer.send({ topic: "t", messages: [{ value: "old" }] });

    cluster.topics.delete("t");
    cluster.createTopic("t", 1, () => 1); // leader epoch 0 on broker 1
    const [metadata] = await producer.send({ topic: "t", messages: [{ value: "new" }] });

    expect(metadata.baseOffset).toBe(0);
    expect(cluster.callsOf("Produce").at(-1)!.brokerId).toBe(1);
    await producer.close();
  });

  it("names itself to brokers with clientId on every call", async () => {
    cluster = await startFake();
    const admin = new Brook({
      brokers: cluster.bootstrap,
      clientId: "billing",
      logger: silentLogger,
    }).admin();
    await admin.listTopics();
    await admin.describeCluster();
    expect(cluster.calls.map((call) => call.clientId)).toEqual(["billing", "billing"]);
    await admin.close();
  });

  it("fails calls made after close() with CLIENT_CLOSED", async () => {
    cluster = await startFake();
    const admin = new Brook({ brokers: cluster.bootstrap, logger: silentLogger }).admin();
    await admin.close();
    await expect(admin.listTopics()).rejects.toMatchObject({ code: "CLIENT_CLOSED" });
  });
});

describe("a broker that accepts connections but never completes them (cut off, frozen)", () => {
  it("a produce waiting for its leader's connection goes to the new leader once metadata names one", async () => {
    const silent = net.createServer(() => {}); // takes the TCP connection, never speaks HTTP/2
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    cluster = await startFake(2);
    cluster.createTopic("t", 1, () => 1);
    cluster.advertisedPorts.set(1, (silent.address() as net.AddressInfo).port); // broker 1: cut off
    const producer = new Brook({
      brokers: cluster.bootstrap,
      logger: silentLogger,
      connectionTimeoutMs: 10_000,
      retry: { retries: 5, initialRetryTimeMs: 10, maxRetryTimeMs: 50 },
    }).producer({ acks: 1 });
    setTimeout(() => cluster.moveLeader("t", 0, 2), 300); // the controller elects broker 2
    const startedMs = Date.now();
    try {
      await producer.send({ topic: "t", messages: [{ value: "v" }] });
      expect(Date.now() - startedMs).toBeLessThan(3_000);
      expect(cluster.callsOf("Produce").map((call) => call.brokerId)).toEqual([2]);
    } finally {
      await producer.close();
      silent.close();
    }
  });

  it("fails a call BROKER_NOT_AVAILABLE after connectionTimeoutMs, not after the request timeout", async () => {
    const silent = net.createServer(() => {}); // takes the TCP connection, never speaks HTTP/2
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as net.AddressInfo;
    const admin = new Brook({
      brokers: [`127.0.0.1:${port}`],
      logger: silentLogger,
      connectionTimeoutMs: 300,
      requestTimeoutMs: 30_000,
      retry: { retries: 0 },
    }).admin();
    const startedMs = Date.now();
    try {
      await expect(admin.listTopics()).rejects.toMatchObject({ code: "BROKER_NOT_AVAILABLE" });
      expect(Date.now() - startedMs).toBeLessThan(5_000);
    } finally {
      await admin.close();
      silent.close();
    }
  });
});
