// @brook/cli's entry point is bin/brook.js (src/main.ts). Its library API is the failover drill and the
// pieces it is made of, which the end-to-end chaos suite (test-e2e/chaos) drives as well.

export { type Audit, type AuditInput, audit, type PartitionRead, type ReadRecord } from "./drill/audit.js";
export { type DrillOptions, type DrillReport, drillDefaults, drillLimits, runDrill } from "./drill/drill.js";
export {
  HighWatermarkCheck,
  type HighWatermarkRegression,
  type LeaderlessPeriod,
  LeaderlessTimer,
  percentile,
} from "./drill/health.js";
export {
  type ClusterView,
  LeaderWatch,
  type LeaderWatchOptions,
  leaderWatchDefaults,
  type WatchedPartition,
} from "./drill/leader-watch.js";
export { type OffsetConflict, OffsetLedger } from "./drill/ledger.js";
export { Load, type LoadOptions, loadDefaults } from "./drill/load.js";
// kafkajs is not among these: loadClient({ kind: "kafka" }) imports it when asked.
export {
  brookLoadClient,
  type ClientKind,
  clientKinds,
  durableProducerOptions,
  type LoadClient,
  type LoadClientOptions,
  type LoadProducer,
  loadClient,
  SendFailure,
} from "./drill/producer.js";
export { readBack } from "./drill/read-back.js";
export { type Placement, parseRecordValue, type RecordId, recordValue } from "./drill/records.js";
export { Tail, type TailOptions } from "./drill/tail.js";
