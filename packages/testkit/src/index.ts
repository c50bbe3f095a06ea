// Public API of @brook/testkit (private): helpers for tests only.

export {
  type ConnectWorker,
  type ConnectWorkerOptions,
  startConnectWorker,
  type WorkerLogLine,
} from "./connect-worker.js";
export { fatalErrorsOf } from "./fatal-errors.js";
export { FaultyFileSystem } from "./faulty-file-system.js";
export { type Cluster, type ClusterOptions, type NodeHandle, startCluster } from "./launcher.js";
export {
  type Endpoint,
  type LinkRule,
  NetworkLab,
  networkLabLimits,
  networkLabUnavailable,
} from "./network-lab.js";
export { type Postgres, postgresAvailable, postgresBinDir, startPostgres } from "./postgres.js";
export { EventQueue } from "./sim/event-queue.js";
export { Random } from "./sim/random.js";
export {
  envInteger,
  runSeedWorkers,
  type SeedFailureReport,
  type SeedWorkersOptions,
} from "./sim/seed-workers.js";
