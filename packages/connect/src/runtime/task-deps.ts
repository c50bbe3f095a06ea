// What the worker gives a task runner: the connector plan, the task's number, the cluster, the stores,
// the metrics and a logger that names the connector and task on every line.

import type { Brook, Logger } from "@brook/client";
import type { RecordHeader } from "@brook/protocol";
import type { Headers, HeaderValue, TaskContext } from "../api.js";
import type { ConfigSchema, ConfigValues } from "../config/config-def.js";
import type { ConnectorPlan } from "./connector-config.js";
import type { ConnectMetrics } from "./metrics.js";
import type { RetryLimits } from "./retries.js";
import type { ConnectStorage } from "./storage.js";

export interface TaskDeps {
  plan: ConnectorPlan;
  task: number;
  brook: Brook;
  storage: ConnectStorage;
  metrics: ConnectMetrics;
  logger: Logger;
  /** The worker group (distributed) or "standalone": part of transactional ids. */
  workerGroup: string;
  /** Exactly-once for sources: the worker allows it, the connector can seek, and storage is a topic. */
  exactlyOnce: boolean;
}

/** What every task's context has, from its deps: names, config, logger, signal, cluster and metrics. */
export function taskContext(deps: TaskDeps, signal: AbortSignal): TaskContext<ConfigValues<ConfigSchema>> {
  return {
    connector: deps.plan.name,
    taskId: deps.task,
    taskCount: deps.plan.taskCount,
    config: deps.plan.pluginConfig,
    logger: deps.logger,
    signal,
    brook: deps.brook,
    metrics: deps.metrics.registry,
  };
}

export function labelsOf(deps: TaskDeps): { connector: string; task: string } {
  return { connector: deps.plan.name, task: String(deps.task) };
}

export function retryLimits(deps: TaskDeps): RetryLimits {
  return {
    timeoutMs: deps.plan.common["errors.retry.timeout"],
    delayMaxMs: deps.plan.common["errors.retry.delay.max.ms"],
  };
}

/** A connector's headers as the producer takes them: repeated keys and null values kept. */
export function toRecordHeaders(headers: Headers | undefined): RecordHeader[] {
  const out: RecordHeader[] = [];
  for (const [key, value] of Object.entries(headers ?? {})) {
    for (const each of Array.isArray(value) ? value : [value]) out.push({ key, value: headerBytes(each) });
  }
  return out;
}

function headerBytes(value: HeaderValue): Buffer | null {
  if (value === null) return null;
  return typeof value === "string" ? Buffer.from(value, "utf8") : value;
}
