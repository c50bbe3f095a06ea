// Rule: classic consumer groups keep the broker's invariants under members joining, leaving, crashing,
// stalling, static restarts, duplicate instance ids, dropped connections and coordinator failovers that
// lose unreplicated writes (classic-simulation.ts): answers only once durable, generations never go
// back, one assignment per Stable generation and no partition twice in it, no stale heartbeat or
// commit accepted, bounded waits; and the group settles once the faults stop.
//   SEED=<n>                 replay exactly that run, with a long trace tail
//   CLASSIC_SIM_SEEDS=<n>    how many seeds (default 150); CLASSIC_SIM_SEED_START=<n> the first (default 1)
//   CLASSIC_SIM_STEPS=<n>    events in each seed's fault phase (default 3000)

import { envInteger } from "@brook/testkit";
import { expect, it } from "vitest";
import { ClassicGroupSimulation } from "./classic-simulation.js";

const only = envInteger("SEED");
const start = envInteger("CLASSIC_SIM_SEED_START") ?? 1;
const count = envInteger("CLASSIC_SIM_SEEDS") ?? 150;
const steps = envInteger("CLASSIC_SIM_STEPS") ?? 3_000;

it.runIf(only !== undefined)(`replays seed ${only ?? "(set SEED)"}`, { timeout: 600_000 }, async () => {
  const simulation = new ClassicGroupSimulation(only!, { faultSteps: steps, traceLines: 400 });
  const report = await simulation.run();
  console.log(`${simulation.traceTail()}\n${JSON.stringify(report, null, 2)}`);
});

it.runIf(only === undefined)("a seed replays exactly: the same trace twice", async () => {
  const first = await new ClassicGroupSimulation(7, { faultSteps: 500 }).run();
  const second = await new ClassicGroupSimulation(7, { faultSteps: 500 }).run();
  expect(second).toEqual(first);
});

it.runIf(only === undefined)(
  `classic groups stay safe and live under faults (seeds ${start}..${start + count - 1}, ${steps} steps each)`,
  { timeout: 120_000 },
  async () => {
    const started = performance.now();
    const totals = {
      seeds: 0,
      generations: 0,
      failovers: 0,
      lostWrites: 0,
      crashes: 0,
      staticRestarts: 0,
      commitsAccepted: 0,
      commitsRefused: 0,
    };
    for (let seed = start; seed < start + count; seed++) {
      const report = await new ClassicGroupSimulation(seed, { faultSteps: steps }).run();
      totals.seeds++;
      for (const key of Object.keys(totals) as (keyof typeof totals)[]) {
        if (key !== "seeds") totals[key] += report[key];
      }
    }
    console.log(
      `classic group simulation: ${JSON.stringify(totals)} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(totals.failovers).toBeGreaterThan(0);
    expect(totals.commitsAccepted).toBeGreaterThan(0);
  },
);
