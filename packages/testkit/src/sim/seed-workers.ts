// Spreads a simulator's seeds over worker processes (one per core by
// default) and gathers their summaries; shared by the Raft and replication
// simulators. A worker script takes `<start> <count> <stride> [args...]`,
// runs seeds start, start+stride, ..., and prints its summary as JSON on
// the last line of stdout, or `{ failedSeed, message }` (exiting 1) at its
// first failure. The first failure stops the other workers: a soak should
// not run for hours past a known bug.

import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";

export interface SeedFailureReport {
  readonly failedSeed: number;
  readonly message: string;
}

/** A non-negative integer from the environment, or undefined when unset; anything else throws. */
export function envInteger(name: string, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = env[name];
  if (value === undefined || value === "") return undefined;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0)
    throw new Error(`${name}=${value} is not a non-negative integer`);
  return parsed;
}

export interface SeedWorkersOptions {
  /** The worker's TypeScript file; run with `--conditions=source --import tsx`, as vitest resolves packages. */
  readonly workerScript: string;
  readonly start: number;
  readonly count: number;
  /** Worker processes; by default one per core, never more than seeds. */
  readonly workers?: number;
  /** Arguments after `<start> <count> <stride>`. */
  readonly extraArgs?: readonly string[];
}

/** Every worker's summary, once all succeeded; throws the lowest failing seed's message otherwise. */
export async function runSeedWorkers<Summary>(
  options: SeedWorkersOptions,
): Promise<{ summaries: Summary[]; workers: number }> {
  const workerCount = Math.max(1, Math.min(options.workers ?? availableParallelism(), options.count));
  const workers = Array.from({ length: workerCount }, (_, k) =>
    runWorker<Summary>(
      options,
      options.start + k,
      Math.floor((options.count - k + workerCount - 1) / workerCount),
      workerCount,
    ),
  );
  const results = await Promise.all(
    workers.map(async (worker) => {
      const result = await worker.done;
      if (result && isFailure(result)) for (const other of workers) if (other !== worker) other.stop();
      return result;
    }),
  );
  const failures = results.filter(
    (result): result is SeedFailureReport => result !== undefined && isFailure(result),
  );
  if (failures.length > 0) throw new Error(failures.sort((a, b) => a.failedSeed - b.failedSeed)[0].message);
  return { summaries: results as Summary[], workers: workerCount };
}

function isFailure(result: unknown): result is SeedFailureReport {
  return typeof result === "object" && result !== null && "failedSeed" in result;
}

interface Worker<Summary> {
  /** The worker's result, or undefined if it was stopped because another worker failed. */
  readonly done: Promise<Summary | SeedFailureReport | undefined>;
  readonly stop: () => void;
}

function runWorker<Summary>(
  options: SeedWorkersOptions,
  start: number,
  count: number,
  stride: number,
): Worker<Summary> {
  const args = [
    "--conditions=source",
    "--import",
    "tsx",
    options.workerScript,
    String(start),
    String(count),
    String(stride),
  ];
  const child = spawn(process.execPath, [...args, ...(options.extraArgs ?? [])], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stopped = false;
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const done = new Promise<Summary | SeedFailureReport | undefined>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (stopped) return resolve(undefined);
      if (code !== 0 && stderr) console.error(stderr);
      try {
        resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? ""));
      } catch {
        reject(new Error(`simulation worker exited (${code ?? signal}) without a result:\n${stderr}`));
      }
    });
  });
  const stop = () => {
    stopped = child.exitCode === null;
    child.kill();
  };
  return { done, stop };
}
