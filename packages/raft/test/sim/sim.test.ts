// Rule: Raft's safety properties hold after every event under every fault the
// simulator injects, and a healed cluster makes progress (liveness).
// The seeds are spread over one process per core (vitest itself runs test
// files on cores - 1 workers); SEED=<n> replays one seed in this process.

import { fileURLToPath } from "node:url";
import { runSeedWorkers } from "@brook/testkit";
import { expect, it } from "vitest";
import { describeSummary, mergeSummaries, runSeeds, type SeedRunSummary, seedPlan } from "./seeds.js";

const plan = seedPlan();
const workerScript = fileURLToPath(new URL("./run-seeds.ts", import.meta.url));
const dayMs = 24 * 3600_000;

it.runIf(plan.only !== undefined)(
  `replays seed ${plan.only ?? "(set SEED)"}`,
  { timeout: dayMs },
  async () => {
    expect((await runSeeds(plan.only!, 1)).seeds).toBe(1);
  },
);

it.runIf(plan.only === undefined)(
  `simulated clusters stay safe and live (seeds ${plan.start}..${plan.start + plan.count - 1})`,
  { timeout: dayMs },
  async () => {
    const started = performance.now();
    const { summaries, workers } = await runSeedWorkers<SeedRunSummary>({
      workerScript,
      start: plan.start,
      count: plan.count,
      workers: plan.workers,
    });
    const summary = mergeSummaries(summaries);
    console.log(describeSummary(summary, (performance.now() - started) / 1000, workers));
    expect(summary.seeds).toBe(plan.count);
  },
);
