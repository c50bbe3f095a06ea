// postgres-sink against a real PostgreSQL (@brook/testkit's startPostgres): tables are created from the
// first record, each key's row holds exactly its latest value (replays change nothing), tombstones delete,
// auto.evolve adds columns, bad data names its table and column, and a stopped server is a RetriableError.
import { silentLogger } from "@brook/client";
import { type Postgres, postgresAvailable, startPostgres } from "@brook/testkit";
import pg from "pg";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RetriableError, type SinkRecord } from "../src/api.js";
import type { ConfigValues } from "../src/config/config-def.js";
import { postgresSink } from "../src/connectors/postgres/index.js";
import { topicPlaceholder } from "../src/connectors/postgres/sql.js";

type SinkConfig = ConfigValues<typeof postgresSink.configSchema>;

let postgres: Postgres;
let client: pg.Client;

function configOf(overrides: Partial<SinkConfig>): SinkConfig {
  return {
    "connection.url": postgres.url,
    table: topicPlaceholder,
    "pk.mode": "record_key",
    "pk.fields": [],
    "insert.mode": "upsert",
    "auto.create": true,
    "auto.evolve": false,
    "delete.enabled": false,
    "batch.size": 500,
    ...overrides,
  };
}

function startSink(overrides: Partial<SinkConfig> = {}) {
  return postgresSink.start({
    connector: "pg-sink",
    taskId: 0,
    taskCount: 1,
    config: configOf(overrides),
    logger: silentLogger,
    signal: new AbortController().signal,
    brook: undefined as never,
    metrics: new Registry(),
  });
}

let nextOffset = 0;
function record(topic: string, key: unknown, value: unknown): SinkRecord {
  return { topic, partition: 0, offset: nextOffset++, key, value, headers: {}, timestamp: 0 };
}

async function rows(table: string, order = "id"): Promise<Record<string, unknown>[]> {
  return (await client.query(`SELECT * FROM "${table}" ORDER BY "${order}"`)).rows;
}

describe.skipIf(!postgresAvailable())("postgres-sink", () => {
  beforeAll(async () => {
    postgres = await startPostgres();
    client = new pg.Client(postgres.url);
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await postgres?.stop();
  });

  it("creates the table from the first record: integers bigint, fractions double, objects jsonb, key the pk", async () => {
    const sink = await startSink();
    await postgresSink.put(sink, [
      record("orders", 1, {
        amount: 10,
        price: 2.5,
        paid: true,
        note: "first",
        tags: ["a"],
        address: { city: "Oslo" },
      }),
    ]);
    await postgresSink.flush(sink, []);
    await postgresSink.stop(sink);
    const columns = await client.query(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'orders' ORDER BY ordinal_position",
    );
    expect(columns.rows.map((row) => `${row.column_name}:${row.data_type}`)).toEqual([
      "id:bigint",
      "amount:bigint",
      "price:double precision",
      "paid:boolean",
      "note:text",
      "tags:jsonb",
      "address:jsonb",
    ]);
    const pk = await client.query(
      "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'orders'::regclass AND i.indisprimary",
    );
    expect(pk.rows.map((row) => row.attname)).toEqual(["id"]);
    expect(await rows("orders")).toEqual([
      {
        id: "1",
        amount: "10",
        price: 2.5,
        paid: true,
        note: "first",
        tags: ["a"],
        address: { city: "Oslo" },
      },
    ]);
  });

  it("upserts: each key's row holds exactly its latest value, and replaying the batches changes nothing", async () => {
    const batches = [
      [record("upserts", 1, { n: 1 }), record("upserts", 2, { n: 1 }), record("upserts", 1, { n: 2 })],
      [record("upserts", 3, { n: 1 }), record("upserts", 2, { n: 5 })],
    ];
    const expected = [
      { id: "1", n: "2" },
      { id: "2", n: "5" },
      { id: "3", n: "1" },
    ];
    for (let run = 0; run < 2; run++) {
      // A new task each run, as after a restart from an older committed offset: the same records again.
      const sink = await startSink();
      for (const batch of batches) {
        await postgresSink.put(sink, batch);
        await postgresSink.flush(sink, []);
      }
      await postgresSink.stop(sink);
      expect(await rows("upserts")).toEqual(expected);
    }
  });

  it("writes a full buffer at once: batch.size bounds what put holds", async () => {
    const sink = await startSink({ "batch.size": 3 });
    await postgresSink.put(
      sink,
      Array.from({ length: 7 }, (_, i) => record("bounded", i, { n: i })),
    );
    expect(await rows("bounded")).toHaveLength(6);
    await postgresSink.flush(sink, []);
    expect(await rows("bounded")).toHaveLength(7);
    await postgresSink.stop(sink);
  });

  it("with delete.enabled a tombstone deletes its key's row; without, it is skipped", async () => {
    const sink = await startSink({ "delete.enabled": true });
    await postgresSink.put(sink, [record("deletes", "a", { n: 1 }), record("deletes", "b", { n: 2 })]);
    await postgresSink.flush(sink, []);
    await postgresSink.put(sink, [record("deletes", "a", null)]);
    await postgresSink.flush(sink, []);
    expect(await rows("deletes")).toEqual([{ id: "b", n: "2" }]);
    // Written and deleted in one batch: the last op of the key wins.
    await postgresSink.put(sink, [record("deletes", "c", { n: 3 }), record("deletes", "c", null)]);
    await postgresSink.flush(sink, []);
    expect(await rows("deletes")).toEqual([{ id: "b", n: "2" }]);
    await postgresSink.stop(sink);

    const keeping = await startSink();
    await postgresSink.put(keeping, [record("deletes", "b", null)]);
    await postgresSink.flush(keeping, []);
    await postgresSink.stop(keeping);
    expect(await rows("deletes")).toEqual([{ id: "b", n: "2" }]);
  });

  it("auto.evolve adds a column for a new field; without it the record fails naming table and column", async () => {
    const strict = await startSink();
    await postgresSink.put(strict, [record("evolving", 1, { a: 1 })]);
    await postgresSink.flush(strict, []);
    await expect(postgresSink.put(strict, [record("evolving", 2, { a: 2, b: "x" })])).rejects.toThrow(
      /table "evolving" has no column "b" and auto.evolve is false/,
    );
    await postgresSink.stop(strict);

    const evolving = await startSink({ "auto.evolve": true });
    await postgresSink.put(evolving, [record("evolving", 2, { a: 2, b: "x" })]);
    await postgresSink.flush(evolving, []);
    await postgresSink.stop(evolving);
    expect(await rows("evolving")).toEqual([
      { id: "1", a: "1", b: null },
      { id: "2", a: "2", b: "x" },
    ]);
  });

  it("a value of the wrong type is a plain Error naming table and column, from put or the server", async () => {
    const sink = await startSink();
    const first = record("typed", 1, { count: 1 });
    await postgresSink.put(sink, [first]);
    const refused = postgresSink.put(sink, [record("typed", 2, { count: "many" })]);
    await expect(refused).rejects.toThrow(/table "typed" column "count": a bigint column cannot take "many"/);
    await expect(refused).rejects.not.toBeInstanceOf(RetriableError);

    // A type only the server checks: the failed batch (typed's first record too) is dropped, so that the
    // runtime can put its records again one by one.
    await client.query('CREATE TABLE "tokens" (id bigint PRIMARY KEY, token uuid)');
    const good = record("tokens", 1, { token: "6f1c1a9e-8a43-4d4c-9d55-3f7f6ad0c9a1" });
    const bad = record("tokens", 2, { token: "not-a-uuid" });
    await postgresSink.put(sink, [good, bad]);
    await expect(postgresSink.flush(sink, [])).rejects.toThrow(
      /table "tokens" column "token": invalid input syntax for type uuid/,
    );
    await postgresSink.put(sink, [first, good]);
    await postgresSink.flush(sink, []);
    await postgresSink.stop(sink);
    expect(await rows("tokens")).toEqual([{ id: "1", token: "6f1c1a9e-8a43-4d4c-9d55-3f7f6ad0c9a1" }]);
    expect(await rows("typed")).toEqual([{ id: "1", count: "1" }]);
  });

  it("pk.mode record_value with pk.fields, composite keys, a table template, a primitive value", async () => {
    const byValue = await startSink({
      "pk.mode": "record_value",
      "pk.fields": ["region", "sku"],
      table: `stock_${topicPlaceholder}`,
    });
    await postgresSink.put(byValue, [
      record("eu.items", null, { region: "eu", sku: "a", qty: 1 }),
      record("eu.items", null, { region: "eu", sku: "a", qty: 4 }),
      record("eu.items", null, { region: "eu", sku: "b", qty: 2 }),
    ]);
    await postgresSink.flush(byValue, []);
    await postgresSink.stop(byValue);
    expect(await rows("stock_eu_items", "sku")).toEqual([
      { region: "eu", sku: "a", qty: "4" },
      { region: "eu", sku: "b", qty: "2" },
    ]);

    const primitive = await startSink({ "pk.fields": ["name"] });
    await postgresSink.put(primitive, [record("counts", "x", 3), record("counts", "y", 4)]);
    await postgresSink.flush(primitive, []);
    await postgresSink.stop(primitive);
    expect(await rows("counts", "name")).toEqual([
      { name: "x", value: "3" },
      { name: "y", value: "4" },
    ]);
  });

  it("insert.mode insert appends rows; a put retried with the same records does not take them twice", async () => {
    const sink = await startSink({ "pk.mode": "none", "insert.mode": "insert" });
    const batch = [
      record("events", null, { id: 1, kind: "a" }),
      record("events", null, { id: 1, kind: "b" }),
    ];
    await postgresSink.put(sink, batch);
    await postgresSink.put(sink, batch);
    await postgresSink.flush(sink, []);
    await postgresSink.stop(sink);
    expect(await rows("events", "kind")).toEqual([
      { id: "1", kind: "a" },
      { id: "1", kind: "b" },
    ]);
  });

  it("refuses configs that cannot work: upsert without a pk, deletes without record_key", () => {
    expect(() => startSink({ "pk.mode": "none" })).toThrow(/upsert needs a primary key/);
    expect(() =>
      startSink({ "pk.mode": "record_value", "pk.fields": ["id"], "delete.enabled": true }),
    ).toThrow(/delete.enabled needs pk.mode record_key/);
  });

  // Last: it stops the server.
  it("a stopped server is a RetriableError", async () => {
    const sink = await startSink();
    await postgresSink.put(sink, [record("lost", 1, { n: 1 })]);
    await client.end();
    await postgres.stop();
    const failure = postgresSink.flush(sink, []);
    await expect(failure).rejects.toBeInstanceOf(RetriableError);
    await postgresSink.stop(sink);
  });
});
