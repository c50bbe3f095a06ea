// Helpers for the Connect end-to-end tests: Connect workers as real `brook connect worker` processes on
// free ports of 127.0.0.1 (signalled only by their own PIDs), their REST API, and the `brook connect` CLI.

import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ConnectWorker, startConnectWorker } from "@brook/testkit";
import { waitFor } from "../wait.js";

const brookBin = fileURLToPath(new URL("../../packages/cli/bin/brook.js", import.meta.url));

export type { ConnectWorker as WorkerProcess, WorkerLogLine as LogLine } from "@brook/testkit";

export interface WorkerSpec {
  bootstrap: string;
  group: string;
  /** Where its log goes (worker-<n>.log). */
  logDir: string;
  exactlyOnceSource?: boolean;
}

let started = 0;

/** Starts a worker process and waits until its REST API answers. */
export function startWorker(spec: WorkerSpec): Promise<ConnectWorker> {
  started += 1;
  return startConnectWorker({ ...spec, logFile: join(spec.logDir, `worker-${started}.log`) });
}

export interface RestResponse<T> {
  status: number;
  body: T;
}

/** Calls a worker's REST API (bounded in time); the body parsed as JSON, or null when empty. */
export async function rest<T = unknown>(
  url: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<RestResponse<T>> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return { status: response.status, body: (text === "" ? null : JSON.parse(text)) as T };
}

export interface TaskStatus {
  id: number;
  state: string;
  worker_id: string;
  trace?: string;
}

export interface ConnectorStatus {
  name: string;
  type: string;
  connector: { state: string; worker_id: string; trace?: string };
  tasks: TaskStatus[];
}

/** A connector's status, or undefined when the worker does not answer it (yet). */
export async function status(url: string, name: string): Promise<ConnectorStatus | undefined> {
  try {
    const response = await rest<ConnectorStatus>(url, "GET", `/connectors/${name}/status`);
    return response.status === 200 ? response.body : undefined;
  } catch {
    return undefined;
  }
}

/** Waits until the connector has `tasks` tasks, all in `state`, each on one of `workers` if given. */
export function waitForTasks(
  url: string,
  name: string,
  options: { tasks: number; state: string; workers?: readonly string[]; timeoutMs?: number },
): Promise<ConnectorStatus> {
  let last: ConnectorStatus | undefined;
  return waitFor(
    `${name}'s ${options.tasks} task(s) to be ${options.state}${options.workers ? ` on ${options.workers.join(", ")}` : ""}`,
    options.timeoutMs ?? 60_000,
    async () => {
      last = await status(url, name);
      const tasks = last?.tasks ?? [];
      const ok =
        tasks.length === options.tasks &&
        tasks.every(
          (task) =>
            task.state === options.state &&
            (options.workers === undefined || options.workers.includes(task.worker_id)),
        );
      return ok ? last : undefined;
    },
    250,
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; last status: ${JSON.stringify(last)}`);
  });
}

/** Deletes every connector a worker group has (so a later group on the same cluster does not run them). */
export async function deleteAllConnectors(url: string): Promise<void> {
  const { body } = await rest<string[]>(url, "GET", "/connectors");
  for (const name of body) await rest(url, "DELETE", `/connectors/${name}`);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `brook <args>` (bounded to 30 s). */
export function brookCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [brookBin, ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) || 1 : 0, stdout, stderr }),
    );
  });
}
