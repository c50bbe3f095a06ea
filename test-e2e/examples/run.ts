// Runs an example's commands as its README shows them: `readmeSteps(name)` reads the `sh` block of
// examples/<name>/README.md (each command, and the `# ` lines after it: what it prints); `start` runs a
// long-lived one (a service, a server) and `exec` one that ends by itself, both from the repo root with
// the test's environment (BROOK_BOOTSTRAP at its cluster). A started process is stopped by its PID, with
// SIGTERM as Ctrl-C would, then SIGKILL if it did not exit within 10 s; exec kills one that overruns.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Brook, silentLogger } from "@brook/client";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll } from "vitest";
import { waitFor } from "../wait.js";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface ReadmeStep {
  command: string;
  /** The `# ` lines under the command, without the `# `. */
  prints: string[];
}

/** The first `sh` block of examples/<name>/README.md, step by step; a command's trailing `# ...` is dropped. */
export function readmeSteps(name: string): ReadmeStep[] {
  const readme = readFileSync(new URL(`../../examples/${name}/README.md`, import.meta.url), "utf8");
  const block = /```sh\n([\s\S]*?)\n```/.exec(readme)?.[1];
  if (block === undefined) throw new Error(`examples/${name}/README.md has no sh block`);
  const steps: ReadmeStep[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("# ")) steps.at(-1)?.prints.push(line.slice(2));
    else if (line.trim() !== "") steps.push({ command: line.replace(/\s+#.*$/, ""), prints: [] });
  }
  return steps;
}

/** The README step that runs examples/<name>/<file>. */
export function step(name: string, file: string): ReadmeStep {
  const found = readmeSteps(name).find(({ command }) => command.includes(`examples/${name}/${file}`));
  if (found === undefined) throw new Error(`examples/${name}/README.md does not run ${file}`);
  return found;
}

export interface Started {
  readonly pid: number;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Waits for the output to match; fails after timeoutMs, showing the output so far. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM to its PID; resolves with the exit code once it exited (SIGKILL after 10 s, and a throw). */
  stop(): Promise<number | null>;
}

interface Launched {
  child: ChildProcess;
  output: () => string;
  /** Its exit code (null if a signal ended it), once it exited and its output was read to the end. */
  closed: Promise<number | null>;
}

function launch(command: string, env: Record<string, string>): Launched {
  // Commands are plain words (no quotes, no shell syntax): no shell between the test and the process.
  const [file, ...args] = command.split(/\s+/);
  // `node`: the one running the tests, whatever node PATH finds first.
  const child = spawn(file === "node" ? process.execPath : file, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: "pipe",
  });
  child.stdin?.end();
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const closed = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return { child, output: () => output, closed };
}

export function start(command: string, env: Record<string, string>): Started {
  const { child, output, closed } = launch(command, env);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}`);
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    pid,
    output,
    waitFor: (pattern, timeoutMs = 30_000) =>
      waitFor(`${command} to print ${pattern}`, timeoutMs, async () => {
        if (!running()) throw new Error(`${command} exited (${child.exitCode ?? child.signalCode})`);
        return output().match(pattern) ?? undefined;
      }).catch((error: Error) => {
        throw new Error(`${error.message}; it printed:\n${output()}`);
      }),
    async stop() {
      if (running()) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await closed;
      clearTimeout(timer);
      if (child.signalCode === "SIGKILL") throw new Error(`${command} ignored SIGTERM:\n${output()}`);
      return code;
    },
  };
}

export interface Result {
  code: number | null;
  output: string;
}

/** Runs a command that ends by itself; kills it (by PID) and fails if it takes over timeoutMs. */
export async function exec(
  command: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<Result> {
  const { child, output, closed } = launch(command, env);
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await closed;
  clearTimeout(timer);
  if (child.signalCode === "SIGKILL") throw new Error(`${command} ran over ${timeoutMs} ms:\n${output()}`);
  return { code, output: output() };
}

/**
 * The three-node test cluster an example's test runs against, for the whole file: started before its
 * tests, stopped after them, with every process in `running` stopped first (by PID). `env` points the
 * example's commands at the cluster; `brook` is an SDK client of it for the test's own checks.
 */
export interface ExampleCluster {
  readonly cluster: Cluster;
  readonly brook: Brook;
  readonly env: Record<string, string>;
  readonly running: Started[];
}

export function exampleCluster(): ExampleCluster {
  let cluster: Cluster | undefined;
  let brook: Brook | undefined;
  const running: Started[] = [];
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3 });
    brook = new Brook({ brokers: cluster.bootstrap.split(","), logger: silentLogger });
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(running.map((process) => process.stop()));
    await cluster?.stop();
  }, 60_000);
  const started = <T>(value: T | undefined): T => {
    if (value === undefined)
      throw new Error("the example's cluster is not started yet (use it inside a test)");
    return value;
  };
  return {
    get cluster() {
      return started(cluster);
    },
    get brook() {
      return started(brook);
    },
    get env() {
      return { BROOK_BOOTSTRAP: started(cluster).bootstrap };
    },
    running,
  };
}
