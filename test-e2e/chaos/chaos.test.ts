// Chaos on three real nodes: steady acks=all idempotent load on a replication-factor-3 topic while
// CHAOS_KILLS rounds (default: one per fault kind; `make chaos` runs 50) each SIGKILL the leader of a
// partition, or the active controller, or a follower, or every node at once (power loss), or SIGSTOP a
// leader for a while, or fill a leader's data disk for a while (each node's data on a loop-mounted disk of
// its own, its metadata log off it), or cut, thin, flap or slow a node's network links for a while (each
// node in a network namespace of its own; where the machine cannot mount or make namespaces, those kinds
// are skipped, saying why), and bring it back. The first rounds go through every kind once. The load
// comes from Brook's SDK or from kafkajs on the Kafka listeners (CHAOS_CLIENT=brook|kafka; unset, as in
// `make test`, both run: the SDK for CHAOS_KILLS rounds, then kafkajs for 3). A watch polls every partition's leader and high watermark every
// 20 ms; a consumer tails the log. Per fault and partition, the time until a record sent after the fault
// is acknowledged is measured (failover.ts); CHAOS_FAILOVER_P99_MS_MAX (`make chaos`: 3000) holds every
// kind's p99 to it, power loss aside (its nodes must start again). At the end every partition is read from
// offset 0 and held to the rules:
//
//   every acknowledged record is present exactly once, in order per partition, with no offset gaps,
//   and no record that was never sent; no offset ever held two different records across the run
//   (acks, the tail and the read-back all agree); the high watermark a client sees never goes back.
//
// Faults come from a seeded PRNG (CHAOS_SEED, printed); CHAOS_REPORT=<file> also writes the report there.
// CHAOS_IDEMPOTENT=false turns the producers' idempotence off, to tell replication faults from retry ones.
// To look into a slow failover: CHAOS_KEEP_DATA=1 keeps every node's data dir and node.log, and
// CHAOS_SDK_LOG=<file> appends the load's SDK log lines (with their times in ms) to a file; the report
// names each kind's slowest fault round and partition.
import { appendFileSync } from "node:fs";
import {
  audit,
  type ClusterView,
  HighWatermarkCheck,
  LeaderWatch,
  Load,
  loadClient,
  readBack,
  Tail,
} from "@brook/cli";
import { Brook, type Logger, silentLogger } from "@brook/client";
import type { MetadataResponse__Output } from "@brook/protocol";
import { type Cluster, networkLabUnavailable, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tryMetadata } from "../grpc.js";
import { waitFor, waitUntil } from "../wait.js";
import { DataDisks, dataDisksUnavailable } from "./disk-full.js";
import { FailoverClock, TimedLedger } from "./failover.js";
import {
  applyFault,
  type ChaosRun,
  chaosRuns,
  chaosSeed,
  describeFault,
  diskFullFaultKinds,
  type Fault,
  type FaultKind,
  FaultPlan,
  faultKinds,
  nodesToRestart,
  Random,
} from "./faults.js";
import { networkFaultKinds } from "./network-faults.js";
import { type ChaosResult, formatReport } from "./report.js";

/** Why network faults cannot run here (not root, no nft, ...), or undefined when they can. */
const networkUnavailable = networkLabUnavailable();
/** Why full disks cannot be made here (not root, no loop mounts), or undefined when they can. */
const disksUnavailable = dataDisksUnavailable();
const skipped: readonly FaultKind[] = [
  ...(networkUnavailable === undefined ? [] : networkFaultKinds),
  ...(disksUnavailable === undefined ? [] : diskFullFaultKinds),
];
const runs = chaosRuns(
  process.env,
  faultKinds.filter((kind) => !skipped.includes(kind)),
);
const seed = chaosSeed();
const topic = "chaos";
const partitions = 6;
const producers = 3;
const recordsPerSecond = 900;
const idempotent = process.env.CHAOS_IDEMPOTENT !== "false";
/** About 10 s of a partition's load (150 records/s of about 10 bytes each); a soak makes a few hundred. */
const segmentBytes = 16 * 1024;
if (networkUnavailable !== undefined) {
  console.warn(`chaos: network faults SKIPPED: ${networkUnavailable}`);
}
if (disksUnavailable !== undefined) console.warn(`chaos: full disks SKIPPED: ${disksUnavailable}`);
/** Failover p99 each kind is held to (power loss aside); unset, the times are only reported. */
const failoverP99MsMax =
  process.env.CHAOS_FAILOVER_P99_MS_MAX === undefined
    ? undefined
    : Number(process.env.CHAOS_FAILOVER_P99_MS_MAX);
/** Not held to the failover bound: every node must start again before anything is served. */
const restartKinds: readonly FaultKind[] = ["power-loss"];

/** Every wait of the run, bounded. */
const limits = {
  clusterStartMs: 60_000,
  /** Every node lists three brokers in service and every partition has a serving leader. */
  healthyMs: 30_000,
  /** A restarted broker back in every ISR (replication catches it up); waited for, not required. */
  isrRestoreMs: 5_000,
  /** Every partition served again after a fault, before the restart; not required (an ISR of one can't fail over). */
  failoverMs: 12_000,
  /** A produce to every partition acknowledged again after a fault (measured; power loss: after the restart). */
  producedAgainMs: 20_000,
  /** Sends in flight at the end get this long to be answered. */
  settleMs: 20_000,
  /** From the load's start until every partition has had a send acknowledged. */
  warmUpMs: 30_000,
  readBackMs: 60_000,
  /** The rounds stop starting once this much of the test's time is used (the rest is for the read-back). */
  roundsShare: 0.8,
} as const;
/** The whole test: cluster start, the rounds (about 8 s each, 30 s allowed), the settle and the read-back. */
const testTimeoutMs = (kills: number) =>
  limits.clusterStartMs + kills * 30_000 + limits.settleMs + limits.readBackMs;

/** How the report names each client's producers. */
const producerNames = { brook: "Brook's SDK", kafka: "kafkajs on the Kafka listeners" } as const;

const allPartitionsServed = (view: ClusterView) =>
  view.partitions.length === partitions && view.partitions.every((p) => p.served);

const fullIsr = (view: ClusterView) =>
  view.partitions.length === partitions && view.partitions.every((p) => p.isr.length === p.replicas.length);

/** Every node is up, lists all three brokers in service, and every partition has a leader that serves. */
async function healthy(cluster: Cluster, watch: LeaderWatch): Promise<void> {
  await waitFor("every node to list three brokers in service", limits.healthyMs, async () => {
    const views: (MetadataResponse__Output | undefined)[] = await Promise.all(cluster.nodes.map(tryMetadata));
    return views.every((m) => m?.brokers.length === 3) ? true : undefined;
  });
  await watch.waitFor("every partition to have a serving leader", limits.healthyMs, allPartitionsServed);
}

describe.each(runs)(
  "chaos: faults under acks=all load on three nodes, producers $client, $kinds.length kinds",
  (run: ChaosRun) => {
    const { client, kills, kinds } = run;
    let cluster: Cluster;
    // Only a run that fills disks puts the nodes' data on disks of their own.
    const disks = kinds.some((kind) => (diskFullFaultKinds as readonly FaultKind[]).includes(kind))
      ? new DataDisks()
      : undefined;

    beforeAll(async () => {
      const network = networkUnavailable === undefined ? "namespaces" : "loopback";
      cluster = await startCluster({
        nodes: 3,
        network,
        prepareNode: disks?.prepareNode,
        afterStop: disks?.unmountAll,
        // CHAOS_KEEP_DATA=1 keeps every node's data and node.log for a look afterwards.
        keepData: process.env.CHAOS_KEEP_DATA === "1",
      });
    }, limits.clusterStartMs);

    afterAll(async () => {
      await cluster?.stop();
    });

    it(
      `every acknowledged record survives ${kills} faults exactly once, in order, and no high watermark goes back`,
      async () => {
        const startedMs = Date.now();
        const roundsEndMs = startedMs + testTimeoutMs(kills) * limits.roundsShare;
        const plan = new FaultPlan(new Random(seed), kinds);
        console.log(
          `chaos: client=${client} seed=${seed} kills=${kills} kinds=${kinds.join(",")} (replay with CHAOS_SEED=${seed} CHAOS_KILLS=${kills} CHAOS_CLIENT=${client} CHAOS_KINDS=${kinds.join(",")})`,
        );
        const brokers = cluster.bootstrap.split(",");
        const brook = new Brook({ brokers, clientId: "chaos", logger: sdkLogger(process.env.CHAOS_SDK_LOG) });
        const admin = brook.admin();
        await admin.createTopics({
          topics: [
            {
              topic,
              numPartitions: partitions,
              replicationFactor: 3,
              configEntries: [
                { name: "min.insync.replicas", value: "2" },
                // Small segments, so that bit-flip rounds find sealed ones soon.
                { name: "segment.bytes", value: String(segmentBytes) },
              ],
            },
          ],
        });
        await admin.close();

        const clock = new FailoverClock(
          Array.from({ length: partitions }, (_, p) => p),
          limits.producedAgainMs,
        );
        const ledger = new TimedLedger(clock);
        const highWatermarks = new HighWatermarkCheck();
        const watch = new LeaderWatch({ brokers, topic, highWatermarks });
        const starts = Array.from({ length: partitions }, (_, partition) => ({ partition, offset: 0 }));
        const tail = new Tail({ brook, topic, starts, ledger, highWatermarks });
        const load = new Load({
          client: await loadClient({
            kind: client,
            brook,
            kafkaBrokers: cluster.kafkaBootstrap.split(","),
            idempotent,
          }),
          topic,
          partitions: starts.map((s) => s.partition),
          producers,
          recordsPerSecond,
          valuePrefix: "",
          ledger,
        });
        // A kind may stand in for another (kill-controller on a node that also leads is kill-leader), so a
        // kind not asked for can still be counted.
        const faults: Partial<Record<FaultKind, number>> = Object.fromEntries(kinds.map((kind) => [kind, 0]));
        const notes: string[] = [
          ...(networkUnavailable === undefined ? [] : [`network faults skipped: ${networkUnavailable}`]),
          ...(disksUnavailable === undefined ? [] : [`full disks skipped: ${disksUnavailable}`]),
        ];
        let survived = 0;

        watch.start();
        try {
          await healthy(cluster, watch);
          await tail.start();
          load.start();
          // Every partition takes writes before the first fault: a failover is measured from a running load.
          await waitUntil("the load acknowledged on every partition", limits.warmUpMs, () =>
            starts.every(({ partition }) =>
              [...load.acked.values()].some((placement) => placement.partition === partition),
            ),
          );
          for (let round = 1; round <= kills; round++) {
            if (Date.now() > roundsEndMs) {
              notes.push(`stopped after ${round - 1} rounds: the time budget for rounds ran out`);
              break;
            }
            const restored = await watch
              .waitFor("full ISRs", limits.isrRestoreMs, fullIsr)
              .catch(() => undefined);
            if (restored === undefined) {
              notes.push(
                `round ${round}: some ISR was still short ${limits.isrRestoreMs} ms after the last restart`,
              );
            }
            const fault = plan.next(watch.view!);
            faults[fault.kind] = (faults[fault.kind] ?? 0) + 1;
            const faultAtMs = Date.now();
            console.log(
              `chaos: ${client} round ${round}/${kills} at +${faultAtMs - startedMs} ms: ${describeFault(fault)}`,
            );
            clock.start(fault.kind, faultAtMs, load.sentPerProducer);
            const applied = await applyFault(cluster, fault, topic);
            if (applied !== undefined) console.log(`chaos: ${client} round ${round}: ${applied}`);
            const comeBack = await comeBackFrom(cluster, watch, clock, fault, faultAtMs);
            notes.push(...comeBack.notes.map((note) => `round ${round}: ${note}`));
            if (!comeBack.healthy) break;
            survived++;
          }
        } finally {
          clock.finish();
          await load.stop(limits.settleMs);
          await tail.stop();
        }
        let reads: Awaited<ReturnType<typeof readBack>>;
        try {
          reads = await readBack({ brook, topic, starts, timeoutMs: limits.readBackMs, ledger });
        } finally {
          await watch.stop();
        }
        if (tail.failure !== undefined) notes.push(`the tailing consumer stopped: ${tail.failure.message}`);

        const checks = audit({
          valuePrefix: "",
          sentPerProducer: load.sentPerProducer,
          acked: load.acked,
          reads,
        });
        const result: ChaosResult = {
          client,
          producers: producerNames[client],
          seed,
          killsPlanned: kills,
          killsSurvived: survived,
          kinds,
          faults,
          partitions,
          durationMs: Date.now() - startedMs,
          sent: load.sent,
          acked: load.acked.size,
          failures: load.failures,
          failureMessages: load.failureMessages,
          idempotent,
          unsettled: load.unsettled,
          malformedAcks: load.malformedAcks,
          tailRecords: tail.records,
          audit: checks,
          conflicts: ledger.conflicts,
          conflictExamples: ledger.conflictExamples,
          highWatermarkRegressions: highWatermarks.regressions,
          highWatermarkExamples: highWatermarks.examples,
          leaderless: watch.leaderless.allPeriods(Date.now()),
          failover: clock.stats(),
          restartKinds,
          notes,
        };
        const report = formatReport(result).join("\n");
        console.log(report);
        // Appended: with both clients, the file holds both reports (`make chaos` empties it first).
        if (process.env.CHAOS_REPORT) appendFileSync(process.env.CHAOS_REPORT, `${report}\n`);

        // One soft expectation per rule, so a failing run names every rule it broke.
        expect.soft(survived, "faults survived (the cluster came back to full service)").toBe(kills);
        expect.soft(load.acked.size, "records acknowledged").toBeGreaterThan(0);
        expect.soft(checks.incompletePartitions, "partitions read to the end").toEqual([]);
        expect.soft(checks.lost, "acknowledged records missing").toBe(0);
        expect.soft(checks.duplicates, "records present more than once").toBe(0);
        expect.soft(checks.outOfOrder, "records out of order within a partition").toBe(0);
        expect.soft(checks.gaps, "offsets missing").toBe(0);
        expect.soft(checks.phantoms, "records never sent").toBe(0);
        expect.soft(ledger.conflicts, "offsets that held two different records").toBe(0);
        expect.soft(highWatermarks.regressions, "high watermark went backwards").toBe(0);
        expect.soft(load.malformedAcks, "acknowledgements that did not account for their records").toBe(0);
        if (failoverP99MsMax !== undefined) {
          for (const stats of clock.stats().filter((s) => !restartKinds.includes(s.kind))) {
            expect
              .soft(stats.p99Ms, `${stats.kind}: p99 ms until a produce succeeds again`)
              .toBeLessThan(failoverP99MsMax);
          }
        }
      },
      testTimeoutMs(kills),
    );
  },
);

/**
 * After the fault has been applied: waits for every partition to be served and produced to again, starts
 * what the fault killed, and waits for the cluster to be whole. Each bound that is hit is a note.
 */
async function comeBackFrom(
  cluster: Cluster,
  watch: LeaderWatch,
  clock: FailoverClock,
  fault: Fault,
  faultAtMs: number,
): Promise<{ healthy: boolean; notes: string[] }> {
  const notes: string[] = [];
  const restart = nodesToRestart(cluster, fault);
  const wholeClusterDown = restart.length === cluster.nodes.length;
  if (!wholeClusterDown) {
    const served = await watch
      .waitFor("every partition served again", limits.failoverMs, allPartitionsServed)
      .catch(() => undefined);
    if (served === undefined) {
      const offline = watch.view?.partitions.filter((p) => !p.served).map((p) => p.partition) ?? [];
      notes.push(
        `partitions ${offline.join(",")} had no serving leader ${limits.failoverMs} ms after the fault (until the restart)`,
      );
    }
    await producedAgain(clock, faultAtMs);
  }
  await Promise.all(restart.map((id) => cluster.nodes.find((n) => n.id === id)?.start()));
  try {
    await healthy(cluster, watch);
  } catch (error) {
    notes.push(`the cluster did not come back: ${(error as Error).message}`);
    return { healthy: false, notes };
  }
  if (wholeClusterDown) await producedAgain(clock, faultAtMs);
  clock.finish();
  return { healthy: true, notes };
}

/** Waits (bounded by the clock's bound from the fault) until every partition has taken a produce again. */
async function producedAgain(clock: FailoverClock, faultAtMs: number): Promise<void> {
  while (!clock.allServed && Date.now() < faultAtMs + clock.boundMs) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The SDK's log lines (debug and up, one per line with the time in ms) appended to `file`; none without one. */
function sdkLogger(file: string | undefined): Logger {
  if (file === undefined || file === "") return silentLogger;
  const line = (level: string) => (fields: object, message: string) =>
    appendFileSync(file, `${Date.now()} ${level} ${message} ${JSON.stringify(fields)}\n`);
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}
