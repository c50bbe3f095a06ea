// Which seeds a run of the replication simulator covers, from the environment:
//   SEED=<n>                 replay exactly that run (in the test process, with a long trace tail)
//   REPL_SIM_SEEDS=<n>       how many seeds (default 120)
//   REPL_SIM_SEED_START=<n>  the first seed (default 1), so a soak can continue where another stopped
//   REPL_SIM_STEPS=<n>       steps (events) in each seed's fault phase (default 3000)
//   REPL_SIM_WORKERS=<n>     processes to spread the seeds over (default: one per core)
//   REPL_SIM_MID_FSYNC_POWER_LOSS=1  power may also fail everywhere while an fsync runs (off by default: it
//                            changes every seed's world, and finds a storage bug not fixed yet, seed 42)

import { envInteger } from "@brook/testkit";
import { Simulation, type SimulationReport } from "./simulation.js";

export interface SeedPlan {
  readonly only: number | undefined;
  readonly start: number;
  readonly count: number;
  readonly steps: number;
  readonly workers: number | undefined;
  readonly powerLossMidFsync: boolean;
}

export function seedPlan(): SeedPlan {
  return {
    only: envInteger("SEED"),
    start: envInteger("REPL_SIM_SEED_START") ?? 1,
    count: envInteger("REPL_SIM_SEEDS") ?? 120,
    steps: envInteger("REPL_SIM_STEPS") ?? 3_000,
    workers: envInteger("REPL_SIM_WORKERS"),
    powerLossMidFsync: envInteger("REPL_SIM_MID_FSYNC_POWER_LOSS") === 1,
  };
}

export interface SeedRunSummary {
  seeds: number;
  steps: number;
  simulatedMs: number;
  acked: number;
  leaderEpochs: number;
  crashes: number;
  powerLosses: number;
  allCrashes: number;
  unsyncedLost: number;
  tornFiles: number;
  entriesUndone: number;
  partitions: number;
  controllerStalls: number;
  truncations: number;
  committedTransactions: number;
  abortedTransactions: number;
  livenessMsMax: number;
}

const emptySummary: SeedRunSummary = {
  seeds: 0,
  steps: 0,
  simulatedMs: 0,
  acked: 0,
  leaderEpochs: 0,
  crashes: 0,
  powerLosses: 0,
  allCrashes: 0,
  unsyncedLost: 0,
  tornFiles: 0,
  entriesUndone: 0,
  partitions: 0,
  controllerStalls: 0,
  truncations: 0,
  committedTransactions: 0,
  abortedTransactions: 0,
  livenessMsMax: 0,
};

function summaryOf(report: SimulationReport): SeedRunSummary {
  const {
    steps,
    simulatedMs,
    acked,
    leaderEpochs,
    crashes,
    powerLosses,
    allCrashes,
    partitions,
    controllerStalls,
    truncations,
    committedTransactions,
    abortedTransactions,
  } = report;
  return {
    seeds: 1,
    steps,
    simulatedMs,
    acked,
    leaderEpochs,
    crashes,
    powerLosses,
    allCrashes,
    partitions,
    controllerStalls,
    truncations,
    committedTransactions,
    abortedTransactions,
    unsyncedLost: report.powerLossEffects.lostBytes,
    tornFiles: report.powerLossEffects.tornFiles,
    entriesUndone: report.powerLossEffects.lostEntries,
    livenessMsMax: report.livenessMs,
  };
}

function add(a: SeedRunSummary, b: SeedRunSummary): SeedRunSummary {
  const total = { ...a };
  for (const key of Object.keys(b) as (keyof SeedRunSummary)[]) {
    total[key] = key === "livenessMsMax" ? Math.max(a[key], b[key]) : a[key] + b[key];
  }
  return total;
}

/** Runs seeds start, start+stride, ... (count of them); the first failure throws (a SimulationFailure). */
export async function runSeeds(
  start: number,
  count: number,
  stride: number,
  steps: number,
): Promise<SeedRunSummary> {
  let summary = emptySummary;
  for (let i = 0; i < count; i++) {
    const report = await new Simulation(start + i * stride, {
      faultSteps: steps,
      powerLossMidFsync: seedPlan().powerLossMidFsync,
    }).run();
    summary = add(summary, summaryOf(report));
  }
  return summary;
}

export function mergeSummaries(summaries: readonly SeedRunSummary[]): SeedRunSummary {
  return summaries.reduce(add, emptySummary);
}

export function describeSummary(summary: SeedRunSummary, seconds: number, workers: number): string {
  return (
    `replication simulation: ${summary.seeds} seeds in ${seconds.toFixed(1)} s on ${workers} worker(s): ` +
    `${summary.steps} steps, ${(summary.simulatedMs / 1000).toFixed(0)} simulated s, ` +
    `${summary.acked} acknowledged batches, ${summary.leaderEpochs} leader epochs, ` +
    `${summary.crashes} crashes (${summary.powerLosses} power losses, ${summary.allCrashes} of every node at once: ` +
    `${summary.unsyncedLost} files lost unsynced bytes, ${summary.tornFiles} torn, ${summary.entriesUndone} directory entries undone), ` +
    `${summary.partitions} network partitions, ` +
    `${summary.controllerStalls} controller stalls, ${summary.truncations} follower truncations, ` +
    `${summary.committedTransactions} committed and ${summary.abortedTransactions} aborted transactions; ` +
    `whole again within ${summary.livenessMsMax} simulated ms`
  );
}
