// `brook bench produce|consume|echo`: measured throughput and latency.
// `echo` is the baseline: the same batch bytes through a bare grpc-js
// round trip on this machine, with no Brook code on either side, so the
// figures for produce and consume can be read against what the transport
// alone costs in the same run.

import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { ConsumedMessage, IsolationLevel, Message, Producer, RecordMetadata } from "@brook/client";
import { BrookError, encodeRecordBatch } from "@brook/protocol";
import { Command, Option } from "@commander-js/extra-typings";
import * as grpc from "@grpc/grpc-js";
import { BenchStats, nowUs, type Progress, pace, printSummary, progressBar } from "../bench-stats.js";
import { type AnyCommand, connect, parseInteger, withAdmin } from "../connect.js";
import { echoChannelOptions, echoMethod } from "../echo-server.js";
import { printJson } from "../output.js";
import { onStopRequest } from "../signals.js";
import { benchEndToEnd } from "./bench-e2e.js";
import { benchTransactions } from "./bench-transactions.js";
import { acksOption, compressionNames, toAcks } from "./produce.js";

/** Records per send() call; each call's latency is counted for its records. */
const recordsPerSend = 100;
/** A record's framing in a batch beyond its value (varints, attributes, deltas), rounded up. */
const recordOverheadBytes = 20;
/** send() calls in flight; the producer's own buffer bound applies as well. */
const sendsInFlightMax = 256;

const commonOptions = (command: Command<[], Record<string, never>>, topicHelp: string, recordsHelp: string) =>
  command
    .option("--topic <name>", topicHelp, "bench")
    .option("--records <n>", recordsHelp, parseInteger("--records", 1), 1_000_000)
    .option("--record-size <bytes>", "value size of each record", parseInteger("--record-size", 0), 100)
    .option("--json", "print the summary as JSON");

export function benchCommand(): Command {
  const bench = new Command("bench").description("measure throughput and latency");
  addProduce(bench);
  addConsume(bench);
  addEndToEnd(bench);
  addEcho(bench);
  return bench as unknown as Command;
}

function addProduce(bench: Command): void {
  commonOptions(
    bench.command("produce").description("produce records as fast as the cluster takes them"),
    "topic to write (created with --partitions when missing)",
    "how many records to send",
  )
    .addOption(acksOption())
    .option("--batch-bytes <n>", "producer batch size", parseInteger("--batch-bytes", 64))
    .option("--linger-ms <ms>", "producer linger", parseInteger("--linger-ms"))
    .option("--partitions <n>", "partitions when the topic is created", parseInteger("--partitions", 1), 3)
    .option(
      "--replication-factor <n>",
      "replication factor when the topic is created (default: the cluster's)",
      parseInteger("--replication-factor", 1),
    )
    .option("--no-idempotent", "turn the idempotent producer off (it is on with acks=all)")
    .option(
      "--throughput <n>",
      "cap the send rate at n records/s (as Kafka's perf test), to measure latency below saturation",
      parseInteger("--throughput", 1),
    )
    .option(
      "--in-flight <n>",
      "latency mode: one record per send(), at most n sends awaiting their acknowledgement (1: each record's own round trip)",
      parseInteger("--in-flight", 1),
    )
    .option(
      "--transaction-batches <n>",
      `transactional mode: transactions one after another, each of n batches of ${recordsPerSend} records, then commit (latency: per transaction)`,
      parseInteger("--transaction-batches", 1),
    )
    .addOption(new Option("--compression <codec>").choices(compressionNames).default("none" as const))
    .action(async (options, command) => {
      await ensureTopic(command, options.topic, options.partitions, options.replicationFactor);
      if (options.transactionBatches !== undefined) {
        await transactionalBench(
          command,
          {
            topic: options.topic,
            records: options.records,
            recordSize: options.recordSize,
            batchBytes: options.batchBytes,
            json: options.json,
          },
          options.transactionBatches,
        );
        return;
      }
      const acks = toAcks(options.acks);
      const producer = connect(command).producer({
        acks,
        ...(acks === -1 ? { idempotent: options.idempotent } : {}),
        batchBytes: options.batchBytes,
        // Latency mode measures the round trip, not the producer's wait for company.
        lingerMs: options.lingerMs ?? (options.inFlight === undefined ? undefined : 0),
        compression: options.compression,
      });
      const progress = progressBar(options.records, "produce", !options.json);
      try {
        report(
          "produce",
          await benchProduce(
            producer,
            {
              topic: options.topic,
              records: options.records,
              recordSize: options.recordSize,
              throughput: options.throughput,
              inFlight: options.inFlight,
            },
            progress,
          ),
          options.json,
        );
      } finally {
        progress.stop();
        await producer.close();
      }
    });
}

/** `bench produce --transaction-batches n`: a transactional producer whose batches are one send() each. */
async function transactionalBench(
  command: AnyCommand,
  options: { topic: string; records: number; recordSize: number; batchBytes?: number; json?: boolean },
  batchesPerTransaction: number,
): Promise<void> {
  const producer = connect(command).producer({
    transactionalId: `brook-bench-${randomBytes(4).toString("hex")}`,
    // One send() closes one batch: its records fit, the next send's do not.
    batchBytes: options.batchBytes ?? recordsPerSend * (options.recordSize + recordOverheadBytes),
  });
  const progress = progressBar(options.records, "produce", !options.json);
  try {
    const stats = await benchTransactions(
      producer,
      {
        topic: options.topic,
        records: options.records,
        recordSize: options.recordSize,
        batchesPerTransaction,
        recordsPerBatch: recordsPerSend,
      },
      progress,
    );
    progress.stop();
    const title = `produce in transactions of ${batchesPerTransaction} batch${batchesPerTransaction === 1 ? "" : "es"} (${stats.transactions.toLocaleString("en")} transactions; latency per transaction)`;
    report(title, stats, options.json);
  } finally {
    progress.stop();
    await producer.close();
  }
}

function addConsume(bench: Command): void {
  commonOptions(
    bench.command("consume").description("read records from the beginning of the topic"),
    "topic to read (it must exist)",
    "how many records to read; a topic holding fewer is read to its end",
  )
    .option("--group <id>", "read as members of this consumer group (a fresh group each run by default)")
    .option(
      "--members <n>",
      "group members, all in this process (implies --group)",
      parseInteger("--members", 1),
    )
    .addOption(
      new Option(
        "--isolation <level>",
        "read_committed stops at the last stable offset and drops aborted records",
      )
        .choices(["read_uncommitted", "read_committed"] as const)
        .default("read_uncommitted" as const),
    )
    .action(async (options, command) => {
      if (options.group !== undefined || options.members !== undefined) {
        const groupId = options.group ?? `brook-bench-${randomBytes(4).toString("hex")}`;
        report(
          "consume",
          await benchGroupConsume(
            command,
            options.topic,
            await recordsToRead(command, options.topic, options.records),
            !options.json,
            groupId,
            options.members ?? 1,
            options.isolation,
          ),
          options.json,
        );
        return;
      }
      const records = await recordsToRead(command, options.topic, options.records);
      report(
        "consume",
        await benchConsume(command, options.topic, records, !options.json, options.isolation),
        options.json,
      );
    });
}

function addEndToEnd(bench: Command): void {
  commonOptions(
    bench.command("e2e").description("time each record from send() to a consumer, one record in flight"),
    "topic to write and read (created with --partitions when missing)",
    "how many records to time",
  )
    .addOption(acksOption())
    .option("--partitions <n>", "partitions when the topic is created", parseInteger("--partitions", 1), 1)
    .option(
      "--replication-factor <n>",
      "replication factor when the topic is created (default: the cluster's)",
      parseInteger("--replication-factor", 1),
    )
    .option(
      "--throughput <n>",
      "send at n records/s instead of one at a time (latency under a steady load)",
      parseInteger("--throughput", 1),
    )
    .action(async (options, command) => {
      await ensureTopic(command, options.topic, options.partitions, options.replicationFactor);
      const brook = connect(command);
      const producer = brook.producer({ acks: toAcks(options.acks), lingerMs: 0 });
      const progress = progressBar(options.records, "e2e", !options.json);
      try {
        const bench = {
          topic: options.topic,
          records: options.records,
          recordSize: options.recordSize,
          throughput: options.throughput,
        };
        report("e2e", await benchEndToEnd(brook, producer, bench, progress), options.json);
      } finally {
        progress.stop();
        await producer.close();
      }
    });
}

function addEcho(bench: Command): void {
  commonOptions(
    bench.command("echo").description("baseline: the same batches through a bare grpc-js echo"),
    "unused (echo involves no topic)",
    "how many records to send through the echo",
  )
    .option(
      "--batch-bytes <n>",
      "bytes per call (default: the producer's largest request, 1 MiB)",
      parseInteger("--batch-bytes", 64),
      1024 * 1024,
    )
    .action(async (options) => {
      const value = randomBytes(options.recordSize);
      const perBatch = Math.max(1, Math.floor(options.batchBytes / (options.recordSize + 8)));
      const batch = encodeRecordBatch(Array.from({ length: perBatch }, () => ({ value })));
      report("echo", await echoBaseline(batch, perBatch, options.records, options.recordSize), options.json);
    });
}

interface ProduceBench {
  topic: string;
  records: number;
  recordSize: number;
  throughput?: number;
  /** Latency mode: one record per send(), at most this many unacknowledged. */
  inFlight?: number;
}

/**
 * Sends `records` values of `recordSize` bytes until done or a stop signal:
 * recordsPerSend per send() with up to sendsInFlightMax outstanding, or in
 * latency mode (`inFlight`) one record per send() with at most that many.
 */
async function benchProduce(
  producer: Producer,
  bench: ProduceBench,
  progress: Progress,
): Promise<BenchStats> {
  const value = randomBytes(bench.recordSize);
  const stats = new BenchStats();
  const pending: Array<Promise<RecordMetadata[]>> = [];
  const startedMs = Date.now();
  let stopping = false;
  const removeHandlers = onStopRequest(() => {
    stopping = true;
  });
  try {
    const perSend = bench.inFlight === undefined ? recordsPerSend : 1;
    const inFlightMax = bench.inFlight ?? sendsInFlightMax;
    for (let sent = 0; sent < bench.records && !stopping; ) {
      const count = Math.min(perSend, bench.records - sent);
      const messages: Message[] = new Array(count);
      for (let i = 0; i < count; i++) messages[i] = { value };
      if (bench.throughput !== undefined) await pace(sent, bench.throughput, startedMs);
      const startUs = nowUs();
      pending.push(
        producer.send({ topic: bench.topic, messages }).then((metadata) => {
          stats.recordLatencyUs(nowUs() - startUs);
          stats.records += count;
          stats.bytes += count * bench.recordSize;
          progress.update(stats.records);
          return metadata;
        }),
      );
      sent += count;
      if (pending.length >= inFlightMax) await pending.shift();
    }
    await Promise.all(pending);
  } finally {
    removeHandlers();
  }
  return stats;
}

/** One consumer reads the topic from the beginning until `records` are read (or a stop signal). */
async function benchConsume(
  command: AnyCommand,
  topic: string,
  records: number,
  showProgress: boolean,
  isolationLevel: IsolationLevel,
): Promise<BenchStats> {
  const consumer = connect(command).consumer({ fromBeginning: true, isolationLevel });
  const stats = new BenchStats();
  const progress = progressBar(records, "consume", showProgress);
  const removeHandlers = onStopRequest(() => void consumer.stop());
  try {
    await consumer.assign([{ topic, fromBeginning: true }]);
    const count = batchCounter(stats, progress, records);
    if (records > 0) {
      await consumer.run({
        eachBatch: async ({ batch }) => {
          if (count(batch.messages)) await consumer.stop();
        },
      });
    }
  } finally {
    removeHandlers();
    progress.stop();
    await consumer.close();
  }
  return stats;
}

/**
 * `members` consumers of one group, all in this process, read the topic from
 * the beginning until `records` are read between them. The clock starts at
 * subscribe, so the figure includes the group settling (reported apart:
 * the time until every partition is held).
 */
async function benchGroupConsume(
  command: AnyCommand,
  topic: string,
  records: number,
  showProgress: boolean,
  groupId: string,
  members: number,
  isolationLevel: IsolationLevel,
): Promise<BenchStats> {
  const brook = connect(command);
  const partitionCount = await withAdmin(
    command,
    async (admin) => (await admin.fetchTopicOffsets(topic)).length,
  );
  const consumers = Array.from({ length: members }, () =>
    brook.consumer({ groupId, fromBeginning: true, isolationLevel }),
  );
  const stats = new BenchStats();
  const progress = progressBar(records, `consume (group of ${members})`, showProgress);
  const started = Date.now();
  let settledMs: number | undefined;
  const settleWatch = setInterval(() => {
    const held = consumers.map((consumer) => consumer.groupState()?.assigned.length ?? 0);
    if (
      settledMs === undefined &&
      held.every((n) => n > 0 || members > partitionCount) &&
      held.reduce((a, b) => a + b, 0) === partitionCount
    ) {
      settledMs = Date.now() - started;
    }
  }, 10);
  const removeHandlers = onStopRequest(() => void Promise.all(consumers.map((consumer) => consumer.stop())));
  try {
    if (records === 0) return stats;
    await Promise.all(
      consumers.map((consumer) => consumer.subscribe({ topics: [topic], fromBeginning: true })),
    );
    const count = batchCounter(stats, progress, records);
    await Promise.all(
      consumers.map((consumer) =>
        consumer.run({
          eachBatch: async ({ batch }) => {
            if (count(batch.messages)) await Promise.all(consumers.map((each) => each.stop()));
          },
        }),
      ),
    );
  } finally {
    removeHandlers();
    clearInterval(settleWatch);
    progress.stop();
    await Promise.all(consumers.map((consumer) => consumer.close()));
  }
  process.stderr.write(
    `group ${groupId}: ${members} member(s) on ${partitionCount} partition(s); every partition held after ${settledMs ?? "-"} ms\n`,
  );
  return stats;
}

/** Counts the batches consumers hand over (gaps between them as latency); true once `records` are read. */
function batchCounter(stats: BenchStats, progress: Progress, records: number) {
  let lastUs = nowUs();
  return (messages: readonly ConsumedMessage[]): boolean => {
    const now = nowUs();
    stats.recordLatencyUs(now - lastUs);
    lastUs = now;
    // Exactly `records`: the last batch may hold more than are still wanted, and are not counted.
    const wanted = Math.min(messages.length, records - stats.records);
    for (let i = 0; i < wanted; i++) {
      stats.bytes += (messages[i].value?.length ?? 0) + (messages[i].key?.length ?? 0);
    }
    stats.records += wanted;
    progress.update(stats.records);
    return stats.records >= records;
  };
}

/**
 * `wanted`, or what the topic holds when that is less (with a note on stderr): a consumer bench never
 * waits for records nobody is producing.
 */
async function recordsToRead(command: AnyCommand, topic: string, wanted: number): Promise<number> {
  const offsets = await withAdmin(command, (admin) => admin.fetchTopicOffsets(topic));
  const held = offsets.reduce((sum, { low, high }) => sum + (high - low), 0);
  if (held >= wanted) return wanted;
  process.stderr.write(
    `bench: ${topic} holds ${held.toLocaleString("en")} record(s), fewer than --records ${wanted.toLocaleString("en")}; reading those\n`,
  );
  return held;
}

function report(title: string, stats: BenchStats, json: boolean | undefined): void {
  const summary = stats.summary();
  if (json) printJson(summary);
  else printSummary(title, summary);
}

async function ensureTopic(
  command: AnyCommand,
  topic: string,
  partitions: number,
  replicationFactor?: number,
): Promise<void> {
  await withAdmin(command, async (admin) => {
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor }] });
    } catch (error) {
      if (!(error instanceof BrookError && error.code === "TOPIC_ALREADY_EXISTS")) throw error;
    }
  });
}

/** Round trips of `batch` against the echo server in a child process, 5 calls in flight like the producer. */
async function echoBaseline(
  batch: Buffer,
  recordsPerBatch: number,
  records: number,
  recordSize: number,
): Promise<BenchStats> {
  const server = fork(fileURLToPath(new URL("../echo-server.js", import.meta.url)), { stdio: "inherit" });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.once("message", (message: { port: number }) => resolve(message.port));
      server.once("exit", (code) => reject(new Error(`echo server exited with code ${code}`)));
    });
    const Client = grpc.makeGenericClientConstructor({ Echo: echoMethod }, "Echo");
    const client = new Client(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
      echoChannelOptions,
    ) as unknown as {
      Echo(request: Buffer, callback: (error: grpc.ServiceError | null) => void): void;
      close(): void;
    };
    const inFlightMax = 5;
    const stats = new BenchStats(); // from here: the server process is up and listening
    let sent = 0;
    await new Promise<void>((resolve, reject) => {
      let inFlight = 0;
      const pump = () => {
        while (inFlight < inFlightMax && sent < records) {
          const count = Math.min(recordsPerBatch, records - sent);
          sent += count;
          inFlight++;
          const startUs = nowUs();
          client.Echo(batch, (error) => {
            inFlight--;
            if (error) return reject(error);
            stats.recordLatencyUs(nowUs() - startUs);
            stats.records += count;
            stats.bytes += count * recordSize;
            if (stats.records >= records) resolve();
            else pump();
          });
        }
      };
      pump();
    });
    client.close();
    return stats;
  } finally {
    server.kill();
  }
}
