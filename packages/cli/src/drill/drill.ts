// `brook drill kill-leader` as a library call: find the leader of a partition, drive acks=all load at
// it, stop the leader (through whatever the caller does to stop a broker), time how long the partition
// has no leader, start it again, and read back everything the drill wrote. The CLI builds stopBroker
// and startBroker from flags or a `make up` cluster's PID files; tests pass the testkit's handles. The
// load comes from Brook's SDK or, with client "kafka", from kafkajs on the Kafka listeners; the watch,
// the tailing consumer and the read-back are Brook's SDK either way, so records are also checked across
// protocols.

import { randomBytes } from "node:crypto";
import { Brook, BrookError, type Logger, silentLogger } from "@brook/client";
import { audit, type PartitionRead } from "./audit.js";
import { HighWatermarkCheck } from "./health.js";
import { type ClusterView, LeaderWatch, type WatchedPartition } from "./leader-watch.js";
import { OffsetLedger } from "./ledger.js";
import { Load } from "./load.js";
import { type ClientKind, type LoadClient, loadClient } from "./producer.js";
import { readBack } from "./read-back.js";
import { Tail } from "./tail.js";
import { sleepUntil, waitUntil, withinMs } from "./time.js";

export const drillDefaults = {
  seconds: 10,
  recordsPerSecond: 500,
  /** The stop comes once the load has run this share of its expected length (and at least warmupMsMin). */
  warmupShare: 0.25,
  warmupMsMin: 1_000,
  /** The load runs at least this long after the broker is back, so the report covers the return too. */
  cooldownMs: 1_000,
} as const;

/** Every wait of a drill, bounded. */
export const drillLimits = {
  /** The watch must see the partition served before the drill starts. */
  watchReadyMs: 10_000,
  /** The load's first acknowledgement; none means the cluster is not healthy to begin with. */
  firstAckMs: 15_000,
  /** A new leader serving the partition after the stop (a session timeout plus an election, with room). */
  failoverMs: 30_000,
  /** The stopped broker listed in Metadata again after the start. */
  backInServiceMs: 60_000,
  /** A --records load beyond its expected length at the set rate. */
  loadOverrunMs: 60_000,
  readBackMs: 60_000,
} as const;

export interface DrillOptions {
  /** Bootstrap addresses, host:port. */
  brokers: string[];
  topic: string;
  /** Default 0. */
  partition?: number;
  /** Load for this many seconds (default 10), or else... */
  seconds?: number;
  /** ...exactly this many records. */
  records?: number;
  recordsPerSecond?: number;
  /** Stops broker `id` (kill it: the point is an unclean failure). Resolves once it is stopped. */
  stopBroker(id: number): Promise<void>;
  /** Starts broker `id` again. Resolves once the start was issued (the drill waits for it to serve). */
  startBroker(id: number): Promise<void>;
  /** Who produces the load: Brook's SDK (default) or kafkajs over the Kafka protocol. */
  client?: ClientKind;
  /**
   * The Kafka listeners (host:port) for client "kafka"; by default the ones the brokers advertise
   * (describeCluster), as `brook cluster status` lists them.
   */
  kafkaBrokers?: string[];
  /** Progress for a person, one line at a time. */
  progress?(line: string): void;
  /** The SDK's logger; by default silent (leader moves make the SDK warn, as they should). */
  logger?: Logger;
}

export interface DrillReport {
  /** Who produced the load: "brook" (the SDK over gRPC) or "kafka" (kafkajs over the Kafka protocol). */
  client: ClientKind;
  topic: string;
  partition: number;
  /** The broker that led the partition and was stopped. */
  stoppedBroker: number;
  leaderEpochBefore: number;
  /** The first broker that served the partition after the stop; -1 if none did before the restart. */
  newLeader: number;
  leaderEpochAfter: number;
  /** Time the partition had no leader that answered, over the whole drill. */
  leaderlessMs: number;
  /** The part of it from the stop until the restart began: the failover itself. */
  leaderlessAfterStopMs: number;
  /** The part after the restart: mostly leadership moving back to the returning (preferred) broker. */
  leaderlessAfterRestartMs: number;
  /** From the start of the stopped broker to its being listed in service again; -1 if it never was. */
  backInServiceMs: number;
  /** Whether the restarted broker was back in the partition's ISR by the end of the drill. */
  rejoinedIsr: boolean;
  sent: number;
  acked: number;
  failed: number;
  /** Records whose send failed for good, by error code. */
  failures: Record<string, number>;
  unsettled: number;
  readBack: number;
  lost: number;
  duplicates: number;
  phantoms: number;
  outOfOrder: number;
  gaps: number;
  /** Offsets seen holding two different records during the drill. */
  conflicts: number;
  highWatermarkRegressions: number;
  durationMs: number;
  examples: string[];
  warnings: string[];
}

/** What a drill keeps while it runs, for the report. */
interface Observers {
  ledger: OffsetLedger;
  highWatermarks: HighWatermarkCheck;
  watch: LeaderWatch;
  load: Load;
  tail: Tail;
  valuePrefix: string;
  startOffset: number;
}

interface Failover {
  newLeader: WatchedPartition | undefined;
  backInServiceMs: number;
  /** When the stop was issued, and the restart; undefined when the drill failed before. */
  stoppedAtMs?: number;
  restartedAtMs?: number;
}

export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const startedMs = Date.now();
  const partition = options.partition ?? 0;
  const { topic } = options;
  const progress = options.progress ?? (() => {});
  const warnings: string[] = [];
  const brook = new Brook({
    brokers: options.brokers,
    clientId: "brook-drill",
    logger: options.logger ?? silentLogger,
  });
  const before = await describePartition(brook, topic, partition);
  if (before.leader < 0) {
    throw new Error(`${topic}-${partition} has no leader now (offline); a drill needs a healthy partition`);
  }
  if (before.isr.length < 2) {
    warnings.push(
      `the ISR of ${topic}-${partition} is [${before.isr.join(", ")}]: no other in-sync replica can take over, so the partition stays offline until broker ${before.leader} is back`,
    );
  }
  const client = await drillClient(brook, options);
  const observers = observe(brook, client, options, before.highWatermark);
  const { watch, load, tail } = observers;
  watch.start();
  let failover: Failover = { newLeader: undefined, backInServiceMs: -1 };
  try {
    await watch.waitFor(`${topic}-${partition} to be served`, drillLimits.watchReadyMs, (view) =>
      served(view, partition, () => true),
    );
    await tail.start();
    const loadStartedMs = Date.now();
    const loadMs = expectedLoadMs(options);
    load.start();
    progress(
      `load: ${load.recordsPerSecond} records/s to ${topic}-${partition} from ${clientNames[client.kind]} (leader: broker ${before.leader}, epoch ${before.leaderEpoch})`,
    );
    await waitForFirstAck(load);
    await sleepUntil(loadStartedMs + Math.max(drillDefaults.warmupMsMin, loadMs * drillDefaults.warmupShare));
    failover = await killAndRestart(options, watch, before.leader, partition, warnings);
    const cooldownEndMs = Date.now() + drillDefaults.cooldownMs;
    if (options.records !== undefined) await withinMs(load.finished(), loadMs + drillLimits.loadOverrunMs);
    else await sleepUntil(loadStartedMs + loadMs);
    await sleepUntil(cooldownEndMs);
  } finally {
    await load.stop();
    await tail.stop();
    await watch.stop();
  }
  progress("reading back");
  const reads = await readBack({
    brook,
    topic,
    starts: [{ partition, offset: observers.startOffset }],
    timeoutMs: drillLimits.readBackMs,
    ledger: observers.ledger,
  });
  return report(options, before, failover, observers, reads, warnings, startedMs);
}

/** How the progress lines name each client. */
const clientNames: Record<ClientKind, string> = {
  brook: "Brook's SDK",
  kafka: "kafkajs on the Kafka listeners",
};

async function drillClient(brook: Brook, options: DrillOptions): Promise<LoadClient> {
  const kind = options.client ?? "brook";
  const kafkaBrokers =
    kind === "kafka" ? (options.kafkaBrokers ?? (await advertisedKafkaBrokers(brook))) : undefined;
  return loadClient({ kind, brook, kafkaBrokers, logger: options.logger });
}

/** The Kafka listeners the brokers advertise, as bootstrap addresses; none is an error a person can act on. */
async function advertisedKafkaBrokers(brook: Brook): Promise<string[]> {
  const admin = brook.admin();
  try {
    const { brokers } = await admin.describeCluster();
    const listeners = brokers
      .filter((b) => b.kafkaPort !== undefined)
      .map((b) => `${b.kafkaHost}:${b.kafkaPort}`);
    if (listeners.length === 0) {
      throw new Error(
        "no broker advertises a Kafka listener: enable it on the brokers, or name the listeners with --kafka-bootstrap",
      );
    }
    return listeners;
  } finally {
    await admin.close();
  }
}

function observe(brook: Brook, client: LoadClient, options: DrillOptions, startOffset: number): Observers {
  const { topic } = options;
  const partition = options.partition ?? 0;
  const ledger = new OffsetLedger();
  const highWatermarks = new HighWatermarkCheck();
  const valuePrefix = `drill-${randomBytes(4).toString("hex")}-`;
  return {
    ledger,
    highWatermarks,
    valuePrefix,
    startOffset,
    watch: new LeaderWatch({ brokers: options.brokers, topic, highWatermarks }),
    load: new Load({
      client,
      topic,
      partitions: [partition],
      recordsPerSecond: options.recordsPerSecond ?? drillDefaults.recordsPerSecond,
      recordsMax: options.records,
      valuePrefix,
      ledger,
    }),
    tail: new Tail({ brook, topic, starts: [{ partition, offset: startOffset }], ledger, highWatermarks }),
  };
}

function expectedLoadMs(options: DrillOptions): number {
  const rate = options.recordsPerSecond ?? drillDefaults.recordsPerSecond;
  return options.records !== undefined
    ? (options.records / rate) * 1000
    : (options.seconds ?? drillDefaults.seconds) * 1000;
}

/** No acknowledgement at all means the cluster was not healthy to begin with: say why sends fail. */
async function waitForFirstAck(load: Load): Promise<void> {
  try {
    await waitUntil("the first acknowledgement", drillLimits.firstAckMs, () => load.acked.size > 0);
  } catch (error) {
    const why = [...load.failureMessages].map(([code, message]) => `${code}: ${message}`).join("; ");
    throw new Error(
      `${(error as Error).message} before stopping anything${why ? ` (sends failed: ${why})` : ""}`,
    );
  }
}

/** Stops the leader, waits for another to serve the partition, starts it again and waits for it to serve. */
async function killAndRestart(
  options: DrillOptions,
  watch: LeaderWatch,
  victim: number,
  partition: number,
  warnings: string[],
): Promise<Failover> {
  const progress = options.progress ?? (() => {});
  const name = `${options.topic}-${partition}`;
  progress(`stopping broker ${victim}`);
  const stoppedAtMs = Date.now();
  await options.stopBroker(victim);
  const view = await watch
    .waitFor(`another broker to serve ${name}`, drillLimits.failoverMs, (v) =>
      served(v, partition, (p) => p.leader !== victim),
    )
    .catch(() => undefined);
  const newLeader = view?.partitions.find((p) => p.partition === partition);
  if (newLeader === undefined) {
    warnings.push(`no other broker served ${name} within ${drillLimits.failoverMs} ms of the stop`);
  } else {
    progress(`broker ${newLeader.leader} leads ${name} now (epoch ${newLeader.leaderEpoch})`);
  }
  progress(`starting broker ${victim}`);
  const restartedAtMs = Date.now();
  await options.startBroker(victim);
  await watch.waitFor(`broker ${victim} back in service`, drillLimits.backInServiceMs, (v) =>
    v.brokers.some((b) => b.id === victim),
  );
  const backInServiceMs = Date.now() - restartedAtMs;
  progress(`broker ${victim} is back in service after ${backInServiceMs} ms`);
  return { newLeader, backInServiceMs, stoppedAtMs, restartedAtMs };
}

function report(
  options: DrillOptions,
  before: { leader: number; leaderEpoch: number },
  { newLeader, backInServiceMs, stoppedAtMs, restartedAtMs }: Failover,
  { ledger, highWatermarks, watch, load, tail, valuePrefix }: Observers,
  reads: PartitionRead[],
  warnings: string[],
  startedMs: number,
): DrillReport {
  const endMs = Date.now();
  const partition = options.partition ?? 0;
  const name = `${options.topic}-${partition}`;
  const victim = before.leader;
  const result = audit({ valuePrefix, sentPerProducer: load.sentPerProducer, acked: load.acked, reads });
  const rejoinedIsr =
    watch.view?.partitions.find((p) => p.partition === partition)?.isr.includes(victim) ?? false;
  if (!rejoinedIsr) warnings.push(`broker ${victim} was not back in the ISR of ${name} by the end`);
  if (result.incompletePartitions.length > 0) {
    warnings.push(
      `the read-back did not reach the end within ${drillLimits.readBackMs} ms: "lost" may count records it did not get to`,
    );
  }
  if (tail.failure !== undefined) warnings.push(`the tailing consumer stopped: ${tail.failure.message}`);
  for (const [code, message] of load.failureMessages) {
    warnings.push(`${load.failures.get(code)} record(s) failed with ${code}: ${message}`);
  }
  return {
    client: load.client,
    topic: options.topic,
    partition,
    stoppedBroker: victim,
    leaderEpochBefore: before.leaderEpoch,
    newLeader: newLeader?.leader ?? -1,
    leaderEpochAfter: newLeader?.leaderEpoch ?? -1,
    leaderlessMs: watch.leaderless.leaderlessMs(partition, startedMs, endMs),
    leaderlessAfterStopMs:
      stoppedAtMs === undefined
        ? 0
        : watch.leaderless.leaderlessMs(partition, stoppedAtMs, restartedAtMs ?? endMs),
    leaderlessAfterRestartMs:
      restartedAtMs === undefined ? 0 : watch.leaderless.leaderlessMs(partition, restartedAtMs, endMs),
    backInServiceMs,
    rejoinedIsr,
    sent: load.sent,
    acked: load.acked.size,
    failed: load.failed,
    failures: Object.fromEntries(load.failures),
    unsettled: load.unsettled,
    readBack: result.readBack,
    lost: result.lost,
    duplicates: result.duplicates,
    phantoms: result.phantoms,
    outOfOrder: result.outOfOrder,
    gaps: result.gaps,
    conflicts: ledger.conflicts,
    highWatermarkRegressions: highWatermarks.regressions,
    durationMs: endMs - startedMs,
    examples: [
      ...Object.values(result.examples).flat(),
      ...ledger.conflictExamples.map(
        (c) =>
          `offset ${c.offset} held "${c.first.value}" (${c.first.source}) and "${c.second.value}" (${c.second.source})`,
      ),
      ...highWatermarks.examples.map(
        (r) =>
          `high watermark ${r.highest} then ${r.seen} (${r.source}, leader epoch ${r.highestLeaderEpoch ?? "?"} then ${r.leaderEpoch ?? "?"})`,
      ),
    ],
    warnings,
  };
}

async function describePartition(brook: Brook, topic: string, partition: number) {
  const admin = brook.admin();
  try {
    const [description] = await admin.describeTopics({ topics: [topic] });
    const found = description.partitions.find((p) => p.partition === partition);
    if (found === undefined) {
      throw new BrookError(
        "UNKNOWN_PARTITION",
        `topic ${topic} has partitions 0..${description.partitions.length - 1}; there is no partition ${partition}`,
      );
    }
    return found;
  } finally {
    await admin.close();
  }
}

function served(view: ClusterView, partition: number, which: (p: WatchedPartition) => boolean): boolean {
  const found = view.partitions.find((p) => p.partition === partition);
  return found?.served === true && which(found);
}
