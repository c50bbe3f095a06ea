// Workers on a real node, in-process. A sink's errors: with errors.tolerance=all, a record whose value
// is not JSON (the converter fails) and records an HTTP endpoint refuses for good (a 400) go to the
// dead-letter topic with the failure in Kafka Connect's __connect.errors.* headers, and every other record
// arrives; with errors.tolerance=none the first such record fails the task, which shows FAILED with its
// stack in /status, and a restart of failed tasks runs it again. And a second worker group given the same
// internal topics neither lists nor runs the first group's connectors.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Brook, type ConsumedMessage, silentLogger } from "@brook/client";
import { type RunningWorker, startDistributedWorker } from "@brook/connect";
import { type Cluster, startCluster } from "@brook/testkit";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAll } from "./read-all.js";
import { waitFor, waitUntil } from "./wait.js";

let cluster: Cluster;
let brook: Brook;
let worker: RunningWorker;
let server: Server;
let endpoint: string;
const received: unknown[] = [];

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
  brook = new Brook({ brokers: cluster.bootstrap.split(","), logger: silentLogger });
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      const values = JSON.parse(body) as { n: number; bad?: boolean }[];
      if (values.some((value) => value.bad)) {
        response.writeHead(400).end("bad record");
        return;
      }
      received.push(...values);
      response.writeHead(200).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
  worker = await startDistributedWorker({
    brokers: cluster.bootstrap.split(","),
    group: "connect-errors",
    restPort: 0,
    logger: pino({ level: process.env.CONNECT_LOG ?? "silent" }),
  });
}, 60_000);
afterAll(async () => {
  await worker?.stop();
  server?.close();
  await cluster?.stop();
});

async function rest(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${worker.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return text === "" ? null : JSON.parse(text);
}

function header(message: ConsumedMessage, key: string): string | undefined {
  const value = message.headers[key];
  return Buffer.isBuffer(value) ? value.toString("utf8") : undefined;
}

describe("sink errors", () => {
  it("dead-letters what fails with errors.tolerance=all, and delivers the rest", async () => {
    const producer = brook.producer();
    await brook.admin().createTopics({ topics: [{ topic: "orders", numPartitions: 1 }] });
    const values = [
      JSON.stringify({ n: 1 }),
      "not json",
      JSON.stringify({ n: 3, bad: true }),
      JSON.stringify({ n: 4 }),
    ];
    await producer.send({ topic: "orders", messages: values.map((value) => ({ value })) });
    await producer.close();
    await rest("POST", "/connectors", {
      name: "orders-out",
      config: {
        "connector.class": "http-sink",
        "http.url": endpoint,
        topics: "orders",
        "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": "orders-dlq",
        "offset.flush.interval.ms": "200",
      },
    });
    await waitUntil("records 1 and 4 at the endpoint", 30_000, () => received.length >= 2, 100);
    expect(received).toEqual([{ n: 1 }, { n: 4 }]);
    const dead = await readAll(brook, "orders-dlq", 2, 30_000);
    expect(dead.map(({ value }) => value?.toString("utf8"))).toEqual(["not json", values[2]]);
    expect(dead.map((message) => header(message, "__connect.errors.stage"))).toEqual(["convert", "put"]);
    expect(header(dead[0], "__connect.errors.offset")).toBe("1");
    expect(header(dead[1], "__connect.errors.exception.message")).toContain("400");
    expect(header(dead[1], "__connect.errors.connector.name")).toBe("orders-out");
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    expect(metrics).toMatch(
      /brook_connect_deadletterqueue_records_total\{connector="orders-out",task="0"\} 2/,
    );
  }, 90_000);

  it("fails the task with errors.tolerance=none, shows its stack, and restarts it", async () => {
    const producer = brook.producer();
    await brook.admin().createTopics({ topics: [{ topic: "strict", numPartitions: 1 }] });
    await producer.send({ topic: "strict", messages: [{ value: "not json" }] });
    await rest("POST", "/connectors", {
      name: "strict-out",
      config: { "connector.class": "http-sink", "http.url": endpoint, topics: "strict" },
    });
    type Status = { tasks: { state: string; trace?: string }[] };
    const failed = await waitFor("strict-out's task to fail", 30_000, async () => {
      const status = (await rest("GET", "/connectors/strict-out/status")) as Status;
      return status.tasks[0]?.state === "FAILED" ? status : undefined;
    });
    expect(failed.tasks[0].trace).toMatch(/ConversionError[\s\S]*at /);
    await rest("POST", "/connectors/strict-out/restart?includeTasks=true&onlyFailed=true");
    // The restarted task reads the same record and fails on it again: the convert errors count twice.
    await waitUntil("the restarted task to fail again (the record is still there)", 30_000, async () => {
      const metrics = await (await fetch(`${worker.url}/metrics`)).text();
      return /brook_connect_errors_total\{connector="strict-out",task="0",stage="convert"\} 2/.test(metrics);
    });
    // Its FAILED status is a record written after the error is counted: wait for it to be read back.
    const status = await waitFor("the restarted task's status to say FAILED", 30_000, async () => {
      const now = (await rest("GET", "/connectors/strict-out/status")) as Status;
      return now.tasks[0]?.state === "FAILED" ? now : undefined;
    });
    expect(status.tasks[0].state).toBe("FAILED");
    await producer.close();
  }, 90_000);

  it("keeps worker groups that share the internal topics apart", async () => {
    const other = await startDistributedWorker({
      brokers: cluster.bootstrap.split(","),
      group: "connect-others",
      restPort: 0,
      logger: pino({ level: "silent" }),
    });
    try {
      const mine = (await rest("GET", "/connectors")) as string[];
      expect(mine).toContain("orders-out");
      const theirs = (await (await fetch(`${other.url}/connectors`)).json()) as string[];
      expect(theirs).toEqual([]);
      const response = await fetch(`${other.url}/connectors/orders-out/status`);
      expect(response.status).toBe(404);
    } finally {
      await other.stop();
    }
  }, 60_000);
});
