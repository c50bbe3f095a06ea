// One real node process: the SDK's whole data path, and what survives a crash.
import { Brook, type ConsumedMessage } from "@brook/client";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAll } from "./read-all.js";

let cluster: Cluster;
let brook: Brook;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
  brook = new Brook({ brokers: [cluster.bootstrap], retry: { retries: 30, maxRetryTimeMs: 500 } });
});

afterAll(async () => {
  await cluster?.stop();
});

describe("a single node", () => {
  it("keyed records land on murmur2 partitions and read back in order per partition", async () => {
    const admin = brook.admin();
    await admin.createTopics({ topics: [{ topic: "round-trip", numPartitions: 4 }] });
    const producer = brook.producer({ acks: -1 });
    const messages = Array.from({ length: 2_000 }, (_, i) => ({
      key: `key-${i % 37}`,
      value: `value-${i}`,
      headers: { n: String(i) },
    }));
    await producer.send({ topic: "round-trip", messages });
    await producer.close();

    const read = await readAll(brook, "round-trip", messages.length);
    expect(read).toHaveLength(messages.length);
    const byKey = new Map<string, Set<number>>();
    for (const m of read) {
      const key = m.key!.toString();
      byKey.set(key, (byKey.get(key) ?? new Set()).add(m.partition));
    }
    for (const partitions of byKey.values()) expect(partitions.size).toBe(1); // one key, one partition
    for (let p = 0; p < 4; p++) {
      const values = read.filter((m) => m.partition === p).map((m) => Number(m.value!.toString().slice(6)));
      expect(values).toEqual([...values].sort((a, b) => a - b)); // in order within a partition
    }
    expect(read.find((m) => m.value!.toString() === "value-7")?.headers.n?.toString()).toBe("7");
    const [description] = await admin.describeTopics({ topics: ["round-trip"] });
    expect(description.partitions.reduce((sum, p) => sum + p.highWatermark, 0)).toBe(messages.length);
    await admin.close();
  });

  it("a consumer waiting at the end gets a new record as soon as it is written (long poll)", async () => {
    const admin = brook.admin();
    await admin.createTopics({ topics: [{ topic: "long-poll", numPartitions: 1 }] });
    await admin.close();
    const consumer = brook.consumer({ maxWaitMs: 5_000 });
    await consumer.assign([{ topic: "long-poll", partition: 0, offset: 0 }]);
    const iterator = consumer[Symbol.asyncIterator]();
    const next = iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const producer = brook.producer({ acks: 1, lingerMs: 0 });
    const sentAt = Date.now();
    await producer.send({ topic: "long-poll", messages: [{ value: "wake up" }] });
    const { value } = await next;
    expect((value as ConsumedMessage).value?.toString()).toBe("wake up");
    expect(Date.now() - sentAt).toBeLessThan(2_000); // well before the 5 s max wait
    await producer.close();
    await consumer.close();
  });

  it("every acknowledged acks=all record survives a SIGKILL of the node", async () => {
    const admin = brook.admin();
    await admin.createTopics({ topics: [{ topic: "crash", numPartitions: 2 }] });
    await admin.close();
    const producer = brook.producer({ acks: -1, lingerMs: 1 });
    const acknowledged: string[] = [];
    const send = (value: string) =>
      producer.send({ topic: "crash", messages: [{ value }] }).then(() => {
        acknowledged.push(value);
      });
    // Acknowledged before the crash.
    for (let i = 0; i < 100; i += 10)
      await Promise.all(Array.from({ length: 10 }, (_, j) => send(`before-${i + j}`)));
    // In flight across the crash: the client retries them against the restarted node.
    const inFlight = Array.from({ length: 100 }, (_, i) => send(`during-${i}`).catch(() => undefined));
    await cluster.nodes[0].kill();
    await cluster.nodes[0].start();
    await Promise.all(inFlight);
    await producer.close();
    expect(acknowledged.length).toBeGreaterThanOrEqual(100);

    const read = new Set(
      (await readAll(brook, "crash", acknowledged.length)).map((m) => m.value!.toString()),
    );
    for (const value of acknowledged) expect(read.has(value)).toBe(true);
  });

  it("topics, configs and records survive a clean restart", async () => {
    const admin = brook.admin();
    await admin.createTopics({
      topics: [
        { topic: "restart", numPartitions: 2, configEntries: [{ name: "retention.ms", value: "3600000" }] },
      ],
    });
    const producer = brook.producer({ acks: -1 });
    await producer.send({
      topic: "restart",
      messages: Array.from({ length: 100 }, (_, i) => ({ value: `${i}` })),
    });
    await producer.close();
    await cluster.nodes[0].stop();
    await cluster.nodes[0].start();
    const [description] = await admin.describeTopics({ topics: ["restart"] });
    expect(description.configEntries).toContainEqual({ name: "retention.ms", value: "3600000" });
    expect(description.partitions.reduce((sum, p) => sum + p.highWatermark, 0)).toBe(100);
    expect(await readAll(brook, "restart", 100)).toHaveLength(100);
    await admin.deleteTopics({ topics: ["restart"] });
    expect(await admin.listTopics()).not.toContain("restart");
    await admin.close();
  });
});
