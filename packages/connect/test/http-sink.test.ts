// http-sink against a real local HTTP server: batches of batch.size as JSON arrays (values or envelopes),
// 5xx retried with backoff until it succeeds, RetriableError once retry.max is spent (and a retried flush
// resends only what was not sent), and a 4xx failing at once with the status and the URL.

import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { silentLogger } from "@brook/client";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { RetriableError, type SinkRecord } from "../src/api.js";
import { httpSink } from "../src/connectors/http/http-sink.js";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

interface Received {
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** Starts a server answering the nth POST (from 0) with status(n); returns its URL and what it received. */
async function startServer(status: (n: number) => number) {
  const received: Received[] = [];
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const code = status(received.length);
      received.push({ headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
      response.writeHead(code).end(code >= 400 ? "no thanks" : "");
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/ingest`, received };
}

type SinkConfig = Parameters<typeof httpSink.start>[0]["config"];

async function startSink(url: string, config: Partial<SinkConfig> = {}) {
  return httpSink.start({
    connector: "c",
    taskId: 0,
    taskCount: 1,
    config: {
      "http.url": url,
      "http.headers": [],
      "http.body.format": "values",
      "batch.size": 100,
      "request.timeout.ms": 2000,
      "retry.max": 5,
      "retry.backoff.ms": 5,
      ...config,
    },
    logger: silentLogger,
    signal: new AbortController().signal,
    brook: undefined as never,
    metrics: new Registry(),
  });
}

function records(values: unknown[]): SinkRecord[] {
  return values.map((value, offset) => ({
    topic: "t",
    partition: 2,
    offset,
    key: `k${offset}`,
    value,
    headers: {},
    timestamp: 0,
  }));
}

const bodies = (received: Received[]) => received.map((request) => request.body);

describe("http-sink", () => {
  it("POSTs nothing on put, then batches of batch.size values on flush", async () => {
    const { url, received } = await startServer(() => 200);
    const task = await startSink(url, { "batch.size": 2, "http.headers": ["Authorization: Bearer t"] });
    await httpSink.put(task, records(["a", { b: 1 }, Buffer.from("c ✓"), null, 5]));
    expect(received).toEqual([]);
    await httpSink.flush(task, []);
    expect(bodies(received)).toEqual([["a", { b: 1 }], ["c ✓", null], [5]]);
    expect(received[0].headers).toMatchObject({
      authorization: "Bearer t",
      "content-type": "application/json",
    });
    await httpSink.flush(task, []);
    expect(received).toHaveLength(3);
    await httpSink.stop(task);
  });

  it("sends envelopes of key, value, topic, partition and offset with http.body.format=envelope", async () => {
    const { url, received } = await startServer(() => 200);
    const task = await startSink(url, { "http.body.format": "envelope" });
    await httpSink.put(task, records(["v0", { v: 1 }]));
    await httpSink.flush(task, []);
    expect(bodies(received)).toEqual([
      [
        { key: "k0", value: "v0", topic: "t", partition: 2, offset: 0 },
        { key: "k1", value: { v: 1 }, topic: "t", partition: 2, offset: 1 },
      ],
    ]);
  });

  it("retries a 5xx with backoff within flush and succeeds", async () => {
    const { url, received } = await startServer((n) => (n < 3 ? 503 : 200));
    const task = await startSink(url);
    await httpSink.put(task, records(["x", "y"]));
    await httpSink.flush(task, []);
    expect(bodies(received)).toEqual(Array(4).fill(["x", "y"]));
  });

  it("retries a 429 (come back later) as it does a 5xx", async () => {
    const { url, received } = await startServer((n) => (n === 0 ? 429 : 200));
    const task = await startSink(url);
    await httpSink.put(task, records(["later"]));
    await httpSink.flush(task, []);
    expect(received).toHaveLength(2);
  });

  it("throws RetriableError once retry.max retries failed; the retried flush sends only the unsent batch", async () => {
    let failing = true;
    const { url, received } = await startServer((n) => (n === 0 || !failing ? 200 : 500));
    const task = await startSink(url, { "batch.size": 1, "retry.max": 2 });
    await httpSink.put(task, records(["sent", "stuck"]));
    const flush = httpSink.flush(task, []);
    await expect(flush).rejects.toBeInstanceOf(RetriableError);
    await expect(flush).rejects.toThrow(`POST ${url} failed after 3 attempts: status 500`);
    expect(bodies(received)).toEqual([["sent"], ["stuck"], ["stuck"], ["stuck"]]);

    failing = false;
    await httpSink.flush(task, []);
    expect(bodies(received).slice(4)).toEqual([["stuck"]]);
  });

  it("treats a connection refused as retriable", async () => {
    const { url } = await startServer(() => 200);
    server?.close();
    const task = await startSink(url, { "retry.max": 1 });
    await httpSink.put(task, records(["lost"]));
    await expect(httpSink.flush(task, [])).rejects.toBeInstanceOf(RetriableError);
  });

  it("fails at once on a 4xx, naming the status and the URL, without retrying", async () => {
    const { url, received } = await startServer(() => 400);
    const task = await startSink(url);
    await httpSink.put(task, records(["bad"]));
    const flush = httpSink.flush(task, []);
    await expect(flush).rejects.not.toBeInstanceOf(RetriableError);
    await expect(flush).rejects.toThrow(`POST ${url} refused: status 400: no thanks`);
    expect(received).toHaveLength(1);
  });

  it("sends from put once the buffer holds ten batches, without waiting for flush", async () => {
    const { url, received } = await startServer(() => 200);
    const task = await startSink(url, { "batch.size": 2 });
    await httpSink.put(task, records(Array.from({ length: 25 }, (_, i) => i)));
    expect(received).toHaveLength(10);
    await httpSink.flush(task, []);
    expect(bodies(received).flat()).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });
});
