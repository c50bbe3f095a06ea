// What the security tests run beside their attacks: an acks=all producer, and a check that every record
// it was told was written can be read back.
import { randomBytes } from "node:crypto";
import type { Brook } from "@brook/client";
import { waitFor } from "./wait.js";

export const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** One partition, three copies, min.insync.replicas 2: what acks=all promises is two durable copies. */
export async function createGuardedTopic(brook: Brook, topic: string): Promise<void> {
  const admin = brook.admin();
  try {
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 1,
          replicationFactor: 3,
          configEntries: [{ name: "min.insync.replicas", value: "2" }],
        },
      ],
    });
  } finally {
    await admin.close();
  }
}

export interface Load {
  /** Stops the producer and reads the topic back: the acknowledged values that are missing. */
  lost(): Promise<string[]>;
}

/** Starts an idempotent acks=all producer and resolves once it is under way; `reader` reads back. */
export async function acksAllLoad(brook: Brook, topic: string, reader: Brook = brook): Promise<Load> {
  const producer = brook.producer({ acks: -1, idempotent: true });
  const acknowledged: string[] = [];
  let running = true;
  const done = (async () => {
    for (let i = 0; running && i < 5_000; i++) {
      const value = `v${i}-${randomBytes(3).toString("hex")}`;
      await producer.send({ topic, messages: [{ value }] });
      acknowledged.push(value);
    }
  })();
  await waitFor("the load to be under way", 10_000, async () =>
    acknowledged.length > 50 ? true : undefined,
  );
  return {
    async lost() {
      running = false;
      await done;
      await producer.close();
      const seen = await readAll(reader, topic, acknowledged.length);
      return acknowledged.filter((value) => !seen.has(value));
    },
  };
}

async function readAll(brook: Brook, topic: string, count: number): Promise<Set<string>> {
  const consumer = brook.consumer({
    groupId: `check-${randomBytes(4).toString("hex")}`,
    fromBeginning: true,
  });
  const seen = new Set<string>();
  await consumer.subscribe({ topics: [topic] });
  const running = consumer.run({
    eachMessage: async ({ message }) => {
      seen.add(String(message.value));
    },
  });
  await waitFor(`${count} records read back`, 30_000, async () => (seen.size >= count ? true : undefined));
  await consumer.close();
  await running;
  return seen;
}
