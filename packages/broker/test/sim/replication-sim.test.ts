// Rule: partition replication (DESIGN.md point 7) keeps every acknowledged
// record, keeps replicas' committed prefixes identical, never moves a
// leader's high watermark back within its epoch nor past what the ISR holds
// durably, and a healed cluster becomes whole again, under dropped, delayed
// and reordered messages, network partitions, crashes, power losses and
// controller stalls (simulation.ts; the invariants are in checker.ts). With
// transactions (docs/transactions.md): a read_committed reader never sees an
// aborted or undecided record nor one past the LSO, the LSO never exceeds the
// high watermark nor goes back as consumers see it, and every committed
// transaction ends up fully visible (committed-reader.ts).
// The seeds are spread over one process per core; SEED=<n> replays one seed
// in this process with a long trace tail. See seeds.ts for the knobs.

import { fileURLToPath } from "node:url";
import { runSeedWorkers } from "@brook/testkit";
import { expect, it } from "vitest";
import { describeSummary, mergeSummaries, type SeedRunSummary, seedPlan } from "./seeds.js";
import { Simulation } from "./simulation.js";

const plan = seedPlan();
const workerScript = fileURLToPath(new URL("./run-seeds.ts", import.meta.url));
const dayMs = 24 * 3600_000;

it.runIf(plan.only !== undefined)(
  `replays seed ${plan.only ?? "(set SEED)"}`,
  { timeout: dayMs },
  async () => {
    const report = await new Simulation(plan.only!, {
      faultSteps: plan.steps,
      traceLines: 400,
      powerLossMidFsync: plan.powerLossMidFsync,
    }).run();
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
    const started = performance.now();
    const { summaries, workers } = await runSeedWorkers<SeedRunSummary>({
      workerScript,
      start: plan.start,
      count: plan.count,
      workers: plan.workers,
      extraArgs: [String(plan.steps)],
    });
    const summary = mergeSummaries(summaries);
    console.log(describeSummary(summary, (performance.now() - started) / 1000, workers));
    expect(summary.seeds).toBe(plan.count);
  },
);
