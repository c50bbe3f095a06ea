// brook-mirror's throughput and end-to-end lag between two local clusters (1 node each, started here),
// against the plain copy loop anyone would write with the SDK (a read_committed consumer on the source,
// an idempotent producer on the target, one send per fetched batch), all in one run (issue: connect).
//   throughput  RECORDS (default 100,000) records of 100 B already on a 3-partition source topic: records /
//               seconds from the copier's start (the loop's assign, the connector's creation on a worker
//               already up) until a read_committed consumer of the target has counted all of them.
//   lag         then RATE records/s (default 1,000) for LAG_SECONDS (default 10) more: a read_committed
//               consumer on the target measures now - the record's timestamp (kept by both copiers), p50,
//               p99 and max.
// The mirror runs in a `brook connect worker` process (CLI from dist/: `make build` first), once with
// --exactly-once-source (transactions every 200 ms) and once at least once. Prints one JSON line per run.
//   node --import tsx scripts/bench-mirror.ts
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Brook, type ConsumedMessage, silentLogger } from "@brook/client";
import { type Cluster, startCluster, startConnectWorker } from "@brook/testkit";
import { rest } from "../test-e2e/connect-mirror/workers.js";

const records = Number(process.env.RECORDS ?? 100_000);
const rate = Number(process.env.RATE ?? 1_000);
const lagSeconds = Number(process.env.LAG_SECONDS ?? 10);
const partitions = 3;
const value = Buffer.alloc(100, "v");

interface Copier {
  stop(): Promise<void>;
}

/** Counts the committed records of a topic from its beginning (the same yardstick for every copier). */
async function countCopies(
  target: Brook,
  topic: string,
): Promise<{ count(): number; stop(): Promise<void> }> {
  const consumer = target.consumer({ isolationLevel: "read_committed", fromBeginning: true, maxWaitMs: 50 });
  await consumer.assign([{ topic, fromBeginning: true }]);
  let count = 0;
  const running = consumer.run({
    eachBatch: async ({ batch }) => {
      count += batch.messages.length;
    },
  });
  return {
    count: () => count,
    stop: async () => {
      await consumer.stop();
      await running;
      await consumer.close();
    },
  };
}

function say(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function fill(brook: Brook, topic: string, count: number): Promise<void> {
  const producer = brook.producer({ lingerMs: 5, batchBytes: 256 * 1024 });
  for (let start = 0; start < count; start += 5_000) {
    const messages = Array.from({ length: Math.min(5_000, count - start) }, (_, i) => ({
      key: `k${(start + i) % 1_000}`,
      value,
    }));
    await producer.send({ topic, messages });
  }
  await producer.close();
}

/** Waits until `done` holds, polling every 100 ms, for at most `timeoutMs`. */
async function until(what: string, timeoutMs: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Produces RATE records/s for LAG_SECONDS while a target consumer times each copy's arrival. */
async function measureLag(source: Brook, target: Brook, sourceTopic: string, targetTopic: string) {
  const consumer = target.consumer({ isolationLevel: "read_committed", maxWaitMs: 50 });
  const admin = target.admin();
  const ends = await admin.fetchTopicOffsets(targetTopic);
  await admin.close();
  await consumer.assign(ends.map(({ partition, high }) => ({ topic: targetTopic, partition, offset: high })));
  const total = rate * lagSeconds;
  const lags: number[] = [];
  const reading = (async () => {
    for await (const message of consumer as AsyncIterable<ConsumedMessage>) {
      lags.push(Date.now() - message.timestamp);
      if (lags.length >= total) break;
    }
  })();
  const producer = source.producer({ lingerMs: 0 });
  const tickMs = 20;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const started = Date.now();
  for (let sent = 0; sent < total; ) {
    const messages = Array.from({ length: Math.min(perTick, total - sent) }, (_, i) => ({
      key: `k${(sent + i) % 1_000}`,
      value,
    }));
    void producer.send({ topic: sourceTopic, messages });
    sent += messages.length;
    const due = started + (sent / rate) * 1000;
    if (due > Date.now()) await sleep(due - Date.now());
  }
  await producer.close();
  const giveUp = setTimeout(() => void consumer.stop(), 60_000);
  await reading;
  clearTimeout(giveUp);
  await consumer.close();
  lags.sort((a, b) => a - b);
  const at = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] ?? Number.NaN;
  return { lagRecords: lags.length, lagP50Ms: at(0.5), lagP99Ms: at(0.99), lagMaxMs: lags.at(-1) };
}

/** The SDK's copy loop: every fetched batch sent to the same partition of the target, in order. */
async function copyLoop(source: Brook, target: Brook, from: string, to: string): Promise<Copier> {
  const consumer = source.consumer({ isolationLevel: "read_committed", fromBeginning: true, maxWaitMs: 50 });
  const producer = target.producer({ lingerMs: 5, batchBytes: 256 * 1024 });
  await consumer.assign([{ topic: from, fromBeginning: true }]);
  let failure: unknown;
  const running = consumer.run({
    eachBatch: async ({ batch }) => {
      const messages = batch.messages.map(({ key, value: bytes, headers, timestamp }) => ({
        partition: batch.partition,
        key,
        value: bytes,
        headers: Object.entries(headers).flatMap(([name, values]) =>
          (Array.isArray(values) ? values : [values]).map((each) => ({ key: name, value: each })),
        ),
        timestamp,
      }));
      if (failure !== undefined) throw failure;
      // Sent without waiting: the producer keeps each partition's order and pipelines the batches.
      producer.send({ topic: to, messages }).catch((error: unknown) => {
        failure ??= error;
      });
    },
  });
  return {
    stop: async () => {
      if (failure !== undefined) throw failure;
      await consumer.stop();
      await running;
      await Promise.all([consumer.close(), producer.close()]);
    },
  };
}

/** A worker process of its own, up before the clock starts; `start` creates the brook-mirror connector. */
async function mirror(sourceCluster: Cluster, targetCluster: Cluster, alias: string, exactlyOnce: boolean) {
  const worker = await startConnectWorker({
    bootstrap: targetCluster.bootstrap,
    group: `bench-${alias}`,
    logFile: join(tmpdir(), `bench-mirror-${alias}.log`),
    exactlyOnceSource: exactlyOnce,
  });
  const { url } = worker;
  const name = `mirror-${alias}`;
  return async (topic: string): Promise<Copier> => {
    await rest(url, "POST", "/connectors", {
      name,
      config: {
        "connector.class": "brook-mirror",
        "tasks.max": "1",
        "source.bootstrap.servers": sourceCluster.bootstrap,
        "source.cluster.alias": alias,
        topics: topic,
        "key.converter": "bytes",
        "value.converter": "bytes",
        "sync.group.offsets.enabled": "false",
      },
    });
    return {
      stop: async () => {
        // Deleted, so that the next worker of these internal topics does not take it up again.
        await rest(url, "DELETE", `/connectors/${name}`);
        await worker.stop();
      },
    };
  };
}

async function run(
  name: string,
  brooks: [Brook, Brook],
  targetTopic: string,
  start: (topic: string) => Promise<Copier>,
): Promise<void> {
  const [source, target] = brooks;
  const topic = `bench-${name}`;
  for (const [brook, each] of [
    [source, topic],
    [target, targetTopic],
  ] as const) {
    const admin = brook.admin();
    await admin.createTopics({ topics: [{ topic: each, numPartitions: partitions }] });
    await admin.close();
  }
  await fill(source, topic, records);
  const counter = await countCopies(target, targetTopic);
  const started = performance.now();
  const copier = await start(topic);
  await until(`${name} to copy ${records} records`, 300_000, async () => counter.count() >= records);
  const seconds = (performance.now() - started) / 1000;
  await counter.stop();
  const lag = await measureLag(source, target, topic, targetTopic);
  await copier.stop();
  say({
    run: name,
    records,
    recordBytes: value.length,
    seconds: Number(seconds.toFixed(2)),
    recordsPerSecond: Math.round(records / seconds),
    lagRate: rate,
    ...lag,
  });
}

const clusters = (await Promise.all([startCluster({ nodes: 1 }), startCluster({ nodes: 1 })])) as [
  Cluster,
  Cluster,
];
const brooks = clusters.map(
  (cluster) => new Brook({ brokers: cluster.bootstrap.split(","), logger: silentLogger }),
) as [Brook, Brook];
try {
  await run("loop", brooks, "copy.bench-loop", (topic) =>
    copyLoop(brooks[0], brooks[1], topic, "copy.bench-loop"),
  );
  // The target topics exist before the mirror starts (it keeps them), so that the counter can follow them.
  await run(
    "mirror-eos",
    brooks,
    "eos.bench-mirror-eos",
    await mirror(clusters[0], clusters[1], "eos", true),
  );
  await run(
    "mirror-alo",
    brooks,
    "alo.bench-mirror-alo",
    await mirror(clusters[0], clusters[1], "alo", false),
  );
} finally {
  await Promise.all(clusters.map((cluster) => cluster.stop()));
}
process.exit(0);
