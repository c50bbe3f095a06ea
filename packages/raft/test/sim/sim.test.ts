// Rule: Raft's safety properties hold after every event under every fault the
// simulator injects, and a healed cluster makes progress (liveness).
// The seeds are spread over one process per core (vitest itself runs test
// files on cores - 1 workers); SEED=<n> replays one seed in this process.

import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { describeSummary, mergeSummaries, runSeeds, type SeedRunSummary, seedPlan } from "./seeds.js";

const plan = seedPlan();
const workerScript = fileURLToPath(new URL("./run-seeds.ts", import.meta.url));
const dayMs = 24 * 3600_000;

type WorkerResult = SeedRunSummary | { failedSeed: number; message: string };

interface Worker {
  /** The worker's result, or undefined if we stopped it because another worker failed. */
  readonly done: Promise<WorkerResult | undefined>;
  readonly stop: () => void;
}

function runWorker(start: number, count: number, stride: number): Worker {
  const args = [
    "--conditions=source",
    "--import",
    "tsx",
    workerScript,
    String(start),
    String(count),
    String(stride),
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stopped = false;
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const done = new Promise<WorkerResult | undefined>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (stopped) return resolve(undefined);
      if (code !== 0 && stderr) console.error(stderr);
      try {
        resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as WorkerResult);
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

it.runIf(plan.only !== undefined)(`replays seed ${plan.only ?? "(set SEED)"}`, { timeout: dayMs }, () => {
  expect(runSeeds(plan.only!, 1).seeds).toBe(1);
});

it.runIf(plan.only === undefined)(
  `simulated clusters stay safe and live (seeds ${plan.start}..${plan.start + plan.count - 1})`,
  { timeout: dayMs },
  async () => {
    const workerCount = Math.max(1, Math.min(plan.workers ?? availableParallelism(), plan.count));
    const started = performance.now();
    const workers = Array.from({ length: workerCount }, (_, k) =>
      runWorker(plan.start + k, Math.floor((plan.count - k + workerCount - 1) / workerCount), workerCount),
    );
    // The first failure stops the others: a soak should not run for hours past a known bug.
    const results = await Promise.all(
      workers.map(async (worker) => {
        const result = await worker.done;
        if (result && "failedSeed" in result) for (const other of workers) if (other !== worker) other.stop();
        return result;
      }),
    );
    const failures = results.filter((result) => result !== undefined && "failedSeed" in result);
    if (failures.length > 0) throw new Error(failures.sort((a, b) => a.failedSeed - b.failedSeed)[0].message);
    const summary = mergeSummaries(results as SeedRunSummary[]);
    console.log(describeSummary(summary, (performance.now() - started) / 1000, workerCount));
    expect(summary.seeds).toBe(plan.count);
  },
);
