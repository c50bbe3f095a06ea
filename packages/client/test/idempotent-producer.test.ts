// The idempotent producer (on by default): it asks for a producer id before its first batch, numbers each
// partition's batches, resends a retried batch byte for byte so the leader can recognise it, keeps one
// batch of a partition in flight so retries cannot reorder, and starts over under a new producer id when a
// batch fails for good. Checked against the fake cluster, which answers a repeated batch with its offsets.
import {
  type BatchHeader,
  type ProduceRequest__Output,
  readBatchHeader,
  splitBatches,
} from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { Producer } from "../src/index.js";
import type { FakeCluster } from "./fake-cluster.js";
import { brookFor, eventually, startFake, storedRecords } from "./helpers.js";

let cluster: FakeCluster;
let producer: Producer | undefined;

afterEach(async () => {
  await producer?.close().catch(() => {});
  producer = undefined;
  await cluster?.stop();
});

/** Producer id, epoch and base sequence of each batch the fake stored for a partition. */
function stamps(topic: string, partition: number) {
  return cluster.partition(topic, partition)!.batches.map(({ bytes }) => {
    const { producerId, producerEpoch, baseSequence } = readBatchHeader(bytes);
    return { producerId, producerEpoch, baseSequence };
  });
}

/** Per Produce request: for each partition it carried, the batch headers in it. */
function requestBatches(): Map<string, BatchHeader[]>[] {
  return cluster.callsOf("Produce").map(({ request }) => {
    const parts = new Map<string, BatchHeader[]>();
    for (const { topic, partitions } of (request as ProduceRequest__Output).topics) {
      for (const { partition, records } of partitions)
        parts.set(`${topic}-${partition}`, splitBatches(records));
    }
    return parts;
  });
}

/** The records bytes each Produce request carried for one partition. */
function sentBytes(key: string): Buffer[] {
  return cluster
    .callsOf("Produce")
    .flatMap(({ request }) =>
      (request as ProduceRequest__Output).topics.flatMap(({ topic, partitions }) =>
        partitions.filter(({ partition }) => `${topic}-${partition}` === key).map(({ records }) => records),
      ),
    );
}

describe("idempotent producer: numbering", () => {
  it("is on by default: asks for a producer id once, at the first send, and numbers each partition from 0", async () => {
    cluster = await startFake();
    cluster.createTopic("events", 2);
    producer = brookFor(cluster).producer({ lingerMs: 0 });
    await producer.connect();
    expect(cluster.callsOf("InitProducerId")).toHaveLength(0);

    await producer.send({
      topic: "events",
      messages: [
        { value: "a", partition: 0 },
        { value: "b", partition: 0 },
      ],
    });
    await producer.send({ topic: "events", messages: [{ value: "c", partition: 1 }] });
    await producer.send({
      topic: "events",
      messages: [
        { value: "d", partition: 0 },
        { value: "e", partition: 0 },
      ],
    });
    await producer.send({ topic: "events", messages: [{ value: "f", partition: 0 }] });

    expect(cluster.callsOf("InitProducerId")).toHaveLength(1);
    expect(stamps("events", 0)).toEqual([
      { producerId: 1_000, producerEpoch: 0, baseSequence: 0 },
      { producerId: 1_000, producerEpoch: 0, baseSequence: 2 },
      { producerId: 1_000, producerEpoch: 0, baseSequence: 4 },
    ]);
    expect(stamps("events", 1)).toEqual([{ producerId: 1_000, producerEpoch: 0, baseSequence: 0 }]);
  });

  it("puts at most five new batches of a partition in a request, while partitions share requests", async () => {
    cluster = await startFake();
    cluster.createTopic("events", 2);
    // ~112 bytes a record: one record a batch, twelve batches a partition, all closed before the first send.
    producer = brookFor(cluster).producer({ lingerMs: 20, batchBytes: 200 });
    await producer.connect();
    const messages = Array.from({ length: 24 }, (_, i) => ({
      value: `${i}`.padEnd(100, "."),
      partition: i % 2,
    }));

    await producer.send({ topic: "events", messages });

    const requests = requestBatches();
    expect(requests.map((parts) => [...parts.values()].map((batches) => batches.length))).toEqual([
      [5, 5],
      [5, 5],
      [2, 2],
    ]);
    for (const partition of [0, 1]) {
      const values = storedRecords(cluster, "events", partition).map((record) => record.value?.split(".")[0]);
      expect(values).toEqual(
        messages.filter((m) => m.partition === partition).map((m) => m.value.split(".")[0]),
      );
    }
  });
});

describe("idempotent producer: retries", () => {
  it("resends a batch whose answer was lost byte for byte, and the leader does not write it twice", async () => {
    cluster = await startFake();
    cluster.createTopic("events", 1);
    producer = brookFor(cluster).producer({ lingerMs: 0 });
    await producer.send({ topic: "events", messages: [{ value: "a" }] });
    cluster.lostAnswers.set("events-0", ["REQUEST_TIMED_OUT", "REQUEST_TIMED_OUT"]);

    const [metadata] = await producer.send({ topic: "events", messages: [{ value: "b" }, { value: "c" }] });

    expect(metadata.baseOffset).toBe(1);
    expect(storedRecords(cluster, "events", 0).map((record) => record.value)).toEqual(["a", "b", "c"]);
    const [, ...attempts] = sentBytes("events-0");
    expect(attempts).toHaveLength(3);
    expect(attempts.every((bytes) => bytes.equals(attempts[0]))).toBe(true);
  });

  it("retries a request of five batches whose answer was lost one batch at a time, each with its own offsets", async () => {
    cluster = await startFake();
    cluster.createTopic("events", 1);
    producer = brookFor(cluster).producer({ lingerMs: 20, batchBytes: 200 });
    await producer.connect();
    cluster.lostAnswers.set("events-0", ["REQUEST_TIMED_OUT"]);
    const values = Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(100, "."));

    const results = await Promise.all(
      values.map((value) => producer!.send({ topic: "events", messages: [{ value }] })),
    );

    // The five come back one by one, each answered as a duplicate with its own offsets; then five new ones.
    expect(requestBatches().map((parts) => parts.get("events-0")?.length)).toEqual([5, 1, 1, 1, 1, 1, 5]);
    expect(storedRecords(cluster, "events", 0).map((record) => record.value)).toEqual(values);
    expect(results.map(([metadata]) => metadata.baseOffset)).toEqual(values.map((_, i) => i));
  });

  it("keeps order and writes each record once when many batches meet lost answers", async () => {
    cluster = await startFake();
    cluster.createTopic("events", 1);
    producer = brookFor(cluster).producer({ lingerMs: 0, batchBytes: 150 });
    await producer.connect();
    cluster.lostAnswers.set("events-0", ["REQUEST_TIMED_OUT", "NOT_ENOUGH_REPLICAS", "REQUEST_TIMED_OUT"]);
    const values = Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(60, "."));

    const sends = values.map((value) => producer!.send({ topic: "events", messages: [{ value }] }));
    const offsets = (await Promise.all(sends)).map(([metadata]) => metadata.baseOffset);

    expect(storedRecords(cluster, "events", 0).map((record) => record.value)).toEqual(values);
    expect(offsets).toEqual(values.map((_, i) => i));
  });

  it("a retry that reaches a new leader after a leader change is still recognised", async () => {
    cluster = await startFake(2);
    cluster.createTopic("moving", 1, () => 1);
    producer = brookFor(cluster, {
      retry: { retries: 5, initialRetryTimeMs: 200, maxRetryTimeMs: 200, jitterFactor: 0 },
    }).producer({ lingerMs: 0 });
    await producer.send({ topic: "moving", messages: [{ value: "first" }] });
    cluster.lostAnswers.set("moving-0", ["REQUEST_TIMED_OUT"]); // broker 1 writes it; the answer is lost

    const sent = producer.send({ topic: "moving", messages: [{ value: "second" }] });
    await eventually(() => cluster.callsOf("Produce").length === 2);
    cluster.moveLeader("moving", 0, 2); // the log (and the producer state in it) moves with leadership
    const [metadata] = await sent;

    expect(metadata.baseOffset).toBe(1);
    expect(cluster.callsOf("Produce").at(-1)?.brokerId).toBe(2);
    expect(storedRecords(cluster, "moving", 0).map((record) => record.value)).toEqual(["first", "second"]);
  });
});

describe("idempotent producer: starting over", () => {
  it("fails a batch refused as OUT_OF_ORDER_SEQUENCE_NUMBER, then numbers from 0 under a new producer id", async () => {
    cluster = await startFake();
    cluster.createTopic("events", 1);
    producer = brookFor(cluster).producer({ lingerMs: 0 });
    await producer.send({ topic: "events", messages: [{ value: "a" }] });
    cluster.produceErrors.set("events-0", ["OUT_OF_ORDER_SEQUENCE_NUMBER"]);

    await expect(producer.send({ topic: "events", messages: [{ value: "b" }] })).rejects.toMatchObject({
      code: "OUT_OF_ORDER_SEQUENCE_NUMBER",
    });
    expect(cluster.callsOf("Produce")).toHaveLength(2); // not retried: resending meets the same gap
    await producer.send({ topic: "events", messages: [{ value: "c" }] });

    expect(cluster.callsOf("InitProducerId")).toHaveLength(2);
    expect(stamps("events", 0)).toEqual([
      { producerId: 1_000, producerEpoch: 0, baseSequence: 0 },
      { producerId: 1_001, producerEpoch: 0, baseSequence: 0 },
    ]);
  });

  it("after a batch runs out of retries, the next batch of its partition leaves no gap: new id, sequence 0", async () => {
    cluster = await startFake();
    cluster.createTopic("events", 1);
    producer = brookFor(cluster, {
      retry: { retries: 1, initialRetryTimeMs: 1, maxRetryTimeMs: 5 },
    }).producer({
      lingerMs: 0,
    });
    await producer.send({ topic: "events", messages: [{ value: "a" }] });
    cluster.produceErrors.set("events-0", ["NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS"]);

    await expect(producer.send({ topic: "events", messages: [{ value: "b" }] })).rejects.toMatchObject({
      code: "NOT_ENOUGH_REPLICAS",
    });
    await producer.send({ topic: "events", messages: [{ value: "c" }] });

    expect(storedRecords(cluster, "events", 0).map((record) => record.value)).toEqual(["a", "c"]);
    expect(stamps("events", 0).map(({ producerId, baseSequence }) => [producerId, baseSequence])).toEqual([
      [1_000, 0],
      [1_001, 0],
    ]);
  });

  it("sends no new batch in the drain where another batch failed for good and cost the producer its id", async () => {
    cluster = await startFake();
    cluster.createTopic("gone", 1);
    cluster.createTopic("stays", 2);
    producer = brookFor(cluster, {
      retry: { retries: 3, initialRetryTimeMs: 300, maxRetryTimeMs: 300, jitterFactor: 0 },
    }).producer({ lingerMs: 200 });
    cluster.lostAnswers.set("gone-0", ["REQUEST_TIMED_OUT"]);
    cluster.lostAnswers.set("stays-0", ["REQUEST_TIMED_OUT"]);

    // One request, two lost answers: both retries come due in the same drain, 300 ms later.
    const gone = producer.send({ topic: "gone", messages: [{ value: "g" }] }).catch((error) => error.code);
    const stays = producer.send({ topic: "stays", messages: [{ value: "s0", partition: 0 }] });
    await eventually(() => cluster.callsOf("Produce").length === 1);
    cluster.topics.delete("gone");
    await producer.connect(); // fresh metadata: "gone" is now UNKNOWN_TOPIC
    await new Promise((resolve) => setTimeout(resolve, 150));
    // Still lingering when the retries come due, so it goes along with stays-0's retry: a new batch.
    const fresh = producer.send({ topic: "stays", messages: [{ value: "s1", partition: 1 }] });

    expect(await gone).toBe("UNKNOWN_TOPIC");
    await Promise.all([stays, fresh]);
    expect(cluster.callsOf("InitProducerId")).toHaveLength(2);
    expect(stamps("stays", 1)).toEqual([{ producerId: 1_001, producerEpoch: 0, baseSequence: 0 }]);
  });

  it("retries InitProducerId when it may help; fails the waiting sends when it cannot, and asks again later", async () => {
    cluster = await startFake();
    cluster.createTopic("events", 1);
    producer = brookFor(cluster).producer({ lingerMs: 0 });
    cluster.callErrors.set("InitProducerId", ["BROKER_NOT_AVAILABLE"]);
    await producer.send({ topic: "events", messages: [{ value: "a" }] });
    expect(cluster.callsOf("InitProducerId")).toHaveLength(2);

    const other = brookFor(cluster).producer({ lingerMs: 0 });
    cluster.callErrors.set("InitProducerId", ["INVALID_REQUEST"]);
    await expect(other.send({ topic: "events", messages: [{ value: "b" }] })).rejects.toMatchObject({
      code: "INVALID_REQUEST",
    });
    await other.send({ topic: "events", messages: [{ value: "c" }] });
    await other.close();
    expect(storedRecords(cluster, "events", 0).map((record) => record.value)).toEqual(["a", "c"]);
  });
});

describe("idempotent producer: configuration", () => {
  it("is off when acks 0 or 1 is given, or idempotent: false: no producer id, batches unnumbered", async () => {
    cluster = await startFake();
    cluster.createTopic("events", 1);
    for (const options of [{ acks: 1 as const }, { acks: "all" as const, idempotent: false }]) {
      const plain = brookFor(cluster).producer({ ...options, lingerMs: 0 });
      await plain.send({ topic: "events", messages: [{ value: "x" }] });
      await plain.close();
    }
    expect(cluster.callsOf("InitProducerId")).toHaveLength(0);
    expect(stamps("events", 0).map(({ producerId, baseSequence }) => [producerId, baseSequence])).toEqual([
      [-1, -1],
      [-1, -1],
    ]);
  });

  it("refuses idempotent: true with acks 0 or 1 (INVALID_CONFIG), as KafkaJS does", async () => {
    cluster = await startFake();
    const brook = brookFor(cluster);
    for (const acks of [0, 1] as const) {
      expect(() => brook.producer({ idempotent: true, acks })).toThrow(/INVALID_CONFIG.*acks -1/);
    }
  });
});
