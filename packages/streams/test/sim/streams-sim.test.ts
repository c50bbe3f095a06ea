// Rule (issue 18): a Brook Streams application, run by the production task code over a simulated cluster
// (simulation.ts), keeps exactly-once results through instances crashing, stalling past their session
// (zombies), leaving, joining and failing, with standby copies handed over: every task starts from exactly
// the state its committed input makes, every committed changelog and output record is what a task that
// never failed would have written, each key's counts are 1..n, and the windowed sums and joined totals are
// what one TopologyTestDriver run over the same input gives. At least once never loses an update (zombies
// aside) and does count twice under crashes: the simulation tells the two guarantees apart.
//   STREAMS_SIM_SEED=<n>          replay seed n with a long trace (STREAMS_SIM_GUARANTEE=exactly_once or
//                                 at_least_once for one guarantee; both by default)
//   STREAMS_SIM_SEEDS=<n>         seeds per guarantee (default 200); STREAMS_SIM_SEED_START=<n> the first (default 1)
//   STREAMS_SIM_INPUT_MS=<n>      simulated ms of input and faults in each seed (default 15000)

import { envInteger } from "@brook/testkit";
import { expect, it } from "vitest";
import {
  type Guarantee,
  type ScriptStep,
  SimulationFailure,
  type SimulationReport,
  StaleRestore,
  StreamsSimulation,
} from "./simulation.js";

const only = envInteger("STREAMS_SIM_SEED");
const start = envInteger("STREAMS_SIM_SEED_START") ?? 1;
const count = envInteger("STREAMS_SIM_SEEDS") ?? 200;
const inputPhaseMs = envInteger("STREAMS_SIM_INPUT_MS");
const guarantees: Guarantee[] =
  process.env.STREAMS_SIM_GUARANTEE === undefined
    ? ["exactly_once", "at_least_once"]
    : [process.env.STREAMS_SIM_GUARANTEE as Guarantee];
const dayMs = 24 * 3600_000;
/** A sweep's time budget: generous for the default seeds (about 20 ms each), scaled for longer runs. */
const sweepBudgetMs = Math.max(120_000, count * 1_000);

type Counts = Omit<SimulationReport, "seed" | "guarantee" | "profile" | "traceHash">;
type Totals = { -readonly [K in keyof Counts]: number } & { seeds: number };

function add(totals: Totals | undefined, report: SimulationReport): Totals {
  const { seed: _seed, guarantee: _guarantee, profile: _profile, traceHash: _hash, ...counts } = report;
  const sum = { ...counts, seeds: 1 } as Totals;
  if (totals !== undefined) for (const key of Object.keys(sum) as (keyof Totals)[]) sum[key] += totals[key];
  return sum;
}

function describe(totals: Totals, seconds: number): string {
  const t = totals;
  return (
    `${t.seeds} seeds in ${seconds.toFixed(1)} s: ${t.steps} steps, ${(t.simulatedMs / 1000).toFixed(0)} simulated s, ` +
    `${t.inputs} inputs, ${t.processed} records processed, ${t.commits} commits ` +
    `(${t.committedTxns} transactions committed, ${t.abortedTxns} aborted), ${t.crashes} crashes, ${t.stalls} stalls, ` +
    `${t.leaves} leaves, ${t.joins} instances started, ${t.threadFailures} thread failures, ` +
    `${t.refusedCommits} commits refused, ${t.expiredMembers} members expired, ${t.restores} tasks restored ` +
    `(${t.restoredRecords} records, ${t.standbyAdoptions} from standbys, ${t.restoresBehindOpenTxn} stopped at an open transaction), ` +
    `${t.zombieSends} records sent by zombies, ${t.staticRejoins} named instances back in their place, ` +
    `${t.unstableOffsetWaits} waits for stable offsets, ${t.openChangelogWaits} for open transactions on changelogs`
  );
}

it.runIf(only !== undefined)(`replays seed ${only ?? "(set STREAMS_SIM_SEED)"}`, { timeout: dayMs }, () => {
  for (const guarantee of guarantees) {
    const report = new StreamsSimulation(only as number, { guarantee, inputPhaseMs, traceLines: 400 }).run();
    console.log(JSON.stringify(report, null, 2));
  }
});

it.runIf(only === undefined)("a seed replays exactly: the same trace twice", () => {
  for (const guarantee of ["exactly_once", "at_least_once"] as const) {
    const first = new StreamsSimulation(7, { guarantee }).run();
    const second = new StreamsSimulation(7, { guarantee }).run();
    expect(second).toEqual(first);
  }
});

it.runIf(only === undefined)(
  `exactly once holds through crashes, zombies, leaves, joins, thread failures and standby hand-overs (seeds ${start}..${start + count - 1})`,
  { timeout: sweepBudgetMs },
  () => {
    const started = performance.now();
    let totals: Totals | undefined;
    for (let seed = start; seed < start + count; seed++) {
      totals = add(totals, new StreamsSimulation(seed, { guarantee: "exactly_once", inputPhaseMs }).run());
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`streams simulation, exactly once: ${describe(totals as Totals, seconds)}`);
    const t = totals as Totals;
    expect(t.doubled).toBe(0);
    // The faults this guarantee must survive did happen.
    for (const key of [
      "staticRejoins",
      "crashes",
      "stalls",
      "threadFailures",
      "refusedCommits",
      "standbyAdoptions",
      "abortedTxns",
    ] as const)
      expect(t[key], key).toBeGreaterThan(0);
  },
);

it.runIf(only === undefined)(
  `at least once loses no update through crashes, leaves, joins and thread failures, and counts some twice (seeds ${start}..${start + count - 1})`,
  { timeout: sweepBudgetMs },
  () => {
    const started = performance.now();
    let totals: Totals | undefined;
    let doubledSeeds = 0;
    for (let seed = start; seed < start + count; seed++) {
      // No stalls: a zombie's late writes can lose updates at least once (the next test).
      const report = new StreamsSimulation(seed, {
        guarantee: "at_least_once",
        inputPhaseMs,
        without: ["stall"],
      }).run();
      totals = add(totals, report);
      if (report.doubled > 0) doubledSeeds++;
    }
    const t = totals as Totals;
    console.log(
      `streams simulation, at least once: ${describe(t, (performance.now() - started) / 1000)}; ` +
        `${doubledSeeds} seeds counted some records twice (${t.doubled} keys), ${t.windowRegressions} windowed sums went down`,
    );
    expect(doubledSeeds).toBeGreaterThan(0);
  },
);

/** Scripted runs: one partition, so i0 starts with the count task 0_0 (and keeps it when two more join). */
const scripted = {
  inputPhaseMs: 20_000,
  profile: { partitions: 1, numStandbyReplicas: 0, commitIntervalMs: 100, batchMax: 8, pollEveryMsMax: 10 },
};
const threeInstances: ScriptStep[] = [
  { atMs: 0, action: "start" },
  { atMs: 500, action: "start" },
  { atMs: 600, action: "start" },
];
/** "w0" words from fromMs to toMs. */
const words = (fromMs: number, toMs: number, everyMs: number): ScriptStep[] =>
  Array.from({ length: Math.floor((toMs - fromMs) / everyMs) }, (_, i) => ({
    atMs: fromMs + i * everyMs,
    action: "input",
    topic: "words",
    key: "w0",
    value: "x",
  }));

it.runIf(only === undefined)(
  "at least once: a zombie's changelog write, landing after the next owner's, loses updates; exactly once fences it",
  () => {
    // i0 stalls past its session right after processing a word, its sends not out yet; the group gives 0_0
    // to another instance, which catches up; then i0 wakes and its stale count lands in the changelog after
    // the new owner's writes, and the owner after that restores it. Exactly once, i0's commit is refused
    // and its transaction aborted, so the write never becomes visible.
    const script: ScriptStep[] = [
      ...threeInstances,
      ...words(100, 8_000, 50),
      { atMs: 2_000, action: "stall-after-processing", instance: 0, ms: 12_000 },
      { atMs: 15_000, action: "close-owner", task: "0_0" },
    ];
    for (let seed = 1; seed <= 3; seed++) {
      expect(() =>
        new StreamsSimulation(seed, { guarantee: "at_least_once", script, ...scripted }).run(),
      ).toThrow(/store word-count-store lost updates/);
      const report = new StreamsSimulation(seed, { guarantee: "exactly_once", script, ...scripted }).run();
      expect(report.refusedCommits).toBeGreaterThan(0);
    }
  },
);

it.runIf(only === undefined)(
  "exactly once needs KIP-447's stable offsets: without them, a zombie's transaction committing late doubles counts",
  () => {
    // i0 stalls between sendOffsets and EndTxn, past its session but (for some seeds) not past its
    // transaction's timeout. Its task's next owner reads the committed offsets; unless it waits for stable
    // ones, it starts from those before i0's transaction, which then commits when i0 wakes.
    const script: ScriptStep[] = [
      ...threeInstances,
      ...words(100, 18_000, 20),
      { atMs: 3_000, action: "stall-after-send-offsets", instance: 0, ms: 10_200 },
    ];
    const failures = (stableOffsets: boolean) => {
      const seeds: number[] = [];
      for (let seed = 1; seed <= 12; seed++) {
        const profile = { ...scripted.profile, stableOffsets };
        try {
          new StreamsSimulation(seed, { guarantee: "exactly_once", script, ...scripted, profile }).run();
        } catch (error) {
          if (!(error instanceof SimulationFailure)) throw error;
          seeds.push(seed);
        }
      }
      return seeds;
    };
    expect(failures(false).length).toBeGreaterThan(0);
    expect(failures(true)).toEqual([]);
  },
);

// A bug the simulation found (exactly once): a crashed instance's open transaction holds the last stable
// offset of its task's changelog partition until the coordinator aborts it, transaction.timeout (10 s)
// after it began; the group removes the instance a session timeout (also 10 s) after its last heartbeat,
// which comes first when the transaction began after that heartbeat. The next owner restores up to that
// LSO, goes on and commits; if the task moves once more before the abort, a restore that stops at the
// same LSO misses the second owner's committed writes, which the group's committed offsets cover: counts
// repeat. KIP-447 does not help (the transaction holds no offsets yet). The fix: a restore waits until no
// earlier owner's transaction is open on its changelog partitions (restorer.ts, stableEnds). This script
// makes the case likely: crash i0 just before a heartbeat, and close 0_0's next owner soon after it took
// the task; without the wait, some seeds restore a stale store.
it.runIf(only === undefined)(
  "exactly once: a task that moves twice within a transaction timeout of a crash restores the committed state",
  () => {
    const script: ScriptStep[] = [
      ...threeInstances,
      ...words(100, 19_000, 20),
      { atMs: 3_000, action: "crash-at-heartbeat", instance: 0 },
      { atMs: 3_001, action: "close-next-owner", task: "0_0", afterMs: 100 },
    ];
    const stale = (stableChangelogs: boolean) => {
      const seeds: number[] = [];
      for (let seed = 1; seed <= 20; seed++) {
        const profile = { ...scripted.profile, stableChangelogs };
        try {
          new StreamsSimulation(seed, { guarantee: "exactly_once", script, ...scripted, profile }).run();
        } catch (error) {
          if (!(error instanceof SimulationFailure && error.cause instanceof StaleRestore)) throw error;
          seeds.push(seed);
        }
      }
      return seeds;
    };
    expect(stale(false).length).toBeGreaterThan(0);
    expect(stale(true)).toEqual([]);
  },
);
