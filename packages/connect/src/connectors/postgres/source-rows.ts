// How the Postgres source reads rows as JSON: 64-bit integers and numerics become numbers when a double
// holds them exactly (else their text), timestamps ISO-8601 strings in UTC with every microsecond kept
// (an offset must compare exactly), dates their text, bytea base64. The session's time zone is UTC.

import pg from "pg";

/** PostgreSQL type OIDs (pg_type.oid) whose text the source parses itself. */
const oid = { int8: 20, numeric: 1700, date: 1082, timestamp: 1114, timestamptz: 1184 } as const;

/** A double holds 15 significant decimal digits exactly, and integers up to 2^53. */
const exactDigitsMax = 15;

export function numberIfExact(text: string): number | string {
  const value = Number(text);
  if (!Number.isFinite(value)) return text;
  if (Number.isSafeInteger(value) && /^-?\d+$/.test(text)) return value;
  const digits = text.replace(/^[-+]/, "").replace(".", "").replace(/^0+/, "").replace(/0+$/, "");
  return digits.length <= exactDigitsMax ? value : text;
}

/** "2024-05-01 12:00:00.123456+00" (or without a zone) → "2024-05-01T12:00:00.123456Z"; else unchanged. */
export function isoTimestamp(text: string): string {
  const match = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)(?:\+00)?$/.exec(text);
  return match === null ? text : `${match[1]}T${match[2]}Z`;
}

const parsers = new Map<number, (text: string) => unknown>([
  [oid.int8, numberIfExact],
  [oid.numeric, numberIfExact],
  [oid.date, (text) => text],
  [oid.timestamp, isoTimestamp],
  [oid.timestamptz, isoTimestamp],
]);

/** The pool's `types`: the parsers above, pg's own for every other type. */
export const sourceTypes: pg.CustomTypesConfig = {
  getTypeParser: ((typeId: number, format?: "text" | "binary") =>
    (format ?? "text") === "text" && parsers.has(typeId)
      ? parsers.get(typeId)
      : pg.types.getTypeParser(typeId, format)) as pg.CustomTypesConfig["getTypeParser"],
};

/** A row as a record value: Buffers (bytea) as base64, everything else as parsed. */
export function rowValue(row: Record<string, unknown>): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const [column, cell] of Object.entries(row))
    value[column] = Buffer.isBuffer(cell) ? cell.toString("base64") : cell;
  return value;
}
