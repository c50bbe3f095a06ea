// postgres-source against a real PostgreSQL (@brook/testkit's startPostgres): rows come in (timestamp,
// incrementing) order with offsets a restarted task resumes after (nothing repeated, nothing skipped, rows
// of one timestamp never split), tables are shared among tasks, and an abort ends poll at once.
import { silentLogger } from "@brook/client";
import { type Postgres, postgresAvailable, startPostgres } from "@brook/testkit";
import pg from "pg";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SourceOffset, SourceRecord } from "../src/api.js";
import type { ConfigValues } from "../src/config/config-def.js";
import { postgresSource } from "../src/connectors/postgres/index.js";

type SourceConfig = ConfigValues<typeof postgresSource.configSchema>;
type SourceState = Awaited<ReturnType<typeof postgresSource.start>>;

let postgres: Postgres;
let client: pg.Client;

function configOf(overrides: Partial<SourceConfig>): SourceConfig {
  return {
    "connection.url": postgres.url,
    "table.whitelist": [],
    query: undefined,
    mode: "incrementing",
    "incrementing.column.name": "id",
    "timestamp.column.name": undefined,
    "topic.prefix": "pg.",
    "poll.interval.ms": 50,
    "batch.max.rows": 100,
    ...overrides,
  };
}

interface Running {
  task: SourceState;
  abort: AbortController;
}

async function startSource(
  overrides: Partial<SourceConfig>,
  offsets: Record<string, SourceOffset> = {},
  tasks = { taskId: 0, taskCount: 1 },
): Promise<Running> {
  const abort = new AbortController();
  const task = await postgresSource.start({
    connector: "pg-source",
    ...tasks,
    config: configOf(overrides),
    logger: silentLogger,
    signal: abort.signal,
    brook: undefined as never,
    metrics: new Registry(),
    offset: async (partition) => offsets[String(partition.table ?? partition.query)],
  });
  return { task, abort };
}

/** Polls until count records came (then stops the task), or until ms passed with fewer. */
async function take({ task, abort }: Running, count: number, ms = 5_000): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  const timer = setTimeout(() => abort.abort(), ms);
  for await (const record of postgresSource.poll(task)) {
    records.push(record);
    if (records.length >= count) break;
  }
  clearTimeout(timer);
  abort.abort();
  await postgresSource.stop(task);
  return records;
}

describe.skipIf(!postgresAvailable())("postgres-source", () => {
  beforeAll(async () => {
    postgres = await startPostgres();
    client = new pg.Client(postgres.url);
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await postgres?.stop();
  });

  it("incrementing: rows in id order, keyed by id, and a task resumes right after its committed offset", async () => {
    await client.query("CREATE TABLE items (id bigint PRIMARY KEY, name text)");
    await client.query("INSERT INTO items SELECT i, 'item' || i FROM generate_series(1, 5) AS i");
    const config = { "table.whitelist": ["items"], "batch.max.rows": 2 };
    const first = await take(await startSource(config), 5);
    expect(first.map((record) => record.key)).toEqual([1, 2, 3, 4, 5]);
    expect(first[0]).toEqual({
      sourcePartition: { table: "items" },
      sourceOffset: { incrementing: 1 },
      topic: "pg.items",
      key: 1,
      value: { id: 1, name: "item1" },
    });

    // Restarted with the offset of the third record committed, and two rows added meanwhile.
    await client.query("INSERT INTO items VALUES (6, 'item6'), (7, 'item7')");
    const resumed = await take(await startSource(config, { items: first[2].sourceOffset }), 10, 500);
    expect(resumed.map((record) => record.key)).toEqual([4, 5, 6, 7]);
  });

  it("timestamp+incrementing: (timestamp, id) order, and resuming inside a timestamp's rows", async () => {
    await client.query("CREATE TABLE changes (id int PRIMARY KEY, updated_at timestamptz NOT NULL)");
    await client.query(`INSERT INTO changes VALUES
      (1, '2024-01-01 00:00:02.000001+00'), (2, '2024-01-01 00:00:01+00'),
      (3, '2024-01-01 00:00:02.000001+00'), (4, '2024-01-01 00:00:01+00'), (5, '2024-01-01 00:00:03+00')`);
    const config = {
      "table.whitelist": ["changes"],
      mode: "timestamp+incrementing",
      "timestamp.column.name": "updated_at",
      "batch.max.rows": 2,
    };
    const all = await take(await startSource(config), 5);
    expect(all.map((record) => record.key)).toEqual([2, 4, 1, 3, 5]);
    expect(all[2].sourceOffset).toEqual({ timestamp: "2024-01-01T00:00:02.000001Z", incrementing: 1 });

    const resumed = await take(await startSource(config, { changes: all[2].sourceOffset }), 10, 500);
    expect(resumed.map((record) => record.key)).toEqual([3, 5]);
  });

  it("timestamp: a batch never splits one timestamp's rows, and a mid-timestamp offset stays before it", async () => {
    await client.query("CREATE TABLE stamps (name text, at timestamp NOT NULL)");
    await client.query(`INSERT INTO stamps VALUES ('a', '2024-01-01 00:00:01'), ('b', '2024-01-01 00:00:02'),
      ('c', '2024-01-01 00:00:02'), ('d', '2024-01-01 00:00:02'), ('e', '2024-01-01 00:00:03')`);
    const config = {
      "table.whitelist": ["stamps"],
      mode: "timestamp",
      "timestamp.column.name": "at",
      "batch.max.rows": 2,
    };
    const all = await take(await startSource(config), 5);
    expect(all.map((record) => (record.value as { name: string }).name).sort()).toEqual([
      "a",
      "b",
      "c",
      "d",
      "e",
    ]);
    expect(all.map((record) => record.key)).toEqual([null, null, null, null, null]);
    const offsets = all.map((record) => record.sourceOffset.timestamp);
    expect(offsets).toEqual([
      "2024-01-01T00:00:01Z",
      "2024-01-01T00:00:01Z",
      "2024-01-01T00:00:01Z",
      "2024-01-01T00:00:02Z",
      "2024-01-01T00:00:03Z",
    ]);
    // Resuming after the second record's offset reads all of 00:00:02 again, not just what followed it.
    const resumed = await take(await startSource(config, { stamps: all[1].sourceOffset }), 10, 500);
    expect(resumed).toHaveLength(4);
  });

  it("values are JSON: safe integers numbers, larger ones strings, timestamps ISO in UTC, bytea base64", async () => {
    await client.query(`CREATE TABLE kinds (id bigint PRIMARY KEY, big bigint, price numeric, ratio double precision,
      at timestamptz, day date, data bytea, doc jsonb, ok boolean)`);
    await client.query(`INSERT INTO kinds VALUES (1, 9007199254740993, 12.50, 0.5,
      '2024-05-01 14:00:00.123456+02', '2024-05-01', '\\x0102', '{"a": [1]}', true)`);
    const [record] = await take(await startSource({ "table.whitelist": ["kinds"] }), 1);
    expect(record.value).toEqual({
      id: 1,
      big: "9007199254740993",
      price: 12.5,
      ratio: 0.5,
      at: "2024-05-01T12:00:00.123456Z",
      day: "2024-05-01",
      data: "AQI=",
      doc: { a: [1] },
      ok: true,
    });
  });

  it("query: reads a query's rows to the topic named by topic.prefix", async () => {
    await client.query("CREATE TABLE people (id int PRIMARY KEY, name text, active boolean)");
    await client.query("INSERT INTO people VALUES (1, 'ann', true), (2, 'bob', false), (3, 'cy', true)");
    const config = { query: "SELECT id, name FROM people WHERE active", "topic.prefix": "active-people" };
    expect(postgresSource.maxTasks?.(configOf(config))).toBe(1);
    const records = await take(await startSource(config), 2);
    expect(records.map((record) => [record.topic, record.sourcePartition, record.value])).toEqual([
      ["active-people", { query: "query" }, { id: 1, name: "ann" }],
      ["active-people", { query: "query" }, { id: 3, name: "cy" }],
    ]);
  });

  it("tasks share the tables: task i of n reads tables i, i + n, ...", async () => {
    for (const table of ["t0", "t1", "t2"]) {
      await client.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
      await client.query(`INSERT INTO ${table} VALUES (1)`);
    }
    const config = { "table.whitelist": ["t0", "t1", "t2"] };
    expect(postgresSource.maxTasks?.(configOf(config))).toBe(3);
    const topicsOf = async (taskId: number) =>
      (await take(await startSource(config, {}, { taskId, taskCount: 2 }), 10, 500)).map(
        (record) => record.topic,
      );
    expect(await topicsOf(0)).toEqual(["pg.t0", "pg.t2"]);
    expect(await topicsOf(1)).toEqual(["pg.t1"]);
  });

  it("an abort ends poll at once, even in a long sleep between empty polls", async () => {
    await client.query("CREATE TABLE quiet (id int PRIMARY KEY)");
    const { task, abort } = await startSource({ "table.whitelist": ["quiet"], "poll.interval.ms": 60_000 });
    const started = Date.now();
    setTimeout(() => abort.abort(), 100);
    const records: SourceRecord[] = [];
    for await (const record of postgresSource.poll(task)) records.push(record);
    expect(records).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2_000);
    await postgresSource.stop(task);
  });

  it("refuses configs that cannot work", async () => {
    await expect(startSource({})).rejects.toThrow(/exactly one of table.whitelist and query/);
    await expect(startSource({ "table.whitelist": ["items"], mode: "timestamp" })).rejects.toThrow(
      /needs timestamp.column.name/,
    );
  });
});
