// The connection pool each Postgres connector task keeps: a few connections, a bounded wait for one, and a
// listener for errors of idle connections (a restarted server), which would otherwise crash the worker.

import type { Logger } from "@brook/client";
import pg from "pg";
import type { Counter, Registry } from "prom-client";
import promClient from "prom-client";

/** One task writes or reads one batch at a time: two connections are plenty. */
const poolConnectionsMax = 2;
const connectTimeoutMs = 10_000;
const idleTimeoutMs = 30_000;

export function openPool(
  connectionUrl: string,
  logger: Logger,
  options: Pick<pg.PoolConfig, "types" | "options"> = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: connectionUrl,
    max: poolConnectionsMax,
    connectionTimeoutMillis: connectTimeoutMs,
    idleTimeoutMillis: idleTimeoutMs,
    ...options,
  });
  pool.on("error", (error) => logger.warn({ error: error.message }, "postgres: an idle connection failed"));
  return pool;
}

/** A counter of the worker's registry by name, labelled by connector; another task's when it made it first. */
export function connectorCounter(registry: Registry, name: string, help: string): Counter<"connector"> {
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as Counter<"connector">;
  return new promClient.Counter({ name, help, labelNames: ["connector"], registers: [registry] });
}
