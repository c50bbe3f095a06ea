import { BrookError, partitionForKey } from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { Producer } from "../src/index.js";
import type { FakeCluster } from "./fake-cluster.js";
import { brookFor, eventually, isPending, startFake, storedRecords } from "./helpers.js";

let cluster: FakeCluster;
let producer: Producer | undefined;

afterEach(async () => {
  await producer?.close().catch(() => {});
  producer = undefined;
  await cluster?.stop();
});

const value100 = "v".repeat(100);

describe("producer batching", () => {
  it("sends many records for many partitions in few Produce requests", async () => {
    cluster = await startFake();
    cluster.createTopic("events", 4);
    // A linger window wide enough that a slow, cold test run still appends everything inside it.
    producer = brookFor(cluster).producer({ acks: 1, lingerMs: 50 });

    // 200 separate send() calls in one turn, keyed across 4 partitions.
    const sends = Array.from({ length: 200 }, (_, index) =>
      producer!.send({ topic: "events", messages: [{ key: `k${index}`, value: value100 }] }),
    );
    const results = await Promise.all(sends);

    const requests = cluster.producedPartitions();
    expect(requests).toHaveLength(1);
    expect(new Set(requests[0]).size).toBe(4); // several partitions in one request
    const stored = [0, 1, 2, 3].reduce(
      (sum, partition) => sum + storedRecords(cluster, "events", partition).length,
      0,
    );
    expect(stored).toBe(200);
    expect(results.every(([metadata]) => metadata.baseOffset >= 0 && metadata.topicName === "events")).toBe(
      true,
    );
  });

  it("reports where each run of a send landed: offsets follow message order", async () => {
    cluster = await startFake();
    cluster.createTopic("events", 2);
    producer = brookFor(cluster).producer({ acks: 1 });
    await producer.send({ topic: "events", messages: [{ value: "x", partition: 1 }] });

    const metadata = await producer.send({
      topic: "events",
      messages: [
        { value: "a", partition: 0 },
        { value: "b", partition: 1 },
        { value: "c", partition: 0 },
      ],
    });

    expect(
      metadata.map(({ partition, baseOffset, recordCount }) => ({ partition, baseOffset, recordCount })),
    ).toEqual([
      { partition: 0, baseOffset: 0, recordCount: 2 },
      { partition: 1, baseOffset: 1, recordCount: 1 },
    ]);
    expect(storedRecords(cluster, "events", 0).map((record) => record.value)).toEqual(["a", "c"]);
  });

  it("holds a batch for lingerMs before sending it", async () => {
    cluster = await startFake();
    cluster.createTopic("events", 1);
    producer = brookFor(cluster).producer({ acks: 1, lingerMs: 60 });
    await producer.connect();

    const startedMs = Date.now();
    const sent = producer.send({ topic: "events", messages: [{ value: "late" }] });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(cluster.callsOf("Produce")).toHaveLength(0);
    await sent;
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(55);
  });

  it("sends a batch as soon as it reaches batchBytes, without waiting for linger", async () => {
    cluster = await startFake();
    cluster.createTopic("events", 1);
    producer = brookFor(cluster).producer({ acks: 1, lingerMs: 60_000, batchBytes: 1_000 });
    await producer.connect();

    const startedMs = Date.now();
    await producer.send({
      topic: "events",
      messages: Array.from({ length: 25 }, () => ({ value: value100 })),
    });

    // ~112 bytes per record: batches of 8 are full, and the last record rides along in the same request.
    expect(Date.now() - startedMs).toBeLessThan(5_000);
    expect(
      cluster.partition("events", 0)!.batches.map((batch) => batch.lastOffset - batch.baseOffset + 1),
    ).toEqual([8, 8, 8, 1]);
    expect(cluster.callsOf("Produce")).toHaveLength(1);
  });

  it("puts keyed records on partitionForKey(key) and encodes batches once for many records", async () => {
    cluster = await startFake();
    cluster.createTopic("keyed", 7);
    producer = brookFor(cluster).producer({ acks: 1 });
    const keys = Array.from({ length: 60 }, (_, index) => `user-${index}`);

    await producer.send({ topic: "keyed", messages: keys.map((key) => ({ key, value: key })) });

    for (let partition = 0; partition < 7; partition++) {
      for (const record of storedRecords(cluster, "keyed", partition)) {
        expect(partitionForKey(record.key!, 7)).toBe(partition);
      }
    }
  });

  it("sticks keyless records to one partition per batch", async () => {
    cluster = await startFake();
    cluster.createTopic("sticky", 4);
    producer = brookFor(cluster).producer({ acks: 1 });
    await producer.send({ topic: "sticky", messages: Array.from({ length: 20 }, () => ({ value: "x" })) });
    const used = [0, 1, 2, 3].filter((partition) => storedRecords(cluster, "sticky", partition).length > 0);
    expect(used).toHaveLength(1);
  });
});

describe("producer failures", () => {
  it("retries NOT_LEADER: refreshes metadata and resends the same bytes to the new leader", async () => {
    cluster = await startFake(2);
    cluster.createTopic("moving", 1, () => 1);
    producer = brookFor(cluster).producer({ acks: 1 });
    await producer.send({ topic: "moving", messages: [{ value: "first" }] });

    cluster.moveLeader("moving", 0, 2);
    const [metadata] = await producer.send({ topic: "moving", messages: [{ value: "second" }] });

    const produces = cluster.callsOf("Produce").map(({ brokerId }) => brokerId);
    expect(produces).toEqual([1, 1, 2]);
    expect(cluster.callsOf("Metadata").length).toBeGreaterThanOrEqual(2);
    expect(metadata.baseOffset).toBe(1);
    expect(storedRecords(cluster, "moving", 0).map((record) => record.value)).toEqual(["first", "second"]);
  });

  it("retries a retriable error until the policy runs out, then rejects with it", async () => {
    cluster = await startFake();
    cluster.createTopic("flaky", 1);
    producer = brookFor(cluster, {
      retry: { retries: 2, initialRetryTimeMs: 1, maxRetryTimeMs: 5 },
    }).producer({
      acks: -1,
    });
    cluster.produceErrors.set("flaky-0", [
      "NOT_ENOUGH_REPLICAS",
      "NOT_ENOUGH_REPLICAS",
      "NOT_ENOUGH_REPLICAS",
    ]);

    const sent = producer.send({ topic: "flaky", messages: [{ value: "x" }] });
    await expect(sent).rejects.toMatchObject({ code: "NOT_ENOUGH_REPLICAS" });
    expect(cluster.callsOf("Produce")).toHaveLength(3);
  });

  it("fails a lingering batch after the retries when its partition has no live leader", async () => {
    cluster = await startFake();
    cluster.createTopic("leaderless", 1, () => 99); // broker 99 is not in metadata
    producer = brookFor(cluster, {
      retry: { retries: 2, initialRetryTimeMs: 1, maxRetryTimeMs: 5 },
    }).producer({ acks: 1, lingerMs: 5 });

    const sent = producer.send({ topic: "leaderless", messages: [{ value: "x" }] });
    await expect(sent).rejects.toMatchObject({ code: "NOT_LEADER" });
  });

  it("fails a lingering batch after the retries when no broker answers, not only the first send", async () => {
    cluster = await startFake();
    cluster.createTopic("gone", 1);
    producer = brookFor(cluster, {
      retry: { retries: 2, initialRetryTimeMs: 1, maxRetryTimeMs: 5 },
    }).producer({ acks: 1, lingerMs: 5 });
    await producer.send({ topic: "gone", messages: [{ value: "before" }] });
    await cluster.stop();

    // The first failure leaves metadata stale; the next send's batch must still count its attempts.
    await expect(producer.send({ topic: "gone", messages: [{ value: "a" }] })).rejects.toMatchObject({
      code: "BROKER_NOT_AVAILABLE",
    });
    await expect(producer.send({ topic: "gone", messages: [{ value: "b" }] })).rejects.toMatchObject({
      code: "BROKER_NOT_AVAILABLE",
    });
  });

  it("spends a leaderless partition's retries at its backoff pace while other partitions keep producing", async () => {
    cluster = await startFake(2);
    cluster.createTopic("failover", 2, (partition) => (partition === 0 ? 1 : 99)); // 1 has no leader
    // Five retries 200 ms apart: about a second to ride out the election.
    producer = brookFor(cluster, {
      retry: { retries: 5, initialRetryTimeMs: 200, maxRetryTimeMs: 200, jitterFactor: 0 },
    }).producer({ acks: 1, lingerMs: 0 });
    await producer.connect();

    const waiting = producer.send({ topic: "failover", messages: [{ value: "x", partition: 1 }] }).then(
      ([metadata]) => metadata.partition,
      (error: BrookError) => error.code,
    );
    // Traffic to the healthy partition refreshes metadata often; that must not count as retries of the other.
    const startedMs = Date.now();
    while (Date.now() - startedMs < 500) {
      await producer.send({ topic: "failover", messages: [{ value: "y", partition: 0 }] });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    cluster.moveLeader("failover", 1, 2);

    expect(await waiting).toBe(1);
  });

  it("rejects at once on a non-retriable error", async () => {
    cluster = await startFake();
    cluster.createTopic("strict", 1);
    producer = brookFor(cluster).producer({ acks: 1 });
    cluster.produceErrors.set("strict-0", ["RECORD_TOO_LARGE"]);

    const error = await producer.send({ topic: "strict", messages: [{ value: "x" }] }).catch((e) => e);
    expect(error).toBeInstanceOf(BrookError);
    expect(error.code).toBe("RECORD_TOO_LARGE");
    expect(cluster.callsOf("Produce")).toHaveLength(1);
  });

  it("rejects a send with an invalid message without failing the sends batched with it", async () => {
    cluster = await startFake();
    cluster.createTopic("mixed", 1);
    producer = brookFor(cluster).producer({ acks: 1 });
    await producer.connect();
    const good = producer.send({ topic: "mixed", messages: [{ value: "ok" }] });
    const bad = producer.send({
      topic: "mixed",
      messages: [{ value: "x", timestamp: "yesterday" as unknown as number }],
    });
    await expect(bad).rejects.toMatchObject({ code: "INVALID_REQUEST" });
    await good;
    expect(storedRecords(cluster, "mixed", 0).map((record) => record.value)).toEqual(["ok"]);
  });

  it("rejects sends to a topic that does not exist, or to a partition it does not have", async () => {
    cluster = await startFake();
    cluster.createTopic("small", 2);
    producer = brookFor(cluster).producer();
    await expect(producer.send({ topic: "nope", messages: [{ value: "x" }] })).rejects.toMatchObject({
      code: "UNKNOWN_TOPIC",
    });
    await expect(
      producer.send({ topic: "small", messages: [{ value: "x", partition: 5 }] }),
    ).rejects.toMatchObject({
      code: "UNKNOWN_PARTITION",
    });
    expect(cluster.callsOf("Produce")).toHaveLength(0);
  });

  it("rejects (not throws) a send when a custom partitioner answers a partition the topic lacks, appending none of it", async () => {
    cluster = await startFake();
    cluster.createTopic("small", 2);
    producer = brookFor(cluster).producer({ lingerMs: 0, partitioner: ({ key }) => (key === "bad" ? 7 : 0) });
    await producer.send({ topic: "small", messages: [{ value: "warm-up" }] }); // metadata cached: the fast path
    const sent = producer.send({
      topic: "small",
      messages: [
        { key: "ok", value: "a" },
        { key: "bad", value: "b" },
      ],
    });
    await expect(sent).rejects.toMatchObject({ code: "INVALID_REQUEST" });
    await producer.flush();
    expect(storedRecords(cluster, "small", 0).map((r) => r.value?.toString())).toEqual(["warm-up"]);
  });
});

describe("producer acks, backpressure and shutdown", () => {
  it("acks=0 resolves without waiting for the broker's answer", async () => {
    cluster = await startFake();
    cluster.createTopic("fire", 1);
    producer = brookFor(cluster).producer({ acks: 0, lingerMs: 0 });
    await producer.connect();
    cluster.hold();

    const [metadata] = await producer.send({ topic: "fire", messages: [{ value: "x" }] });
    expect(metadata.baseOffset).toBe(-1);
    expect(storedRecords(cluster, "fire", 0)).toHaveLength(0); // the broker has not answered yet
    cluster.release();
    await eventually(() => storedRecords(cluster, "fire", 0).length === 1);
  });

  it("acks=1 waits for the broker's answer", async () => {
    cluster = await startFake();
    cluster.createTopic("wait", 1);
    producer = brookFor(cluster).producer({ acks: 1, lingerMs: 0 });
    await producer.connect();
    cluster.hold();
    const sent = producer.send({ topic: "wait", messages: [{ value: "x" }] });
    await eventually(() => cluster.callsOf("Produce").length === 1);
    expect(await isPending(sent)).toBe(true);
    cluster.release();
    await sent;
  });

  it("makes send() wait when bufferBytesMax is buffered and unacknowledged", async () => {
    cluster = await startFake();
    cluster.createTopic("bounded", 10);
    producer = brookFor(cluster).producer({ acks: 1, lingerMs: 0, bufferBytesMax: 2_048 });
    await producer.connect();
    cluster.hold();

    // Each message is ~512 bytes: four fill the buffer, the other six must wait for room.
    const value = "v".repeat(500);
    const sends = Array.from({ length: 10 }, (_, partition) =>
      producer!.send({ topic: "bounded", messages: [{ value, partition }] }),
    );
    await eventually(() => cluster.callsOf("Produce").length === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(cluster.producedPartitions()).toEqual([["bounded-0", "bounded-1", "bounded-2", "bounded-3"]]);
    expect(await isPending(sends[9])).toBe(true);

    cluster.release();
    await Promise.all(sends);
    const stored = Array.from(
      { length: 10 },
      (_, partition) => storedRecords(cluster, "bounded", partition).length,
    );
    expect(stored).toEqual(Array(10).fill(1));
  });

  it("does not make a send that waits for room also wait out the linger of one admitted before it", async () => {
    cluster = await startFake();
    cluster.createTopic("a", 1);
    cluster.createTopic("b", 1);
    // Every send is larger than the whole buffer, and batches would linger for a minute.
    producer = brookFor(cluster).producer({ acks: 1, lingerMs: 60_000, bufferBytesMax: 1_000 });
    await producer.connect();
    const big = "v".repeat(5_000);

    const sends = ["a", "b", "a"].map((topic) => producer!.send({ topic, messages: [{ value: big }] }));
    await Promise.race([
      Promise.all(sends),
      new Promise((_, reject) => setTimeout(() => reject(new Error("stalled behind a linger")), 2_000)),
    ]);
  });

  it("keeps call order when a send that waited for room is overtaken by one made as room frees", async () => {
    cluster = await startFake();
    cluster.createTopic("ordered", 1);
    producer = brookFor(cluster).producer({ acks: 1, lingerMs: 0, bufferBytesMax: 200 });
    await producer.connect();

    const big = "v".repeat(500);
    let third: Promise<unknown> | undefined;
    const first = producer.send({ topic: "ordered", messages: [{ value: big }] }).then(() => {
      // Runs as soon as the first send is acknowledged, before the waiting second send is appended.
      third = producer!.send({ topic: "ordered", messages: [{ value: "third" }] });
    });
    const second = producer.send({ topic: "ordered", messages: [{ value: "second" }] }); // waits for room
    await Promise.all([first, second]);
    await third;

    expect(storedRecords(cluster, "ordered", 0).map((record) => record.value?.slice(0, 6))).toEqual([
      "vvvvvv",
      "second",
      "third",
    ]);
  });

  it("keeps call order when a send that waited for metadata is overtaken by a later one", async () => {
    cluster = await startFake();
    cluster.createTopic("ordered", 1);
    producer = brookFor(cluster).producer({ acks: 1, lingerMs: 0 });

    const first = producer.send({ topic: "ordered", messages: [{ value: "first" }] }); // no metadata yet
    await producer.connect(); // shares the refresh the first send started
    await producer.send({ topic: "ordered", messages: [{ value: "second" }] });
    await first;

    expect(storedRecords(cluster, "ordered", 0).map((record) => record.value)).toEqual(["first", "second"]);
  });

  it("flush() sends lingering batches now; close() flushes and then refuses sends", async () => {
    cluster = await startFake();
    cluster.createTopic("done", 1);
    producer = brookFor(cluster).producer({ acks: 1, lingerMs: 60_000 });
    const first = producer.send({ topic: "done", messages: [{ value: "a" }] });
    await producer.flush();
    expect(await isPending(first)).toBe(false);

    const second = producer.send({ topic: "done", messages: [{ value: "b" }] });
    await producer.close();
    await second;
    expect(storedRecords(cluster, "done", 0).map((record) => record.value)).toEqual(["a", "b"]);
    await expect(producer.send({ topic: "done", messages: [{ value: "c" }] })).rejects.toMatchObject({
      code: "CLIENT_CLOSED",
    });
  });
});
