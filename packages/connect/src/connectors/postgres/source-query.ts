// What the Postgres source asks for, decided without I/O: where a table's reading stands (its source
// offset), the SELECT of the next rows after it, and the offset each row read leaves behind.

import type { SourceOffset } from "../../api.js";
import { quoteIdentifier, type Statement } from "./sql.js";

export type Mode = "incrementing" | "timestamp" | "timestamp+incrementing";

export interface Columns {
  incrementing: string;
  timestamp: string;
}

/** The last row read, exclusive: undefined fields mean from the start. */
export interface Position {
  incrementing?: number | string;
  /** An ISO-8601 timestamp, microseconds kept. */
  timestamp?: string;
}

export function usesIncrementing(mode: Mode): boolean {
  return mode !== "timestamp";
}

export function usesTimestamp(mode: Mode): boolean {
  return mode !== "incrementing";
}

/** A committed source offset as a position; ms since the epoch are accepted for the timestamp too. */
export function positionOf(offset: SourceOffset | undefined, where: string): Position {
  if (offset === undefined) return {};
  const { incrementing, timestamp } = offset;
  const position: Position = {};
  if (typeof incrementing === "number" || typeof incrementing === "string")
    position.incrementing = incrementing;
  else if (incrementing !== undefined && incrementing !== null) {
    throw new Error(`postgres-source: ${where}: offset incrementing must be a number, got ${incrementing}`);
  }
  if (typeof timestamp === "number") position.timestamp = new Date(timestamp).toISOString();
  else if (typeof timestamp === "string") position.timestamp = timestamp;
  else if (timestamp !== undefined && timestamp !== null) {
    throw new Error(`postgres-source: ${where}: offset timestamp must be ISO-8601 or ms, got ${timestamp}`);
  }
  return position;
}

export function offsetOf(position: Position, mode: Mode): SourceOffset {
  const offset: SourceOffset = {};
  if (usesTimestamp(mode)) offset.timestamp = position.timestamp ?? null;
  if (usesIncrementing(mode)) offset.incrementing = position.incrementing ?? null;
  return offset;
}

/** The rows after position, in (timestamp, incrementing) order, at most limit of them. */
export function selectAfter(
  from: string,
  mode: Mode,
  columns: Columns,
  position: Position,
  limit: number,
): Statement {
  const inc = usesIncrementing(mode) ? quoteIdentifier(columns.incrementing) : "";
  const ts = usesTimestamp(mode) ? quoteIdentifier(columns.timestamp) : "";
  const values: unknown[] = [];
  const conditions: string[] = [];
  const order: string[] = [];
  if (usesTimestamp(mode)) {
    conditions.push(`${ts} IS NOT NULL`);
    order.push(ts);
  }
  if (usesIncrementing(mode)) {
    conditions.push(`${inc} IS NOT NULL`);
    order.push(inc);
  }
  if (usesTimestamp(mode) && position.timestamp !== undefined) {
    values.push(position.timestamp);
    const after = `${ts} > $1`;
    if (usesIncrementing(mode) && position.incrementing !== undefined) {
      values.push(position.incrementing);
      conditions.push(`(${after} OR (${ts} = $1 AND ${inc} > $2))`);
    } else conditions.push(after);
  } else if (mode === "incrementing" && position.incrementing !== undefined) {
    values.push(position.incrementing);
    conditions.push(`${inc} > $1`);
  }
  values.push(limit);
  const text = `SELECT * FROM ${from} WHERE ${conditions.join(" AND ")} ORDER BY ${order.join(", ")} LIMIT $${values.length}`;
  return { text, values };
}

/** Every row of one timestamp (timestamp mode reads a timestamp's rows all at once), at most limit. */
export function selectAt(from: string, columns: Columns, timestamp: string, limit: number): Statement {
  return {
    text: `SELECT * FROM ${from} WHERE ${quoteIdentifier(columns.timestamp)} = $1 LIMIT $2`,
    values: [timestamp, limit],
  };
}

/** A row's own position: its incrementing and timestamp column values. */
export function rowPosition(row: Record<string, unknown>, mode: Mode, columns: Columns): Position {
  const position: Position = {};
  if (usesIncrementing(mode)) {
    const value = row[columns.incrementing];
    if (typeof value !== "number" && typeof value !== "string") {
      throw new Error(`postgres-source: the rows have no integer column "${columns.incrementing}"`);
    }
    position.incrementing = value;
  }
  if (usesTimestamp(mode)) {
    const value = row[columns.timestamp];
    if (typeof value !== "string") {
      throw new Error(`postgres-source: the rows have no timestamp column "${columns.timestamp}"`);
    }
    position.timestamp = value;
  }
  return position;
}

/**
 * The positions to record after each row. In timestamp mode several rows may share a timestamp, and
 * `> timestamp` would skip the rest of them after a restart: a row leaves its timestamp behind only when it
 * is the last of its timestamp's rows; before that the position stays where the previous timestamp ended.
 * (The batch holds whole timestamps: see trimToWholeTimestamps.)
 */
export function positionsAfter(rows: Position[], mode: Mode, prior: Position): Position[] {
  if (mode !== "timestamp") return rows;
  let before = prior;
  return rows.map((row, i) => {
    const lastOfTimestamp = i === rows.length - 1 || rows[i + 1].timestamp !== row.timestamp;
    if (!lastOfTimestamp) return before;
    before = row;
    return row;
  });
}

/**
 * In timestamp mode, a full batch may end inside a timestamp whose other rows did not fit: those rows are
 * dropped (the next poll reads them all). Returns how many rows to keep; 0 when one timestamp filled the
 * whole batch, which must then be read by itself (selectAt).
 */
export function wholeTimestampRows(rows: Position[], mode: Mode, limit: number): number {
  if (mode !== "timestamp" || rows.length < limit) return rows.length;
  const last = rows[rows.length - 1].timestamp;
  let keep = rows.length;
  while (keep > 0 && rows[keep - 1].timestamp === last) keep--;
  return keep;
}
