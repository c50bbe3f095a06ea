// The drill's load and its two producers without a cluster: what the load writes down from each answer,
// how kafkajs's answers and errors become placements and failure codes, and the two rules that keep
// kafkajs's idempotent producer exact (kafka-producer.ts).
import { createRequire } from "node:module";
import type { RecordMetadata as BrookRecordMetadata } from "@brook/client";
import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  type RecordMetadata,
} from "kafkajs";
import { describe, expect, it } from "vitest";
import {
  KafkaLoadProducer,
  type KafkaSender,
  kafkaFailure,
  kafkaPlacements,
} from "../src/drill/kafka-producer.js";
import { OffsetLedger } from "../src/drill/ledger.js";
import { Load } from "../src/drill/load.js";
import { brookPlacements, type LoadClient, type LoadProducer, SendFailure } from "../src/drill/producer.js";
import type { Placement } from "../src/drill/records.js";

// How kafkajs itself turns a broker's error code into an error (its protocol/error.js).
const require = createRequire(import.meta.url);
const { createErrorFromCode } = require("kafkajs/src/protocol/error.js") as {
  createErrorFromCode(code: number): Error & { type: string };
};

/** A client whose producers answer each send with `answer`, and remember what they were sent. */
function fakeClient(answer: (partition: number, values: readonly string[]) => Promise<Placement[]>) {
  const sends: { partition: number; values: readonly string[] }[] = [];
  let closed = 0;
  const client: LoadClient = {
    kind: "kafka",
    producer: (): LoadProducer => ({
      send: (_topic, partition, values) => {
        sends.push({ partition, values });
        return answer(partition, values);
      },
      close: async () => {
        closed++;
      },
    }),
  };
  return { client, sends, closed: () => closed };
}

/** Answers as a log from `baseOffset` would: each batch after the one before. */
function appendFrom(baseOffset: number) {
  let next = baseOffset;
  return async (partition: number, values: readonly string[]): Promise<Placement[]> =>
    values.map(() => ({ partition, offset: next++ }));
}

function load(client: LoadClient, ledger = new OffsetLedger(), recordsMax = 20) {
  return new Load({
    client,
    topic: "t",
    partitions: [0],
    recordsPerSecond: 100_000,
    recordsPerSend: 10,
    recordsMax,
    valuePrefix: "x-",
    ledger,
  });
}

describe("load", () => {
  it("writes down each acknowledged value where its producer placed it, and says which client produced", async () => {
    const ledger = new OffsetLedger();
    const { client, sends, closed } = fakeClient(appendFrom(100));
    const subject = load(client, ledger);
    subject.start();
    await subject.finished();
    await subject.stop();
    expect(subject.client).toBe("kafka");
    expect(sends.map((s) => s.values.length)).toEqual([10, 10]);
    expect(subject.sent).toBe(20);
    expect(subject.acked.get("x-p1-0")).toEqual({ partition: 0, offset: 100 });
    expect(subject.acked.get("x-p1-19")).toEqual({ partition: 0, offset: 119 });
    expect(subject.malformedAcks).toBe(0);
    expect(closed()).toBe(1);
    // The ledger holds what the acknowledgements said: another value at an acknowledged offset conflicts.
    ledger.note(0, 119, "x-p1-5", "read");
    expect(ledger.conflicts).toBe(1);
  });

  it("counts failed records by the failure's code and keeps the first message of each", async () => {
    let n = 0;
    const { client } = fakeClient(async () => {
      n++;
      throw n === 1 ? new SendFailure("NOT_ENOUGH_REPLICAS", "isr too small") : new Error("boom");
    });
    const subject = load(client);
    subject.start();
    await subject.finished();
    await subject.stop();
    expect(Object.fromEntries(subject.failures)).toEqual({ NOT_ENOUGH_REPLICAS: 10, UNKNOWN: 10 });
    expect(subject.failureMessages.get("NOT_ENOUGH_REPLICAS")).toBe("isr too small");
    expect(subject.failureMessages.get("UNKNOWN")).toBe("Error: boom");
    expect(subject.acked.size).toBe(0);
  });

  it("an answer that does not account for every value, or names another partition, is malformed", async () => {
    let n = 0;
    const { client } = fakeClient(async (partition, values) => {
      n++;
      if (n === 1) return values.slice(0, 3).map((_, i) => ({ partition, offset: i }));
      return values.map((_, i) => ({ partition: partition + 1, offset: 10 + i }));
    });
    const subject = load(client);
    subject.start();
    await subject.finished();
    await subject.stop();
    expect(subject.malformedAcks).toBe(2);
    expect(subject.acked.size).toBe(13);
  });
});

describe("Brook's SDK answers", () => {
  it("runs of consecutive offsets per partition become one placement per value, in order", () => {
    const run = (baseOffset: number, recordCount: number) =>
      ({ partition: 2, baseOffset, recordCount }) as BrookRecordMetadata;
    expect(brookPlacements([run(7, 2), run(20, 1)], 3)).toEqual([
      { partition: 2, offset: 7 },
      { partition: 2, offset: 8 },
      { partition: 2, offset: 20 },
    ]);
    expect(brookPlacements([run(7, 5)], 2)).toHaveLength(2);
  });
});

describe("kafkajs answers and errors", () => {
  const answer = (partition: number, baseOffset: string | undefined): RecordMetadata => ({
    topicName: "t",
    partition,
    errorCode: 0,
    baseOffset,
  });

  it("the base offset, a string, places the batch's records one offset each", () => {
    expect(kafkaPlacements([answer(1, "5"), answer(3, "9007199254740")], 3, 2)).toEqual([
      { partition: 3, offset: 9007199254740 },
      { partition: 3, offset: 9007199254741 },
    ]);
  });

  it("no answer for the partition, or no usable offset (acks=0 answers -1), places nothing", () => {
    expect(kafkaPlacements([answer(1, "5")], 3, 2)).toEqual([]);
    expect(kafkaPlacements([answer(3, "-1")], 3, 2)).toEqual([]);
    expect(kafkaPlacements([answer(3, undefined)], 3, 2)).toEqual([]);
    expect(kafkaPlacements([answer(3, "12345678901234567890")], 3, 2)).toEqual([]);
  });

  it("a broker's error is named by its Kafka type, however deep kafkajs wrapped it", () => {
    const notEnough = createErrorFromCode(19);
    expect(kafkaFailure(notEnough)).toMatchObject({ code: "NOT_ENOUGH_REPLICAS" });
    const outOfOrder = createErrorFromCode(45);
    const bailed = new KafkaJSNonRetriableError(outOfOrder, { cause: outOfOrder } as never);
    expect(kafkaFailure(bailed)).toMatchObject({ code: "OUT_OF_ORDER_SEQUENCE_NUMBER" });
    const exhausted = new KafkaJSNumberOfRetriesExceeded(notEnough, { retryCount: 5, retryTime: 100 });
    expect(kafkaFailure(exhausted)).toMatchObject({
      code: "NOT_ENOUGH_REPLICAS",
      message: notEnough.message,
    });
  });

  it("without a Kafka error behind it, the innermost error's name is the code", () => {
    const refused = new KafkaJSConnectionError("Connection error: ECONNREFUSED");
    const exhausted = new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 100 });
    expect(kafkaFailure(exhausted)).toMatchObject({
      code: "KafkaJSConnectionError",
      message: "Connection error: ECONNREFUSED",
    });
    expect(kafkaFailure("odd")).toMatchObject({ code: "UNKNOWN", message: "odd" });
  });
});

/** kafkajs producers whose sends wait until the test settles them, in any order. */
function fakeKafka() {
  const pending: {
    producer: number;
    partition: number;
    values: string[];
    resolve(m: RecordMetadata[]): void;
    reject(e: Error): void;
  }[] = [];
  const made: { connects: number; disconnects: number }[] = [];
  const newProducer = (): KafkaSender => {
    const index = made.length;
    const counts = { connects: 0, disconnects: 0 };
    made.push(counts);
    return {
      connect: async () => {
        counts.connects++;
      },
      disconnect: async () => {
        counts.disconnects++;
      },
      send: (record) =>
        new Promise((resolve, reject) => {
          const partition = record.messages[0].partition ?? -1;
          const values = record.messages.map((m) => String(m.value));
          pending.push({ producer: index, partition, values, resolve, reject });
        }),
    };
  };
  return { newProducer, pending, made };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const answer = (partition: number, baseOffset: string): RecordMetadata[] => [
  { topicName: "t", partition, errorCode: 0, baseOffset },
];

describe("kafkajs load producer", () => {
  it("rule 1: a partition's next batch is sent only once the one before is answered, even when it failed", async () => {
    const kafka = fakeKafka();
    const producer = new KafkaLoadProducer(kafka.newProducer);
    const first = producer.send("t", 0, ["a"]);
    const second = producer.send("t", 0, ["b"]);
    const other = producer.send("t", 1, ["c"]);
    await settle();
    // Partition 1 does not wait for partition 0; partition 0's second batch does.
    expect(kafka.pending.map((p) => p.values)).toEqual([["a"], ["c"]]);
    kafka.pending[0].reject(createErrorFromCode(45));
    await expect(first).rejects.toMatchObject({ code: "OUT_OF_ORDER_SEQUENCE_NUMBER" });
    await settle();
    expect(kafka.pending.map((p) => p.values)).toEqual([["a"], ["c"], ["b"]]);
    kafka.pending[2].resolve(answer(0, "4"));
    kafka.pending[1].resolve(answer(1, "0"));
    expect(await second).toEqual([{ partition: 0, offset: 4 }]);
    expect(await other).toEqual([{ partition: 1, offset: 0 }]);
    await producer.close();
  });

  it("rule 2: after a send fails for good, new batches go to a new kafkajs producer; the old one is let go once idle", async () => {
    const kafka = fakeKafka();
    const producer = new KafkaLoadProducer(kafka.newProducer);
    const failing = producer.send("t", 0, ["a"]);
    const inFlight = producer.send("t", 1, ["b"]);
    await settle();
    // As kafkajs bails on a refused connection: the connection error wrapped as its cause.
    const refused = new KafkaJSConnectionError("ECONNREFUSED");
    kafka.pending[0].reject(new KafkaJSNonRetriableError(refused, { cause: refused } as never));
    await expect(failing).rejects.toMatchObject({ code: "KafkaJSConnectionError" });
    const next = producer.send("t", 0, ["c"]);
    await settle();
    expect(kafka.pending.map((p) => [p.producer, ...p.values])).toEqual([
      [0, "a"],
      [0, "b"],
      [1, "c"],
    ]);
    // The first producer still has partition 1's batch in flight: it is disconnected after that one.
    expect(kafka.made[0].disconnects).toBe(0);
    kafka.pending[1].resolve(answer(1, "7"));
    expect(await inFlight).toEqual([{ partition: 1, offset: 7 }]);
    expect(kafka.made[0].disconnects).toBe(1);
    kafka.pending[2].resolve(answer(0, "3"));
    expect(await next).toEqual([{ partition: 0, offset: 3 }]);
    await producer.close();
    expect(kafka.made.map((m) => [m.connects, m.disconnects])).toEqual([
      [1, 1],
      [1, 1],
    ]);
  });

  it("a failed connect fails the send, and the next send connects a new producer", async () => {
    let attempts = 0;
    const producer = new KafkaLoadProducer(() => ({
      connect: async () => {
        attempts++;
        if (attempts === 1) throw new KafkaJSConnectionError("Connection error: ECONNREFUSED");
      },
      disconnect: async () => {},
      send: async () => answer(0, "0"),
    }));
    await expect(producer.send("t", 0, ["a"])).rejects.toBeInstanceOf(SendFailure);
    expect(await producer.send("t", 0, ["b"])).toEqual([{ partition: 0, offset: 0 }]);
    expect(attempts).toBe(2);
    await producer.close();
  });
});
