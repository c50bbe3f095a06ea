// One replication-simulation worker process:
//   node --conditions=source --import tsx run-seeds.ts <start> <count> <stride> <steps>
// Prints its summary as JSON on the last line of stdout; on a failure prints
// the failure (seed to replay, trace tail) on stderr, `{ failedSeed, message }`
// on stdout, and exits with status 1.

import { runSeeds } from "./seeds.js";
import { SimulationFailure } from "./simulation.js";

const [start, count, stride, steps] = process.argv.slice(2).map(Number);
try {
  const summary = await runSeeds(start, count, stride, steps);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} catch (error) {
  if (!(error instanceof SimulationFailure)) throw error;
  const cause =
    error.cause instanceof Error ? (error.cause.stack ?? error.cause.message) : String(error.cause);
  process.stderr.write(`${error.message}\n${cause}\n`);
  process.stdout.write(`${JSON.stringify({ failedSeed: error.seed, message: error.message })}\n`);
  process.exit(1);
}
