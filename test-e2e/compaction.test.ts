// Log compaction on three real nodes (issue 18): a topic with cleanup.policy=compact keeps the latest
// record per key once its segments are sealed and cleaned, on every replica, through a leader's SIGKILL;
// offsets of the surviving records do not move, a consumer reading from the start gets every key's
// latest value, and `brook topic describe` shows the policy and how dirty each partition is.
import { createRequire } from "node:module";
import { Brook, type ConsumedMessage, silentLogger } from "@brook/client";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./wait.js";

// kafkajs is CommonJS; what is checked is that a Kafka client walks thinned and filler batches.
const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require("kafkajs");

let cluster: Cluster;
let brook: Brook;

beforeAll(async () => {
  // A cleaner that looks every 200 ms, so the test does not wait out the default 15 s.
  cluster = await startCluster({ nodes: 3, env: { BROOK_LOG_CLEANER_INTERVAL_MS: "200" } });
  brook = new Brook({ brokers: cluster.bootstrap.split(","), logger: silentLogger });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

const keys = 20;
const rounds = 30;

/** Every record of the topic's one partition, from its start to `end`. */
async function readTo(topic: string, end: number): Promise<ConsumedMessage[]> {
  const consumer = brook.consumer({ maxWaitMs: 100 });
  await consumer.assign([{ topic, partition: 0, fromBeginning: true }]);
  const messages: ConsumedMessage[] = [];
  const stop = setTimeout(() => void consumer.stop(), 20_000);
  for await (const message of consumer) {
    messages.push(message);
    if (message.offset >= end - 1) break;
  }
  clearTimeout(stop);
  await consumer.close();
  return messages;
}

describe("log compaction", () => {
  it("keeps every key's latest record, on every replica, through a leader's death", async () => {
    const topic = "compacted";
    const admin = brook.admin();
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 1,
          replicationFactor: 3,
          configEntries: [
            { name: "cleanup.policy", value: "compact" },
            // Small segments, so most of the log is sealed and cleanable.
            { name: "segment.bytes", value: "4096" },
            { name: "min.cleanable.dirty.ratio", value: "0.01" },
          ],
        },
      ],
    });
    const producer = brook.producer();
    for (let round = 0; round < rounds; round++) {
      await producer.send({
        topic,
        messages: Array.from({ length: keys }, (_, k) => ({ key: `k${k}`, value: `r${round}-k${k}` })),
      });
    }
    // The last key is deleted: a tombstone (kept for delete.retention.ms, a day by default).
    await producer.send({ topic, messages: [{ key: `k${keys - 1}`, value: null }] });
    await producer.close();
    const end = rounds * keys + 1;

    const described = await waitFor("the cleaner to compact the partition", 30_000, async () => {
      const [description] = await admin.describeTopics({ topics: [topic] });
      const dirty = description.partitions[0].dirtyRatio;
      return dirty >= 0 && dirty < 0.5 ? description : undefined;
    });
    expect(described.partitions[0].logStartOffset).toBe(0);

    const latest = (messages: ConsumedMessage[]) => {
      const byKey = new Map<string, string | null>();
      for (const m of messages) byKey.set(m.key?.toString() ?? "", m.value?.toString() ?? null);
      return byKey;
    };
    const expected = new Map<string, string | null>(
      Array.from({ length: keys }, (_, k) => [`k${k}`, k === keys - 1 ? null : `r${rounds - 1}-k${k}`]),
    );
    const read = await readTo(topic, end);
    expect(read.length).toBeLessThan(end / 2); // compacted: far fewer records than were written
    expect(latest(read)).toEqual(expected);
    // Offsets never move: each surviving record is where it was written.
    for (const m of read) {
      const k = Number(m.key?.toString().slice(1));
      if (m.value !== null)
        expect(m.offset).toBe(Number(m.value.toString().split("-")[0].slice(1)) * keys + k);
    }

    // A Kafka client (kafkajs) walks the same log: thinned batches and fillers, to the end, without a loop.
    const kafka = new Kafka({ brokers: cluster.kafkaBootstrap.split(","), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: "compacted-reader", maxWaitTimeInMs: 100 });
    const seen = new Map<string, string | null>();
    let last = -1;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({
        message,
      }: {
        message: { key: Buffer; value: Buffer | null; offset: string };
      }) => {
        seen.set(message.key.toString(), message.value?.toString() ?? null);
        last = Number(message.offset);
      },
    });
    await waitFor(`kafkajs to read to the end (${end - 1})`, 20_000, async () =>
      last === end - 1 ? true : undefined,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; it reached offset ${last} with ${seen.size} keys`);
    });
    await consumer.disconnect();
    expect(seen).toEqual(expected);

    // Kill the leader: a follower, compacted on its own, takes over and serves the same latest values.
    const metadata = await admin.describeTopics({ topics: [topic] });
    const leader = cluster.nodes.find((n) => n.id === metadata[0].partitions[0].leader)!;
    await leader.kill();
    // Each replica cleans its own log, so the new leader's is compacted too (or soon is).
    const afterFailover = await waitFor("the new leader to serve its compacted log", 30_000, async () => {
      const messages = await readTo(topic, end).catch(() => undefined);
      const whole = messages !== undefined && messages.at(-1)?.offset === end - 1;
      return whole && messages.length < end / 2 ? messages : undefined;
    });
    expect(latest(afterFailover)).toEqual(expected);
    await leader.start();
    await admin.close();
  }, 120_000);
});
