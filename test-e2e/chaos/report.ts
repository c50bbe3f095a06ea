// The chaos run's report: what was done to the cluster, what it cost (time without a leader), and what
// the read-back found, ending in one summary line that scripts and people grep for. Pure formatting.

import type {
  Audit,
  ClientKind,
  HighWatermarkRegression,
  LeaderlessPeriod,
  OffsetConflict,
} from "@brook/cli";
import { percentile } from "@brook/cli";
import type { FailoverStats } from "./failover.js";
import type { FaultKind } from "./faults.js";

export interface ChaosResult {
  /** Who produced the load: Brook's SDK, or kafkajs on the Kafka listeners. */
  client: ClientKind;
  /** The producers as a person reads them ("kafkajs on the Kafka listeners"). */
  producers: string;
  seed: number;
  killsPlanned: number;
  /** Rounds after which the cluster was back in full service within the bounds. */
  killsSurvived: number;
  /** The kinds asked for (CHAOS_KINDS), for the replay line. */
  kinds: readonly FaultKind[];
  /** Faults injected, by kind; a kind may stand in for one asked for (kill-leader for kill-controller). */
  faults: Partial<Record<FaultKind, number>>;
  partitions: number;
  durationMs: number;
  sent: number;
  acked: number;
  failures: ReadonlyMap<string, number>;
  failureMessages: ReadonlyMap<string, string>;
  idempotent: boolean;
  unsettled: number;
  malformedAcks: number;
  tailRecords: number;
  audit: Audit;
  conflicts: number;
  conflictExamples: readonly OffsetConflict[];
  highWatermarkRegressions: number;
  highWatermarkExamples: readonly HighWatermarkRegression[];
  leaderless: readonly LeaderlessPeriod[];
  /** Per fault kind: time until a produce sent after the fault was acknowledged, per partition. */
  failover: readonly FailoverStats[];
  /** Kinds whose failover includes starting the nodes again (not held to the failover bound). */
  restartKinds: readonly FaultKind[];
  /** Things that went wrong with the run itself (a bound hit, a consumer that stopped). */
  notes: readonly string[];
}

export interface LeaderlessStats {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function leaderlessStats(periods: readonly LeaderlessPeriod[]): LeaderlessStats {
  const sorted = periods.map(durationMs).sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1) ?? 0 };
}

export function formatReport(r: ChaosResult): string[] {
  const stats = leaderlessStats(r.leaderless);
  const failures = [...r.failures].map(([code, n]) => `${code} ${n}`).join(", ");
  const lines = [
    `chaos report (seed ${r.seed}; replay with CHAOS_SEED=${r.seed} CHAOS_KILLS=${r.killsPlanned} CHAOS_CLIENT=${r.client} CHAOS_KINDS=${r.kinds.join(",")}; producers ${r.producers}, acks=all${r.idempotent ? ", idempotent" : ", NOT idempotent (CHAOS_IDEMPOTENT=false)"})`,
    `  survived ${r.killsSurvived} of ${r.killsPlanned} faults in ${(r.durationMs / 1000).toFixed(1)} s: ${Object.entries(
      r.faults,
    )
      .map(([kind, n]) => `${kind} ${n}`)
      .join(", ")}`,
    `  records: sent ${r.sent}, acknowledged ${r.acked}, failed ${[...r.failures.values()].reduce((a, b) => a + b, 0)}${failures ? ` (${failures})` : ""}, unanswered at the end ${r.unsettled}, malformed acks ${r.malformedAcks}`,
    `  read back ${r.audit.readBack}; lost ${r.audit.lost}, duplicates ${r.audit.duplicates}, never sent ${r.audit.phantoms}, out of order ${r.audit.outOfOrder}, offset gaps ${r.audit.gaps}${r.audit.incompletePartitions.length > 0 ? `, read incomplete on partitions ${r.audit.incompletePartitions.join(",")}` : ""}`,
    `  offsets that held two different records: ${r.conflicts}; high watermark went backwards: ${r.highWatermarkRegressions} (tailing consumer read ${r.tailRecords} records)`,
    `  without a leader (ms, ${r.leaderless.length} periods): p50 ${stats.p50Ms}, p99 ${stats.p99Ms}, max ${stats.maxMs}`,
    ...perPartition(r),
    "  until a produce sent after the fault is acknowledged, per partition (ms):",
    ...r.failover.map(
      (f) =>
        `    ${f.kind}: ${f.samples} samples, p50 ${f.p50Ms}, p99 ${f.p99Ms}, max ${f.maxMs}${f.slowest ? ` (round ${f.slowest.round}, partition ${f.slowest.partition})` : ""}${f.timedOut > 0 ? `, ${f.timedOut} not within the bound` : ""}${r.restartKinds.includes(f.kind) ? " (includes starting every node again)" : ""}`,
    ),
    ...r.notes.map((note) => `  note: ${note}`),
    ...[...r.failureMessages].map(([code, message]) => `  failed send: ${code}: ${message}`),
    ...Object.entries(r.audit.examples).flatMap(([kind, examples]) => examples.map((e) => `  ${kind}: ${e}`)),
    ...r.conflictExamples.map(
      (c) =>
        `  conflict: partition ${c.partition} offset ${c.offset} held "${c.first.value}" (${c.first.source}) and "${c.second.value}" (${c.second.source})`,
    ),
    ...r.highWatermarkExamples.map(
      (h) =>
        `  high watermark: partition ${h.partition} ${h.highest} (epoch ${h.highestLeaderEpoch ?? "?"}) then ${h.seen} (epoch ${h.leaderEpoch ?? "?"}, seen by ${h.source})`,
    ),
    summaryLine(r, stats),
  ];
  return lines;
}

/**
 * The last line: `chaos: client=… kills=… faults=kind:n,… acked=… lost=… duplicates=… failover_p99_ms=…`
 * and the other counters. failover_p99_ms is the worst kind's p99, restart kinds (power loss) aside.
 */
export function summaryLine(r: ChaosResult, stats: LeaderlessStats = leaderlessStats(r.leaderless)): string {
  return [
    "chaos:",
    `client=${r.client}`,
    `kills=${r.killsSurvived}`,
    `faults=${Object.entries(r.faults)
      .map(([kind, n]) => `${kind}:${n}`)
      .join(",")}`,
    `acked=${r.acked}`,
    `lost=${r.audit.lost}`,
    `duplicates=${r.audit.duplicates}`,
    `failover_p99_ms=${worstFailoverP99Ms(r)}`,
    `leaderless_p99_ms=${stats.p99Ms}`,
    `leaderless_p50_ms=${stats.p50Ms}`,
    `leaderless_max_ms=${stats.maxMs}`,
    `out_of_order=${r.audit.outOfOrder}`,
    `gaps=${r.audit.gaps}`,
    `never_sent=${r.audit.phantoms}`,
    `conflicts=${r.conflicts}`,
    `hw_regressions=${r.highWatermarkRegressions}`,
    `seed=${r.seed}`,
  ].join(" ");
}

function perPartition(r: ChaosResult): string[] {
  const lines: string[] = [];
  for (let partition = 0; partition < r.partitions; partition++) {
    const periods = r.leaderless.filter((p) => p.partition === partition);
    const stats = leaderlessStats(periods);
    const totalMs = periods.reduce((sum, p) => sum + durationMs(p), 0);
    lines.push(
      `    partition ${partition}: ${periods.length} periods, total ${totalMs} ms, p50 ${stats.p50Ms}, p99 ${stats.p99Ms}, max ${stats.maxMs}`,
    );
  }
  return lines;
}

function durationMs(period: LeaderlessPeriod): number {
  return (period.toMs ?? period.fromMs) - period.fromMs;
}

function worstFailoverP99Ms(r: ChaosResult): number {
  const held = r.failover.filter((f) => !r.restartKinds.includes(f.kind));
  return Math.max(0, ...held.map((f) => f.p99Ms));
}
