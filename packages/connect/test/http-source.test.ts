// http-source against a real local HTTP server: items found at records.path, deduped by key across polls
// and across a restart (through the source offset), and polls that fail (500, a body not JSON, a request
// that times out) logged and tried again, never fatal.

import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Logger, silentLogger } from "@brook/client";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { SourceOffset, SourceRecord } from "../src/api.js";
import { httpSource } from "../src/connectors/http/http-source.js";
import { take } from "./helpers/take.js";

/** What the server answers to its nth GET (from 0); undefined leaves the request hanging. */
type Answer = { status: number; body: string } | undefined;

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** Starts a server answering each GET with answer(n); returns its URL and the requests' headers. */
async function startServer(answer: (n: number) => Answer) {
  const requests: IncomingHttpHeaders[] = [];
  server = createServer((request, response) => {
    const reply = answer(requests.length);
    requests.push(request.headers);
    if (reply === undefined) return;
    response.writeHead(reply.status, { "content-type": "application/json" }).end(reply.body);
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/items`, requests };
}

const json = (body: unknown): Answer => ({ status: 200, body: JSON.stringify(body) });
/** The answers in turn, the last repeated. */
const inTurn =
  (...answers: Answer[]) =>
  (n: number) =>
    answers[Math.min(n, answers.length - 1)];

interface RunningSource {
  records: AsyncIterator<SourceRecord>;
  warnings: { fields: object; message: string }[];
  stop(): Promise<void>;
}

type SourceConfig = Parameters<typeof httpSource.start>[0]["config"];

async function startSource(
  url: string,
  config: Partial<SourceConfig>,
  committed?: SourceOffset,
): Promise<RunningSource> {
  const controller = new AbortController();
  const warnings: RunningSource["warnings"] = [];
  const logger: Logger = { ...silentLogger, warn: (fields, message) => warnings.push({ fields, message }) };
  const task = await httpSource.start({
    connector: "c",
    taskId: 0,
    taskCount: 1,
    config: {
      "http.url": url,
      topic: "items",
      "http.headers": [],
      "poll.interval.ms": 10,
      "request.timeout.ms": 2000,
      "records.path": undefined,
      "dedupe.key.path": undefined,
      "dedupe.cache.size": 10000,
      ...config,
    },
    logger,
    signal: controller.signal,
    brook: undefined as never,
    metrics: new Registry(),
    offset: async (partition) => {
      expect(partition).toEqual({ url });
      return committed;
    },
  });
  const records = httpSource.poll(task)[Symbol.asyncIterator]();
  return {
    records,
    warnings,
    async stop() {
      controller.abort();
      await records.return?.();
      await httpSource.stop(task);
    },
  };
}

const keysAndValues = (records: SourceRecord[]) => records.map(({ key, value }) => ({ key, value }));

describe("http-source", () => {
  it("sends the items at records.path, skipping keys already sent in earlier polls", async () => {
    const { url, requests } = await startServer(
      inTurn(
        json({
          data: {
            items: [
              { id: 1, v: "a" },
              { id: "two", v: "b" },
            ],
          },
        }),
        json({
          data: {
            items: [
              { id: "two", v: "b" },
              { id: 3, v: "c" },
            ],
          },
        }),
        json({ data: { items: [{ id: 3, v: "c" }] } }),
      ),
    );
    const source = await startSource(url, {
      "records.path": "data.items",
      "dedupe.key.path": "id",
      "http.headers": ["X-Token: secret", "Accept: application/json"],
    });
    const records = await take(source.records, 3);
    await source.stop();
    expect(keysAndValues(records)).toEqual([
      { key: "1", value: { id: 1, v: "a" } },
      { key: "two", value: { id: "two", v: "b" } },
      { key: "3", value: { id: 3, v: "c" } },
    ]);
    expect(records[0]).toMatchObject({ sourcePartition: { url }, topic: "items" });
    expect(requests[0]["x-token"]).toBe("secret");
  });

  it("skips after a restart the keys carried by the last committed source offset", async () => {
    const page = (ids: number[]) => json(ids.map((id) => ({ id })));
    let pageIds = [1, 2, 3];
    const { url } = await startServer(() => page(pageIds));
    const first = await startSource(url, { "dedupe.key.path": "id" });
    const sent = await take(first.records, 3);
    await first.stop();

    pageIds = [2, 3, 4, 5];
    const second = await startSource(url, { "dedupe.key.path": "id" }, sent[2].sourceOffset);
    const resumed = await take(second.records, 2);
    await second.stop();
    expect(resumed.map((record) => record.key)).toEqual(["4", "5"]);
  });

  it("keeps only dedupe.cache.size keys: the least recently seen is forgotten", async () => {
    const { url } = await startServer(
      inTurn(json([{ id: "a" }, { id: "b" }, { id: "c" }]), json([{ id: "a" }])),
    );
    const source = await startSource(url, { "dedupe.key.path": "id", "dedupe.cache.size": 2 });
    const records = await take(source.records, 4);
    await source.stop();
    expect(records.map((record) => record.key)).toEqual(["a", "b", "c", "a"]);
  });

  it("logs a 500 and a body that is not JSON and polls again", async () => {
    const { url } = await startServer(
      inTurn({ status: 500, body: "oops" }, { status: 200, body: "<html>not json" }, json([{ ok: true }])),
    );
    const source = await startSource(url, {});
    const records = await take(source.records, 1);
    await source.stop();
    expect(keysAndValues(records)).toEqual([{ key: null, value: { ok: true } }]);
    expect(source.warnings.map((warning) => warning.message)).toEqual([
      expect.stringContaining("non-2xx"),
      expect.stringContaining("not JSON"),
    ]);
    expect(source.warnings[0].fields).toMatchObject({ status: 500 });
  });

  it("gives up on a request that takes longer than request.timeout.ms and polls again", async () => {
    const { url } = await startServer(inTurn(undefined, json({ single: "object" })));
    const source = await startSource(url, { "request.timeout.ms": 50 });
    const records = await take(source.records, 1);
    await source.stop();
    expect(records[0].value).toEqual({ single: "object" });
    expect(source.warnings.map((warning) => warning.message)).toEqual([
      expect.stringContaining("poll failed"),
    ]);
  });

  it("without dedupe.key.path sends every item of every poll with a null key", async () => {
    const { url } = await startServer(() => json([{ n: 1 }]));
    const source = await startSource(url, {});
    const records = await take(source.records, 3);
    await source.stop();
    expect(keysAndValues(records)).toEqual(Array(3).fill({ key: null, value: { n: 1 } }));
  });

  it("ends a request in flight as soon as the task stops", async () => {
    const { url, requests } = await startServer(() => undefined);
    const source = await startSource(url, { "request.timeout.ms": 30_000 });
    const next = source.records.next();
    while (requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const started = performance.now();
    await source.stop();
    expect((await next).done).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(source.warnings).toEqual([]);
  });
});
