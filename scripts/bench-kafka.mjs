#!/usr/bin/env node
// The Kafka path against Brook's own, in one run on the local cluster (make up): the same records
// produced with acks=all to a replication-factor-3 topic by `brook bench produce` (gRPC), by kcat
// (librdkafka) and by kafkajs through the Kafka listener, then consumed the same three ways. Besides
// each client's throughput it reports what matters on a shared machine: the CPU the three brokers spent
// per record (utime + stime of the node processes, from /proc, before and after each run).
//
//   node scripts/bench-kafka.mjs            # RECORDS (default 200000) of 100 B, a quarter of that of 1 KiB
//
// Needs kcat on the PATH (apt-get install kcat); without it the kcat rows are skipped.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require("kafkajs");

const root = new URL("..", import.meta.url).pathname;
const brookBin = join(root, "packages/cli/bin/brook.js");
const kafkaBootstrap = process.env.KAFKA_BOOTSTRAP ?? "127.0.0.1:9094,127.0.0.1:9194,127.0.0.1:9294";
const records = Number(process.env.RECORDS ?? 200_000);
const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
const run = Date.now();
const hasKcat = (() => {
  try {
    execFileSync("kcat", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** CPU seconds the local cluster's node processes have used so far. */
function brokerCpuSeconds() {
  let ticks = 0;
  for (const id of [1, 2, 3]) {
    const pid = readFileSync(join(root, `.brook/node-${id}/node.pid`), "utf8").trim();
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
  }
  return ticks / ticksPerSecond;
}

async function measure(label, count, bytes, work) {
  const cpuBefore = brokerCpuSeconds();
  const started = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = brokerCpuSeconds() - cpuBefore;
  const row = {
    label,
    records: count,
    seconds: round(seconds, 2),
    recordsPerSec: Math.round(count / seconds),
    mbPerSec: round((count * bytes) / seconds / 1024 / 1024, 1),
    brokerCpuSeconds: round(cpu, 2),
    brokerCpuUsPerRecord: round((cpu * 1e6) / count, 2),
  };
  console.log(JSON.stringify(row));
  return row;
}

const round = (value, digits) => Math.round(value * 10 ** digits) / 10 ** digits;

function brook(args, input) {
  return execFileSync(process.execPath, [brookBin, ...args], { input, maxBuffer: 1 << 30 }).toString();
}

function kcat(args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn("kcat", ["-b", kafkaBootstrap, ...args], { stdio: ["pipe", "ignore", "inherit"] });
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited with ${code}`))));
    if (input) child.stdin.end(input);
    else child.stdin.end();
  });
}

async function kafkajsProduce(topic, count, size) {
  const kafka = new Kafka({ brokers: kafkaBootstrap.split(","), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
  await producer.connect();
  const value = Buffer.alloc(size, 120);
  const perSend = Number(process.env.KAFKAJS_PER_SEND ?? 3000);
  const inFlight = [];
  for (let sent = 0; sent < count; sent += perSend) {
    const messages = Array.from({ length: Math.min(perSend, count - sent) }, () => ({ value }));
    inFlight.push(producer.send({ topic, acks: -1, messages }));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await producer.disconnect();
}

async function kafkajsConsume(topic, count) {
  const kafka = new Kafka({ brokers: kafkaBootstrap.split(","), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-${topic}`, maxBytesPerPartition: 1 << 20 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await new Promise((resolve, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          seen += batch.messages.length;
          if (seen >= count) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
}

for (const size of [100, 1024]) {
  const count = size === 100 ? records : Math.round(records / 4);
  const lines = `${Array.from({ length: count }, () => "x".repeat(size)).join("\n")}\n`;
  const file = join(tmpdir(), `bench-kafka-${size}.txt`);
  writeFileSync(file, lines);
  const topics = {
    grpc: `kb-grpc-${size}-${run}`,
    kcat: `kb-kcat-${size}-${run}`,
    kafkajs: `kb-kjs-${size}-${run}`,
  };
  for (const topic of Object.values(topics))
    brook(["topic", "create", topic, "--partitions", "6", "--replication-factor", "3"]);

  await measure(`produce size=${size} client=brook-grpc`, count, size, async () =>
    brook([
      "bench",
      "produce",
      "--topic",
      topics.grpc,
      "--records",
      String(count),
      "--record-size",
      String(size),
      "--acks",
      "all",
      "--json",
    ]),
  );
  if (hasKcat) {
    await measure(`produce size=${size} client=kcat`, count, size, () =>
      kcat([
        "-P",
        "-t",
        topics.kcat,
        "-X",
        "acks=all",
        "-X",
        "enable.idempotence=true",
        "-X",
        "linger.ms=5",
        "-l",
        file,
      ]),
    );
  }
  await measure(`produce size=${size} client=kafkajs`, count, size, () =>
    kafkajsProduce(topics.kafkajs, count, size),
  );

  await measure(`consume size=${size} client=brook-grpc`, count, size, async () =>
    brook(["bench", "consume", "--topic", topics.grpc, "--records", String(count), "--json"]),
  );
  if (hasKcat) {
    await measure(`consume size=${size} client=kcat`, count, size, () =>
      kcat(["-C", "-t", topics.grpc, "-o", "beginning", "-e", "-q", "-f", "%o\\n"]),
    );
  }
  await measure(`consume size=${size} client=kafkajs`, count, size, () => kafkajsConsume(topics.grpc, count));
  for (const topic of Object.values(topics)) brook(["topic", "delete", topic]);
}
