// Rule: partition replication (DESIGN.md point 7) keeps every acknowledged
// record, keeps replicas' committed prefixes identical, never moves a
// leader's high watermark back within its epoch nor past what the ISR holds
// durably, and a healed cluster becomes whole again, under dropped, delayed
// and reordered messages, network partitions, crashes, power losses and
// controller stalls (simulation.ts; the invariants are in checker.ts).
// The seeds are spread over one process per core; SEED=<n> replays one seed
// in this process with a long trace tail. See seeds.ts for the knobs.

import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { describeSummary, mergeSummaries, type SeedRunSummary, seedPlan } from "./seeds.js";
import { Simulation } from "./simulation.js";

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
  // "source": sibling packages load from their TypeScript sources, as under vitest.
  const args = ["--conditions=source", "--import", "tsx", workerScript];
  const child = spawn(process.execPath, [...args, ...[start, count, stride, plan.steps].map(String)], {
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
  const done = new Promise<WorkerResult | undefined>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (stopped) return resolve(undefined);
      try {
        resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as WorkerResult);
      } catch {
        reject(
          new Error(`replication simulation worker exited (${code ?? signal}) without a result:\n${stderr}`),
        );
      }
    });
  });
  const stop = () => {
    stopped = child.exitCode === null;
    child.kill();
  };
  return { done, stop };
}

it.runIf(plan.only !== undefined)(
  `replays seed ${plan.only ?? "(set SEED)"}`,
  { timeout: dayMs },
  async () => {
    const report = await new Simulation(plan.only!, { faultSteps: plan.steps, traceLines: 400 }).run();
    console.log(JSON.stringify(report, null, 2));
    expect(report.seed).toBe(plan.only);
  },
);

it.runIf(plan.only === undefined)("a seed replays exactly: the same trace twice", async () => {
  const first = await new Simulation(7, { faultSteps: 400 }).run();
  const second = await new Simulation(7, { faultSteps: 400 }).run();
  expect(second.traceHash).toBe(first.traceHash);
  expect(second.steps).toBe(first.steps);
});

it.runIf(plan.only === undefined)(
  `replication stays safe and live under faults (seeds ${plan.start}..${plan.start + plan.count - 1}, ${plan.steps} steps each)`,
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
