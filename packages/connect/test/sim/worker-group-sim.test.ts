// Rule (issue 19): a Connect worker group, run by the production Worker, Herder and assignment over a
// simulated configs topic, membership and tasks (worker-group.ts), always runs tasks only on live workers,
// and once every worker has read every config and seen the membership, runs each task of each started
// connector on exactly the one worker the assignment names (or shows it FAILED there), runs nothing
// paused or deleted, and reports statuses that match. Workers join, leave and crash; connectors are
// created, resized, paused, resumed, restarted and deleted; tasks fail.
//   CONNECT_SIM_SEED=<n>    replay seed n
//   CONNECT_SIM_SEEDS=<n>   seeds (default 300); CONNECT_SIM_STEPS=<n> steps per seed (default 150)

import { envInteger } from "@brook/testkit";
import { expect, it } from "vitest";
import { type SimReport, WorkerGroupSimulation } from "./worker-group.js";

const only = envInteger("CONNECT_SIM_SEED");
const seeds = envInteger("CONNECT_SIM_SEEDS") ?? 300;
const steps = envInteger("CONNECT_SIM_STEPS") ?? 150;

it(`keeps every task on exactly one live worker at rest (${only === undefined ? `${seeds} seeds` : `seed ${only}`})`, async () => {
  const reports: SimReport[] = [];
  for (const seed of only === undefined ? Array.from({ length: seeds }, (_, i) => i + 1) : [only]) {
    reports.push(await new WorkerGroupSimulation(seed).run(steps));
  }
  const total = (key: keyof SimReport) => reports.reduce((sum, report) => sum + report[key], 0);
  // The simulation must reach the states it checks, or it proves little.
  expect(total("tasksRunning")).toBeGreaterThan(reports.length);
  expect(total("tasksFailed")).toBeGreaterThan(0);
  expect(total("overlaps")).toBeGreaterThan(0);
  console.log(
    `connect sim: ${reports.length} seeds × ${steps} steps; at rest ${total("tasksRunning")} tasks running, ` +
      `${total("tasksFailed")} failed; ${total("overlaps")} transient overlaps while views differed`,
  );
}, 300_000);
