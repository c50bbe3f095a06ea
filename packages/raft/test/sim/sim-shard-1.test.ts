// Rule: Raft's safety properties hold after every event under every fault the
// simulator injects, and a healed cluster makes progress (liveness).
// Shard 1 of the seeds; see seeds.ts for SEED / SIM_SEEDS / SIM_SEED_START.

import { expect, it } from "vitest";
import { describeSummary, runSeeds, seedsForShard } from "./seeds.js";

const shard = 1;
const seeds = seedsForShard(shard);

it.runIf(seeds.length > 0)(
  `simulated cluster stays safe and live (${seeds.length} seeds)`,
  { timeout: 24 * 3600_000 },
  () => {
    const summary = runSeeds(seeds);
    console.log(describeSummary(shard, summary));
    expect(summary.seeds).toBe(seeds.length);
  },
);
