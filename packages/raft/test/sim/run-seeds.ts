// One simulation worker process: `node --import tsx run-seeds.ts <start> <count> <stride>`.
// Prints its summary as JSON on the last line of stdout; on a failure prints the
// failure (with the seed to replay) on stderr and exits with status 1.
//
// Seeds run without stack traces: the core throws NotLeaderError at every
// proposal a client sends to a follower, and capturing their stacks costs about
// a sixth of a run. A failing seed runs once more with them for its report
// (a seed replays exactly).

import { runSeeds, SeedFailure } from "./seeds.js";

const [start, count, stride] = process.argv.slice(2).map(Number);
const stackTraceLimit = Error.stackTraceLimit;
Error.stackTraceLimit = 0;
try {
  const summary = await runSeeds(start, count, stride);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} catch (error) {
  if (error instanceof SeedFailure) {
    Error.stackTraceLimit = stackTraceLimit;
    const traced = await runSeeds(error.seed, 1).then(
      () => error,
      (again: unknown) => (again instanceof SeedFailure ? again : error),
    );
    const cause =
      traced.cause instanceof Error ? (traced.cause.stack ?? traced.cause.message) : String(traced.cause);
    process.stderr.write(`${error.message}\n${cause}\n`);
    process.stdout.write(`${JSON.stringify({ failedSeed: error.seed, message: error.message })}\n`);
    process.exit(1);
  }
  throw error;
}
