// postgres-sink: writes records to PostgreSQL tables, after Kafka Connect's JDBC sink. A record's key
// (or value fields) is the row's primary key; upserts make replays harmless, so each row ends up holding
// exactly the latest value of its key. Tables are created from the first record's JSON, and may grow
// columns (auto.evolve); tombstones delete rows (delete.enabled). put buffers up to batch.size rows and
// writes them when full; flush writes the rest, all in one transaction.

import type pg from "pg";
import type { Counter } from "prom-client";
import { defineSink, RetriableError, type SinkRecord, type SinkTaskContext } from "../../api.js";
import type { ConfigSchema, ConfigValues } from "../../config/config-def.js";
import { classify } from "./errors.js";
import { connectorCounter, openPool } from "./pool.js";
import { SinkBuffer } from "./sink-buffer.js";
import {
  type InsertMode,
  inferColumnType,
  misfit,
  opOf,
  type PkMode,
  type RowSettings,
  type SinkOp,
} from "./sink-rows.js";
import { addColumn, chunk, createTable, deleteRows, describeTable, insertRows } from "./sink-statements.js";
import { type Statement, topicPlaceholder } from "./sql.js";

const configSchema = {
  "connection.url": {
    type: "string",
    doc: "The database to write to: postgres://user:password@host:port/database.",
    importance: "high",
  },
  table: {
    type: "string",
    default: topicPlaceholder,
    doc: `The table (or "schema.table") to write to; ${topicPlaceholder} is the record's topic. Made a safe identifier.`,
  },
  "pk.mode": {
    type: "string",
    default: "record_key",
    choices: ["record_key", "record_value", "none"],
    doc: "Where the primary key comes from: the record's key, fields of its value (pk.fields), or nowhere.",
  },
  "pk.fields": {
    type: "list",
    default: [],
    doc: "The primary-key columns: the column a primitive key goes to (default id), or fields of an object key or of the value.",
  },
  "insert.mode": {
    type: "string",
    default: "upsert",
    choices: ["upsert", "insert"],
    doc: "upsert: INSERT ... ON CONFLICT (pk) DO UPDATE (needs a pk); insert: plain INSERT.",
  },
  "auto.create": { type: "boolean", default: true, doc: "Create a missing table from the first record." },
  "auto.evolve": { type: "boolean", default: false, doc: "Add a column for a field the table lacks." },
  "delete.enabled": {
    type: "boolean",
    default: false,
    doc: "A tombstone (null value) deletes its key's row; needs pk.mode record_key. Skipped when off.",
  },
  "batch.size": {
    type: "int",
    default: 3_000,
    min: 1,
    max: 100_000,
    doc: "The most rows buffered (and written by one statement); a full buffer is written at once.",
  },
} as const satisfies ConfigSchema;

type SinkConfig = ConfigValues<typeof configSchema>;

interface SinkState {
  context: SinkTaskContext<SinkConfig>;
  settings: RowSettings;
  pool: pg.Pool;
  /** Column name → type of each table seen, as the server described (or was told to create) it. */
  tables: Map<string, Map<string, string>>;
  buffer: SinkBuffer;
  /** The last offset put per topic-partition: a put retried after a failure skips what it already took. */
  acceptedOffsets: Map<string, number>;
  /** The last offset written per topic-partition: what acceptedOffsets go back to when a write is refused. */
  writtenOffsets: Map<string, number>;
  rowsWritten: Counter<"connector">;
}

function settingsOf(config: SinkConfig): RowSettings {
  const settings: RowSettings = {
    tableTemplate: config.table,
    pkMode: config["pk.mode"] as PkMode,
    pkFields: config["pk.fields"],
    insertMode: config["insert.mode"] as InsertMode,
    deleteEnabled: config["delete.enabled"],
  };
  if (settings.insertMode === "upsert" && settings.pkMode === "none") {
    throw new Error(
      "postgres-sink: insert.mode upsert needs a primary key: set pk.mode, or insert.mode insert",
    );
  }
  if (settings.deleteEnabled && settings.pkMode !== "record_key") {
    throw new Error("postgres-sink: delete.enabled needs pk.mode record_key (a tombstone has only its key)");
  }
  if (settings.pkMode === "record_value" && settings.pkFields.length === 0) {
    throw new Error("postgres-sink: pk.mode record_value needs pk.fields, the value fields of the key");
  }
  return settings;
}

async function run(state: SinkState, statement: Statement, doing: string, table: string) {
  try {
    return await state.pool.query(statement.text, statement.values);
  } catch (error) {
    throw classify(error, doing, table);
  }
}

/** A table's columns as the server has them, or undefined when there is no such table. */
async function describe(state: SinkState, table: string): Promise<Map<string, string> | undefined> {
  const result = await run(state, describeTable(table), "describing", table);
  if (result.rows.length === 0) return undefined;
  const columns = new Map<string, string>(result.rows.map((row) => [row.column_name, row.data_type]));
  state.tables.set(table, columns);
  return columns;
}

async function create(state: SinkState, op: SinkOp): Promise<Map<string, string>> {
  if (!state.context.config["auto.create"]) {
    throw new Error(
      `postgres-sink: table "${op.table}" does not exist and auto.create is false (record ${op.origin})`,
    );
  }
  const columns = Object.entries(op.row).map(([name, value]): [string, string] => [
    name,
    inferColumnType(value),
  ]);
  try {
    await run(state, createTable(op.table, columns, op.pk), "creating", op.table);
  } catch (error) {
    // Another task may have created it at the same moment (CREATE TABLE IF NOT EXISTS can still collide).
    const created = await describe(state, op.table);
    if (created === undefined) throw error;
    return created;
  }
  state.context.logger.info({ table: op.table, columns }, "postgres-sink: created a table");
  return (await describe(state, op.table)) ?? new Map(columns);
}

async function evolve(state: SinkState, op: SinkOp, columns: Map<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(op.row)) {
    if (columns.has(name)) continue;
    if (!state.context.config["auto.evolve"] || op.kind === "delete") {
      const why = op.kind === "delete" ? "for the key of a tombstone" : "and auto.evolve is false";
      throw new Error(
        `postgres-sink: table "${op.table}" has no column "${name}" ${why} (record ${op.origin})`,
      );
    }
    const type = inferColumnType(value);
    await run(state, addColumn(op.table, name, type), "adding a column to", op.table);
    state.context.logger.info({ table: op.table, column: name, type }, "postgres-sink: added a column");
    columns.set(name, type);
  }
}

function check(op: SinkOp, columns: ReadonlyMap<string, string>): void {
  for (const [name, value] of Object.entries(op.row)) {
    const problem = misfit(columns.get(name) ?? "", value);
    if (problem !== undefined) {
      throw new Error(
        `postgres-sink: table "${op.table}" column "${name}": ${problem} (record ${op.origin})`,
      );
    }
  }
}

/**
 * Makes the table ready for op (created, evolved) and checks op's values against its columns. False for a
 * tombstone of a table that does not exist: there is nothing to delete.
 */
async function prepare(state: SinkState, op: SinkOp): Promise<boolean> {
  let columns = state.tables.get(op.table) ?? (await describe(state, op.table));
  if (columns === undefined) {
    if (op.kind === "delete") return false;
    columns = await create(state, op);
  }
  await evolve(state, op, columns);
  check(op, columns);
  return true;
}

/** Ops grouped by what one statement can hold: same kind, same columns, same primary key. */
function groupByShape(ops: SinkOp[]): SinkOp[][] {
  const groups = new Map<string, SinkOp[]>();
  for (const op of ops) {
    const shape = JSON.stringify([op.kind, Object.keys(op.row), op.pk]);
    const group = groups.get(shape);
    if (group === undefined) groups.set(shape, [op]);
    else group.push(op);
  }
  return [...groups.values()];
}

function statementsFor(state: SinkState, table: string, ops: SinkOp[]): Statement[] {
  const types = state.tables.get(table) ?? new Map<string, string>();
  const batchSize = state.context.config["batch.size"];
  return groupByShape(ops).flatMap((group) => {
    const { kind, pk } = group[0];
    const columns = Object.keys(group[0].row);
    return chunk(group, columns.length, batchSize).map((part) => {
      const rows = part.map((op) => op.row);
      return kind === "delete"
        ? deleteRows(table, pk, rows, types)
        : insertRows(table, columns, rows, pk, types);
    });
  });
}

/** Runs the statements in one transaction; an error names the table whose statement failed. */
async function inTransaction(pool: pg.Pool, statements: [table: string, Statement][]): Promise<void> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw classify(error, "connecting to write", undefined);
  }
  let failed = false;
  let current: [table: string, Statement] | undefined;
  try {
    await client.query("BEGIN");
    for (current of statements) await client.query(current[1].text, current[1].values);
    current = undefined;
    await client.query("COMMIT");
  } catch (error) {
    failed = true;
    await client.query("ROLLBACK").catch(() => {});
    throw classify(error, "writing to", current?.[0], current?.[1]);
  } finally {
    client.release(failed);
  }
}

/** Writes everything buffered in one transaction. A refused write drops the buffer (see acceptedOffsets). */
async function writeBuffer(state: SinkState): Promise<void> {
  const rows = state.buffer.size;
  if (rows === 0) return;
  const statements = state.buffer
    .byTable()
    .flatMap(([table, ops]) =>
      statementsFor(state, table, ops).map((statement): [string, Statement] => [table, statement]),
    );
  try {
    await inTransaction(state.pool, statements);
  } catch (error) {
    if (!(error instanceof RetriableError)) {
      // The records go back to the runtime, which fails the task or (errors.tolerance=all) puts them one
      // by one to find the bad one: none of them may be skipped as already taken.
      state.buffer.clear();
      state.acceptedOffsets = new Map(state.writtenOffsets);
    }
    throw error;
  }
  state.buffer.clear();
  state.writtenOffsets = new Map(state.acceptedOffsets);
  state.rowsWritten.inc({ connector: state.context.connector }, rows);
}

function partitionOf(record: SinkRecord): string {
  return `${record.topic}/${record.partition}`;
}

async function put(state: SinkState, records: SinkRecord[]): Promise<void> {
  const fresh = records.filter(
    (record) => record.offset > (state.acceptedOffsets.get(partitionOf(record)) ?? -1),
  );
  // Every record is turned into its op and checked before any is taken, so a bad one fails the whole put.
  const ops: [SinkRecord, SinkOp | undefined][] = [];
  for (const record of fresh) {
    const op = opOf(record, state.settings);
    ops.push([record, op !== undefined && (await prepare(state, op)) ? op : undefined]);
  }
  for (const [record, op] of ops) {
    if (op !== undefined) state.buffer.add(op);
    state.acceptedOffsets.set(partitionOf(record), record.offset);
    if (state.buffer.size >= state.context.config["batch.size"]) await writeBuffer(state);
  }
}

export const postgresSink = defineSink({
  name: "postgres-sink",
  description: "Upserts records into PostgreSQL tables (JDBC sink style): one row per key, latest value.",
  configSchema,
  start(context): SinkState {
    const settings = settingsOf(context.config);
    return {
      context,
      settings,
      pool: openPool(context.config["connection.url"], context.logger),
      tables: new Map(),
      buffer: new SinkBuffer(),
      acceptedOffsets: new Map(),
      writtenOffsets: new Map(),
      rowsWritten: connectorCounter(
        context.metrics,
        "brook_connect_postgres_sink_rows_written_total",
        "Rows the postgres-sink wrote (upserted, inserted or deleted) in committed transactions.",
      ),
    };
  },
  put,
  async flush(state) {
    await writeBuffer(state);
  },
  async stop(state) {
    await state.pool.end();
  },
});
