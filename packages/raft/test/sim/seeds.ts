// Which seeds a test run covers, from the environment:
//   SEED=<n>            replay exactly that run (in the test process, with full stack traces)
//   SIM_SEEDS=<n>       how many seeds (default 1000)
//   SIM_SEED_START=<n>  the first seed (default 1), so a soak can continue where another stopped
//   SIM_WORKERS=<n>     processes to spread the seeds over (default: one per core)

import { envInteger } from "@brook/testkit";
import { runSimulation, type SimulationReport } from "./simulation.js";

export interface SeedPlan {
  readonly only: number | undefined;
  readonly start: number;
  readonly count: number;
  readonly workers: number | undefined;
}

export function seedPlan(): SeedPlan {
  return {
    only: envInteger("SEED"),
    start: envInteger("SIM_SEED_START") ?? 1,
    count: envInteger("SIM_SEEDS") ?? 1000,
    workers: envInteger("SIM_WORKERS"),
  };
}

export interface SeedRunSummary {
  seeds: number;
  events: number;
  committed: number;
  readsAnswered: number;
  /** Nodes that lost power (each node of an everywhere power loss counts). */
  powerLosses: number;
  livenessTicksMax: number;
}

export class SeedFailure extends Error {
  constructor(
    readonly seed: number,
    cause: unknown,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`seed ${seed}: ${detail}\nreproduce with SEED=${seed} npx vitest run packages/raft/test/sim`, {
      cause,
    });
    this.name = "SeedFailure";
  }
}

/** Runs seeds start, start+stride, ... (count of them); the first failure throws a SeedFailure. */
export async function runSeeds(start: number, count: number, stride = 1): Promise<SeedRunSummary> {
  const summary: SeedRunSummary = {
    seeds: 0,
    events: 0,
    committed: 0,
    readsAnswered: 0,
    powerLosses: 0,
    livenessTicksMax: 0,
  };
  for (let i = 0; i < count; i++) {
    const seed = start + i * stride;
    let report: SimulationReport;
    try {
      report = await runSimulation(seed);
    } catch (error) {
      throw new SeedFailure(seed, error);
    }
    summary.seeds++;
    summary.events += report.events;
    summary.committed += report.committed;
    summary.readsAnswered += report.readsAnswered;
    summary.powerLosses += report.powerLosses;
    summary.livenessTicksMax = Math.max(summary.livenessTicksMax, report.livenessTicks);
  }
  return summary;
}

export function mergeSummaries(summaries: readonly SeedRunSummary[]): SeedRunSummary {
  return summaries.reduce(
    (total, part) => ({
      seeds: total.seeds + part.seeds,
      events: total.events + part.events,
      committed: total.committed + part.committed,
      readsAnswered: total.readsAnswered + part.readsAnswered,
      powerLosses: total.powerLosses + part.powerLosses,
      livenessTicksMax: Math.max(total.livenessTicksMax, part.livenessTicksMax),
    }),
    { seeds: 0, events: 0, committed: 0, readsAnswered: 0, powerLosses: 0, livenessTicksMax: 0 },
  );
}

export function describeSummary(summary: SeedRunSummary, seconds: number, workers: number): string {
  const rate = summary.seeds / Math.max(seconds, 1e-9);
  return (
    `simulation: ${summary.seeds} seeds in ${seconds.toFixed(1)} s on ${workers} worker(s) ` +
    `(${rate.toFixed(1)} seeds/s, ${summary.events} events, ${summary.committed} committed entries, ` +
    `${summary.readsAnswered} reads checked, ${summary.powerLosses} nodes lost power, ` +
    `liveness within ${summary.livenessTicksMax} ticks)`
  );
}
