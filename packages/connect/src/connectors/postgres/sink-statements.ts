// The SQL the Postgres sink runs, built as text plus parameters: describe, create and evolve a table;
// multi-row INSERT ... ON CONFLICT DO UPDATE for upserts; DELETE ... WHERE (pk) IN (...) for tombstones.

import type { Row } from "./sink-rows.js";
import { quoteIdentifier, quoteTableName, type Statement, splitTableName } from "./sql.js";

/** Postgres's limit of parameters in one statement (a 16-bit count in the wire protocol). */
export const statementParametersMax = 65_535;

/** The columns of a table and their types, in the table's schema or the connection's current one. */
export function describeTable(table: string): Statement {
  const parts = splitTableName(table);
  const schema = parts.length === 2 ? parts[0] : null;
  return {
    text:
      "SELECT column_name, data_type FROM information_schema.columns " +
      "WHERE table_schema = coalesce($1, current_schema()) AND table_name = $2 ORDER BY ordinal_position",
    values: [schema, parts[parts.length - 1]],
  };
}

/** CREATE TABLE IF NOT EXISTS with the given columns; the pk columns are NOT NULL and the primary key. */
export function createTable(table: string, columns: [name: string, type: string][], pk: string[]): Statement {
  const definitions = columns.map(
    ([name, type]) => `${quoteIdentifier(name)} ${type}${pk.includes(name) ? " NOT NULL" : ""}`,
  );
  if (pk.length > 0) definitions.push(`PRIMARY KEY (${pk.map(quoteIdentifier).join(", ")})`);
  return {
    text: `CREATE TABLE IF NOT EXISTS ${quoteTableName(table)} (${definitions.join(", ")})`,
    values: [],
  };
}

export function addColumn(table: string, column: string, type: string): Statement {
  return {
    text: `ALTER TABLE ${quoteTableName(table)} ADD COLUMN IF NOT EXISTS ${quoteIdentifier(column)} ${type}`,
    values: [],
  };
}

/** A value as a parameter: JSON for json columns and for objects; Buffers go as bytea. */
function parameter(value: unknown, columnType: string | undefined): unknown {
  if (value === undefined || value === null) return null;
  if (columnType === "json" || columnType === "jsonb") return JSON.stringify(value);
  if (typeof value === "object" && !Buffer.isBuffer(value)) return JSON.stringify(value);
  return value;
}

/** Rows of one table with the same columns, split so no statement has more than batchSize rows (or params). */
export function chunk<T>(items: T[], columnCount: number, batchSize: number): T[][] {
  const size = Math.max(
    1,
    Math.min(batchSize, Math.floor(statementParametersMax / Math.max(1, columnCount))),
  );
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

function valuesList(rows: Row[], columns: string[], types: ReadonlyMap<string, string>): Statement {
  const values: unknown[] = [];
  const tuples = rows.map((row) => {
    const placeholders = columns.map((column) => {
      values.push(parameter(row[column], types.get(column)));
      return `$${values.length}`;
    });
    return `(${placeholders.join(", ")})`;
  });
  return { text: tuples.join(", "), values, columns };
}

/**
 * One INSERT of rows sharing the same columns. With a pk, ON CONFLICT updates the row's other columns to
 * the new values (the columns the record has: a field absent from a value leaves its column as it was).
 */
export function insertRows(
  table: string,
  columns: string[],
  rows: Row[],
  pk: string[],
  types: ReadonlyMap<string, string>,
): Statement {
  const list = valuesList(rows, columns, types);
  const head = `INSERT INTO ${quoteTableName(table)} (${columns.map(quoteIdentifier).join(", ")}) VALUES ${list.text}`;
  if (pk.length === 0) return { ...list, text: head };
  const updates = columns
    .filter((column) => !pk.includes(column))
    .map((column) => `${quoteIdentifier(column)} = EXCLUDED.${quoteIdentifier(column)}`);
  const conflict = `ON CONFLICT (${pk.map(quoteIdentifier).join(", ")})`;
  const action = updates.length === 0 ? "DO NOTHING" : `DO UPDATE SET ${updates.join(", ")}`;
  return { ...list, text: `${head} ${conflict} ${action}` };
}

/** DELETE the rows with these primary keys: WHERE (pk...) IN ((...), (...)). */
export function deleteRows(
  table: string,
  pk: string[],
  keys: Row[],
  types: ReadonlyMap<string, string>,
): Statement {
  const list = valuesList(keys, pk, types);
  return {
    ...list,
    text: `DELETE FROM ${quoteTableName(table)} WHERE (${pk.map(quoteIdentifier).join(", ")}) IN (${list.text})`,
  };
}
