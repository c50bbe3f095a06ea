// How the CLI speaks: tables for people, stable JSON for scripts, and one
// error format (the typed code first, then what to do) with exit code 1.

import { BrookError } from "@brook/protocol";
import Table from "cli-table3";

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printTable(head: string[], rows: Array<Array<string | number>>): void {
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) table.push(row.map(String));
  process.stdout.write(`${table.toString()}\n`);
}

export function fail(error: unknown): never {
  const message =
    error instanceof BrookError ? error.message : error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}
