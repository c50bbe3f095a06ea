// Which seeds a test run covers, from the environment:
//   SEED=<n>            replay exactly that run
//   SIM_SEEDS=<n>       how many seeds (default 1000)
//   SIM_SEED_START=<n>  the first seed (default 1), so a soak can continue where another stopped
// The seeds are split across shard files so vitest runs them on every core.

import { runSimulation, type SimulationReport } from "./simulation.js";

export const shardCount = 2;

function envInteger(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === "") return undefined;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0)
    throw new Error(`${name}=${value} is not a non-negative integer`);
  return parsed;
}

export function seedsForShard(shard: number): number[] {
  const only = envInteger("SEED");
  if (only !== undefined) return only % shardCount === shard ? [only] : [];
  const start = envInteger("SIM_SEED_START") ?? 1;
  const count = envInteger("SIM_SEEDS") ?? 1000;
  const seeds: number[] = [];
  for (let seed = start; seed < start + count; seed++) if (seed % shardCount === shard) seeds.push(seed);
  return seeds;
}

export interface SeedRunSummary {
  readonly seeds: number;
  readonly seconds: number;
  readonly events: number;
  readonly committed: number;
  readonly readsAnswered: number;
  readonly livenessTicksMax: number;
}

/** Runs the seeds in order; the first failure throws with the command that replays it. */
export function runSeeds(seeds: readonly number[]): SeedRunSummary {
  const started = performance.now();
  let events = 0;
  let committed = 0;
  let readsAnswered = 0;
  let livenessTicksMax = 0;
  for (const seed of seeds) {
    let report: SimulationReport;
    try {
      report = runSimulation(seed);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(
        `simulation failed: ${message}\nreproduce with SEED=${seed} npx vitest run packages/raft/test/sim`,
      );
      throw new Error(
        `seed ${seed}: ${error instanceof Error ? error.message : error} — reproduce with SEED=${seed}`,
      );
    }
    events += report.events;
    committed += report.committed;
    readsAnswered += report.readsAnswered;
    livenessTicksMax = Math.max(livenessTicksMax, report.livenessTicks);
  }
  const seconds = (performance.now() - started) / 1000;
  return { seeds: seeds.length, seconds, events, committed, readsAnswered, livenessTicksMax };
}

export function describeSummary(shard: number, summary: SeedRunSummary): string {
  const rate = summary.seeds / Math.max(summary.seconds, 1e-9);
  return (
    `simulation shard ${shard}: ${summary.seeds} seeds in ${summary.seconds.toFixed(1)} s ` +
    `(${rate.toFixed(1)} seeds/s, ${summary.events} events, ${summary.committed} committed entries, ` +
    `${summary.readsAnswered} reads checked, liveness within ${summary.livenessTicksMax} ticks)`
  );
}
