// brook-mirror (MirrorMaker 2 for Brook) between two real 3-node clusters on one machine, run by a group
// of two `brook connect worker --exactly-once-source` processes on the target cluster, while records keep
// arriving on the source and, midway, the leader broker of a source partition and one mirror worker are
// SIGKILLed. It proves that:
// - the target's `source.orders`, read read_committed, holds every source record exactly once: same
//   partition, same order, same key, value (a per-partition sequence number), headers (a repeated one
//   too) and timestamp, and nothing else (no record of an aborted or repeated transaction shows);
// - the surviving worker takes the dead one's task over (its status moves) and the copy catches up;
// - a consumer group that read part of the source and committed is switched to the target: the
//   mirror's checkpoints commit its translated offsets there, and a consumer of the same group on the
//   target resumes at the translated offset and reads the rest without skipping a record (MirrorMaker 2
//   allows re-reading a few at the boundary; the test reports how many, and requires it to skip none);
// - the worker's GET /metrics has brook_connect_mirror_lag_records per mirrored partition, down to 0.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Brook, type ConsumedMessage, silentLogger } from "@brook/client";
import { type Cluster, type ConnectWorker, startCluster, startConnectWorker } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TopicReader } from "./connect-mirror/topic-reader.js";
import { type ConnectorStatus, rest, samples } from "./connect-mirror/workers.js";
import { waitFor, waitUntil } from "./wait.js";

const partitions = 3;
const topic = "orders";
const mirrored = `source.${topic}`;
const groupId = "billing";
/** Explicit record timestamps: an hour ago, then one ms per record of a partition (never append time). */
const baseTimestamp = Date.now() - 3_600_000;

let source: Cluster;
let target: Cluster;
let sourceBrook: Brook;
let targetBrook: Brook;
/** The workers' logs: removed after a pass, kept after a failure (or with MIRROR_E2E_KEEP_LOGS=1). */
const logDir = mkdtempSync(join(tmpdir(), "brook-e2e-mirror-"));
let failed = false;
const workers: ConnectWorker[] = [];

beforeAll(async () => {
  // Two clusters at once: each has its own root directory, ports, cluster id and controller quorum.
  const started = await Promise.allSettled([startCluster({ nodes: 3 }), startCluster({ nodes: 3 })]);
  const failures = started.flatMap((each) => (each.status === "rejected" ? [each.reason as unknown] : []));
  if (failures.length > 0) {
    // The cluster that did start is stopped, not left running without a handle.
    await Promise.all(started.map((each) => (each.status === "fulfilled" ? each.value.stop() : undefined)));
    throw failures[0];
  }
  [source, target] = started.map((each) => (each as PromiseFulfilledResult<Cluster>).value);
  sourceBrook = new Brook({ brokers: source.bootstrap.split(","), logger: silentLogger });
  targetBrook = new Brook({ brokers: target.bootstrap.split(","), logger: silentLogger });
}, 90_000);
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.kill()));
  await Promise.all([source?.stop(), target?.stop()]);
  if (failed || process.env.MIRROR_E2E_KEEP_LOGS) console.error(`worker logs kept in ${logDir}`);
  else rmSync(logDir, { recursive: true, force: true });
});

/** Record `seq` of a partition: a key, a value carrying the sequence number, three headers, a timestamp. */
function sourceRecord(partition: number, seq: number) {
  return {
    partition,
    key: `customer-${partition}-${seq % 17}`,
    value: JSON.stringify({ partition, seq }),
    headers: [
      { key: "seq", value: Buffer.from(String(seq)) },
      { key: "hop", value: Buffer.from("first") },
      { key: "hop", value: Buffer.from(`second-${seq}`) },
    ],
    timestamp: baseTimestamp + seq,
  };
}

const seqOf = (message: ConsumedMessage): number =>
  (JSON.parse(message.value!.toString()) as { seq: number }).seq;

const shape = ({ partition, key, value, headers, timestamp }: ConsumedMessage) => ({
  partition,
  key: key?.toString(),
  value: value?.toString(),
  headers: Object.entries(headers).map(([name, values]) => [
    name,
    (Array.isArray(values) ? values : [values]).map((each) => each?.toString()),
  ]),
  timestamp,
});

/** Produces rounds of `perRound` records to every partition until stopped; counts what each partition got. */
class Production {
  readonly sent = Array.from({ length: partitions }, () => 0);
  private stopped = false;
  private failure: unknown;
  private readonly running: Promise<void>;

  constructor(brook: Brook, perRound: number, roundMs: number) {
    const producer = brook.producer({ lingerMs: 5 });
    this.running = (async () => {
      try {
        while (!this.stopped) {
          const messages = [];
          for (let partition = 0; partition < partitions; partition++) {
            for (let i = 0; i < perRound; i++)
              messages.push(sourceRecord(partition, this.sent[partition] + i));
          }
          await producer.send({ topic, messages });
          for (let partition = 0; partition < partitions; partition++) this.sent[partition] += perRound;
          await sleep(roundMs);
        }
      } catch (error) {
        this.failure = error;
      } finally {
        await producer.close();
      }
    })();
  }

  total(): number {
    if (this.failure !== undefined) throw this.failure;
    return this.sent.reduce((sum, count) => sum + count, 0);
  }

  /** Waits (bounded) until `count` records in all were acknowledged. */
  reach(count: number, what: string): Promise<void> {
    return waitUntil(`${count} records produced (${what})`, 60_000, () => this.total() >= count, 50);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    this.total();
  }
}

/**
 * A member of the source group reads part of every partition while production goes on, commits where it
 * stopped, and leaves: the committed offset of each partition (the next record it would read).
 */
async function consumePartOfSource(atLeast: number): Promise<number[]> {
  const consumer = sourceBrook.consumer({ groupId, autoCommit: false, fromBeginning: true, maxWaitMs: 100 });
  await consumer.subscribe({ topic, fromBeginning: true });
  const next = Array.from({ length: partitions }, () => 0);
  const read = Array.from({ length: partitions }, () => 0);
  const giveUp = setTimeout(() => void consumer.stop(), 30_000);
  for await (const message of consumer) {
    next[message.partition] = message.offset + 1;
    read[message.partition]++;
    if (read.every((count) => count >= atLeast)) break;
  }
  clearTimeout(giveUp);
  expect(
    read.every((count) => count >= atLeast),
    `the ${groupId} group read ${read}`,
  ).toBe(true);
  await consumer.commit(next.map((offset, partition) => ({ topic, partition, offset })));
  await consumer.close();
  return next;
}

async function status(url: string): Promise<ConnectorStatus | undefined> {
  return rest<ConnectorStatus>(url, "GET", "/connectors/mirror/status").catch(() => undefined);
}

/** The problems of one partition's copy, by sequence number: missing, repeated or out of order. */
function sequenceProblems(expected: ConsumedMessage[], copy: ConsumedMessage[]): string[] {
  const problems: string[] = [];
  const seqs = copy.map(seqOf);
  const seen = new Set<number>();
  for (const [index, seq] of seqs.entries()) {
    if (seen.has(seq)) problems.push(`seq ${seq} repeated at ${index}`);
    else if (index > 0 && seq < seqs[index - 1]) problems.push(`seq ${seq} after ${seqs[index - 1]}`);
    seen.add(seq);
  }
  for (const message of expected)
    if (!seen.has(seqOf(message))) problems.push(`seq ${seqOf(message)} missing`);
  return problems.slice(0, 10);
}

describe("brook-mirror between two clusters", () => {
  it("copies every record exactly once through a source leader's and a worker's SIGKILL, and moves a group over", async () => {
    const sourceAdmin = sourceBrook.admin();
    const targetAdmin = targetBrook.admin();
    try {
      await sourceAdmin.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor: 3 }],
      });

      // Two workers of one group on the target cluster, exactly-once for sources.
      for (const index of [0, 1]) {
        workers.push(
          await startConnectWorker({
            bootstrap: target.bootstrap,
            group: "mirror-workers",
            logFile: join(logDir, `worker-${index}.log`),
            exactlyOnceSource: true,
          }),
        );
      }
      const urls = workers.map((worker) => worker.url);
      await rest(urls[0], "POST", "/connectors", {
        name: "mirror",
        config: {
          "connector.class": "brook-mirror",
          "tasks.max": "2",
          "source.bootstrap.servers": source.bootstrap,
          "source.cluster.alias": "source",
          topics: topic,
          "key.converter": "bytes",
          "value.converter": "bytes",
          "exactly.once.support": "required",
          "emit.checkpoints.interval.ms": "500",
          "refresh.topics.interval.ms": "1000",
        },
      });
      const started = await waitFor(
        "both mirror tasks to run, one on each worker",
        45_000,
        async () => {
          const now = await status(urls[0]);
          const running = now?.tasks.filter((task) => task.state === "RUNNING") ?? [];
          return running.length === 2 && new Set(running.map((task) => task.worker_id)).size === 2
            ? now
            : undefined;
        },
        250,
      );

      // Records keep arriving: 3 partitions x 10 records every ~100 ms.
      const production = new Production(sourceBrook, 10, 100);
      await production.reach(900, "before the group reads");
      const committed = await consumePartOfSource(150);

      // The leader of partition 0 of the source dies; the copy and production go on.
      await production.reach(1_500, "before the source leader dies");
      const [described] = await sourceAdmin.describeTopics({ topics: [topic] });
      const leader = source.nodes.find((node) => node.id === described!.partitions[0]!.leader)!;
      await leader.kill();

      // The worker that runs task 0 (the one that also emits checkpoints) dies.
      await production.reach(3_000, "after the source leader died");
      const task0Worker = ((await status(urls[0])) ?? started).tasks.find((task) => task.id === 0)!.worker_id;
      const victim = workers.find((_, index) => new URL(urls[index]).host === task0Worker)!;
      const survivorUrl = urls[workers.indexOf(victim) === 0 ? 1 : 0];
      await victim.kill();

      await production.reach(4_500, "after the worker died");
      await production.stop();
      const total = production.total();

      // The whole source, as it is: the truth the copy is checked against.
      const truth = await new TopicReader(sourceBrook, topic, partitions, "read_uncommitted").start();
      await waitUntil(
        "the source read to its end",
        30_000,
        async () => (await truth.atEnd()) && truth.count() >= total,
        100,
      );
      await truth.close();
      expect(truth.count()).toBe(total);
      for (let partition = 0; partition < partitions; partition++) {
        expect(truth.records[partition].map(seqOf)).toEqual(
          Array.from({ length: production.sent[partition] }, (_, seq) => seq),
        );
      }

      // The survivor runs both tasks, and the copy catches up.
      await waitFor(
        "the surviving worker to run both tasks",
        45_000,
        async () => {
          const now = await status(survivorUrl);
          const host = new URL(survivorUrl).host;
          return now?.tasks.every((task) => task.state === "RUNNING" && task.worker_id === host)
            ? now
            : undefined;
        },
        250,
      );
      await waitUntil("the mirrored topic to exist", 10_000, async () =>
        (await targetAdmin.listTopics()).includes(mirrored),
      );
      const copy = await new TopicReader(targetBrook, mirrored, partitions, "read_committed").start();
      try {
        await waitUntil(
          `the copy to catch up with the source's ${total} records`,
          90_000,
          () => copy.count() >= total,
          250,
        );
        // Lag metric: every mirrored partition reported, each down to 0.
        const lag = await waitFor(
          "brook_connect_mirror_lag_records at 0 on every partition",
          30_000,
          async () => {
            const page = await rest<string>(survivorUrl, "GET", "/metrics");
            const found = samples(page, "brook_connect_mirror_lag_records").filter(
              ({ labels }) => labels.connector === "mirror" && labels.topic === mirrored,
            );
            const byPartition = new Map(found.map(({ labels, value }) => [labels.partition, value]));
            return byPartition.size === partitions && [...byPartition.values()].every((value) => value === 0)
              ? page
              : undefined;
          },
          500,
        );
        expect(samples(lag, "brook_connect_mirror_records_total").length).toBeGreaterThan(0);
        // Read to the end (past any transaction still closing): anything repeated would be read by now.
        await waitUntil("the copy read to its end", 30_000, () => copy.atEnd(), 200);
      } finally {
        await copy.close();
      }
      for (let partition = 0; partition < partitions; partition++) {
        const expected = truth.records[partition];
        const got = copy.records[partition];
        expect(sequenceProblems(expected, got), `partition ${partition}`).toEqual([]);
        expect(got.length, `partition ${partition}`).toBe(expected.length);
        const mismatch = got.findIndex((message, index) => {
          const [a, b] = [shape(message), shape(expected[index])];
          return JSON.stringify(a) !== JSON.stringify(b);
        });
        if (mismatch >= 0) expect(shape(got[mismatch])).toEqual(shape(expected[mismatch]));
      }

      // Everything in the log, aborted transactions included: what the dead worker's open transaction left.
      const log = await new TopicReader(targetBrook, mirrored, partitions, "read_uncommitted").start();
      await waitUntil("the copy's whole log read", 30_000, () => log.atEnd(), 200);
      await log.close();
      const aborted = log.count() - total;
      expect(aborted).toBeGreaterThanOrEqual(0);

      // The group moves over: its offsets, translated by the mirror's checkpoints, are in the target ...
      const expectedAt = committed.map((offset, partition) => {
        const index = truth.records[partition].findIndex((message) => message.offset >= offset);
        return {
          seq: seqOf(truth.records[partition][index]!),
          offset: copy.records[partition][index]!.offset,
        };
      });
      const translated = await waitFor(
        `the ${groupId} group's translated offsets in the target`,
        30_000,
        async () => {
          const offsets = await targetAdmin.fetchOffsets({ groupId, topics: [mirrored] });
          const byPartition = offsets.filter(({ offset }) => offset >= 0);
          return byPartition.length === partitions
            ? byPartition.sort((a, b) => a.partition - b.partition).map(({ offset }) => offset)
            : undefined;
        },
        250,
      );
      for (const [partition, offset] of translated.entries()) {
        expect(offset, `partition ${partition} translated past the group's next record`).toBeLessThanOrEqual(
          expectedAt[partition]!.offset,
        );
      }

      // ... and a consumer of the group on the target starts there and reads the rest, skipping nothing.
      const resumed = targetBrook.consumer({
        groupId,
        autoCommit: false,
        isolationLevel: "read_committed",
        maxWaitMs: 100,
      });
      await resumed.subscribe({ topic: mirrored });
      const read: number[][] = Array.from({ length: partitions }, () => []);
      const last = production.sent.map((count) => count - 1);
      const giveUp = setTimeout(() => void resumed.stop(), 30_000);
      for await (const message of resumed) {
        read[message.partition].push(seqOf(message));
        if (read.every((seqs, partition) => seqs.at(-1) === last[partition])) break;
      }
      clearTimeout(giveUp);
      await resumed.close();
      const repeated: number[] = [];
      for (let partition = 0; partition < partitions; partition++) {
        const seqs = read[partition];
        const from = expectedAt[partition]!.seq;
        expect(
          seqs[0],
          `partition ${partition}: the first record the group reads on the target`,
        ).toBeLessThanOrEqual(from);
        expect(seqs, `partition ${partition}: the rest, in order`).toEqual(
          Array.from({ length: last[partition] - seqs[0]! + 1 }, (_, index) => seqs[0]! + index),
        );
        repeated.push(from - seqs[0]!);
      }
      console.info(
        `mirrored ${total} records (and ${aborted} of aborted transactions, left by the dead worker); the ${groupId} group resumed on the target at translated offsets ${translated} ` +
          `(exact: ${expectedAt.map(({ offset }) => offset)}), re-reading ${repeated} record(s) per partition`,
      );
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      await Promise.all([sourceAdmin.close(), targetAdmin.close()]);
    }
  }, 240_000);
});
