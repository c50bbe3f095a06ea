// Connect workers as the operator runs them: `brook connect worker` processes (the CLI from dist/, so
// `make build` first), each with its own REST port, their JSON log lines kept in a file for a failure's
// post-mortem; and the few REST calls the mirror tests make (create a connector, read its status and the
// worker's Prometheus metrics). Only the processes started here are ever signalled, by their own PIDs.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const brookBin = fileURLToPath(new URL("../../packages/cli/bin/brook.js", import.meta.url));

export interface WorkerProcess {
  readonly process: ChildProcess;
  /** http://host:port of its REST API, once it logged "worker started". */
  readonly url: Promise<string>;
  /** Its worker id (host:port), as statuses name it. */
  readonly id: Promise<string>;
  readonly logFile: string;
  /** Every log line's msg, in order (for assertions on what happened inside). */
  readonly messages: string[];
  kill(signal?: "SIGKILL" | "SIGTERM"): Promise<void>;
}

export interface WorkerOptions {
  bootstrap: string;
  group: string;
  logFile: string;
  exactlyOnceSource?: boolean;
}

/** Starts `brook connect worker` on a free REST port; its url resolves once it has joined its group. */
export function startWorker({ bootstrap, group, logFile, exactlyOnceSource }: WorkerOptions): WorkerProcess {
  const args = [
    brookBin,
    "--bootstrap",
    bootstrap,
    "connect",
    "worker",
    "--group",
    group,
    "--rest-port",
    "0",
  ];
  if (exactlyOnceSource === true) args.push("--exactly-once-source");
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const log: WriteStream = createWriteStream(logFile, { flags: "a" });
  child.stderr?.pipe(log, { end: false });
  const messages: string[] = [];
  const url = new Promise<string>((resolve, reject) => {
    child.once("exit", (code, signal) =>
      reject(new Error(`worker exited (${code ?? signal}) before it started; see ${logFile}`)),
    );
    createInterface({ input: child.stdout! }).on("line", (line) => {
      log.write(`${line}\n`);
      let entry: { msg?: unknown; url?: unknown };
      try {
        entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
      } catch {
        return;
      }
      if (typeof entry.msg === "string") messages.push(entry.msg);
      if (entry.msg === "worker started" && typeof entry.url === "string") resolve(entry.url);
    });
  });
  url.catch(() => undefined); // a worker killed later never rejects a caller that stopped waiting
  const exited = once(child, "exit");
  return {
    process: child,
    url,
    id: url.then((address) => new URL(address).host),
    logFile,
    messages,
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
      log.end();
    },
  };
}

export interface ConnectorStatus {
  name: string;
  connector: { state: string; worker_id: string };
  tasks: { id: number; state: string; worker_id: string; trace?: string }[];
}

/** A call to a worker's REST API; a non-2xx answer fails with Kafka Connect's error body. */
export async function rest<T>(
  base: string,
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (path === "/metrics" || text === "" ? text : JSON.parse(text)) as T;
}

/** The samples of one metric in a Prometheus text page, as label sets and values. */
export function samples(page: string, metric: string): { labels: Record<string, string>; value: number }[] {
  const found: { labels: Record<string, string>; value: number }[] = [];
  for (const line of page.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== metric) continue;
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name] = value;
    }
    found.push({ labels, value: Number(match[3]) });
  }
  return found;
}
