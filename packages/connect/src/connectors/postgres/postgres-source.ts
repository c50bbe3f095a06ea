// postgres-source: reads new rows of PostgreSQL tables (or of one query) into topics, after Kafka Connect's
// JDBC source. Each table is a source partition, its offset the last row read: its incrementing column,
// its timestamp column, or both (mode). A restarted task resumes right after its committed offset, so no
// row is read twice or skipped; the tables are shared among the tasks.

import type pg from "pg";
import type { Counter } from "prom-client";
import { defineSource, type SourcePartition, type SourceRecord, type SourceTaskContext } from "../../api.js";
import type { ConfigSchema, ConfigValues } from "../../config/config-def.js";
import { sleep } from "../../sleep.js";
import { classify } from "./errors.js";
import { connectorCounter, openPool } from "./pool.js";
import {
  type Columns,
  type Mode,
  offsetOf,
  type Position,
  positionOf,
  positionsAfter,
  rowPosition,
  selectAfter,
  selectAt,
  usesIncrementing,
  usesTimestamp,
  wholeTimestampRows,
} from "./source-query.js";
import { rowValue, sourceTypes } from "./source-rows.js";
import { quoteTableName, type Statement } from "./sql.js";

/** In timestamp mode all rows of one timestamp are read together; more than this many is refused. */
const timestampRowsMax = 100_000;

const configSchema = {
  "connection.url": {
    type: "string",
    doc: "The database to read from: postgres://user:password@host:port/database.",
    importance: "high",
  },
  "table.whitelist": {
    type: "list",
    default: [],
    doc: 'The tables ("table" or "schema.table") to read, each a source partition. Either this or query.',
  },
  query: {
    type: "string",
    optional: true,
    doc: "A SELECT to read instead of tables (one task); its rows are filtered and ordered by the mode's columns.",
  },
  mode: {
    type: "string",
    default: "incrementing",
    choices: ["incrementing", "timestamp", "timestamp+incrementing"],
    doc: "How new rows are found: a strictly increasing column, a last-modified timestamp, or both.",
  },
  "incrementing.column.name": {
    type: "string",
    default: "id",
    doc: "The strictly increasing integer column.",
  },
  "timestamp.column.name": {
    type: "string",
    optional: true,
    doc: "The last-modified timestamp column (timestamp and timestamp+incrementing modes).",
  },
  "topic.prefix": {
    type: "string",
    default: "",
    doc: "A table's topic is this prefix and the table's name; with query, the topic is the prefix itself.",
  },
  "poll.interval.ms": {
    type: "int",
    default: 5000,
    min: 1,
    doc: "How long to wait after a poll that found no new rows.",
  },
  "batch.max.rows": {
    type: "int",
    default: 100,
    min: 1,
    max: 100_000,
    doc: "The most rows read from one table at a time.",
  },
} as const satisfies ConfigSchema;

type SourceConfig = ConfigValues<typeof configSchema>;

/** One table (or the query) this task reads, and how far it has read. */
interface TableReader {
  /** For messages: the table's name, or "query". */
  name: string;
  partition: SourcePartition;
  /** What follows FROM: the quoted table, or the query as a subquery. */
  from: string;
  topic: string;
  position: Position;
}

interface SourceState {
  context: SourceTaskContext<SourceConfig>;
  mode: Mode;
  columns: Columns;
  pool: pg.Pool;
  readers: TableReader[];
  rowsRead: Counter<"connector">;
}

/** The tables or query of this task, before their offsets are read. */
function readersOf(config: SourceConfig, taskId: number, taskCount: number): Omit<TableReader, "position">[] {
  const tables = config["table.whitelist"];
  const query = config.query?.trim();
  if (tables.length > 0 === (query !== undefined && query !== "")) {
    throw new Error("postgres-source: set exactly one of table.whitelist and query");
  }
  if (query !== undefined && query !== "") {
    if (config["topic.prefix"] === "")
      throw new Error("postgres-source: with query, topic.prefix is the topic: set it");
    if (taskId !== 0) return [];
    const from = `(${query}) AS brook_query`;
    return [{ name: "query", partition: { query: "query" }, from, topic: config["topic.prefix"] }];
  }
  return tables
    .filter((_, i) => i % taskCount === taskId)
    .map((table) => ({
      name: table,
      partition: { table },
      from: quoteTableName(table),
      topic: `${config["topic.prefix"]}${table}`,
    }));
}

function columnsOf(config: SourceConfig, mode: Mode): Columns {
  const timestamp = config["timestamp.column.name"] ?? "";
  if (usesTimestamp(mode) && timestamp === "") {
    throw new Error(`postgres-source: mode ${mode} needs timestamp.column.name`);
  }
  return { incrementing: config["incrementing.column.name"], timestamp };
}

async function start(context: SourceTaskContext<SourceConfig>): Promise<SourceState> {
  const { config } = context;
  const mode = config.mode as Mode;
  const columns = columnsOf(config, mode);
  const readers: TableReader[] = [];
  for (const reader of readersOf(config, context.taskId, context.taskCount)) {
    readers.push({ ...reader, position: positionOf(await context.offset(reader.partition), reader.name) });
  }
  // Timestamps are read in UTC, whatever the server's default: offsets and values must not depend on it.
  // (An `options` parameter in connection.url replaces this one.)
  const pool = openPool(config["connection.url"], context.logger, {
    types: sourceTypes,
    options: "-c TimeZone=UTC",
  });
  const rowsRead = connectorCounter(
    context.metrics,
    "brook_connect_postgres_source_rows_read_total",
    "Rows the postgres-source read and handed over as records.",
  );
  return { context, mode, columns, pool, readers, rowsRead };
}

async function rowsOf(state: SourceState, reader: TableReader, statement: Statement) {
  try {
    return (await state.pool.query<Record<string, unknown>>(statement.text, statement.values)).rows;
  } catch (error) {
    throw classify(error, "reading", reader.name);
  }
}

/** The next rows of a table after its position, with the position each leaves behind. */
async function readBatch(state: SourceState, reader: TableReader) {
  const { mode, columns } = state;
  const limit = state.context.config["batch.max.rows"];
  let rows = await rowsOf(state, reader, selectAfter(reader.from, mode, columns, reader.position, limit));
  let positions = rows.map((row) => rowPosition(row, mode, columns));
  const keep = wholeTimestampRows(positions, mode, limit);
  if (keep === 0 && rows.length > 0) {
    const timestamp = positions[0].timestamp ?? "";
    rows = await rowsOf(state, reader, selectAt(reader.from, columns, timestamp, timestampRowsMax + 1));
    if (rows.length > timestampRowsMax) {
      throw new Error(
        `postgres-source: "${reader.name}" has more than ${timestampRowsMax} rows at ${timestamp}: use mode timestamp+incrementing`,
      );
    }
    positions = rows.map((row) => rowPosition(row, mode, columns));
  } else {
    rows = rows.slice(0, keep);
    positions = positions.slice(0, keep);
  }
  const after = positionsAfter(positions, mode, reader.position);
  return rows.map((row, i) => ({ row, position: after[i] }));
}

function recordOf(state: SourceState, reader: TableReader, row: Record<string, unknown>, position: Position) {
  const record: SourceRecord = {
    sourcePartition: reader.partition,
    sourceOffset: offsetOf(position, state.mode),
    topic: reader.topic,
    key: usesIncrementing(state.mode) ? row[state.columns.incrementing] : null,
    value: rowValue(row),
  };
  return record;
}

async function* poll(state: SourceState): AsyncGenerator<SourceRecord> {
  const { signal } = state.context;
  while (!signal.aborted) {
    let read = 0;
    for (const reader of state.readers) {
      if (signal.aborted) return;
      const batch = await readBatch(state, reader);
      state.rowsRead.inc({ connector: state.context.connector }, batch.length);
      read += batch.length;
      for (const { row, position } of batch) {
        // The position moves before the yield: a record handed over is read, even if the runtime stops here.
        reader.position = position;
        yield recordOf(state, reader, row, position);
      }
    }
    if (read === 0) await sleep(state.context.config["poll.interval.ms"], signal);
  }
}

export const postgresSource = defineSource({
  name: "postgres-source",
  description: "Reads new rows of PostgreSQL tables or a query (JDBC source style: incrementing/timestamp).",
  configSchema,
  maxTasks: (config) =>
    config.query !== undefined && config.query.trim() !== ""
      ? 1
      : Math.max(1, config["table.whitelist"].length),
  canSeek: true,
  start,
  poll,
  async stop(state) {
    await state.pool.end();
  },
});
