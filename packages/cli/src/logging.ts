// How the SDK's logs reach a person: by default a warning is one short line on stderr and nothing else is
// shown; --verbose (or BROOK_LOG_LEVEL) shows the structured JSON logs instead, for a bug report.

import type { Logger } from "@brook/client";
import { pino } from "pino";

/** The same warning is shown at most once per this interval; the repeats are counted. */
const repeatIntervalMs = 10_000;
/** A warning's detail is cut at this length: one line, not a stack of nested causes. */
const detailCharsMax = 200;

export interface LoggingOptions {
  verbose?: true;
}

const levels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/** The logger every SDK client of this command gets: structured when asked for, else one-line warnings. */
export function cliLogger(options: LoggingOptions, env: NodeJS.ProcessEnv = process.env): Logger {
  const level = structuredLevel(options, env);
  if (level !== undefined) return pino({ level, base: { component: "brook-cli" } }, pino.destination(2));
  return humanLogger((line) => process.stderr.write(`${line}\n`), Date.now);
}

function structuredLevel(options: LoggingOptions, env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env.BROOK_LOG_LEVEL;
  if (fromEnv !== undefined && fromEnv !== "") {
    if (!(levels as readonly string[]).includes(fromEnv)) {
      throw new Error(`BROOK_LOG_LEVEL must be one of ${levels.join(", ")}, got '${fromEnv}'`);
    }
    return fromEnv;
  }
  return options.verbose ? "debug" : undefined;
}

/**
 * Warnings and errors as `warning: <what happened>: <why>`, one line each; a warning repeated within
 * repeatIntervalMs is held back and counted on its next showing. Debug and info lines are dropped.
 */
export function humanLogger(write: (line: string) => void, nowMs: () => number): Logger {
  const shown = new Map<string, { atMs: number; heldBack: number }>();
  const warn = (fields: object, message: string) => {
    const last = shown.get(message);
    const now = nowMs();
    if (last !== undefined && now - last.atMs < repeatIntervalMs) {
      last.heldBack++;
      return;
    }
    const repeats = last?.heldBack ? ` (${last.heldBack} more like it since)` : "";
    shown.set(message, { atMs: now, heldBack: 0 });
    write(`warning: ${message}${detailOf(fields)}${repeats}`);
  };
  const ignore = () => {};
  return { debug: ignore, info: ignore, warn, error: warn };
}

function detailOf(fields: object): string {
  const error = (fields as { error?: unknown }).error;
  if (typeof error !== "string" || error === "") return "";
  const oneLine = error.replace(/\s+/g, " ");
  return `: ${oneLine.length > detailCharsMax ? `${oneLine.slice(0, detailCharsMax - 1)}…` : oneLine}`;
}
