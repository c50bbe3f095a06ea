// One kafkajs consumer group member as its own process, so a test can SIGKILL it mid-stream: it joins
// GROUP on TOPIC through BOOTSTRAP (Kafka listeners) and prints one JSON line per record and per
// assignment change on stdout. Plain JavaScript: it runs under node directly, as a Kafka user's app would.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require("kafkajs");

const { BOOTSTRAP, GROUP, TOPIC, NAME } = process.env;
const kafka = new Kafka({ brokers: BOOTSTRAP.split(","), clientId: NAME, logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({
  groupId: GROUP,
  sessionTimeout: 6_000,
  heartbeatInterval: 500,
  rebalanceTimeout: 10_000,
  maxWaitTimeInMs: 200,
});
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
  const partitions = payload.memberAssignment[TOPIC] ?? [];
  say({ kind: "assigned", name: NAME, partitions });
});
await consumer.connect();
await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
await consumer.run({
  autoCommitInterval: 200,
  eachMessage: async ({ partition, message }) => {
    say({
      kind: "record",
      name: NAME,
      partition,
      offset: Number(message.offset),
      value: message.value.toString(),
    });
  },
});
const stop = () => consumer.disconnect().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
