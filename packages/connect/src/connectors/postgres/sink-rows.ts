// What a sink record means for a table, decided without I/O: the row it writes (or the key it deletes),
// the primary-key columns per pk.mode, the column types a new table gets, and whether a value fits a column.

import type { SinkRecord } from "../../api.js";
import { tableNameFor } from "./sql.js";

export type PkMode = "record_key" | "record_value" | "none";
export type InsertMode = "upsert" | "insert";

/** The sink's config as far as turning records into rows goes. */
export interface RowSettings {
  tableTemplate: string;
  pkMode: PkMode;
  pkFields: string[];
  insertMode: InsertMode;
  deleteEnabled: boolean;
}

/** Column name → the record's JSON value for it. */
export type Row = Record<string, unknown>;

/**
 * A row to write, or a primary key to delete (`row` then holds only the key columns). `pk` names the
 * key columns; `key` identifies the row within a batch, where the last op of a key wins.
 */
export interface SinkOp {
  kind: "write" | "delete";
  table: string;
  pk: string[];
  key: string;
  row: Row;
  origin: string;
}

/** Where a record came from, for error messages: topic/partition@offset. */
export function originOf(record: SinkRecord): string {
  return `${record.topic}/${record.partition}@${record.offset}`;
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function pick(source: Record<string, unknown>, fields: string[], what: string, origin: string): Row {
  const row: Row = {};
  for (const field of fields) {
    if (source[field] === undefined || source[field] === null) {
      throw new Error(`postgres-sink: record ${origin} has no ${what} field "${field}" for the primary key`);
    }
    row[field] = source[field];
  }
  return row;
}

/** The primary-key columns of a record: from its key or its value, per pk.mode and pk.fields. */
export function pkColumns(record: SinkRecord, settings: RowSettings): Row {
  const origin = originOf(record);
  if (settings.pkMode === "none") return {};
  if (settings.pkMode === "record_value") {
    if (!isJsonObject(record.value)) throw new Error(`postgres-sink: record ${origin} has no object value`);
    return pick(record.value, settings.pkFields, "value", origin);
  }
  const key = record.key;
  if (key === null || key === undefined) {
    throw new Error(`postgres-sink: record ${origin} has no key, and pk.mode is record_key`);
  }
  if (!isJsonObject(key)) return { [settings.pkFields[0] ?? "id"]: key };
  return settings.pkFields.length === 0 ? { ...key } : pick(key, settings.pkFields, "key", origin);
}

/** The columns a value writes: an object's fields, or (with pk.mode record_key) one `value` column. */
function valueColumns(record: SinkRecord, settings: RowSettings): Row {
  if (isJsonObject(record.value)) return record.value;
  if (settings.pkMode === "record_key") return { value: record.value };
  throw new Error(
    `postgres-sink: record ${originOf(record)} has a value that is not a JSON object; with pk.mode ` +
      `${settings.pkMode} only objects can be written (is the value converter JSON?)`,
  );
}

/** What a record does to its table; undefined for a tombstone when delete.enabled is off (it is skipped). */
export function opOf(record: SinkRecord, settings: RowSettings): SinkOp | undefined {
  const table = tableNameFor(settings.tableTemplate, record.topic);
  const origin = originOf(record);
  const tombstone = record.value === null || record.value === undefined;
  if (tombstone && !settings.deleteEnabled) return undefined;
  const pk = pkColumns(record, settings);
  const rowKey = settings.insertMode === "insert" ? origin : JSON.stringify(Object.values(pk));
  const pkNames = Object.keys(pk);
  if (tombstone) return { kind: "delete", table, pk: pkNames, key: rowKey, row: pk, origin };
  // Key columns first (the order of a new table's columns), and they win over value fields of that name.
  const row = { ...pk, ...valueColumns(record, settings), ...pk };
  return { kind: "write", table, pk: pkNames, key: rowKey, row, origin };
}

/** The column type a new table or column gets for a value: the first record's JSON decides. */
export function inferColumnType(value: unknown): string {
  if (typeof value === "number") return Number.isSafeInteger(value) ? "bigint" : "double precision";
  if (typeof value === "boolean") return "boolean";
  if (Buffer.isBuffer(value)) return "bytea";
  if (typeof value === "object" && value !== null) return "jsonb";
  return "text";
}

const integerText = /^\s*[-+]?\d+\s*$/;
const booleanText = /^\s*(t|true|f|false|y|yes|n|no|on|off|1|0)\s*$/i;

const fitsInteger = (value: unknown) =>
  typeof value === "number"
    ? Number.isSafeInteger(value)
    : typeof value === "string" && integerText.test(value);
const fitsNumber = (value: unknown) =>
  typeof value === "number" ||
  (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value)));
const fitsBoolean = (value: unknown) =>
  typeof value === "boolean" || (typeof value === "string" && booleanText.test(value));
const fitsText = (value: unknown) => ["string", "number", "boolean"].includes(typeof value);
const fitsBytes = (value: unknown) => typeof value === "string" || Buffer.isBuffer(value);

/** Column types (information_schema's data_type) whose values the sink checks before the server does. */
const fitsByType = new Map<string, (value: unknown) => boolean>([
  ["smallint", fitsInteger],
  ["integer", fitsInteger],
  ["bigint", fitsInteger],
  ["real", fitsNumber],
  ["double precision", fitsNumber],
  ["numeric", fitsNumber],
  ["boolean", fitsBoolean],
  ["text", fitsText],
  ["character varying", fitsText],
  ["character", fitsText],
  ["bytea", fitsBytes],
]);

/**
 * Why a value does not fit a column of this type, or undefined when it does or when only the server can
 * tell (a uuid, a timestamp: the server then decides, and its error names the column). json takes anything.
 */
export function misfit(columnType: string, value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const fits = fitsByType.get(columnType)?.(value) ?? true;
  return fits ? undefined : `a ${columnType} column cannot take ${JSON.stringify(value)?.slice(0, 80)}`;
}
