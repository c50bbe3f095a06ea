// Connect workers as an operator runs them, for end-to-end tests and benchmarks: `brook connect worker`
// processes (the CLI from dist/, so `make build` first) on a free REST port of 127.0.0.1, their JSON log
// lines kept (in memory and in a file) for assertions and post-mortems. Only the processes started here
// are ever signalled, by their own PIDs.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import getPort from "get-port";

const brookBin = fileURLToPath(new URL("../../cli/bin/brook.js", import.meta.url));
const startTimeoutMs = 60_000;
/** How long stop() waits after SIGTERM before SIGKILL. */
const stopGraceMs = 30_000;
/** Log lines kept in memory, at most (the file has them all). */
const logLinesMax = 100_000;

/** One JSON log line of a worker (pino). */
export interface WorkerLogLine {
  msg?: string;
  connector?: string;
  task?: number;
  [field: string]: unknown;
}

export interface ConnectWorkerOptions {
  bootstrap: string;
  group: string;
  /** Where its stdout and stderr go. */
  logFile: string;
  exactlyOnceSource?: boolean;
  /** Node options before the CLI (e.g. --cpu-prof). */
  nodeArgs?: string[];
}

export interface ConnectWorker {
  readonly port: number;
  /** http://127.0.0.1:port */
  readonly url: string;
  /** The worker's id in statuses: 127.0.0.1:port. */
  readonly id: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Its log lines so far. */
  readonly logs: WorkerLogLine[];
  readonly exited: Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** SIGTERM (the worker commits what its tasks did and leaves its group), SIGKILL after 30 s. */
  stop(): Promise<void>;
}

/** Starts a worker process and resolves once it logged "worker started" (its REST API answers then). */
export async function startConnectWorker(options: ConnectWorkerOptions): Promise<ConnectWorker> {
  const port = await getPort({ host: "127.0.0.1" });
  const args = [
    ...(options.nodeArgs ?? []),
    brookBin,
    "--bootstrap",
    options.bootstrap,
    "connect",
    "worker",
    "--group",
    options.group,
    "--rest-host",
    "127.0.0.1",
    "--rest-port",
    String(port),
    ...(options.exactlyOnceSource ? ["--exactly-once-source"] : []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const logs = followLogs(child, options.logFile);
  const worker = handle(child, port, logs);
  try {
    await untilStarted(worker, options.logFile);
  } catch (error) {
    await worker.kill();
    throw error;
  }
  return worker;
}

function followLogs(child: ChildProcess, logFile: string): WorkerLogLine[] {
  const log = createWriteStream(logFile, { flags: "a" });
  child.stderr?.pipe(log);
  const logs: WorkerLogLine[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    log.write(`${line}\n`);
    if (logs.length >= logLinesMax) logs.shift();
    try {
      logs.push(JSON.parse(line) as WorkerLogLine);
    } catch {
      logs.push({ msg: line });
    }
  });
  return logs;
}

function handle(child: ChildProcess, port: number, logs: WorkerLogLine[]): ConnectWorker {
  const exited = once(child, "exit").then(() => undefined);
  const running = () => child.exitCode === null && child.signalCode === null;
  const signal = async (name: "SIGKILL" | "SIGTERM") => {
    if (!running()) return;
    child.kill(name);
    await exited;
  };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    id: `127.0.0.1:${port}`,
    get pid() {
      return child.pid;
    },
    get running() {
      return running();
    },
    logs,
    exited,
    kill: () => signal("SIGKILL"),
    async stop() {
      const stopped = signal("SIGTERM");
      const timer = setTimeout(() => void signal("SIGKILL"), stopGraceMs);
      await stopped;
      clearTimeout(timer);
    },
  };
}

async function untilStarted(worker: ConnectWorker, logFile: string): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  while (!worker.logs.some((line) => line.msg === "worker started")) {
    if (!worker.running) throw new Error(`worker ${worker.id} exited during start-up; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`worker ${worker.id} did not start in 60 s; see ${logFile}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
