// The trucks' dashboard: reads `trucks_speed` and `trucks_avg_speed` (committed records only, without a
// consumer group: every dashboard sees everything) and serves them on 127.0.0.1: GET / is index.html, a
// page that shows each truck's speed and per-minute averages live; GET /events is the stream it reads,
// server-sent events (text/event-stream): `event: speed` and `event: average`, each with one record's JSON
// as data. A new client first gets the latest of each (the last 100 records of each partition at start-up).
// Usage: node --import tsx examples/trucks/server.ts [--port 8081] (or PORT=8081; PORT=0 takes a free one)
import { readFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { connect, main, onStop } from "../shared/brook.js";
import { type AverageSpeed, averageTopic, ensureTruckTopics, type Speed, speedTopic } from "./fleet.js";

const { values } = parseArgs({ options: { port: { type: "string", default: process.env.PORT || "8081" } } });
const indexHtml = readFileSync(new URL("index.html", import.meta.url));
/** How far back each partition is read at start-up. */
const backlog = 100;

main(async () => {
  const brook = connect("trucks-dashboard");
  await ensureTruckTopics(brook);
  const admin = brook.admin();
  const starts = await Promise.all(
    [speedTopic, averageTopic].map(async (topic) =>
      (await admin.fetchTopicOffsets(topic)).map(({ partition, high, low }) => ({
        topic,
        partition,
        offset: Math.max(low, high - backlog),
      })),
    ),
  );
  await admin.close();
  const consumer = brook.consumer({ isolationLevel: "read_committed", maxWaitMs: 100 });
  await consumer.assign(starts.flat());

  // The latest speed of each truck, and its average in the two latest minutes: what a new client gets first.
  const speeds = new Map<string, Speed>();
  const averages = new Map<string, AverageSpeed[]>();
  const clients = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (path === "/") {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(indexHtml);
    } else if (path === "/events") {
      response.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        connection: "keep-alive",
      });
      response.write("retry: 2000\n\n");
      for (const speed of speeds.values()) send(response, "speed", speed);
      for (const list of averages.values()) for (const average of list) send(response, "average", average);
      clients.add(response);
      response.on("close", () => clients.delete(response));
    } else {
      response.writeHead(404, { "content-type": "text/plain" }).end(`no ${path} here (try / or /events)\n`);
    }
  });
  // A comment line now and then keeps proxies from closing a quiet stream.
  const keepAlive = setInterval(() => {
    for (const client of clients) client.write(": keep-alive\n\n");
  }, 15_000);
  onStop(async () => {
    clearInterval(keepAlive);
    for (const client of clients) client.end();
    server.close();
    await consumer.close();
  });
  server.listen(Number(values.port), "127.0.0.1");
  await new Promise((resolve, reject) => server.once("listening", resolve).once("error", reject));
  const { port } = server.address() as AddressInfo;
  console.log(`serving http://127.0.0.1:${port}/ (${speedTopic} and ${averageTopic}, live)`);

  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const record = parse(message.value);
      if (record === undefined) return;
      if (topic === speedTopic) {
        const speed = record as Speed;
        speeds.set(speed.truck, speed);
        for (const client of clients) send(client, "speed", speed);
      } else {
        const average = record as AverageSpeed;
        const kept = (averages.get(average.truck) ?? []).filter(({ start }) => start !== average.start);
        averages.set(
          average.truck,
          [...kept, average].sort((a, b) => a.start.localeCompare(b.start)).slice(-2),
        );
        for (const client of clients) send(client, "average", average);
      }
    },
  });
});

/** One server-sent event: its type, and the record's JSON on one data line. */
function send(client: ServerResponse, event: string, data: unknown): void {
  client.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function parse(value: Buffer | null): { truck: string } | undefined {
  try {
    const record = JSON.parse(value?.toString() ?? "");
    return typeof record?.truck === "string" ? record : undefined;
  } catch {
    return undefined;
  }
}
