// Which Postgres failures are worth retrying: a lost or refused connection, a server shutting down or out
// of resources, a serialization failure. Anything else the server refused (a type, a constraint, a
// missing table) is about the data or the config and fails the task with a message naming the table.

import { RetriableError } from "../../api.js";
import type { Statement } from "./sql.js";

/** SQLSTATE classes and codes of passing trouble: connection, resources, transaction rollback, shutdown. */
const retriableClasses = ["08", "40", "53"];
const retriableCodes = ["57P01", "57P02", "57P03", "55P03"];

/** A server error carries a five-character SQLSTATE; a socket or pool error has none (or an E... code). */
function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function isRetriable(error: unknown): boolean {
  if (error instanceof RetriableError) return true;
  const state = sqlState(error);
  if (state === undefined) return true;
  return retriableClasses.includes(state.slice(0, 2)) || retriableCodes.includes(state);
}

/**
 * The column a server error names: its own column field (not-null violations), or the column of the
 * parameter it could not take ("unnamed portal parameter $4 = ..."), found in the statement's columns.
 */
function columnOf(error: unknown, statement: Statement | undefined): string | undefined {
  const { column, where } = (error ?? {}) as { column?: unknown; where?: unknown };
  if (typeof column === "string") return column;
  const parameter = typeof where === "string" ? /parameter \$(\d+)/.exec(where) : null;
  const columns = statement?.columns;
  if (parameter === null || columns === undefined || columns.length === 0) return undefined;
  return columns[(Number(parameter[1]) - 1) % columns.length];
}

/**
 * The error to throw for a failure while `doing` something with `table` (running `statement`):
 * RetriableError for passing trouble, a plain Error naming table (and column, when known) otherwise.
 */
export function classify(
  error: unknown,
  doing: string,
  table: string | undefined,
  statement?: Statement,
): Error {
  if (error instanceof RetriableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const where = table === undefined ? "" : ` table "${table}"`;
  if (isRetriable(error)) {
    return new RetriableError(`postgres: ${doing}${where}: ${message}`, { cause: error });
  }
  const column = columnOf(error, statement);
  const at = column === undefined ? "" : ` column "${column}"`;
  return new Error(`postgres: ${doing}${where}${at}: ${message}`, { cause: error });
}
