// A deterministic simulation of one partition replicated on three brokers,
// driving the real Partition and the real PartitionLog (on temp directories,
// with a SimDisk that decides when each fsync completes) from one seeded PRNG
// and one event queue. The controller is SimController; followers run the
// production ReplicaFetcherManager and its fetch loop (src/replica-fetcher.ts)
// over a simulated transport, answered by the leader's production Fetch,
// ListOffsets and OffsetForLeaderEpoch handlers (leader-transport.ts), every
// wait (backoff, long poll, acks=all) on the simulator's timers; a producer sends
// acks=all (and some acks=1) batches to whoever it believes leads. Every
// message crosses SimNetwork, which drops, delays and reorders them and cuts
// brokers off (network partitions); metadata reaches each broker late and at
// its own time. Brokers crash, one at a time or every one at once; with
// flush.mode=fsync a crash is sometimes a power loss, and SimDisk decides what
// survives it as a real disk may (unsynced bytes lost or torn, directory
// entries not fsynced undone); every broker then recovers its log with the
// real recovery, which must keep what the log had made durable. They
// restart as new incarnations that the controller must fence and unfence.
// A transactional producer writes transactions of one to three batches,
// commits or aborts them (an abort bumps its epoch, as a coordinator does, so
// its batches still in flight are fenced) and has the markers appended, with
// acks=all semantics and retries until acknowledged, through the real
// Partition.appendMarker; a read_committed consumer reads the leader through
// Partition.read (committed-reader.ts checks it).
// The Checker verifies the replication invariants after every step. Then the
// liveness phase: faults stop, the network heals, everyone is back up; within
// a bounded time the ISR must be whole again, every replica must hold the
// same log up to the high watermark, and a new acks=all produce must succeed.
//
// Time: each event runs, then every promise it settled runs to completion
// (`settle`, one turn of the real event loop: no real I/O is ever pending,
// since only fsync is asynchronous and SimDisk owns it, and no real timer,
// since every wait is on `timers`), then the invariants are checked. That is
// what makes async code replay exactly from a seed.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  type MetadataImage,
  type MetadataRecord,
  resolveTopicConfig,
  type TopicConfig,
} from "@brook/metadata";
import {
  type AlterPartitionRequest__Output,
  asBrookError,
  BrookError,
  decodeRecordBatches,
  encodeRecordBatch,
  ManualClock,
  readBatchHeader,
  scanBatches,
} from "@brook/protocol";
import { PartitionLog } from "@brook/storage";
import { EventQueue, Random } from "@brook/testkit";
import { pino } from "pino";
import { Partition, toLogConfig } from "../../src/partition.js";
import { ReplicaFetcherManager } from "../../src/replica-fetcher.js";
import type { Timers } from "../../src/timers.js";
import { type BatchRef, Checker, describe, InvariantViolation, readBatches, type World } from "./checker.js";
import { CommittedReader, type TxnFate } from "./committed-reader.js";
import { SimController } from "./controller.js";
import { simConnectLeader } from "./leader-transport.js";
import { calmNetwork, controllerNode, type NetworkProfile, producerNode, SimNetwork } from "./network.js";
import { SimDisk } from "./sim-disk.js";

const topicName = "orders";
const topicId = "sim-orders";
const brokerIds = [1, 2, 3] as const;

// Production constants (controller.ts, replica-manager.ts, replica-fetcher.ts).
const sessionTimeoutMs = 1_500;
const heartbeatIntervalMs = 250;
const sessionCheckIntervalMs = 100;
const isrCheckIntervalMs = 500;
const fetchMaxWaitMs = 500;
// The simulator's own.
/** How often a broker behind the controller's metadata asks for it again (it reads a log; it never misses a record). */
const metadataPollMs = 250;
/** The controller channel's forwardCallTimeoutMs. */
const alterPartitionTimeoutMs = 5_000;
const produceTimeoutMs = 10_000;
const inFlightProducesMax = 32;
/** How long a produce or a marker waits for the high watermark (the producer times out at produceTimeoutMs). */
const commitWaitMs = 30_000;
/** Batch ids double as record timestamps: unique, increasing, near the simulated clock. */
const batchIdBase = 1_700_000_000_000;
/** The transactional producers' ids (the plain producer's batches have none): two, so transactions overlap. */
const txnProducerIds = [4_000, 4_001] as const;
/** How often the read_committed consumer fetches. */
const committedReadIntervalMs = 100;

export interface SimulationOptions {
  /** Steps (events) of the fault phase. */
  readonly faultSteps?: number;
  /** Simulated time the healed cluster gets to become whole and commit a produce. */
  readonly livenessMsMax?: number;
  /** How many of the last trace lines a failure shows. */
  readonly traceLines?: number;
  /** Whether power may also fail everywhere while an fsync runs (REPL_SIM_MID_FSYNC_POWER_LOSS). */
  readonly powerLossMidFsync?: boolean;
}

export interface SimulationReport {
  readonly seed: number;
  readonly steps: number;
  readonly simulatedMs: number;
  readonly acked: number;
  readonly committedEnd: number;
  readonly leaderEpochs: number;
  readonly crashes: number;
  readonly powerLosses: number;
  /** Faults that stopped every broker at once. */
  readonly allCrashes: number;
  /** Files whose unsynced bytes a power loss took, files it tore, directory entries it undid. */
  readonly powerLossEffects: { lostBytes: number; tornFiles: number; lostEntries: number };
  readonly partitions: number;
  readonly controllerStalls: number;
  readonly truncations: number;
  readonly committedTransactions: number;
  readonly abortedTransactions: number;
  readonly livenessMs: number;
  readonly profile: string;
  /** A hash of the whole trace: the same seed must give the same hash. */
  readonly traceHash: string;
}

/** How hostile and how configured this seed's world is; drawn once per seed. */
interface Profile {
  readonly flushMode: "fsync" | "none";
  readonly minInsyncReplicas: number;
  readonly segmentBytes: number;
  readonly replicaLagTimeMaxMs: number;
  readonly fetchMaxBytes: number;
  readonly network: NetworkProfile;
  readonly diskDelayMsMax: number;
  readonly produceEveryMsMax: number;
  readonly acksOneRate: number;
  readonly faultEveryMsMax: number;
  readonly crashWeight: number;
  /** Every broker at once: a power loss everywhere (with flush.mode=fsync). */
  readonly crashAllWeight: number;
  /** The chance that power fails everywhere while an fsync runs (what it covers may or may not be on disk). */
  readonly powerLossMidFsyncRate: number;
  readonly partitionWeight: number;
  readonly controllerStallWeight: number;
  readonly controllerStallMsMax: number;
  /** With flush.mode=fsync: the chance that a crash is a power loss (unflushed records may go). */
  readonly powerLossRate: number;
  /** Chance that a broker crashes moments after it learns it leads (short reigns, diverging logs). */
  readonly newLeaderCrashRate: number;
  readonly downMsMax: number;
  readonly partitionMsMax: number;
  readonly checkpointIntervalMs: number;
}

interface SimEvent {
  readonly label: string;
  readonly run: () => void;
  cancelled: boolean;
}

class SimBroker {
  /** Bumped by every crash: the next process is a new incarnation. */
  incarnation = 0;
  up = false;
  /** Its process is opening (recovering) the log. */
  starting = false;
  partition: Partition | undefined;
  /** This process's replica fetchers: production code, one per leader followed. */
  fetchers: ReplicaFetcherManager | undefined;
  /** The metadata this process has applied. */
  image: MetadataImage | undefined;
  /** While down: the log end it must restart with at least (what its log had made durable, or written). */
  downLogEnd: number | undefined;
  /** While down: what its log had fsynced when the process stopped (a later power loss keeps that much). */
  downFlushedEnd: number | undefined;

  constructor(
    readonly id: number,
    readonly dir: string,
    /** The machine's disk: it outlives processes, and what it holds after a power loss is its model's. */
    readonly disk: SimDisk,
  ) {}

  get incarnationId(): string {
    return `b${this.id}.${this.incarnation}`;
  }
}

/** A produced batch: its id (the records' timestamp) and CRC name it in any log. */
interface Produced {
  readonly id: number;
  readonly crc: number;
  readonly values: readonly string[];
  readonly bytes: Buffer;
  readonly acks: number;
}

/** A transactional producer: one transaction open at a time, as its coordinator allows. */
interface TxnProducer {
  readonly producerId: number;
  epoch: number;
  nextSequence: number;
  open: SimTxn | undefined;
}

/** One transaction of a transactional producer. */
interface SimTxn {
  readonly id: number;
  readonly producer: TxnProducer;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
  readonly batchesMax: number;
  sent: number;
  fate: TxnFate;
  readonly values: string[];
}

export class SimulationFailure extends Error {
  constructor(
    readonly seed: number,
    readonly step: number,
    cause: unknown,
    context: string,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`seed ${seed}, step ${step}: ${detail}\n${context}`, { cause });
    this.name = "SimulationFailure";
  }
}

const silentLogger = pino({ level: "silent" });
/** The fetcher's log lines that go into the trace: its decisions (debug: refusals and backoffs too). */
const fetcherLogLevel = "debug";
const truncationLogLine = "truncated a diverging log tail before following the new leader";
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Simulation {
  private readonly random: Random;
  private readonly profile: Profile;
  private readonly config: TopicConfig;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly clock = new ManualClock();
  private readonly checker = new Checker();
  private readonly network: SimNetwork;
  private readonly controller: SimController;
  private readonly brokers: SimBroker[];
  private readonly root: string;
  private readonly faultSteps: number;
  private readonly livenessMsMax: number;
  private readonly traceLines: number;
  private readonly powerLossMidFsync: boolean;
  private readonly produced = new Map<number, Produced>();
  private readonly trace: string[] = [];
  private traceHash = 0x811c9dc5;
  /** The first failure an async continuation hit; the event loop rethrows it. */
  private failure: unknown;
  private now = 0;
  private steps = 0;
  private faultsOn = true;
  private producesInFlight = 0;
  private nextBatchId = 0;
  private connections = 0;
  private crashes = 0;
  private powerLosses = 0;
  /** Faults that stop every broker at once (power loss everywhere). */
  private allCrashes = 0;
  private partitions = 0;
  private stalls = 0;
  private truncations = 0;
  private probeAcked = false;
  /** Every wait of production code (fetcher backoff, fetch long polls, acks=all) runs on simulated time. */
  private readonly timers: Timers = {
    after: (delayMs, fire) => {
      const event = this.schedule(this.now + delayMs, "timer fires", fire);
      return () => {
        event.cancelled = true;
      };
    },
  };
  private readonly txnProducers: TxnProducer[] = txnProducerIds.map((producerId) => ({
    producerId,
    epoch: 0,
    nextSequence: 0,
    open: undefined,
  }));
  /** The transaction coordinator's epoch: it moves now and then, and markers carry it. */
  private coordinatorEpoch = 0;
  private readonly txns: SimTxn[] = [];
  private readonly txnOfValue = new Map<string, number>();
  private readonly reader: CommittedReader;
  /** Acknowledged markers: rule 1 covers them, but they hold no producer values (their ids are clock times). */
  private readonly ackedMarkers = new Set<BatchRef>();

  constructor(
    readonly seed: number,
    options: SimulationOptions = {},
  ) {
    this.random = new Random(seed);
    this.faultSteps = options.faultSteps ?? 1_500;
    this.livenessMsMax = options.livenessMsMax ?? 60_000;
    this.traceLines = options.traceLines ?? 60;
    this.powerLossMidFsync = options.powerLossMidFsync ?? false;
    this.profile = this.drawProfile();
    this.network = new SimNetwork(
      this.random,
      this.profile.network,
      (atMs, label, run) => this.schedule(atMs, label, run),
      () => this.now,
    );
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), "brook-replication-sim-"));
    this.brokers = brokerIds.map(
      (id) =>
        new SimBroker(
          id,
          path.join(this.root, `broker-${id}`, `${topicName}-0`),
          new SimDisk((complete) => this.scheduleFsync(id, complete)),
        ),
    );
    this.controller = new SimController(
      this.initialRecords(),
      topicId,
      sessionTimeoutMs,
      () => this.now,
      (image) => this.publish(image),
    );
    this.config = resolveTopicConfig(this.controller.image.topicsById.get(topicId)!.configs);
    this.reader = new CommittedReader(
      {
        txnOf: (value) => this.txnOfValue.get(value),
        fate: (txnId) => this.txns[txnId].fate,
      },
      this.profile.fetchMaxBytes,
    );
  }

  async run(): Promise<SimulationReport> {
    try {
      for (const broker of this.brokers) this.startBroker(broker, true);
      this.schedulePeriodicWork();
      await this.runUntil(() => this.steps >= this.faultSteps);
      const livenessMs = await this.liveness();
      this.finalCheck();
      return this.report(livenessMs);
    } catch (error) {
      throw new SimulationFailure(this.seed, this.steps, error, this.describeFailureContext());
    } finally {
      await this.shutdown();
    }
  }

  // ---- Setup ---------------------------------------------------------------------------------

  private drawProfile(): Profile {
    const r = this.random;
    return {
      flushMode: r.chance(0.75) ? "fsync" : "none",
      minInsyncReplicas: r.chance(0.8) ? 2 : 1,
      segmentBytes: r.pick([1024, 4096, 1 << 20]),
      replicaLagTimeMaxMs: r.pick([1_000, 2_000, 5_000]),
      fetchMaxBytes: r.pick([300, 2_000, 1 << 20]),
      network: {
        dropRate: r.pick([0, 0.005, 0.02, 0.05]),
        delayMsMax: r.int(1, 20),
        slowRate: r.pick([0, 0.05, 0.2]),
        slowDelayMsMax: r.int(20, 1_500),
      },
      diskDelayMsMax: r.pick([2, 20, 200]),
      produceEveryMsMax: r.pick([5, 20, 80]),
      acksOneRate: r.pick([0, 0.2, 0.5]),
      faultEveryMsMax: r.pick([300, 1_000, 3_000]),
      crashWeight: r.pick([0, 1, 3]),
      crashAllWeight: r.pick([0, 0, 1]),
      // Drawn only when asked for, so the default seeds keep their worlds (see seeds.ts).
      powerLossMidFsyncRate: this.powerLossMidFsync ? r.pick([0, 0.001]) : 0,
      partitionWeight: r.pick([0, 1, 3]),
      controllerStallWeight: r.pick([0, 1, 2]),
      controllerStallMsMax: r.pick([1_000, 8_000]),
      powerLossRate: r.pick([0, 0.5, 1]),
      newLeaderCrashRate: r.pick([0, 0.2, 0.5]),
      downMsMax: r.pick([300, 2_000, 6_000]),
      partitionMsMax: r.pick([300, 2_000, 6_000]),
      checkpointIntervalMs: r.pick([100, 1_000, 5_000]),
    };
  }

  private initialRecords(): MetadataRecord[] {
    const brokers = brokerIds.flatMap((brokerId): MetadataRecord[] => [
      { type: "broker-registration", brokerId, incarnationId: `b${brokerId}.0`, host: "sim", port: brokerId },
      { type: "broker-unfence", brokerId, incarnationId: `b${brokerId}.0` },
    ]);
    const configs: [string, string][] = [
      ["min.insync.replicas", String(this.profile.minInsyncReplicas)],
      ["flush.mode", this.profile.flushMode],
      ["segment.bytes", String(this.profile.segmentBytes)],
    ];
    return [
      ...brokers,
      { type: "topic", name: topicName, topicId },
      ...configs.map(([key, value]): MetadataRecord => ({ type: "topic-config", topicId, key, value })),
      {
        type: "partition",
        topicId,
        partition: 0,
        replicas: [...brokerIds],
        isr: [...brokerIds],
        leader: 1,
        leaderEpoch: 0,
        partitionEpoch: 0,
      },
    ];
  }

  private schedulePeriodicWork(): void {
    this.every(sessionCheckIntervalMs, "controller checks sessions", () => {
      if (!this.controller.stalled) this.controller.tick();
    });
    for (const broker of this.brokers) {
      const live = (task: (partition: Partition) => void) => () => {
        if (broker.up && broker.partition) task(broker.partition);
      };
      this.every(heartbeatIntervalMs, `broker ${broker.id} heartbeat`, () => this.heartbeat(broker));
      this.every(metadataPollMs, `broker ${broker.id} metadata poll`, () => {
        if (broker.up && broker.image!.offset < this.controller.image.offset)
          this.ship(broker, this.controller.image);
      });
      this.every(
        isrCheckIntervalMs,
        `broker ${broker.id} checkIsr`,
        live((partition) => partition.checkIsr()),
      );
      this.every(
        this.profile.checkpointIntervalMs,
        `broker ${broker.id} checkpoints its high watermark`,
        live((partition) => partition.checkpointHighWatermark()),
      );
    }
    this.scheduleProduce();
    this.scheduleTransactions();
    this.every(committedReadIntervalMs, "read_committed consumer fetches", () => {
      const leader = this.brokers.find((broker) => broker.id === this.controller.partition.leader);
      if (leader?.up && leader.partition?.isLeader) this.reader.fetch(leader.partition);
    });
    this.scheduleFault();
  }

  // ---- The event loop ------------------------------------------------------------------------

  private schedule(atMs: number, label: string, run: () => void): SimEvent {
    const event: SimEvent = { label, run, cancelled: false };
    this.queue.push(atMs, event);
    return event;
  }

  /** Runs `task` every `intervalMs`, starting at a random phase. */
  private every(intervalMs: number, label: string, task: () => void): void {
    const tick = () => {
      this.schedule(this.now + intervalMs, label, tick);
      task();
    };
    this.schedule(this.now + this.random.int(1, intervalMs), label, tick);
  }

  /** Processes events until `done()`; false if `deadlineMs` came first. */
  private async runUntil(done: () => boolean, deadlineMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    while (!done()) {
      const next = this.queue.pop();
      if (!next) throw new Error("the event queue ran dry");
      if (next.event.cancelled) continue;
      if (next.time > deadlineMs) {
        this.queue.push(next.time, next.event);
        return false;
      }
      this.clock.advance(next.time - this.now);
      this.now = next.time;
      this.steps++;
      this.record(next.event.label);
      next.event.run();
      await settle();
      if (this.failure !== undefined) throw this.failure;
      const world = this.world();
      this.checker.afterStep(world);
      for (const replica of world.live) {
        if (replica.partition.isLeader) this.reader.checkLeader(replica.brokerId, replica.partition);
      }
    }
    return true;
  }

  private world(): World {
    const partition = this.controller.partition;
    const downLogEnd = new Map<number, number>();
    for (const broker of this.brokers) {
      if (broker.downLogEnd !== undefined) downLogEnd.set(broker.id, broker.downLogEnd);
    }
    return {
      live: this.brokers
        .filter((broker) => broker.up && broker.partition)
        .map((broker) => ({
          brokerId: broker.id,
          partition: broker.partition!,
          diskVersion: broker.disk.version,
        })),
      leader: partition.leader,
      isr: partition.isr,
      downLogEnd,
      flushMode: this.profile.flushMode,
    };
  }

  /** An async continuation failed: the event loop stops at the end of this step. */
  private fail(error: unknown): void {
    this.failure ??= error;
  }

  private record(line: string): void {
    const entry = `#${this.steps} t=${this.now} ${line}`;
    this.trace.push(entry);
    if (this.trace.length > this.traceLines) this.trace.shift();
    for (let i = 0; i < entry.length; i++)
      this.traceHash = Math.imul(this.traceHash ^ entry.charCodeAt(i), 0x01000193);
  }

  private note(line: string): void {
    this.record(`  ${line}`);
  }

  // ---- Brokers: start, crash, metadata -------------------------------------------------------

  private startBroker(broker: SimBroker, initial: boolean): void {
    this.start(broker, initial).catch((error) => this.fail(error));
  }

  /** Opens (recovers) the log, cuts off what a power loss took, and starts a replica out of service until unfenced. */
  private async start(broker: SimBroker, initial: boolean): Promise<void> {
    const incarnation = broker.incarnation;
    broker.disk.restart();
    broker.starting = true;
    const log = await PartitionLog.open(broker.dir, toLogConfig(this.config), {
      clock: this.clock,
      fileSystem: broker.disk,
    });
    broker.starting = false;
    if (broker.incarnation !== incarnation) throw new Error(`broker ${broker.id} crashed while starting`);
    const durableEnd = broker.downLogEnd ?? 0;
    if (log.logEndOffset < durableEnd) {
      throw new InvariantViolation(
        "durability (what the log made durable survives a crash or power loss)",
        `broker ${broker.id} recovered its log to ${log.logEndOffset}, below the ${durableEnd} it had made durable`,
      );
    }
    const image = this.controller.image;
    const partition = new Partition(
      topicName,
      topicId,
      0,
      log,
      image.partition(topicName, 0)!,
      this.config,
      {
        brokerId: broker.id,
        clock: this.clock,
        timers: this.timers,
        logger: silentLogger,
        replicaLagTimeMaxMs: this.profile.replicaLagTimeMaxMs,
        alterPartition: (request) => this.alterPartition(broker, request),
      },
      initial,
    );
    broker.partition = partition;
    broker.image = image;
    broker.fetchers = new ReplicaFetcherManager(
      broker.id,
      this.fetcherLogger(broker),
      {
        maxWaitMs: fetchMaxWaitMs,
        partitionMaxBytes: this.profile.fetchMaxBytes,
        responseMaxBytes: this.profile.fetchMaxBytes,
      },
      simConnectLeader(broker.id, {
        call: (from, to, connection, label, serve, timeoutMs) =>
          this.call(from, to, connection, label, serve, timeoutMs),
        partitionOf: (id) => {
          const leader = this.brokers.find((b) => b.id === id)!;
          return leader.up ? leader.partition : undefined;
        },
        timers: this.timers,
        fail: (error) => this.fail(error),
        nextConnection: () => ++this.connections,
      }),
      this.timers,
    );
    broker.up = true;
    broker.downLogEnd = undefined;
    broker.downFlushedEnd = undefined;
    this.note(
      `broker ${broker.id} (${broker.incarnationId}) up: log end ${log.logEndOffset}, high watermark ${partition.highWatermark}, epochs ${formatEpochs(log)}`,
    );
    this.reconcile(broker);
  }

  /** The process dies; with flush.mode=fsync, sometimes the machine loses power too. */
  private crash(broker: SimBroker): void {
    const powerLoss = this.profile.flushMode === "fsync" && this.random.chance(this.profile.powerLossRate);
    if (this.stopProcess(broker, powerLoss ? "loses power" : "crashes")) this.scheduleRestart(broker);
  }

  /**
   * Power fails everywhere at once (with flush.mode=none, where nothing is
   * durable by design, every process crashes instead): brokers already down
   * lose what they had not fsynced as well.
   */
  private crashEverywhere(): void {
    const powerLoss = this.profile.flushMode === "fsync";
    this.allCrashes++;
    this.note(powerLoss ? "every machine loses power" : "every broker crashes at once");
    for (const broker of this.brokers) {
      if (broker.up) {
        if (this.stopProcess(broker, powerLoss ? "loses power" : "crashes")) this.scheduleRestart(broker);
      } else if (powerLoss && !broker.starting) {
        this.note(`broker ${broker.id} (down) loses power: ${broker.disk.powerLoss(this.random)}`);
        this.powerLosses++;
        broker.downLogEnd = Math.min(broker.downLogEnd ?? 0, broker.downFlushedEnd ?? 0);
      }
    }
  }

  /** Stops the broker's process (and with `power loss`, its machine's disk); false if it was not up. */
  private stopProcess(broker: SimBroker, how: "crashes" | "loses power"): boolean {
    const partition = broker.partition;
    if (!broker.up || !partition) return false;
    const log = partition.log;
    const powerLoss = how === "loses power";
    this.crashes++;
    broker.fetchers?.close();
    broker.fetchers = undefined;
    broker.up = false;
    broker.incarnation++;
    broker.partition = undefined;
    broker.disk.crash();
    // Closing fails every waiter (their clients see the connection drop) and releases the files.
    partition.close().catch(() => undefined);
    // What the restarted log must hold at least: what it made durable, or after a mere crash all it wrote.
    broker.downLogEnd = powerLoss ? log.flushedOffset : log.logEndOffset;
    broker.downFlushedEnd = log.flushedOffset;
    const lost = powerLoss ? `: ${broker.disk.powerLoss(this.random)}` : "";
    this.note(`broker ${broker.id} ${how}: log end ${log.logEndOffset}, flushed ${log.flushedOffset}${lost}`);
    if (powerLoss) this.powerLosses++;
    return true;
  }

  /** An fsync completes after the disk's delay; now and then the power fails everywhere before it does. */
  private scheduleFsync(brokerId: number, complete: () => void): void {
    const doneMs = this.now + this.random.int(0, this.profile.diskDelayMsMax);
    this.schedule(doneMs, `fsync done on ${brokerId}`, complete);
    const rate = this.profile.powerLossMidFsyncRate;
    if (this.faultsOn && rate > 0 && this.random.chance(rate)) {
      this.schedule(this.random.int(this.now, doneMs), `power fails during an fsync on ${brokerId}`, () => {
        if (this.faultsOn) this.crashEverywhere();
      });
    }
  }

  private scheduleRestart(broker: SimBroker): void {
    const downMs = this.random.int(50, this.profile.downMsMax);
    this.schedule(this.now + downMs, `broker ${broker.id} restarts`, () => this.startBroker(broker, false));
  }

  /** The controller published a new image: it reaches every broker in order, each after its own delay. */
  private publish(image: MetadataImage): void {
    const p = image.partition(topicName, 0)!;
    this.note(
      `controller: metadata @${image.offset}: leader ${p.leader} epoch ${p.leaderEpoch} isr [${p.isr.join(",")}] partition epoch ${p.partitionEpoch}; fenced [${[
        ...image.brokers.values(),
      ]
        .filter((b) => b.fenced)
        .map((b) => b.brokerId)
        .join(",")}]`,
    );
    for (const broker of this.brokers) this.ship(broker, image);
  }

  private ship(broker: SimBroker, image: MetadataImage): void {
    if (!broker.up) return;
    const incarnation = broker.incarnation;
    const label = `metadata @${image.offset}`;
    this.network.send(
      `metadata ${broker.id}`,
      controllerNode,
      broker.id,
      label,
      () => {
        if (broker.up && broker.incarnation === incarnation) this.applyImage(broker, image);
      },
      true,
    );
  }

  private applyImage(broker: SimBroker, image: MetadataImage): void {
    if (image.offset <= broker.image!.offset) return;
    const partition = broker.partition!;
    const wasLeading = partition.isLeader ? partition.leaderEpoch : undefined;
    broker.image = image;
    const self = image.brokers.get(broker.id);
    const serving = self?.incarnationId === broker.incarnationId && !self.fenced;
    partition.update(image.partition(topicName, 0)!, this.config, serving);
    this.reconcile(broker);
    if (partition.isLeader && partition.leaderEpoch !== wasLeading) {
      this.note(
        `broker ${broker.id} leads epoch ${partition.leaderEpoch} from log end ${partition.logEndOffset}`,
      );
      if (this.faultsOn && this.random.chance(this.profile.newLeaderCrashRate)) {
        const incarnation = broker.incarnation;
        this.schedule(this.now + this.random.int(0, 300), `new leader ${broker.id} crashes`, () => {
          if (this.faultsOn && broker.incarnation === incarnation) this.crash(broker);
        });
      }
    }
  }

  /** As ReplicaManager does after each image: the fetchers follow what this broker follows. */
  private reconcile(broker: SimBroker): void {
    broker.fetchers!.reconcile(broker.image!, [broker.partition!]);
  }

  /** The fetchers' log lines, into the trace (they are the fetcher's decisions: truncations, refusals, backoffs). */
  private fetcherLogger(broker: SimBroker) {
    return pino(
      { level: fetcherLogLevel, base: null, timestamp: false },
      {
        write: (line: string) => {
          const { msg, level: _level, ...fields } = JSON.parse(line) as Record<string, unknown>;
          if (msg === truncationLogLine) this.truncations++;
          this.note(`broker ${broker.id} fetcher: ${String(msg)} ${JSON.stringify(fields)}`);
        },
      },
    );
  }

  /** Registers (until its image shows this incarnation), then heartbeats. */
  private heartbeat(broker: SimBroker): void {
    if (!broker.up) return;
    const incarnationId = broker.incarnationId;
    const appliedOffset = broker.image!.offset;
    if (broker.image!.brokers.get(broker.id)?.incarnationId === incarnationId) {
      this.network.send(`heartbeat ${broker.id}`, broker.id, controllerNode, "heartbeat", () => {
        if (!this.controller.stalled) this.controller.heartbeat(broker.id, incarnationId, appliedOffset);
      });
      return;
    }
    this.network.send(
      `heartbeat ${broker.id}`,
      broker.id,
      controllerNode,
      `register ${incarnationId}`,
      () => {
        if (this.controller.stalled) return;
        try {
          this.controller.register(broker.id, incarnationId);
        } catch (error) {
          this.note(`controller refuses ${incarnationId}: ${asBrookError(error).code}`);
        }
      },
    );
  }

  // ---- RPCs ----------------------------------------------------------------------------------

  private incarnationOf(node: number): number {
    const broker = this.brokers.find((b) => b.id === node);
    if (!broker) return 0; // the controller and the producer never crash
    return broker.up ? broker.incarnation : -1;
  }

  /**
   * One request and its reply. The reply never comes when either message is
   * lost or the server dies meanwhile (the caller times out); a server that
   * is down, or restarted since the request left, resets the connection.
   */
  private call<T>(
    from: number,
    to: number,
    connection: string,
    label: string,
    serve: () => T | Promise<T>,
    timeoutMs: number,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (complete: () => void) => {
        if (settled) return;
        settled = true;
        timeout.cancelled = true;
        complete();
      };
      const timeout = this.schedule(this.now + timeoutMs, `${label} times out`, () =>
        finish(() => reject(new BrookError("REQUEST_TIMED_OUT", `${label} timed out`))),
      );
      const incarnation = this.incarnationOf(to);
      const reply = (what: string, complete: () => void) =>
        this.network.send(`${connection} reply`, to, from, `${label} ${what}`, () => finish(complete));
      this.network.send(connection, from, to, label, () => {
        if (incarnation < 0 || this.incarnationOf(to) !== incarnation) {
          reply("reset", () =>
            reject(new BrookError("BROKER_NOT_AVAILABLE", `${to} is not the process ${label} was sent to`)),
          );
          return;
        }
        Promise.resolve()
          .then(serve)
          .then(
            (response) => {
              if (this.incarnationOf(to) === incarnation) reply("answered", () => resolve(response));
            },
            (error: unknown) => {
              if (!(error instanceof BrookError)) this.fail(error);
              else if (this.incarnationOf(to) === incarnation)
                reply(`failed: ${error.code}`, () => reject(error));
            },
          );
      });
    });
  }

  private alterPartition(broker: SimBroker, request: AlterPartitionRequest__Output): Promise<unknown> {
    return this.call(
      broker.id,
      controllerNode,
      `alter ${broker.id}`,
      `AlterPartition isr [${request.newIsr.join(",")}] epoch ${request.leaderEpoch} partition epoch ${request.partitionEpoch}`,
      () => this.controllerWrite(() => this.controller.alterPartition(request)),
      alterPartitionTimeoutMs,
    );
  }

  /** A write commits now, or when a stalled controller resumes. */
  private controllerWrite<T>(write: () => T): T | Promise<T> {
    if (!this.controller.stalled) return write();
    return new Promise((resolve, reject) => {
      this.schedule(this.controller.stalledUntilMs, "controller commits a queued write", () => {
        try {
          resolve(write());
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  // ---- The producer --------------------------------------------------------------------------

  private scheduleProduce(): void {
    this.schedule(this.now + this.random.int(1, this.profile.produceEveryMsMax), "producer", () => {
      if (!this.faultsOn) return;
      this.scheduleProduce();
      if (this.producesInFlight < inFlightProducesMax)
        this.produce(this.random.chance(this.profile.acksOneRate) ? 1 : -1);
    });
  }

  /** Sends one new batch to the broker some broker names as leader (now and then to another). */
  private produce(acks: number, onAcked?: () => void): void {
    const up = this.brokers.filter((broker) => broker.up && broker.partition);
    if (up.length === 0) return;
    const named = this.random.pick(up).partition!.leaderId;
    const target = named >= 0 && this.random.chance(0.9) ? named : this.random.pick(brokerIds);
    const batch = this.newBatch(acks);
    const leader = this.brokers.find((b) => b.id === target)!;
    this.producesInFlight++;
    this.call(
      producerNode,
      target,
      `produce ${target}`,
      `Produce(id ${batch.id}, ${batch.values.length} records, acks ${acks})`,
      () => this.serveProduce(leader, batch),
      produceTimeoutMs,
    ).then(
      () => {
        this.producesInFlight--;
        onAcked?.();
      },
      () => {
        this.producesInFlight--;
      },
    );
  }

  private newBatch(acks: number, txn?: SimTxn): Produced {
    const id = batchIdBase + this.nextBatchId++;
    const values = Array.from(
      { length: this.random.int(1, 3) },
      (_, i) => `s${this.seed}-${txn ? `t${txn.id}-` : ""}b${id - batchIdBase}-r${i}`,
    );
    const stamp = txn && {
      producerId: txn.producer.producerId,
      producerEpoch: txn.producerEpoch,
      baseSequence: txn.producer.nextSequence,
      transactional: true,
    };
    const bytes = encodeRecordBatch(
      values.map((value) => ({ key: null, value })),
      { nowMs: id, ...stamp },
    );
    const batch = { id, crc: readBatchHeader(bytes).crc, values, bytes, acks };
    this.produced.set(id, batch);
    return batch;
  }

  /** produce.ts for one partition: append as the leader, then (acks=all) wait for the high watermark. */
  private async serveProduce(leader: SimBroker, batch: Produced): Promise<string> {
    const partition = leader.partition!;
    const result = partition.append(Buffer.from(batch.bytes), batch.acks);
    this.note(
      `broker ${leader.id} appends batch ${batch.id} at [${result.baseOffset}..${result.lastOffset}] in epoch ${partition.leaderEpoch}`,
    );
    if (batch.acks === 1) return "appended";
    await partition.waitForHighWatermark(result.lastOffset + 1, commitWaitMs);
    const acked: BatchRef = {
      baseOffset: result.baseOffset,
      lastOffset: result.lastOffset,
      crc: batch.crc,
      id: batch.id,
    };
    this.note(`broker ${leader.id} acknowledges ${describe(acked)}`);
    this.checker.acked(acked);
    return "acked";
  }

  // ---- The transactional producer ------------------------------------------------------------

  private scheduleTransactions(): void {
    this.schedule(
      this.now + this.random.int(1, 4 * this.profile.produceEveryMsMax),
      "transactional producer",
      () => {
        if (!this.faultsOn) return;
        this.scheduleTransactions();
        const idle = this.txnProducers.filter((producer) => producer.open === undefined);
        if (idle.length > 0) this.beginTxn(this.random.pick(idle));
      },
    );
  }

  private beginTxn(producer: TxnProducer): void {
    // Now and then the coordinator moved (a new __transaction_state leader): markers carry a newer epoch.
    if (this.random.chance(0.1)) this.coordinatorEpoch++;
    const txn: SimTxn = {
      id: this.txns.length,
      producer,
      producerEpoch: producer.epoch,
      coordinatorEpoch: this.coordinatorEpoch,
      batchesMax: this.random.int(1, 3),
      sent: 0,
      fate: "open",
      values: [],
    };
    this.txns.push(txn);
    producer.open = txn;
    this.note(`transaction ${txn.id} of producer ${producer.producerId} begins (epoch ${txn.producerEpoch})`);
    this.sendTxnBatch(txn);
  }

  /** One transactional acks=all batch; the next goes once it is acknowledged, and any failure aborts. */
  private sendTxnBatch(txn: SimTxn): void {
    const target = this.namedLeader();
    if (target === undefined) {
      this.endTxn(txn, false);
      return;
    }
    const batch = this.newBatch(-1, txn);
    txn.producer.nextSequence += batch.values.length;
    for (const value of batch.values) this.txnOfValue.set(value, txn.id);
    txn.values.push(...batch.values);
    const leader = this.brokers.find((b) => b.id === target)!;
    this.call(
      producerNode,
      target,
      `produce ${target}`,
      `Produce(transaction ${txn.id}, id ${batch.id}, ${batch.values.length} records)`,
      () => this.serveProduce(leader, batch),
      produceTimeoutMs,
    ).then(
      () => {
        txn.sent++;
        if (txn.sent < txn.batchesMax) this.sendTxnBatch(txn);
        else this.endTxn(txn, this.random.chance(0.7));
      },
      () => this.endTxn(txn, false),
    );
  }

  /**
   * The decision, then its markers. An abort bumps the epoch, as a
   * coordinator aborting for a failed or timed-out producer does: a batch
   * still in flight can then never land after the marker.
   */
  private endTxn(txn: SimTxn, commit: boolean): void {
    const { producer } = txn;
    txn.fate = commit ? "commit" : "abort";
    if (!commit) {
      producer.epoch++;
      producer.nextSequence = 0;
    }
    this.note(`transaction ${txn.id} decided: ${txn.fate}`);
    this.writeMarker(txn, {
      producerId: producer.producerId,
      producerEpoch: producer.epoch,
      committed: commit,
      coordinatorEpoch: txn.coordinatorEpoch,
    });
  }

  /** WriteTxnMarkers to whoever some broker names leader, retried until acknowledged (the decision is durable). */
  private writeMarker(txn: SimTxn, marker: Parameters<Partition["appendMarker"]>[0]): void {
    const retry = () =>
      this.schedule(this.now + this.random.int(50, 300), `marker of transaction ${txn.id} retried`, () =>
        this.writeMarker(txn, marker),
      );
    const target = this.namedLeader();
    if (target === undefined) {
      retry();
      return;
    }
    const leader = this.brokers.find((b) => b.id === target)!;
    this.call(
      producerNode,
      target,
      `markers ${target}`,
      `WriteTxnMarkers(transaction ${txn.id}, ${txn.fate})`,
      () => this.serveMarker(leader, txn, marker),
      produceTimeoutMs,
    ).then(() => {
      this.note(`transaction ${txn.id} complete`);
      txn.producer.open = undefined;
    }, retry);
  }

  /** txn-markers.ts for one partition: append the marker as the leader, wait for the high watermark to cover it. */
  private async serveMarker(
    leader: SimBroker,
    txn: SimTxn,
    marker: Parameters<Partition["appendMarker"]>[0],
  ): Promise<void> {
    const partition = leader.partition!;
    const result = partition.appendMarker(marker);
    const header = scanBatches(partition.log.read(result.baseOffset, 1 << 20).records).batches[0];
    this.note(
      `broker ${leader.id} appends the ${txn.fate} marker of transaction ${txn.id} at ${result.baseOffset} in epoch ${partition.leaderEpoch}`,
    );
    await partition.waitForHighWatermark(result.lastOffset + 1, commitWaitMs);
    const acked = {
      baseOffset: result.baseOffset,
      lastOffset: result.lastOffset,
      crc: header.crc,
      id: header.baseTimestamp,
    };
    this.ackedMarkers.add(acked);
    this.checker.acked(acked);
  }

  /** The broker some live broker names as leader (now and then another), as the producers pick it. */
  private namedLeader(): number | undefined {
    const up = this.brokers.filter((broker) => broker.up && broker.partition);
    if (up.length === 0) return undefined;
    const named = this.random.pick(up).partition!.leaderId;
    return named >= 0 && this.random.chance(0.9) ? named : this.random.pick(brokerIds);
  }

  // ---- Faults --------------------------------------------------------------------------------

  private scheduleFault(): void {
    this.schedule(this.now + this.random.int(1, this.profile.faultEveryMsMax), "fault", () => {
      if (!this.faultsOn) return;
      this.scheduleFault();
      this.injectFault();
    });
  }

  private injectFault(): void {
    const { crashWeight, crashAllWeight, partitionWeight, controllerStallWeight } = this.profile;
    const total = crashWeight + crashAllWeight + partitionWeight + controllerStallWeight;
    if (total === 0) return;
    const drawn = this.random.int(1, total);
    if (drawn <= crashWeight) {
      const up = this.brokers.filter((broker) => broker.up);
      if (up.length > 0) this.crash(this.random.pick(up));
    } else if (drawn <= crashWeight + crashAllWeight) {
      this.crashEverywhere();
    } else if (drawn <= crashWeight + crashAllWeight + partitionWeight) {
      this.partitionNetwork();
    } else {
      this.stallController();
    }
  }

  private stallController(): void {
    if (this.controller.stalled) return;
    const stallMs = this.random.int(100, this.profile.controllerStallMsMax);
    this.controller.stalledUntilMs = this.now + stallMs;
    this.stalls++;
    this.note(`controller stalls for ${stallMs} ms`);
    this.schedule(this.controller.stalledUntilMs, "controller resumes", () => this.controller.resume());
  }

  private partitionNetwork(): void {
    if (this.network.partitioned) return;
    const victim = this.random.pick(brokerIds);
    const others = brokerIds.filter((id) => id !== victim);
    const kind = this.random.pick(["isolated", "cut from the controller", "cut from a peer"] as const);
    const cutFrom =
      kind === "isolated"
        ? [controllerNode, producerNode, ...others]
        : kind === "cut from the controller"
          ? [controllerNode]
          : [this.random.pick(others)];
    this.network.cut(victim, cutFrom);
    this.partitions++;
    this.note(`network partition: broker ${victim} ${kind} (from ${cutFrom.join(",")})`);
    this.schedule(this.now + this.random.int(50, this.profile.partitionMsMax), "network heals", () =>
      this.network.heal(),
    );
  }

  // ---- Liveness and the final check ----------------------------------------------------------

  /** Faults stop and the network heals: the cluster must become whole and commit again in bounded time. */
  private async liveness(): Promise<number> {
    this.faultsOn = false;
    this.network.heal();
    this.network.profile = calmNetwork;
    this.note("liveness phase: no more faults, the network is healed");
    const startMs = this.now;
    const probe = () => {
      if (this.probeAcked) return;
      this.produce(-1, () => {
        this.probeAcked = true;
      });
      this.schedule(this.now + 500, "probe producer", probe);
    };
    probe();
    const whole = await this.runUntil(
      () => this.probeAcked && this.isWhole() && this.transactionsSettled(),
      startMs + this.livenessMsMax,
    );
    if (!whole) {
      throw new Error(
        `liveness: ${this.livenessMsMax} ms after the faults stopped the cluster is not whole: ${this.describeState()}`,
      );
    }
    return this.now - startMs;
  }

  /** No transaction open, and the read_committed reader has read the whole log (the LSO is its end). */
  private transactionsSettled(): boolean {
    if (this.txnProducers.some((producer) => producer.open !== undefined)) return false;
    const leader = this.brokers.find((broker) => broker.partition?.isLeader)?.partition;
    return (
      leader !== undefined &&
      leader.lastStableOffset === leader.logEndOffset &&
      this.reader.position >= leader.logEndOffset
    );
  }

  /** Every broker up and in the ISR, on the latest metadata, with the leader's log and high watermark. */
  private isWhole(): boolean {
    const image = this.controller.image;
    const state = image.partition(topicName, 0)!;
    if (state.isr.length !== brokerIds.length) return false;
    const leader = this.brokers.find((broker) => broker.id === state.leader)?.partition;
    if (!leader?.isLeader) return false;
    return this.brokers.every(
      (broker) =>
        broker.up &&
        broker.image === image &&
        broker.partition!.logEndOffset === leader.logEndOffset &&
        broker.partition!.highWatermark === leader.logEndOffset,
    );
  }

  /** The whole cluster agrees: identical logs, and every acknowledged batch holds its own records at its offsets. */
  private finalCheck(): void {
    this.reader.requireCommittedSeen(
      this.txns.filter((txn) => txn.fate === "commit").flatMap((txn) => txn.values),
    );
    const leaderBroker = this.brokers.find((broker) => broker.partition?.isLeader)!;
    const leaderBatches = readBatches(leaderBroker.partition!.log);
    for (const broker of this.brokers) {
      const batches = readBatches(broker.partition!.log);
      const same =
        batches.length === leaderBatches.length &&
        batches.every(
          (b, i) => b.crc === leaderBatches[i].crc && b.baseOffset === leaderBatches[i].baseOffset,
        );
      if (!same)
        throw new InvariantViolation("final", `replica ${broker.id}'s log differs from the leader's`);
    }
    const values = new Map<number, string>();
    let offset = 0;
    for (;;) {
      const { records } = leaderBroker.partition!.log.read(offset, 1 << 30);
      if (records.length === 0) break;
      for (const batch of decodeRecordBatches(records)) {
        for (const record of batch.records) values.set(record.offset, record.value?.toString() ?? "");
        offset = batch.header.lastOffset + 1;
      }
    }
    for (const acked of this.checker.ackedBatches) {
      if (this.ackedMarkers.has(acked)) continue;
      const batch = this.produced.get(acked.id)!;
      batch.values.forEach((value, i) => {
        const found = values.get(acked.baseOffset + i);
        if (found !== value) {
          throw new InvariantViolation(
            "rule 1 (no acknowledged record is lost)",
            `acknowledged record ${value} at offset ${acked.baseOffset + i}; the final log has ${found ?? "nothing"} there`,
          );
        }
      });
    }
  }

  private report(livenessMs: number): SimulationReport {
    return {
      seed: this.seed,
      steps: this.steps,
      simulatedMs: this.now,
      acked: this.checker.ackedBatches.length,
      committedEnd: this.checker.committedEnd,
      leaderEpochs: this.controller.partition.leaderEpoch,
      crashes: this.crashes,
      powerLosses: this.powerLosses,
      allCrashes: this.allCrashes,
      powerLossEffects: {
        lostBytes: sum(this.brokers.map((b) => b.disk.lossCounts.lostBytes)),
        tornFiles: sum(this.brokers.map((b) => b.disk.lossCounts.tornFiles)),
        lostEntries: sum(this.brokers.map((b) => b.disk.lossCounts.lostEntries)),
      },
      partitions: this.partitions,
      controllerStalls: this.stalls,
      truncations: this.truncations,
      committedTransactions: this.txns.filter((txn) => txn.fate === "commit").length,
      abortedTransactions: this.txns.filter((txn) => txn.fate === "abort").length,
      livenessMs,
      profile: this.describeProfile(),
      traceHash: (this.traceHash >>> 0).toString(16),
    };
  }

  private describeState(): string {
    const p = this.controller.partition;
    const brokers = this.brokers.map((broker) => {
      const partition = broker.partition;
      if (!broker.up || !partition) return `broker ${broker.id} down`;
      return `broker ${broker.id} (${partition.isLeader ? "leader" : partition.isFollower ? "follower" : "idle"} epoch ${partition.leaderEpoch}, metadata @${broker.image?.offset}): log end ${partition.logEndOffset}, high watermark ${partition.highWatermark}, LSO ${partition.lastStableOffset}, flushed ${partition.log.flushedOffset}`;
    });
    const open = this.txnProducers.flatMap((producer) => (producer.open ? [producer.open] : []));
    const txn = `transactions open: [${open.map((t) => `${t.id} ${t.fate}`).join(", ")}]`;
    return `controller: leader ${p.leader} epoch ${p.leaderEpoch} isr [${p.isr.join(",")}] @${this.controller.image.offset}; ${brokers.join("; ")}; ${txn}, read_committed reader at ${this.reader.position}`;
  }

  private describeProfile(): string {
    const p = this.profile;
    const n = p.network;
    return [
      `flush.mode=${p.flushMode} min.insync.replicas=${p.minInsyncReplicas} segment.bytes=${p.segmentBytes}`,
      `replica.lag.time.max.ms=${p.replicaLagTimeMaxMs} replica fetch bytes ${p.fetchMaxBytes};`,
      `network drop ${n.dropRate}, delay ≤${n.delayMsMax} ms, slow ${n.slowRate} (≤${n.slowDelayMsMax} ms);`,
      `fsync ≤${p.diskDelayMsMax} ms; produce every ≤${p.produceEveryMsMax} ms (acks=1 ${p.acksOneRate});`,
      `faults every ≤${p.faultEveryMsMax} ms: crash ${p.crashWeight} (power loss ${p.powerLossRate},`,
      `all at once ${p.crashAllWeight}, mid-fsync ${p.powerLossMidFsyncRate},`,
      `new leaders ${p.newLeaderCrashRate}, down ≤${p.downMsMax} ms), partition ${p.partitionWeight}`,
      `(≤${p.partitionMsMax} ms), controller stall ${p.controllerStallWeight} (≤${p.controllerStallMsMax} ms)`,
    ].join(" ");
  }

  private describeFailureContext(): string {
    return [
      `reproduce with SEED=${this.seed} REPL_SIM_STEPS=${this.faultSteps}${this.powerLossMidFsync ? " REPL_SIM_MID_FSYNC_POWER_LOSS=1" : ""} npx vitest run packages/broker/test/sim`,
      `profile: ${this.describeProfile()}`,
      `state at t=${this.now} ms: ${this.describeState()}`,
      "trace tail:",
      ...this.trace,
    ].join("\n");
  }

  private async shutdown(): Promise<void> {
    for (const broker of this.brokers) {
      broker.fetchers?.close();
      broker.disk.crash();
      broker.partition?.close().catch(() => undefined);
      broker.up = false;
    }
    await settle();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function formatEpochs(log: PartitionLog): string {
  return log.leaderEpochs.map((entry) => `${entry.epoch}@${entry.startOffset}`).join(",") || "none";
}
