// One simulation worker process: `node --import tsx run-seeds.ts <start> <count> <stride>`.
// Prints its summary as JSON on the last line of stdout; on a failure prints the
// failure (with the seed to replay) on stderr and exits with status 1.

import { runSeeds, SeedFailure } from "./seeds.js";

const [start, count, stride] = process.argv.slice(2).map(Number);
try {
  const summary = await runSeeds(start, count, stride);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} catch (error) {
  if (error instanceof SeedFailure) {
    const cause =
      error.cause instanceof Error ? (error.cause.stack ?? error.cause.message) : String(error.cause);
    process.stderr.write(`${error.message}\n${cause}\n`);
    process.stdout.write(`${JSON.stringify({ failedSeed: error.seed, message: error.message })}\n`);
    process.exit(1);
  }
  throw error;
}
