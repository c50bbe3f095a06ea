// Kafka clients' transactions against a three-node Brook cluster (issue 17): kafkajs 2.2.4's transactional
// producer and read_committed consumer, and kcat (librdkafka reads read_committed by default), judge the
// transaction coordinator, the markers, the last stable offset and the aborted-transaction lists.
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { Brook } from "@brook/client";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onPath } from "./on-path.js";
import { waitFor } from "./wait.js";

// kafkajs is CommonJS; its types are loose, and what is checked here is the wire, not its typings.
const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require("kafkajs");

const kcat = onPath("kcat");
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

let cluster: Cluster;
let brook: Brook;
// biome-ignore lint/suspicious/noExplicitAny: kafkajs's client, used as any real application would
let kafka: any;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
  brook = new Brook({ brokers: cluster.bootstrap.split(","), logger: quiet });
  kafka = new Kafka({
    brokers: cluster.kafkaBootstrap.split(","),
    clientId: "e2e-txn",
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100 },
  });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

async function createTopic(name: string, partitions: number): Promise<void> {
  const admin = brook.admin();
  await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 3 }] });
  await admin.close();
}

/** Every record value a kafkajs consumer of `isolation` reads from `topic`, until `count` arrive. */
async function consumeValues(topic: string, count: number, readUncommitted: boolean): Promise<string[]> {
  const consumer = kafka.consumer({
    groupId: `read-${topic}-${readUncommitted ? "uncommitted" : "committed"}-${Date.now()}`,
    readUncommitted,
    maxWaitTimeInMs: 100,
  });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }: { message: { value: Buffer } }) => {
        values.push(message.value.toString());
      },
    });
    await waitFor(`${count} records from ${topic}`, 30_000, async () =>
      values.length >= count ? true : undefined,
    );
    // Anything past `count` (an aborted record leaking through) would arrive within a few fetches.
    await new Promise((resolve) => setTimeout(resolve, 500));
    return values;
  } finally {
    await consumer.disconnect();
  }
}

describe("kafkajs transactions", () => {
  it("a committed transaction is read whole, an aborted one never is, by a read_committed consumer", async () => {
    await createTopic("tx-out-a", 2);
    await createTopic("tx-out-b", 1);
    const producer = kafka.producer({
      transactionalId: "e2e-atomic",
      maxInFlightRequests: 1,
      idempotent: true,
    });
    await producer.connect();
    try {
      const committed = await producer.transaction();
      await committed.send({
        topic: "tx-out-a",
        messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `committed-a-${i}` })),
      });
      await committed.send({
        topic: "tx-out-b",
        messages: Array.from({ length: 10 }, (_, i) => ({ value: `committed-b-${i}` })),
      });
      await committed.commit();

      const aborted = await producer.transaction();
      await aborted.send({
        topic: "tx-out-a",
        messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `aborted-a-${i}` })),
      });
      await aborted.send({ topic: "tx-out-b", messages: [{ value: "aborted-b" }] });
      await aborted.abort();

      const last = await producer.transaction();
      await last.send({ topic: "tx-out-b", messages: [{ value: "committed-b-last" }] });
      await last.commit();
    } finally {
      await producer.disconnect();
    }

    const committedA = await consumeValues("tx-out-a", 20, false);
    expect(committedA.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `committed-a-${i}`).sort());
    const committedB = await consumeValues("tx-out-b", 11, false);
    expect(committedB).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `committed-b-${i}`),
      "committed-b-last",
    ]);

    // read_uncommitted sees the aborted records too, but never a control record.
    const everything = await consumeValues("tx-out-b", 12, true);
    expect(everything).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `committed-b-${i}`),
      "aborted-b",
      "committed-b-last",
    ]);
  });

  it("consume-transform-produce: output and the group's offsets commit together, exactly once", async () => {
    await createTopic("ctp-in", 2);
    await createTopic("ctp-out", 2);
    const input = brook.producer();
    await input.send({
      topic: "ctp-in",
      messages: Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: String(i) })),
    });
    await input.close();

    const groupId = "ctp-group";
    const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
    const producer = kafka.producer({ transactionalId: "e2e-ctp", maxInFlightRequests: 1, idempotent: true });
    await Promise.all([consumer.connect(), producer.connect()]);
    let processed = 0;
    try {
      await consumer.subscribe({ topic: "ctp-in", fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({
          batch,
        }: {
          batch: { topic: string; partition: number; messages: { offset: string; value: Buffer }[] };
        }) => {
          if (batch.messages.length === 0) return;
          const txn = await producer.transaction();
          try {
            await txn.send({
              topic: "ctp-out",
              messages: batch.messages.map((m) => ({ value: String(Number(m.value.toString()) * 2) })),
            });
            const next = Number(batch.messages[batch.messages.length - 1].offset) + 1;
            await txn.sendOffsets({
              consumerGroupId: groupId,
              topics: [
                { topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(next) }] },
              ],
            });
            await txn.commit();
            processed += batch.messages.length;
          } catch (error) {
            await txn.abort();
            throw error;
          }
        },
      });
      await waitFor("every input record processed", 30_000, async () =>
        processed >= 100 ? true : undefined,
      );
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }

    const out = await consumeValues("ctp-out", 100, false);
    expect(out.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i * 2));
    // The group's offsets were committed by the transactions, not by the consumer.
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchOffsets({ groupId, topics: ["ctp-in"] });
      const total = offsets[0].partitions.reduce(
        (sum: number, p: { offset: string }) => sum + Number(p.offset),
        0,
      );
      expect(total).toBe(100);
    } finally {
      await admin.disconnect();
    }
  });

  it("a second producer with the same transactional id fences the first, and its open transaction is aborted", async () => {
    await createTopic("tx-fence", 1);
    const first = kafka.producer({ transactionalId: "e2e-fence", maxInFlightRequests: 1, idempotent: true });
    await first.connect();
    const open = await first.transaction();
    await open.send({ topic: "tx-fence", messages: [{ value: "zombie" }] });

    const second = kafka.producer({ transactionalId: "e2e-fence", maxInFlightRequests: 1, idempotent: true });
    await second.connect();
    try {
      // kafkajs asks for the transactional id's epoch at its first transaction, not at connect(): that
      // InitProducerId bumps the epoch, aborts the open transaction, and fences the first producer.
      const txn = await second.transaction();
      await expect(open.commit()).rejects.toThrow(/fenced|epoch/i);
      await txn.send({ topic: "tx-fence", messages: [{ value: "survivor" }] });
      await txn.commit();
    } finally {
      await first.disconnect().catch(() => undefined);
      await second.disconnect();
    }
    expect(await consumeValues("tx-fence", 1, false)).toEqual(["survivor"]);
  });

  it.skipIf(!kcat)("kcat (librdkafka, read_committed by default) reads only committed records", async () => {
    await createTopic("tx-kcat", 1);
    const producer = kafka.producer({
      transactionalId: "e2e-kcat",
      maxInFlightRequests: 1,
      idempotent: true,
    });
    await producer.connect();
    try {
      for (const [outcome, value] of [
        ["commit", "one"],
        ["abort", "never"],
        ["commit", "two"],
      ] as const) {
        const txn = await producer.transaction();
        await txn.send({ topic: "tx-kcat", messages: [{ value }] });
        await (outcome === "commit" ? txn.commit() : txn.abort());
      }
    } finally {
      await producer.disconnect();
    }
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        "kcat",
        ["-b", cluster.kafkaBootstrap, "-C", "-t", "tx-kcat", "-o", "beginning", "-e", "-q"],
        { timeout: 30_000 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );
    expect(out.trim().split("\n")).toEqual(["one", "two"]);
  });
});
