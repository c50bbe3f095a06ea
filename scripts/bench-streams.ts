// Brook Streams throughput against the running cluster (make up), all in one run (issue 18):
//   plain     the SDK's own consume → produce loop (a group member and an idempotent producer)
//   map       a topology mapValues → to, at least once and exactly once
//   count     groupByKey → count (a store and its changelog), at least once and exactly once
//   restore   a store restored from a changelog of RESTORE_KEYS distinct keys (default 1,000,000)
// Input: RECORDS (default 300,000) records of 100 bytes over 10,000 keys in a topic of 6 partitions, RF 3.
// A run's figure is input records / seconds from the application's start until its committed offsets
// reach the input's end. Prints one JSON line per run.
//   node --import tsx scripts/bench-streams.ts
import { Brook, type Consumer, silentLogger } from "@brook/client";
import { KafkaStreams, Materialized, type ProcessingGuarantee, Serdes, StreamsBuilder } from "@brook/streams";

const brokers = (process.env.BROOK_BOOTSTRAP ?? "127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292").split(",");
const records = Number(process.env.RECORDS ?? 300_000);
const restoreKeys = Number(process.env.RESTORE_KEYS ?? 1_000_000);
const partitions = 6;
const keys = 10_000;
const run = Date.now().toString(36);
const brook = new Brook({ brokers, clientId: "bench-streams", logger: silentLogger });
const admin = brook.admin();
const strings = { keySerde: Serdes.String(), valueSerde: Serdes.String() };

async function createTopic(topic: string): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 3 }] });
}

async function fill(topic: string, count: number, key: (i: number) => string, value: (i: number) => Buffer) {
  const producer = brook.producer({ lingerMs: 5, batchBytes: 256 * 1024 });
  const chunk = 5_000;
  for (let start = 0; start < count; start += chunk) {
    const messages = Array.from({ length: Math.min(chunk, count - start) }, (_, j) => ({
      key: key(start + j),
      value: value(start + j),
    }));
    await producer.send({ topic, messages });
  }
  await producer.close();
}

/** Waits until group `groupId` has committed the end of every partition of `topic`; returns when. */
async function committedToEnd(groupId: string, topic: string): Promise<number> {
  const ends = await admin.fetchTopicOffsets(topic);
  for (;;) {
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] }).catch(() => []);
    const done = ends.every(
      (end) => (committed.find((c) => c.partition === end.partition)?.offset ?? -1) >= end.high,
    );
    if (done) return performance.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function say(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function plainLoop(input: string): Promise<void> {
  const output = `bench-plain-out-${run}`;
  await createTopic(output);
  const groupId = `bench-plain-${run}`;
  const producer = brook.producer();
  const consumer: Consumer = brook.consumer({ groupId, fromBeginning: true, autoCommitIntervalMs: 1_000 });
  const startedMs = performance.now();
  await consumer.subscribe({ topics: [input] });
  const running = consumer.run({
    eachBatch: async ({ batch }) => {
      await producer.send({
        topic: output,
        messages: batch.messages.map((m) => ({
          key: m.key,
          value: m.value?.toString().toUpperCase() ?? null,
        })),
      });
    },
  });
  const doneMs = await committedToEnd(groupId, input);
  await consumer.close();
  await running;
  await producer.close();
  say({ run: "plain", records, recordsPerSecond: Math.round(records / ((doneMs - startedMs) / 1000)) });
}

async function streamsRun(
  input: string,
  kind: "map" | "count",
  guarantee: ProcessingGuarantee,
): Promise<void> {
  const output = `bench-${kind}-${guarantee}-out-${run}`;
  await createTopic(output);
  const applicationId = `bench-${kind}-${guarantee}-${run}`;
  const builder = new StreamsBuilder();
  const stream = builder.stream<string, string>(input, strings);
  if (kind === "map") stream.mapValues((value) => value.toUpperCase()).to(output, strings);
  else
    stream
      .groupByKey()
      .count(Materialized.as("counts"))
      .toStream()
      .to(output, { keySerde: Serdes.String(), valueSerde: Serdes.Int64() });
  const app = new KafkaStreams(builder.build(), {
    applicationId,
    brook,
    processingGuarantee: guarantee,
    commitIntervalMs: guarantee === "exactly_once" ? 100 : 1_000,
  });
  const startedMs = performance.now();
  await app.start();
  const doneMs = await committedToEnd(applicationId, input);
  await app.close();
  const seconds = (doneMs - startedMs) / 1000;
  say({ run: kind, guarantee, records, recordsPerSecond: Math.round(records / seconds) });
}

async function restoreRun(): Promise<void> {
  const input = `bench-restore-in-${run}`;
  await createTopic(input);
  const applicationId = `bench-restore-${run}`;
  const changelog = `${applicationId}-counts-changelog`;
  await admin.createTopics({
    topics: [
      {
        topic: changelog,
        numPartitions: partitions,
        replicationFactor: 3,
        configEntries: [{ name: "cleanup.policy", value: "compact" }],
      },
    ],
  });
  const eight = Buffer.alloc(8);
  eight.writeBigInt64BE(1n);
  await fill(
    changelog,
    restoreKeys,
    (i) => `key-${i}`,
    () => eight,
  );
  const builder = new StreamsBuilder();
  builder.stream<string, string>(input, strings).groupByKey().count(Materialized.as("counts"));
  const app = new KafkaStreams(builder.build(), { applicationId, brook });
  const startedMs = performance.now();
  await app.start();
  await app.waitUntilRunning(600_000);
  const seconds = (performance.now() - startedMs) / 1000;
  const entries = app.store("counts").approximateNumEntries();
  await app.close();
  say({
    run: "restore",
    keys: restoreKeys,
    entries,
    seconds: Number(seconds.toFixed(2)),
    recordsPerSecond: Math.round(restoreKeys / seconds),
  });
}

const input = `bench-streams-in-${run}`;
await createTopic(input);
const value = Buffer.alloc(100, "x").toString();
await fill(
  input,
  records,
  (i) => `key-${i % keys}`,
  () => Buffer.from(value),
);
await plainLoop(input);
for (const guarantee of ["at_least_once", "exactly_once"] as const) {
  await streamsRun(input, "map", guarantee);
  await streamsRun(input, "count", guarantee);
}
if (restoreKeys > 0) await restoreRun();
await admin.close();
