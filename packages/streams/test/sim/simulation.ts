// A deterministic simulation of a Brook Streams application (issue 18): instances that run the production
// task code — ActiveTasks over StreamTasks of a real DSL topology (topology.ts), tasksOf and taskName,
// standbyTasksFor, planInternalTopics, toChangelogRecord, partitionForKey — over a simulated cluster
// (log.ts: partitioned logs, transactions, read_committed, the group's offsets), driven by one seeded PRNG
// and one event queue. What the simulator stands in for is the part of stream-thread.ts and
// standby-tasks.ts that talks to the cluster: fetching, the outbox's sends, the commit, the restore, the
// standby reader and the group's callbacks, done in the same order with the same calls.
//
// The group: members (an instance's thread life each) heartbeat every heartbeatIntervalMs; a member
// silent for sessionTimeoutMs is removed; tasks (and so their source partitions: a join's task s_p takes
// partition p of both its topics, as the range assignor would) are given out by a sticky rule, and a task
// moves only once its old owner has committed and released it (or was removed), as the consumer group
// protocol reconciles. A new owner reads the committed offsets (exactly once, only stable ones: it waits
// while a transaction holds offsets of its partitions, KIP-447), restores, then fetches. Offsets from a
// thread that is no longer a member are refused (the member epoch), which fails its life. Named instances
// (instanceId, drawn per seed) are static members: a restart under the same name takes its member's place
// and partitions at once and fences its earlier transactional producer; a close keeps the partitions
// unheld for the session.
//
// Commits, as stream-thread.ts makes them: each held partition's consumer position (past aborted records)
// where it moved. Exactly once: the outbox goes into the instance's open transaction as it is sent; a
// commit sends the offsets into it (where the group checks the member), then EndTxn commits it, answered
// once the markers are written; a stall or crash may fall between any two steps, and a transaction left
// open is aborted by the coordinator transactionTimeoutMs after it began. At least once: records land as
// they are sent, and a commit lands what is left, then commits the offsets a moment later.
//
// Faults: instances crash (in-flight sends land in part), stall (a zombie: silent past its session, then
// it wakes and goes on as if nothing happened), leave gracefully (commit, release, leave), join, and fail
// (a thread failure: abort, leave, join again after a backoff); an instance that just took tasks is
// sometimes made to leave or fail soon after, so that tasks move twice in a row. Then the faults stop,
// every input gets processed and committed, and every instance closes.
//
// Checks. Exactly once, at every restore: the stores of a task that starts (restored from the committed
// changelog, or a standby copy topped up) equal the stores of a shadow task — a StreamTask that never
// fails and has processed exactly the input the group's committed offsets cover. At the end: every
// changelog partition, read_committed, is exactly the shadow's changelog writes, and each task's
// committed output exactly the shadow's output; each key's committed counts are 1..n; the windowed sums'
// update sequences and the joined totals equal what one TopologyTestDriver run over the same input
// gives; stores restored from the changelogs equal the driver's. At least once: nothing is lost (every
// aggregate at least the driver's), and the doubled updates are counted. Committed offsets never go back.

import { consumerDefaults, type IsolationLevel, type TopicPartition } from "@brook/client";
import { partitionForKey } from "@brook/protocol";
import { EventQueue, Random } from "@brook/testkit";
import {
  type ChangelogRecord,
  changelogTopic,
  type KeyValue,
  type OutputRecord,
  Serdes,
  type StateStore,
  StreamTask,
  streamsDefaults,
  type Topology,
  TopologyTestDriver,
} from "../../src/index.js";
import { type ActiveTask, ActiveTasks, type TaskSettings } from "../../src/runtime/active-tasks.js";
import {
  inputTopics as inputTopicsOf,
  planInternalTopics,
  type Subtopology,
  subtopologiesOf,
} from "../../src/runtime/internal-topics.js";
import { toChangelogRecord } from "../../src/runtime/restorer.js";
import { standbyTasksFor } from "../../src/runtime/standby-placement.js";
import { parseTaskName, type TaskId, taskName } from "../../src/runtime/task-id.js";
import { consumed, type LogEntry, type NewRecord, type Offset, SimLog, type Txn, tpKey } from "./log.js";
import {
  applicationId,
  buildTopology,
  type InputTopic,
  inputTopics,
  outputTopics,
  stores,
  topics,
  windowGraceMs,
} from "./topology.js";

export type Guarantee = "exactly_once" | "at_least_once";

// Production timings.
/** The consumer's (client/src/config.ts): a member silent this long is removed and its partitions move. */
const sessionTimeoutMs = consumerDefaults.sessionTimeoutMs;
const heartbeatIntervalMs = consumerDefaults.heartbeatIntervalMs;
/** The group coordinator's member expiry timer (broker/src/groups/coordinator.ts). */
const expiryCheckIntervalMs = 250;
/** Streams' transaction.timeout.ms, and the transaction coordinator's timer (broker/src/transactions). */
const transactionTimeoutMs = streamsDefaults.transactionTimeoutMs;
const transactionCheckIntervalMs = 1_000;
/** How often an instance reads the group to place its standbys (stream-thread.ts lookAtGroup). */
const groupPollMs = streamsDefaults.groupPollMs;
/** The standby reader's long poll (standby-tasks.ts). */
const standbyPollMs = 200;
const restartBackoffMs = streamsDefaults.restartBackoffMs;
/** The stream thread's consumer's maxWaitMs: an empty fetch waits this long. */
const fetchMaxWaitMs = 100;

/** Input timestamps: the simulated clock from here, minus up to the grace period (never late). */
const epochMs = 1_700_000_000_000;
/** The heal phase must be quiet by then (a liveness failure otherwise). */
const healDeadlineMs = 120_000;
const stepsMax = 2_000_000;

const S = Serdes.String();
const int64 = Serdes.Int64();

export interface SimulationOptions {
  readonly guarantee: Guarantee;
  /** Simulated ms of input and faults before the heal phase. */
  readonly inputPhaseMs?: number;
  /** Fault kinds left out (e.g. ["stall"]). */
  readonly without?: readonly FaultKind[];
  /** Fixes parts of the seed's profile. */
  readonly profile?: Partial<Profile>;
  /** Instead of random input and faults, these (the seed still draws every timing). */
  readonly script?: readonly ScriptStep[];
  /** How many of the last trace lines a failure shows. */
  readonly traceLines?: number;
}

export type FaultKind = "crash" | "stall" | "leave" | "join" | "fail";

export type ScriptStep =
  | { readonly atMs: number; readonly action: "start" }
  | { readonly atMs: number; readonly action: "crash" | "close"; readonly instance: number }
  /** Crashes the instance when its next heartbeat is due, instead of sending it (the latest it can be heard from). */
  | { readonly atMs: number; readonly action: "crash-at-heartbeat"; readonly instance: number }
  /** Stalls the instance for ms once its next commit has sent the offsets, before EndTxn (exactly once). */
  | {
      readonly atMs: number;
      readonly action: "stall-after-send-offsets";
      readonly instance: number;
      readonly ms: number;
    }
  /** Stalls the instance for ms right after it next processes records, before it sends their output. */
  | {
      readonly atMs: number;
      readonly action: "stall-after-processing";
      readonly instance: number;
      readonly ms: number;
    }
  /** Closes whichever instance holds the task then. */
  | { readonly atMs: number; readonly action: "close-owner"; readonly task: string }
  /** From then on, closes the next instance to take the task, afterMs after it took it. */
  | {
      readonly atMs: number;
      readonly action: "close-next-owner";
      readonly task: string;
      readonly afterMs: number;
    }
  | {
      readonly atMs: number;
      readonly action: "input";
      readonly topic: InputTopic;
      readonly key: string;
      readonly value: string;
    };

export interface SimulationReport {
  readonly seed: number;
  readonly guarantee: Guarantee;
  readonly profile: string;
  readonly steps: number;
  readonly simulatedMs: number;
  readonly inputs: number;
  readonly processed: number;
  readonly commits: number;
  readonly committedTxns: number;
  readonly abortedTxns: number;
  readonly crashes: number;
  readonly stalls: number;
  readonly leaves: number;
  readonly joins: number;
  readonly threadFailures: number;
  readonly refusedCommits: number;
  readonly expiredMembers: number;
  readonly taskMoves: number;
  readonly restores: number;
  readonly restoredRecords: number;
  readonly standbyAdoptions: number;
  /** Records sent by a thread the group had already removed (a zombie). */
  readonly zombieSends: number;
  /** Restores that stopped at another producer's open transaction (exactly once). */
  readonly restoresBehindOpenTxn: number;
  /** Heartbeats at which a new owner waited for a transaction holding its committed offsets (KIP-447). */
  readonly unstableOffsetWaits: number;
  /** Heartbeats at which a new owner waited for an earlier owner's transaction open on its changelogs. */
  readonly openChangelogWaits: number;
  /** Named instances that came back and took their static member's place (and partitions) at once. */
  readonly staticRejoins: number;
  /** Count updates beyond each key's 1..n (at least once; always 0 exactly once). */
  readonly doubled: number;
  /** Windowed sums that went down (at least once: a replay into a window its restored store had dropped). */
  readonly windowRegressions: number;
  /** A hash of the whole trace: the same seed gives the same hash. */
  readonly traceHash: string;
}

export class SimulationFailure extends Error {
  constructor(
    readonly seed: number,
    readonly guarantee: Guarantee,
    readonly step: number,
    cause: unknown,
    trace: string,
    /** Records zombies sent before the failure. */
    readonly zombieSends: number,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      `seed ${seed} (${guarantee}), step ${step}: ${detail}\n` +
        `replay: STREAMS_SIM_SEED=${seed} STREAMS_SIM_GUARANTEE=${guarantee} npx vitest run packages/streams/test/sim\n` +
        `last events:\n${trace}`,
      { cause },
    );
    this.name = "SimulationFailure";
  }
}

/** An invariant does not hold. */
export class InvariantViolation extends Error {
  override name = "InvariantViolation";
}

/**
 * Exactly once: a task's restore stopped at the last stable offset of a changelog partition, held by a
 * transaction that a removed member left open, while writes of a later owner had committed after it: the
 * store misses committed updates that the group's committed offsets cover (see streams-sim.test.ts).
 */
export class StaleRestore extends InvariantViolation {
  override name = "StaleRestore";
}

export interface Profile {
  readonly partitions: number;
  readonly keys: number;
  readonly customers: number;
  readonly regions: number;
  readonly inputEveryMsMax: number;
  readonly commitIntervalMs: number;
  readonly numStandbyReplicas: number;
  readonly initialInstances: number;
  readonly instancesMax: number;
  readonly faultEveryMsMax: number;
  readonly batchMax: number;
  readonly pollEveryMsMax: number;
  readonly sendDelayMsMax: number;
  /** At least once: between landing the records and committing the offsets. */
  readonly offsetCommitDelayMsMax: number;
  readonly weights: Readonly<Record<FaultKind, number>>;
  /** Chance that an instance leaves or fails soon after it takes tasks (tasks that move twice in a row). */
  readonly churnAfterTakeRate: number;
  /** Exactly once: from the offsets' sendOffsets to EndTxn, and from EndTxn to its markers (its answer). */
  readonly endTxnDelayMsMax: number;
  readonly markersDelayMsMax: number;
  /** Instances are named (StreamsConfig.instanceId): static membership, a transactional id per name. */
  readonly staticMembership: boolean;
  /** KIP-447: a new owner reads committed offsets only once no transaction holds them (the client's requireStable). */
  readonly stableOffsets: boolean;
  /**
   * A new owner restores only once no earlier owner's transaction is open on its changelog partitions
   * (restorer.ts, stableEnds): else a restore stops at that transaction and misses later committed writes.
   */
  readonly stableChangelogs: boolean;
}

interface Pending {
  readonly topic: string;
  readonly partition: number;
  readonly record: NewRecord;
  readonly origin: string;
}

interface Standby {
  readonly id: TaskId;
  readonly task: StreamTask;
  /** Changelog topic → the next offset to read into the copy (standby-tasks.ts). */
  readonly next: Map<string, number>;
}

/** One process: a KafkaStreams instance with its process id (its transactional id). */
class Instance {
  alive = true;
  closing = false;
  stalledUntil = 0;
  life: Life | undefined;
  /** Thread failures in a row, for the restart backoff. */
  failures = 0;
  /** Scripted: crash instead of the next heartbeat. */
  crashAtHeartbeat = false;
  /** Scripted: stall this long once it has next processed records. */
  stallAfterProcessingMs: number | undefined;
  /** Scripted: stall this long once its next commit has sent its offsets, before EndTxn. */
  stallAfterSendOffsetsMs: number | undefined;
  /** `<applicationId>-<instanceId or process id>`: a named instance's next process fences this one's transaction. */
  readonly transactionalId: string;

  constructor(
    readonly name: string,
    readonly processId: string,
    /** StreamsConfig.instanceId: static membership, and the transactional id. */
    readonly instanceId: string | undefined,
  ) {
    this.transactionalId = `${applicationId}-${instanceId ?? processId}`;
  }
}

/** One life of an instance's stream thread: one consumer (a group member) and one producer. */
class Life {
  readonly outbox: OutputRecord[] = [];
  readonly tasks: ActiveTasks;
  readonly standbys = new Map<string, Standby>();
  readonly pending: Pending[] = [];
  /** The source partitions it holds (stream-thread.ts owned / processed / committed), by tpKey. */
  readonly owned = new Map<string, TopicPartition>();
  /** Per partition, the offset after the last record processed. */
  readonly processed = new Map<string, number>();
  /** Per partition, the offset last committed (or started from). */
  readonly committed = new Map<string, number>();
  /** The consumer's position per partition: past what it handed over, and past markers and aborted records. */
  readonly fetch = new Map<string, number>();
  /**
   * Committed offsets the consumer read for partitions it is taking on, before onAssigned (the consumer
   * reads them first; the restore, and its wait for open changelog transactions, come after), by tpKey.
   */
  readonly acquired = new Map<string, number>();
  txn: Txn | undefined;
  lastCommitMs: number;
  /** While a commit is under way nothing else runs (stream-thread.ts's Serial). */
  busy = false;
  ended = false;
  heartbeatToken = 0;
  cursor = 0;

  constructor(
    readonly instance: Instance,
    readonly memberId: string,
    topology: Topology,
    subtopologies: readonly Subtopology[],
    settings: TaskSettings,
    nowMs: number,
  ) {
    this.tasks = new ActiveTasks(topology, subtopologies, settings, this.outbox);
    this.lastCommitMs = nowMs;
  }
}

interface Member {
  readonly life: Life;
  lastHeartbeatMs: number;
  /**
   * A static member that left (epoch -2): it keeps its partitions, unheld, until its session runs out or
   * an instance of the same name joins and takes them over.
   */
  departed: boolean;
}

/** A task as it would be with no failure at all: processed exactly the committed input, once. */
interface Shadow {
  readonly id: TaskId;
  readonly task: StreamTask;
  /** Per source partition, the next offset it processes. */
  readonly positions: Map<string, number>;
  /** Per topic written (sinks, repartition, changelogs), what it wrote, as "key=value" in hex. */
  readonly written: Map<string, string[]>;
}

interface SimEvent {
  readonly label: string;
  readonly run: () => void;
}

export class StreamsSimulation {
  readonly guarantee: Guarantee;
  private readonly random: Random;
  private readonly profile: Profile;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly log = new SimLog();
  private readonly topology = buildTopology();
  private readonly subtopologies: Subtopology[];
  private readonly isolation: IsolationLevel;
  private readonly exactlyOnce: boolean;
  private readonly settings: TaskSettings;
  private readonly allTasks: string[];
  private readonly inputPhaseMs: number;
  private readonly script: readonly ScriptStep[] | undefined;
  private windowRegressions = 0;
  private closeNextOwner: { task: string; afterMs: number } | undefined;
  /** The read_committed reader of the counts' output: its position per partition, each key's last count. */
  private readonly countReader = new Map<number, number>();
  private readonly lastCount = new Map<string, number>();
  private readonly traceLines: number;
  private readonly instances: Instance[] = [];
  private readonly members = new Map<string, Member>();
  /** Task → the member the group means it for. */
  private readonly target = new Map<string, string>();
  /** Task → the member holding it (given and not yet released). */
  private readonly owner = new Map<string, string>();
  private readonly shadows = new Map<string, Shadow>();
  private readonly trace: string[] = [];
  private traceHash = 0x811c9dc5;
  private now = 0;
  private steps = 0;
  private faultsOn = true;
  private nextInstance = 0;
  private nextMember = 0;
  private readonly counts = {
    inputs: 0,
    processed: 0,
    commits: 0,
    crashes: 0,
    stalls: 0,
    leaves: 0,
    joins: 0,
    threadFailures: 0,
    refusedCommits: 0,
    expiredMembers: 0,
    taskMoves: 0,
    restores: 0,
    restoredRecords: 0,
    standbyAdoptions: 0,
    zombieSends: 0,
    restoresBehindOpenTxn: 0,
    unstableOffsetWaits: 0,
    openChangelogWaits: 0,
    staticRejoins: 0,
  };

  constructor(
    readonly seed: number,
    options: SimulationOptions,
  ) {
    this.guarantee = options.guarantee;
    this.exactlyOnce = options.guarantee === "exactly_once";
    this.isolation = this.exactlyOnce ? "read_committed" : "read_uncommitted";
    this.random = new Random(seed);
    this.inputPhaseMs = options.inputPhaseMs ?? 15_000;
    this.traceLines = options.traceLines ?? 80;
    this.script = options.script;
    this.profile = { ...this.drawProfile(options.without ?? []), ...options.profile };
    this.subtopologies = subtopologiesOf(this.topology, applicationId);
    this.settings = { applicationId, clock: { nowMs: () => epochMs + this.now } };
    this.allTasks = this.subtopologies.flatMap((sub) =>
      Array.from({ length: this.profile.partitions }, (_, partition) =>
        taskName({ subtopology: sub.index, partition }),
      ),
    );
  }

  run(): SimulationReport {
    try {
      this.createTopics();
      if (this.script === undefined) {
        for (let i = 0; i < this.profile.initialInstances; i++) this.startInstance();
        this.scheduleInputs();
        this.scheduleFaults();
      } else this.scheduleScript(this.script);
      this.scheduleCoordinatorTimers();
      this.runUntil(() => this.now >= this.inputPhaseMs);
      this.heal();
      this.runUntil(() => this.quiet(), healDeadlineMs + this.inputPhaseMs);
      this.closeAll();
      this.runUntil(() => this.instances.every((instance) => !instance.alive), healDeadlineMs * 2);
      const doubled = this.finalCheck();
      return this.report(doubled);
    } catch (error) {
      throw new SimulationFailure(
        this.seed,
        this.guarantee,
        this.steps,
        error,
        this.trace.join("\n"),
        this.counts.zombieSends,
      );
    }
  }

  // ---- Setup -------------------------------------------------------------------------------------

  private drawProfile(without: readonly FaultKind[]): Profile {
    const r = this.random;
    const weights: Record<FaultKind, number> = { crash: 3, stall: 2, leave: 2, join: 3, fail: 1 };
    for (const kind of without) weights[kind] = 0;
    return {
      partitions: r.int(2, 4),
      keys: r.int(3, 8),
      customers: r.int(3, 6),
      regions: r.int(2, 3),
      inputEveryMsMax: r.pick([150, 300, 450]),
      commitIntervalMs: this.exactlyOnce
        ? r.pick([streamsDefaults.commitIntervalMs.exactly_once, 100, 300, 1_000])
        : r.pick([100, 500, 2_000]),
      numStandbyReplicas: r.pick([0, 0, 1, 2]),
      initialInstances: r.int(1, 3),
      instancesMax: r.int(2, 4),
      faultEveryMsMax: r.pick([600, 1_500, 3_000]),
      batchMax: r.int(1, 8),
      pollEveryMsMax: r.pick([10, 30, 60]),
      sendDelayMsMax: r.pick([1, 5, 20]),
      offsetCommitDelayMsMax: r.pick([1, 10, 50]),
      weights,
      churnAfterTakeRate: r.pick([0, 0.2, 0.5]),
      endTxnDelayMsMax: r.pick([0, 5, 30]),
      markersDelayMsMax: r.pick([0, 5, 30]),
      staticMembership: r.chance(0.3),
      stableOffsets: true,
      stableChangelogs: true,
    };
  }

  private describeProfile(): string {
    const p = this.profile;
    return (
      `${p.partitions} partitions, ${p.keys} keys, ${p.customers} customers, commit every ${p.commitIntervalMs} ms, ` +
      `${p.numStandbyReplicas} standbys, ${p.initialInstances}..${p.instancesMax} instances, ` +
      `a fault every <=${p.faultEveryMsMax} ms, batches <=${p.batchMax}` +
      `${p.staticMembership ? ", static membership" : ""}${p.stableOffsets ? "" : ", NO stable offsets"}` +
      `${p.stableChangelogs ? "" : ", NO wait for stable changelogs"}`
    );
  }

  private createTopics(): void {
    for (const topic of [...inputTopics, ...outputTopics])
      this.log.createTopic(topic, this.profile.partitions);
    const counts = new Map(
      inputTopicsOf(this.subtopologies).map((topic) => [topic, this.profile.partitions]),
    );
    for (const internal of planInternalTopics(applicationId, this.subtopologies, counts))
      this.log.createTopic(internal.name, internal.partitions);
    for (const name of this.allTasks) {
      const id = parseTaskName(name);
      const written = new Map<string, string[]>();
      const task = new StreamTask(
        this.topology,
        { ...this.settings, subtopology: id.subtopology, partition: id.partition },
        { send: (record) => this.shadowWrote(written, record) },
      );
      this.shadows.set(name, { id, task, positions: new Map(), written });
    }
    this.note(`profile: ${this.describeProfile()}`);
  }

  // ---- The event loop ------------------------------------------------------------------------------

  private schedule(atMs: number, label: string, run: () => void): void {
    this.queue.push(Math.max(atMs, this.now), { label, run });
  }

  /** An event of an instance (of one thread life, if given): dropped once that is gone, late while it stalls. */
  private scheduleFor(
    instance: Instance,
    life: Life | undefined,
    atMs: number,
    label: string,
    run: () => void,
  ) {
    const event = () => {
      if (!instance.alive || (life !== undefined && (instance.life !== life || life.ended))) return;
      if (this.now < instance.stalledUntil) {
        this.schedule(instance.stalledUntil + this.random.int(0, 30), label, event);
        return;
      }
      run();
    };
    this.schedule(atMs, label, event);
  }

  private runUntil(done: () => boolean, deadlineMs = Number.POSITIVE_INFINITY): void {
    while (!done()) {
      if (this.now > deadlineMs)
        throw new InvariantViolation(`not done by ${deadlineMs} ms: ${this.stuck()}`);
      const next = this.queue.pop();
      if (next === undefined) throw new InvariantViolation("nothing left to happen");
      this.now = next.time;
      if (++this.steps > stepsMax) throw new InvariantViolation(`over ${stepsMax} steps`);
      next.event.run();
      if (this.exactlyOnce) this.readCommittedCounts();
    }
  }

  /**
   * Exactly once, after every step: a read_committed reader of the counts' output, going on from where it
   * got to, sees each key's next count (the end check reads them all again, against the input).
   */
  private readCommittedCounts(): void {
    const topic = topics.wordCounts;
    for (let p = 0; p < this.profile.partitions; p++) {
      const from = this.countReader.get(p) ?? 0;
      const end = this.log.end(topic, p, "read_committed");
      if (end === from) continue;
      for (const entry of this.log.read(topic, p, from, "read_committed")) {
        const key = S.deserialize(entry.key as Buffer, topic);
        const count = int64.deserialize(entry.value as Buffer, topic);
        const last = this.lastCount.get(key) ?? 0;
        if (count !== last + 1) {
          throw new InvariantViolation(
            `a read_committed reader of ${topic}-${p} sees ${key}'s count go from ${last} to ${count} (offset ${entry.offset})`,
          );
        }
        this.lastCount.set(key, count);
      }
      this.countReader.set(p, end);
    }
  }

  private record(line: string): void {
    const entry = `t=${this.now} ${line}`;
    this.trace.push(entry);
    if (this.trace.length > this.traceLines) this.trace.shift();
    for (let i = 0; i < entry.length; i++)
      this.traceHash = Math.imul(this.traceHash ^ entry.charCodeAt(i), 0x01000193);
  }

  private note(line: string): void {
    this.record(line);
  }

  // ---- Input and faults ------------------------------------------------------------------------------

  private scheduleInputs(): void {
    const next = () => {
      if (this.now >= this.inputPhaseMs) return;
      this.input();
      this.schedule(this.now + this.random.int(1, this.profile.inputEveryMsMax), "input", next);
    };
    this.schedule(this.random.int(0, 50), "input", next);
  }

  private scheduleScript(script: readonly ScriptStep[]): void {
    for (const step of script) {
      this.schedule(step.atMs, `script ${step.action}`, () => {
        const instance = "instance" in step ? this.instances[step.instance] : undefined;
        switch (step.action) {
          case "start":
            this.startInstance();
            break;
          case "input":
            this.append(step.topic, step.key, step.value);
            break;
          case "crash":
            if (instance?.alive) this.crash(instance);
            break;
          case "crash-at-heartbeat":
            if (instance !== undefined) instance.crashAtHeartbeat = true;
            break;
          case "stall-after-processing":
            if (instance !== undefined) instance.stallAfterProcessingMs = step.ms;
            break;
          case "stall-after-send-offsets":
            if (instance !== undefined) instance.stallAfterSendOffsetsMs = step.ms;
            break;
          case "close":
            if (instance?.alive) this.close(instance);
            break;
          case "close-next-owner":
            this.closeNextOwner = { task: step.task, afterMs: step.afterMs };
            break;
          case "close-owner": {
            const owner = this.members.get(this.owner.get(step.task) ?? "")?.life.instance;
            this.note(`script: close the owner of ${step.task} (${owner?.name ?? "none"})`);
            if (owner?.alive) this.close(owner);
            break;
          }
        }
      });
    }
  }

  private input(): void {
    const r = this.random;
    const p = this.profile;
    const roll = r.next();
    const topic: InputTopic =
      roll < 0.3 ? topics.words : roll < 0.6 ? topics.clicks : roll < 0.85 ? topics.orders : topics.customers;
    let key: string;
    let value: string;
    switch (topic) {
      case topics.words:
        key = `w${r.int(0, p.keys - 1)}`;
        value = "x";
        break;
      case topics.clicks:
        key = `u${r.int(0, p.keys - 1)}`;
        value = String(r.int(1, 9));
        break;
      case topics.customers:
        key = `c${r.int(0, p.customers - 1)}`;
        value = `r${r.int(0, p.regions - 1)}`;
        break;
      default:
        // Two customers the table never has: their orders drop out of the join.
        key = `c${r.int(0, p.customers + 1)}`;
        value = String(r.int(1, 99));
    }
    this.append(topic, key, value);
  }

  /** An input record, partitioned as the producer does; its timestamp up to the grace period behind. */
  private append(topic: InputTopic, key: string, value: string): void {
    const timestamp = epochMs + Math.max(0, this.now - this.random.int(0, windowGraceMs - 1));
    const keyBytes = Buffer.from(key);
    const partition = partitionForKey(keyBytes, this.log.partitions(topic));
    this.log.append(topic, partition, { key: keyBytes, value: Buffer.from(value), timestamp, headers: {} });
    this.counts.inputs++;
  }

  private scheduleFaults(): void {
    const next = () => {
      if (!this.faultsOn) return;
      this.fault();
      this.schedule(this.now + this.random.int(100, this.profile.faultEveryMsMax), "fault", next);
    };
    this.schedule(this.random.int(200, this.profile.faultEveryMsMax), "fault", next);
  }

  private fault(): void {
    const r = this.random;
    const weights = this.profile.weights;
    const total = Object.values(weights).reduce((a, b) => a + b, 0);
    let roll = r.next() * total;
    let kind: FaultKind = "join";
    for (const [each, weight] of Object.entries(weights) as [FaultKind, number][]) {
      if (roll < weight) {
        kind = each;
        break;
      }
      roll -= weight;
    }
    const alive = this.instances.filter((instance) => instance.alive && !instance.closing);
    const victim = alive.length > 0 ? r.pick(alive) : undefined;
    const stallMs = r.pick([r.int(100, 3_000), r.int(sessionTimeoutMs - 1_000, sessionTimeoutMs + 3_000)]);
    if (kind === "join" || victim === undefined) {
      if (alive.length < this.profile.instancesMax) this.startInstance();
      return;
    }
    switch (kind) {
      case "crash":
        this.crash(victim);
        break;
      case "stall":
        if (this.now >= victim.stalledUntil) {
          victim.stalledUntil = this.now + stallMs;
          this.counts.stalls++;
          this.note(`${victim.name} stalls for ${stallMs} ms`);
        }
        break;
      case "leave":
        this.close(victim);
        break;
      case "fail":
        if (victim.life !== undefined && this.now >= victim.stalledUntil)
          this.fail(victim.life, "a thread failure (injected)");
        break;
    }
  }

  private scheduleCoordinatorTimers(): void {
    const expiry = () => {
      this.expireMembers();
      this.schedule(this.now + expiryCheckIntervalMs, "expiry", expiry);
    };
    this.schedule(this.random.int(0, expiryCheckIntervalMs), "expiry", expiry);
    const timeouts = () => {
      for (const txn of this.log.openTxns()) {
        if (txn.state === "open" && this.now - txn.startMs > transactionTimeoutMs) {
          this.log.abort(txn);
          this.note(`coordinator aborts txn ${txn.id} of ${txn.producer} (timed out)`);
        }
      }
      this.schedule(this.now + transactionCheckIntervalMs, "txn timeouts", timeouts);
    };
    this.schedule(this.random.int(0, transactionCheckIntervalMs), "txn timeouts", timeouts);
  }

  // ---- Instances -------------------------------------------------------------------------------------

  /** A new process; with static membership, under a new name or (a restart) the name given. */
  private startInstance(instanceId?: string): Instance {
    const n = this.nextInstance++;
    const name = instanceId ?? (this.profile.staticMembership ? `s${n}` : undefined);
    const instance = new Instance(`i${n}`, `p${n}`, name);
    this.instances.push(instance);
    this.counts.joins++;
    this.note(`${instance.name} starts${name === undefined ? "" : ` as ${name}`}`);
    this.startLife(instance);
    return instance;
  }

  private startLife(instance: Instance): void {
    // InitProducerId: an open transaction of the same transactional id (an earlier life) is aborted.
    for (const txn of this.log.openTxns()) {
      if (txn.producer === instance.transactionalId && txn.state === "open") {
        this.log.abort(txn);
        this.note(`${instance.name}'s producer fences txn ${txn.id} of its earlier life`);
      }
    }
    // Member ids are random (UUIDs), so the standby ring's order is too.
    const memberId = `${this.random.int(0, 0xfffff).toString(16).padStart(5, "0")}-${this.nextMember++}`;
    const life = new Life(instance, memberId, this.topology, this.subtopologies, this.settings, this.now);
    instance.life = life;
    const previous = [...this.members].find(
      ([, member]) =>
        instance.instanceId !== undefined && member.life.instance.instanceId === instance.instanceId,
    );
    this.members.set(memberId, { life, lastHeartbeatMs: this.now, departed: false });
    if (previous !== undefined) {
      // Static membership: the new member takes the old one's place and its partitions, at once.
      const [oldId] = previous;
      this.counts.staticRejoins++;
      this.members.delete(oldId);
      for (const [task, member] of this.target) if (member === oldId) this.target.set(task, memberId);
      for (const [task, member] of [...this.owner]) if (member === oldId) this.owner.delete(task);
      this.note(`${instance.name} joins as member ${memberId}, replacing static member ${oldId}`);
    } else {
      this.note(`${instance.name} joins as member ${memberId}`);
      this.rebalance();
    }
    this.startTimers(instance, life);
  }

  private startTimers(instance: Instance, life: Life): void {
    this.scheduleHeartbeat(life, this.random.int(1, 50));
    const poll = () => {
      // A fetch that finds nothing waits (the consumer's long poll) before the next.
      const delayMs = this.poll(life) ? this.random.int(1, this.profile.pollEveryMsMax) : fetchMaxWaitMs;
      this.scheduleFor(instance, life, this.now + delayMs, "poll", poll);
    };
    this.scheduleFor(instance, life, this.now + this.random.int(1, 20), "poll", poll);
    const look = () => {
      this.lookAtGroup(life);
      this.scheduleFor(instance, life, this.now + groupPollMs, "look at group", look);
    };
    this.scheduleFor(instance, life, this.now + this.random.int(1, groupPollMs), "look at group", look);
    const follow = () => {
      this.followStandbys(life);
      this.scheduleFor(instance, life, this.now + this.random.int(1, standbyPollMs), "standbys", follow);
    };
    this.scheduleFor(instance, life, this.now + this.random.int(1, standbyPollMs), "standbys", follow);
  }

  private scheduleHeartbeat(life: Life, delayMs: number): void {
    const token = ++life.heartbeatToken;
    this.scheduleFor(life.instance, life, this.now + delayMs, "heartbeat", () => {
      if (life.heartbeatToken === token) this.heartbeat(life);
    });
  }

  private isMember(life: Life): boolean {
    const member = this.members.get(life.memberId);
    return member?.life === life && !member.departed;
  }

  /** A heartbeat and, as the consumer reconciles, one step: revoke first, then assign. */
  private heartbeat(life: Life): void {
    if (life.instance.crashAtHeartbeat) {
      this.crash(life.instance);
      return;
    }
    const member = this.members.get(life.memberId);
    if (member === undefined || member.life !== life || member.departed) {
      // Unknown member: the partitions are lost; onRevoked still commits, which the group refuses.
      this.counts.refusedCommits++;
      this.fail(life, "the group no longer knows the member: its partitions are lost");
      return;
    }
    member.lastHeartbeatMs = this.now;
    if (life.busy) {
      this.scheduleHeartbeat(life, heartbeatIntervalMs);
      return;
    }
    const held = life.tasks.all().map((each) => each.name);
    const revoke = held.filter((name) => this.target.get(name) !== life.memberId);
    if (revoke.length > 0) {
      this.commit(life, `revoke ${revoke.join(",")}`, () => {
        this.release(life, revoke);
        this.scheduleHeartbeat(life, this.random.int(1, 20));
      });
      return;
    }
    const assign = this.allTasks.filter(
      (name) => this.target.get(name) === life.memberId && !this.owner.has(name),
    );
    if (assign.length > 0) {
      // KIP-447: committed offsets a transaction still holds are unstable; the consumer asks again later.
      const unstable = assign.flatMap((name) =>
        this.sourcePartitions(name).filter(({ topic, partition }) =>
          this.log.pendingOffsets(topic, partition),
        ),
      );
      if (this.exactlyOnce && this.profile.stableOffsets && unstable.length > 0) {
        this.counts.unstableOffsetWaits++;
        this.note(
          `${life.instance.name} waits for stable offsets of ${unstable.map((tp) => tpKey(tp.topic, tp.partition)).join(",")}`,
        );
        this.scheduleHeartbeat(life, this.random.int(50, 100));
        return;
      }
      // The consumer reads the committed offsets, then calls onAssigned, whose restore waits (below).
      const taking = new Set(
        assign.flatMap((name) => this.sourcePartitions(name)).map((tp) => tpKey(tp.topic, tp.partition)),
      );
      for (const key of life.acquired.keys()) if (!taking.has(key)) life.acquired.delete(key);
      for (const name of assign) {
        for (const { topic, partition } of this.sourcePartitions(name)) {
          const key = tpKey(topic, partition);
          if (!life.acquired.has(key)) life.acquired.set(key, this.log.committedOffset(topic, partition));
        }
      }
      // restorer.ts's stableEnds: no restore stops at an earlier owner's open transaction.
      const open = this.exactlyOnce && this.profile.stableChangelogs ? this.openChangelogs(assign) : [];
      if (open.length > 0) {
        this.counts.openChangelogWaits++;
        this.note(`${life.instance.name} waits for open transactions on ${open.join(",")}`);
        this.scheduleHeartbeat(life, this.random.int(50, 100));
        return;
      }
      this.assign(life, assign);
      this.scheduleHeartbeat(life, this.random.int(1, 20));
      return;
    }
    this.scheduleHeartbeat(life, heartbeatIntervalMs);
  }

  /** The changelog partitions of these tasks where a transaction is open (its last stable offset behind its end). */
  private openChangelogs(names: readonly string[]): string[] {
    return names.flatMap((name) => {
      const { subtopology, partition } = parseTaskName(name);
      const stores = (this.subtopologies[subtopology] as Subtopology).stores;
      return stores
        .map((store) => changelogTopic(applicationId, store.name))
        .filter(
          (topic) =>
            this.log.end(topic, partition, "read_committed") < this.log.entries(topic, partition).length,
        )
        .map((topic) => tpKey(topic, partition));
    });
  }

  private sourcePartitions(name: string): TopicPartition[] {
    const { subtopology, partition } = parseTaskName(name);
    return (this.subtopologies[subtopology] as Subtopology).sourceTopics.map((topic) => ({
      topic,
      partition,
    }));
  }

  /** stream-thread.ts assign(): tasks created (or adopted from standbys), stores restored, then fetching. */
  private assign(life: Life, names: readonly string[]): void {
    for (const name of names) this.owner.set(name, life.memberId);
    const adopted = new Map<string, Map<string, number>>();
    const created = life.tasks.add(
      names.flatMap((name) => this.sourcePartitions(name)),
      (name) => {
        const standby = life.standbys.get(name);
        if (standby === undefined) return undefined;
        life.standbys.delete(name);
        adopted.set(name, standby.next);
        this.counts.standbyAdoptions++;
        return standby.task;
      },
    );
    let restored = 0;
    for (const active of created) {
      for (const [store, topic] of active.task.changelogTopics()) {
        const from = adopted.get(active.name)?.get(topic) ?? 0;
        const entries = this.log.read(topic, active.id.partition, from, this.isolation);
        if (
          this.log.end(topic, active.id.partition, this.isolation) <
          this.log.entries(topic, active.id.partition).length
        ) {
          this.counts.restoresBehindOpenTxn++;
          this.note(
            `${active.name}'s restore of ${topic}-${active.id.partition} stops at an open transaction`,
          );
        }
        active.task.restore(
          store,
          entries.flatMap((entry) => toChangelogRecord(consumed(entry))),
        );
        restored += entries.length;
      }
      // The consumer read the committed offsets (stable ones: see heartbeat()) before onAssigned.
      for (const tp of this.sourcePartitions(active.name)) {
        const key = tpKey(tp.topic, tp.partition);
        const offset = life.acquired.get(key) ?? this.log.committedOffset(tp.topic, tp.partition);
        life.acquired.delete(key);
        life.owned.set(key, tp);
        life.committed.set(key, offset);
        life.fetch.set(key, offset);
      }
      active.ready = true;
      this.counts.restores++;
      if (this.exactlyOnce) this.checkRestored(active);
    }
    this.counts.restoredRecords += restored;
    if (this.faultsOn && this.script === undefined && this.random.chance(this.profile.churnAfterTakeRate)) {
      const instance = life.instance;
      const leave = this.random.chance(0.5);
      this.schedule(this.now + this.random.int(50, 600), "churn", () => {
        if (!this.faultsOn || !instance.alive || instance.closing || instance.life !== life) return;
        if (leave) this.close(instance);
        else if (this.now >= instance.stalledUntil)
          this.fail(life, "a thread failure (injected) after taking tasks");
      });
    }
    const closing = this.closeNextOwner;
    if (closing !== undefined && names.includes(closing.task)) {
      this.closeNextOwner = undefined;
      this.schedule(this.now + closing.afterMs, "script close", () => {
        this.note(`script: close ${life.instance.name}, which took ${closing.task}`);
        if (life.instance.alive && !life.instance.closing) this.close(life.instance);
      });
    }
    this.note(
      `${life.instance.name} takes ${names.join(",")} (restored ${restored} records` +
        `${adopted.size > 0 ? `, standbys of ${[...adopted.keys()].join(",")}` : ""})`,
    );
  }

  /** After a revoke's commit: the tasks close and the group may give them on. */
  private release(life: Life, names: readonly string[]): void {
    const partitions = names.flatMap((name) => this.sourcePartitions(name));
    life.tasks.remove(partitions);
    for (const { topic, partition } of partitions) {
      for (const map of [life.owned, life.processed, life.committed, life.fetch])
        map.delete(tpKey(topic, partition));
    }
    for (const name of names) if (this.owner.get(name) === life.memberId) this.owner.delete(name);
    this.note(`${life.instance.name} releases ${names.join(",")}`);
  }

  /** One fetched batch of one task, processed record by record; its output goes out as sends. */
  private poll(life: Life): boolean {
    if (life.busy) return true;
    let found = false;
    const tasks = life.tasks.all();
    for (let k = 0; k < tasks.length; k++) {
      const index = (life.cursor + k) % tasks.length;
      const active = tasks[index] as ActiveTask;
      const batch = this.nextRecords(life, active, this.random.int(1, this.profile.batchMax));
      if (batch.length === 0) continue;
      life.cursor = index + 1;
      found = true;
      for (const entry of batch) {
        active.task.process(consumed(entry));
        life.processed.set(tpKey(entry.topic, entry.partition), entry.offset + 1);
        this.toPending(life, active.name);
      }
      this.counts.processed += batch.length;
      const first = batch[0] as LogEntry;
      this.record(
        `${life.instance.name} ${active.name} processes ${batch.length} from ${first.topic}@${first.offset}`,
      );
      const sendDelay = this.random.int(0, this.profile.sendDelayMsMax);
      this.scheduleFor(life.instance, life, this.now + sendDelay, "send", () => this.send(life));
      if (life.instance.stallAfterProcessingMs !== undefined) {
        life.instance.stalledUntil = this.now + life.instance.stallAfterProcessingMs;
        life.instance.stallAfterProcessingMs = undefined;
        this.note(
          `${life.instance.name} stalls until t=${life.instance.stalledUntil}, its sends not out yet`,
        );
        return true;
      }
      break;
    }
    if (this.now - life.lastCommitMs >= this.profile.commitIntervalMs && !life.busy)
      this.commit(life, "interval");
    return found;
  }

  /**
   * The records a task is handed next, in append order across its partitions (a join reads two); the
   * consumer's positions move past them, or to the end read when nothing visible is left before it.
   */
  private nextRecords(life: Life, active: ActiveTask, max: number): LogEntry[] {
    const partition = active.id.partition;
    const sources = (this.subtopologies[active.id.subtopology] as Subtopology).sourceTopics;
    const reads = sources.map((topic) => {
      const key = tpKey(topic, partition);
      const entries = this.log.read(topic, partition, life.fetch.get(key) ?? 0, this.isolation, max);
      return { key, entries, end: this.log.end(topic, partition, this.isolation), taken: 0 };
    });
    const batch =
      reads.length === 1
        ? (reads[0]?.entries as LogEntry[])
        : reads
            .flatMap((read) => read.entries)
            .sort((a, b) => a.seq - b.seq)
            .slice(0, max);
    for (const entry of batch) {
      const read = reads.find((each) => each.key === tpKey(entry.topic, entry.partition));
      if (read !== undefined) read.taken++;
    }
    for (const { key, entries, end, taken } of reads) {
      if (taken === entries.length && entries.length < max) life.fetch.set(key, end);
      else if (taken > 0) life.fetch.set(key, (entries[taken - 1] as LogEntry).offset + 1);
    }
    return batch;
  }

  /** stream-thread.ts offsetsToCommit(): each held partition's position, where it moved since the last commit. */
  private offsetsToCommit(life: Life): Offset[] {
    const offsets: Offset[] = [];
    for (const [key, tp] of life.owned) {
      const offset = Math.max(life.fetch.get(key) ?? -1, life.processed.get(key) ?? -1);
      if (offset > (life.committed.get(key) ?? -1)) offsets.push({ ...tp, offset });
    }
    return offsets;
  }

  private toPending(life: Life, origin: string): void {
    for (const record of life.outbox.splice(0)) {
      if (record.key === null && record.partition === undefined)
        throw new InvariantViolation(`${origin} wrote a keyless record to ${record.topic}`);
      // The producer's partitioner: murmur2 of the key, as KafkaStreams' producer picks it.
      const partition =
        record.partition ?? partitionForKey(record.key as Buffer, this.log.partitions(record.topic));
      life.pending.push({
        topic: record.topic,
        partition,
        record: {
          key: record.key,
          value: record.value,
          timestamp: record.timestamp,
          headers: record.headers,
        },
        origin,
      });
    }
  }

  /** The producer sends what is pending: it lands (in the open transaction, exactly once). */
  private send(life: Life): boolean {
    if (life.pending.length === 0) return true;
    if (this.exactlyOnce) {
      if (life.txn !== undefined && life.txn.state !== "open") {
        // The coordinator aborted it (timed out), or it is committing: the producer is fenced.
        life.pending.length = 0;
        return false;
      }
      life.txn ??= this.log.beginTxn(life.instance.transactionalId, this.now);
    }
    if (!this.isMember(life)) this.counts.zombieSends += life.pending.length;
    for (const { topic, partition, record, origin } of life.pending.splice(0))
      this.log.append(topic, partition, record, origin, life.txn);
    return true;
  }

  /**
   * stream-thread.ts commit(): everything pending is sent, then the offsets commit. Exactly once: they go
   * into the transaction (sendOffsets, where the group checks the member), then EndTxn commits it, whose
   * answer comes once the markers are written; a stall or a crash can fall between any two of these. At
   * least once: the offsets commit a moment after the records landed. `then` runs once committed.
   */
  private commit(life: Life, why: string, then?: () => void): void {
    if (life.busy || life.ended) return;
    const sent = this.send(life);
    const offsets = this.offsetsToCommit(life);
    if (offsets.length === 0 && (!this.exactlyOnce || life.txn === undefined)) {
      life.lastCommitMs = this.now;
      then?.();
      return;
    }
    if (!this.exactlyOnce) {
      life.busy = true;
      const delay = this.random.int(0, this.profile.offsetCommitDelayMsMax);
      this.scheduleFor(life.instance, life, this.now + delay, "commit offsets", () => {
        life.busy = false;
        if (!this.isMember(life)) {
          this.counts.refusedCommits++;
          this.fail(life, `offset commit (${why}) refused: not a member`);
          return;
        }
        this.log.commitOffsets(offsets);
        this.committed(life, offsets, why, then);
      });
      return;
    }
    if (!sent || (life.txn !== undefined && life.txn.state !== "open")) {
      this.counts.refusedCommits++;
      this.fail(life, `commit (${why}) failed: the transaction was aborted by its timeout`);
      return;
    }
    if (!this.isMember(life)) {
      this.counts.refusedCommits++;
      this.fail(life, `commit (${why}) refused: not a member (stale member epoch)`);
      return;
    }
    const txn = life.txn ?? this.log.beginTxn(life.instance.transactionalId, this.now);
    life.txn = txn;
    if (offsets.length > 0) this.log.sendOffsets(txn, offsets);
    life.busy = true;
    if (life.instance.stallAfterSendOffsetsMs !== undefined) {
      life.instance.stalledUntil = this.now + life.instance.stallAfterSendOffsetsMs;
      life.instance.stallAfterSendOffsetsMs = undefined;
      this.note(
        `${life.instance.name} stalls until t=${life.instance.stalledUntil}, its offsets sent, EndTxn not`,
      );
    }
    this.scheduleFor(
      life.instance,
      life,
      this.now + this.random.int(0, this.profile.endTxnDelayMsMax),
      "EndTxn",
      () => {
        if (txn.state !== "open") {
          life.busy = false;
          this.counts.refusedCommits++;
          this.fail(life, `EndTxn (${why}) failed: the transaction was aborted by its timeout`);
          return;
        }
        this.log.prepareCommit(txn);
        life.txn = undefined;
        // The coordinator writes the markers and completes it, whatever happens to the producer now.
        const markersAt = this.now + this.random.int(0, this.profile.markersDelayMsMax);
        this.schedule(markersAt, "markers", () => {
          this.log.completeCommit(txn);
          this.advanceShadows(txn.offsets);
          this.scheduleFor(life.instance, life, this.now, "EndTxn answered", () => {
            life.busy = false;
            this.committed(life, offsets, why, then);
          });
        });
      },
    );
  }

  private committed(
    life: Life,
    offsets: readonly Offset[],
    why: string,
    then: (() => void) | undefined,
  ): void {
    for (const { topic, partition, offset } of offsets) life.committed.set(tpKey(topic, partition), offset);
    life.lastCommitMs = this.now;
    this.counts.commits++;
    if (offsets.length > 0) {
      this.record(
        `${life.instance.name} commits (${why}) ${offsets.map((o) => `${o.topic}-${o.partition}:${o.offset}`).join(" ")}`,
      );
    }
    then?.();
  }

  /** A thread life ends in failure (abandon()): sends settle, the transaction aborts, the member leaves. */
  private fail(life: Life, reason: string): void {
    if (life.ended) return;
    const instance = life.instance;
    this.send(life);
    if (life.txn?.state === "open") this.log.abort(life.txn);
    this.endLife(life);
    this.counts.threadFailures++;
    this.note(`${instance.name} thread fails: ${reason}`);
    if (instance.closing) {
      instance.alive = false;
      return;
    }
    const backoff = Math.min(restartBackoffMs.min * 2 ** instance.failures, restartBackoffMs.max);
    instance.failures++;
    this.scheduleFor(instance, undefined, this.now + backoff, "new thread", () => {
      if (instance.life === undefined) this.startLife(instance);
    });
  }

  private endLife(life: Life): void {
    life.ended = true;
    life.busy = false;
    life.tasks.closeAll();
    for (const standby of life.standbys.values()) standby.task.close();
    life.standbys.clear();
    if (life.instance.life === life) life.instance.life = undefined;
    if (!this.isMember(life)) return;
    if (life.instance.instanceId === undefined) {
      this.removeMember(life.memberId, "leaves");
      return;
    }
    // A static member leaves for now: its partitions stay its own, unheld, for its session.
    const member = this.members.get(life.memberId) as Member;
    member.departed = true;
    member.lastHeartbeatMs = this.now;
    for (const [task, owner] of [...this.owner]) if (owner === life.memberId) this.owner.delete(task);
    this.note(`static member ${life.memberId} (${life.instance.instanceId}) leaves for now`);
  }

  private crash(instance: Instance): void {
    const life = instance.life;
    instance.alive = false;
    this.counts.crashes++;
    if (life !== undefined) {
      // Sends in flight: some land, some do not (per partition, a prefix of them).
      const cut = new Set<string>();
      const landing = life.pending.splice(0).filter((pending) => {
        const key = tpKey(pending.topic, pending.partition);
        if (cut.has(key) || this.random.chance(0.3)) {
          cut.add(key);
          return false;
        }
        return true;
      });
      life.pending.push(...landing);
      this.send(life);
      life.ended = true;
      instance.life = undefined;
    }
    this.note(
      `${instance.name} crashes${life?.txn?.state === "open" ? ` (txn ${life.txn.id} left open)` : ""}`,
    );
    if (this.script === undefined && this.random.chance(0.8)) {
      this.schedule(this.now + this.random.int(200, 5_000), "restart", () => {
        if (this.faultsOn || this.instances.every((each) => !each.alive))
          this.startInstance(instance.instanceId);
      });
    }
  }

  /** KafkaStreams.close(): commit, hand the tasks back, leave. */
  private close(instance: Instance): void {
    const life = instance.life;
    instance.closing = true;
    this.counts.leaves++;
    if (life === undefined) {
      instance.alive = false;
      return;
    }
    const attempt = () => {
      if (life.ended) return;
      if (life.busy) {
        this.scheduleFor(instance, life, this.now + 5, "close", attempt);
        return;
      }
      this.note(`${instance.name} closes`);
      this.commit(life, "close", () => {
        this.release(
          life,
          life.tasks.all().map((each) => each.name),
        );
        this.endLife(life);
        instance.alive = false;
        // A rolling restart, now and then: a named instance comes back under its name.
        if (
          instance.instanceId !== undefined &&
          this.faultsOn &&
          this.script === undefined &&
          this.random.chance(0.5)
        ) {
          this.schedule(this.now + this.random.int(200, 5_000), "restart", () => {
            if (this.faultsOn) this.startInstance(instance.instanceId);
          });
        }
      });
    };
    this.scheduleFor(instance, life, this.now, "close", attempt);
  }

  // ---- The group -------------------------------------------------------------------------------------

  private removeMember(memberId: string, why: string): void {
    this.members.delete(memberId);
    for (const [task, owner] of [...this.owner]) if (owner === memberId) this.owner.delete(task);
    this.note(`member ${memberId} ${why}`);
    this.rebalance();
  }

  private expireMembers(): void {
    for (const [memberId, member] of [...this.members]) {
      if (this.now - member.lastHeartbeatMs > sessionTimeoutMs) {
        this.counts.expiredMembers++;
        this.removeMember(
          memberId,
          `expires (${member.life.instance.name}${member.departed ? ", departed" : ""})`,
        );
      }
    }
  }

  /** Sticky: a task stays with its member while that member has fewer than its share; the rest go to the least loaded. */
  private rebalance(): void {
    const memberIds = [...this.members.keys()].sort();
    const previous = new Map(this.target);
    this.target.clear();
    if (memberIds.length === 0) return;
    const share = Math.ceil(this.allTasks.length / memberIds.length);
    const load = new Map(memberIds.map((id) => [id, 0]));
    const unplaced: string[] = [];
    for (const task of this.allTasks) {
      const was = previous.get(task);
      if (was !== undefined && load.has(was) && (load.get(was) as number) < share) {
        this.target.set(task, was);
        load.set(was, (load.get(was) as number) + 1);
      } else unplaced.push(task);
    }
    for (const task of unplaced) {
      let best = memberIds[0] as string;
      for (const id of memberIds) if ((load.get(id) as number) < (load.get(best) as number)) best = id;
      this.target.set(task, best);
      load.set(best, (load.get(best) as number) + 1);
      if (previous.get(task) !== undefined && previous.get(task) !== best) this.counts.taskMoves++;
    }
  }

  /** The members and their partitions, as describeGroup shows them. */
  private describeGroup(): { memberId: string; assignment: TopicPartition[] }[] {
    return [...this.members.keys()].map((memberId) => ({
      memberId,
      assignment: this.allTasks
        .filter((task) => this.target.get(task) === memberId)
        .flatMap((task) => this.sourcePartitions(task)),
    }));
  }

  // ---- Standbys ------------------------------------------------------------------------------------

  /** stream-thread.ts lookAtGroup() and StandbyTasks.update(): the copies this member should keep. */
  private lookAtGroup(life: Life): void {
    if (this.profile.numStandbyReplicas === 0 || !this.isMember(life)) return;
    const active = new Set(life.tasks.all().map((each) => each.name));
    const wanted = standbyTasksFor(
      life.memberId,
      this.describeGroup(),
      this.subtopologies,
      this.profile.numStandbyReplicas,
    ).filter((id) => !active.has(taskName(id)));
    const names = new Set(wanted.map(taskName));
    for (const [name, standby] of [...life.standbys]) {
      if (names.has(name)) continue;
      standby.task.close();
      life.standbys.delete(name);
    }
    for (const id of wanted) {
      const name = taskName(id);
      if (life.standbys.has(name)) continue;
      const task = new StreamTask(
        this.topology,
        { ...this.settings, subtopology: id.subtopology, partition: id.partition },
        { send: (record) => life.outbox.push(record) },
      );
      life.standbys.set(name, {
        id,
        task,
        next: new Map([...task.changelogTopics().values()].map((t) => [t, 0])),
      });
    }
  }

  /** The standby reader: each copy follows its changelog partitions (read_committed, exactly once). */
  private followStandbys(life: Life): void {
    for (const standby of life.standbys.values()) {
      for (const [store, topic] of standby.task.changelogTopics()) {
        const from = standby.next.get(topic) ?? 0;
        const entries = this.log.read(topic, standby.id.partition, from, this.isolation);
        const last = entries.at(-1);
        if (last === undefined) continue;
        standby.task.restore(
          store,
          entries.flatMap((entry) => toChangelogRecord(consumed(entry))),
        );
        standby.next.set(topic, last.offset + 1);
      }
    }
  }

  // ---- Heal and close ------------------------------------------------------------------------------

  private heal(): void {
    this.faultsOn = false;
    for (const instance of this.instances) instance.stalledUntil = Math.min(instance.stalledUntil, this.now);
    if (!this.instances.some((instance) => instance.alive && !instance.closing)) this.startInstance();
    this.note("faults stop");
  }

  /** Everything processed and committed, every task held where the group means it, nothing open. */
  private quiet(): boolean {
    if (this.log.openTxns().length > 0) return false;
    for (const task of this.allTasks) {
      const owner = this.owner.get(task);
      if (owner === undefined || this.target.get(task) !== owner) return false;
      // Committed past every record a reader sees (aborted ones at the end need no commit).
      for (const { topic, partition } of this.sourcePartitions(task)) {
        const committed = this.log.committedOffset(topic, partition);
        if (this.log.read(topic, partition, committed, this.isolation, 1).length > 0) return false;
      }
    }
    for (const instance of this.instances) {
      const life = instance.life;
      if (instance.alive && (life === undefined || life.pending.length > 0 || life.busy)) return false;
    }
    return true;
  }

  private stuck(): string {
    const lines = [
      `open txns: ${
        this.log
          .openTxns()
          .map((txn) => `${txn.id}/${txn.producer}`)
          .join(" ") || "none"
      }`,
    ];
    for (const task of this.allTasks) {
      const lag = this.sourcePartitions(task)
        .map(({ topic, partition }) => {
          const end = this.log.end(topic, partition, this.isolation);
          return `${topic}-${partition} ${this.log.committedOffset(topic, partition)}/${end}`;
        })
        .join(", ");
      lines.push(`${task}: target ${this.target.get(task)}, owner ${this.owner.get(task)}; ${lag}`);
    }
    for (const instance of this.instances) {
      const life = instance.life;
      lines.push(
        `${instance.name}: ${instance.alive ? "alive" : "gone"}${instance.closing ? ", closing" : ""}, stalled until ` +
          `${instance.stalledUntil}, member ${life?.memberId ?? "-"}${life?.busy ? ", busy" : ""}, ` +
          `${life?.pending.length ?? 0} pending, fetch ${[...(life?.fetch ?? [])].map(([k, v]) => `${k}:${v}`).join(" ")}`,
      );
    }
    return lines.join("\n");
  }

  private closeAll(): void {
    this.note("closing every instance");
    for (const instance of this.instances) if (instance.alive && !instance.closing) this.close(instance);
  }

  // ---- Checks ----------------------------------------------------------------------------------------

  private shadowWrote(written: Map<string, string[]>, record: OutputRecord): void {
    const list = written.get(record.topic) ?? [];
    list.push(entryText(record.key, record.value));
    written.set(record.topic, list);
  }

  /** Exactly once: the shadows of the tasks whose offsets just committed process the input those cover. */
  private advanceShadows(offsets: readonly Offset[]): void {
    const tasks = new Set<string>();
    for (const { topic, partition } of offsets) {
      const sub = this.subtopologies.find((each) => each.sourceTopics.includes(topic)) as Subtopology;
      tasks.add(taskName({ subtopology: sub.index, partition }));
    }
    for (const name of tasks) this.advanceShadow(this.shadows.get(name) as Shadow);
  }

  private advanceShadow(shadow: Shadow): void {
    const partition = shadow.id.partition;
    const sources = (this.subtopologies[shadow.id.subtopology] as Subtopology).sourceTopics;
    const entries = sources.flatMap((topic) => {
      const key = tpKey(topic, partition);
      const from = shadow.positions.get(key) ?? 0;
      const to = this.log.committedOffset(topic, partition);
      shadow.positions.set(key, to);
      return this.log.read(topic, partition, from, this.isolation).filter((entry) => entry.offset < to);
    });
    entries.sort((a, b) => a.seq - b.seq);
    for (const entry of entries) shadow.task.process(consumed(entry));
  }

  /** Exactly once: a task that starts holds exactly the state of the input the group committed for it. */
  private checkRestored(active: ActiveTask): void {
    const shadow = this.shadows.get(active.name) as Shadow;
    for (const store of active.task.storeNames()) {
      const got = storeDump(active.task.store(store));
      const want = storeDump(shadow.task.store(store));
      if (got.join("\n") !== want.join("\n")) {
        const hidden = this.hiddenCommits(
          active.task.changelogTopics().get(store) as string,
          active.id.partition,
        );
        throw new (hidden === undefined ? InvariantViolation : StaleRestore)(
          `task ${active.name} starts with store ${store} unlike its committed input: ` +
            (hidden === undefined ? "" : `${hidden}; `) +
            `${describeDiff(got, want)}; committed offsets ${this.sourcePartitions(active.name)
              .map(
                ({ topic, partition }) =>
                  `${topic}-${partition}:${this.log.committedOffset(topic, partition)}`,
              )
              .join(" ")}`,
        );
      }
    }
  }

  /** Why a restore of this changelog partition misses committed writes, if it is the open-transaction case. */
  private hiddenCommits(topic: string, partition: number): string | undefined {
    const lso = this.log.end(topic, partition, "read_committed");
    const entries = this.log.entries(topic, partition);
    const hidden = entries.slice(lso).filter((entry) => entry.txn?.state === "committed").length;
    if (hidden === 0) return undefined;
    const holder = (entries[lso] as LogEntry).txn as Txn;
    const member = [...this.members.values()].some(
      (each) => each.life.instance.transactionalId === holder.producer && !each.departed,
    );
    return (
      `the restore stopped at offset ${lso} of ${topic}-${partition}, where txn ${holder.id} of ${holder.producer} ` +
      `(${member ? "a member" : "no longer a member"}, open since t=${holder.startMs}) begins, ` +
      `and ${hidden} committed records of later transactions lie behind it`
    );
  }

  /** Returns the count updates doubled (at least once). */
  private finalCheck(): number {
    const driver = this.referenceDriver();
    if (this.exactlyOnce) this.checkAgainstShadows();
    this.checkStores(driver);
    return this.checkOutputs(driver);
  }

  /** One TopologyTestDriver over every input record, in the order they arrived. */
  private referenceDriver(): TopologyTestDriver {
    const driver = new TopologyTestDriver(this.topology, { applicationId });
    const inputs = new Map(inputTopics.map((topic) => [topic, driver.createInputTopic(topic, S, S)]));
    const entries = inputTopics.flatMap((topic) =>
      Array.from({ length: this.profile.partitions }, (_, p) => this.log.entries(topic, p)).flat(),
    );
    entries.sort((a, b) => a.seq - b.seq);
    for (const entry of entries) {
      inputs
        .get(entry.topic as InputTopic)
        ?.pipeInput(
          S.deserialize(entry.key as Buffer, entry.topic),
          S.deserialize(entry.value as Buffer, entry.topic),
          entry.timestamp,
        );
    }
    return driver;
  }

  /** Exactly once: what committed, per task, is exactly what its never-failing shadow wrote. */
  private checkAgainstShadows(): void {
    for (const shadow of this.shadows.values()) this.advanceShadow(shadow);
    const byOrigin = new Map<string, Map<string, string[]>>();
    for (const topic of this.log.topicNames()) {
      if (inputTopics.includes(topic as InputTopic)) continue;
      for (let p = 0; p < this.log.partitions(topic); p++) {
        for (const entry of this.log.read(topic, p, 0, "read_committed")) {
          const origin = entry.origin as string;
          const written = byOrigin.get(origin) ?? new Map<string, string[]>();
          byOrigin.set(origin, written);
          const list = written.get(topic) ?? [];
          list.push(entryText(entry.key, entry.value));
          written.set(topic, list);
        }
      }
    }
    for (const [name, shadow] of this.shadows) {
      const committed = byOrigin.get(name) ?? new Map<string, string[]>();
      const topicsWritten = new Set([...committed.keys(), ...shadow.written.keys()]);
      for (const topic of topicsWritten) {
        // Sink records of one task spread over partitions by key: compare per key, in order.
        const got = perKey(committed.get(topic) ?? []);
        const want = perKey(shadow.written.get(topic) ?? []);
        for (const key of new Set([...got.keys(), ...want.keys()])) {
          const a = got.get(key) ?? [];
          const b = want.get(key) ?? [];
          if (a.join(" ") !== b.join(" ")) {
            let at = 0;
            while (a[at] === b[at]) at++;
            const around = (list: string[]) =>
              `${list.length} records, from #${Math.max(0, at - 2)}: ${list
                .slice(Math.max(0, at - 2), at + 3)
                .map((each) => readable(each.slice(each.indexOf("=") + 1)))
                .join(" ")}`;
            throw new InvariantViolation(
              `task ${name}: committed ${topic} records of key ${Buffer.from(key, "hex").toString("latin1")} differ ` +
                `from what a task that never failed wrote at #${at}: committed ${around(a)}; never failed ${around(b)}`,
            );
          }
        }
      }
    }
  }

  /** Every store, restored from its committed changelog as a new owner would, against the driver's. */
  private checkStores(driver: TopologyTestDriver): void {
    const restored = new Map<string, string[]>();
    for (const name of this.allTasks) {
      const id = parseTaskName(name);
      const task = new StreamTask(
        this.topology,
        { ...this.settings, subtopology: id.subtopology, partition: id.partition },
        { send: () => undefined },
      );
      for (const [store, topic] of task.changelogTopics()) {
        const entries = this.log.read(topic, id.partition, 0, this.isolation);
        task.restore(
          store,
          entries.flatMap((entry) => toChangelogRecord(consumed(entry))),
        );
        restored.set(store, [...(restored.get(store) ?? []), ...storeDump(task.store(store))]);
      }
    }
    for (const store of Object.values(stores)) {
      // A window store drops windows by its own stream time, which is a partition's here and the whole
      // input's in the driver: compare what the changelogs keep (each key's last write) instead.
      const windowed = store === stores.clickSums;
      const got = windowed ? this.compactedChangelog(store) : (restored.get(store) ?? []).sort();
      const want = windowed ? compacted(driver.changelog(store)) : storeDump(driver.getStateStore(store));
      if (this.exactlyOnce || store === stores.customers) {
        if (got.join("\n") !== want.join("\n"))
          throw new InvariantViolation(
            `store ${store} restored from its changelogs: ${describeDiff(got, want)}`,
          );
        continue;
      }
      // At least once: replays may add, never take away.
      const number = (text: string) =>
        windowed ? int64.deserialize(Buffer.from(text, "hex"), store) : Number(text);
      const gotValues = new Map(got.map((line) => splitDump(line)));
      for (const [key, value] of want.map((line) => splitDump(line))) {
        const actual = gotValues.get(key);
        if (actual === undefined || number(actual) < number(value))
          throw new InvariantViolation(
            `store ${store} lost updates: ${key} is ${actual}, at least ${value} expected`,
          );
      }
    }
  }

  /** A changelog topic's committed records (every partition), each key's last write. */
  private compactedChangelog(store: string): string[] {
    const topic = changelogTopic(applicationId, store);
    const records = Array.from({ length: this.log.partitions(topic) }, (_, p) =>
      this.log.read(topic, p, 0, this.isolation).flatMap((entry) => toChangelogRecord(consumed(entry))),
    ).flat();
    return compacted(records);
  }

  private checkOutputs(driver: TopologyTestDriver): number {
    const read = (topic: string) => {
      const updates = new Map<string, number[]>();
      for (let p = 0; p < this.log.partitions(topic); p++) {
        for (const entry of this.log.read(topic, p, 0, this.isolation)) {
          const key = S.deserialize(entry.key as Buffer, topic);
          updates.set(key, [...(updates.get(key) ?? []), int64.deserialize(entry.value as Buffer, topic)]);
        }
      }
      return updates;
    };
    const reference = (topic: string) => {
      const updates = new Map<string, number[]>();
      for (const { key, value } of driver.createOutputTopic(topic, S, int64).readKeyValuesToList())
        updates.set(key, [...(updates.get(key) ?? []), value]);
      return updates;
    };
    // Counts: each key's updates are 1..n, n its input records.
    const inputCounts = new Map<string, number>();
    for (let p = 0; p < this.profile.partitions; p++) {
      for (const entry of this.log.entries(topics.words, p)) {
        const key = S.deserialize(entry.key as Buffer, topics.words);
        inputCounts.set(key, (inputCounts.get(key) ?? 0) + 1);
      }
    }
    const counts = read(topics.wordCounts);
    let doubled = 0;
    for (const [key, n] of inputCounts) {
      const updates = counts.get(key) ?? [];
      const exact = Array.from({ length: n }, (_, i) => i + 1);
      if (updates.join(",") === exact.join(",")) continue;
      if (this.exactlyOnce)
        throw new InvariantViolation(
          `count of ${key}: committed updates [${updates.join(",")}], expected 1..${n}`,
        );
      const last = updates.at(-1) ?? 0;
      if (last < n)
        throw new InvariantViolation(`count of ${key} lost updates: [${updates.join(",")}], n = ${n}`);
      doubled += Math.max(1, updates.length - n);
    }
    for (const key of counts.keys())
      if (!inputCounts.has(key)) throw new InvariantViolation(`a count for ${key}, which no input has`);
    const expectedCounts = reference(topics.wordCounts);
    // Windowed sums: each window's update sequence is the driver's (a window's records are one partition's).
    // At least once, a replay after a crash may find the window gone from the restored store (whose stream
    // time the changelog of the replayed records had moved on) and emit a sum from zero: counted only.
    const sums = read(topics.clickSums);
    const expectedSums = reference(topics.clickSums);
    for (const key of new Set([...sums.keys(), ...expectedSums.keys()])) {
      const got = sums.get(key) ?? [];
      const want = expectedSums.get(key) ?? [];
      if (!this.exactlyOnce) {
        if (got.some((value, i) => i > 0 && value < (got[i - 1] as number))) this.windowRegressions++;
        continue;
      }
      if (got.join(",") !== want.join(","))
        throw new InvariantViolation(
          `windowed sum ${key}: committed [${got.join(",")}], the driver's [${want.join(",")}]`,
        );
    }
    // Totals per region: the increments are the joined orders, in another interleaving than the driver's.
    const totals = read(topics.regionTotals);
    const expectedTotals = reference(topics.regionTotals);
    for (const key of new Set([...totals.keys(), ...expectedTotals.keys()])) {
      const got = totals.get(key) ?? [];
      const want = expectedTotals.get(key) ?? [];
      if (!this.exactlyOnce) {
        if ((got.at(-1) ?? 0) < (want.at(-1) ?? 0))
          throw new InvariantViolation(
            `region total ${key} lost updates: [${got.join(",")}], the driver's [${want.join(",")}]`,
          );
        continue;
      }
      const steps = (values: number[]) =>
        values.map((value, i) => value - (values[i - 1] ?? 0)).sort((a, b) => a - b);
      if (got.at(-1) !== want.at(-1) || steps(got).join(",") !== steps(want).join(","))
        throw new InvariantViolation(
          `region total ${key}: committed [${got.join(",")}], the driver's [${want.join(",")}]`,
        );
    }
    if (this.exactlyOnce) {
      for (const [key, want] of expectedCounts) {
        if ((counts.get(key) ?? []).join(",") !== want.join(","))
          throw new InvariantViolation(`count of ${key} differs from the driver's`);
      }
    }
    return doubled;
  }

  private report(doubled: number): SimulationReport {
    return {
      seed: this.seed,
      guarantee: this.guarantee,
      profile: this.describeProfile(),
      steps: this.steps,
      simulatedMs: this.now,
      ...this.counts,
      committedTxns: this.log.committedTxns,
      abortedTxns: this.log.abortedTxns,
      doubled,
      windowRegressions: this.windowRegressions,
      traceHash: (this.traceHash >>> 0).toString(16),
    };
  }
}

function entryText(key: Buffer | null, value: Buffer | null): string {
  return `${key?.toString("hex") ?? "-"}=${value?.toString("hex") ?? "-"}`;
}

/** A value as hex, or as a number when it is 8 bytes (the Int64 serde's counts and sums). */
function readable(hex: string): string {
  return hex.length === 16 ? String(Buffer.from(hex, "hex").readBigInt64BE()) : hex;
}

function perKey(entries: readonly string[]): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const entry of entries) {
    const key = entry.slice(0, entry.indexOf("="));
    byKey.set(key, [...(byKey.get(key) ?? []), entry]);
  }
  return byKey;
}

/** A store's entries as sorted "key => value" lines (key-value and window stores alike). */
function storeDump(store: StateStore): string[] {
  const entries = (store as unknown as { all(): KeyValue<unknown, unknown>[] }).all();
  return entries.map(({ key, value }) => `${JSON.stringify(key)} => ${JSON.stringify(value)}`).sort();
}

/** Each key's last write, as sorted "key => value" lines in hex; tombstones drop the key. */
function compacted(records: readonly ChangelogRecord[]): string[] {
  const last = new Map<string, string>();
  for (const { key, value } of records) {
    if (value === null) last.delete(key.toString("hex"));
    else last.set(key.toString("hex"), value.toString("hex"));
  }
  return [...last].map(([key, value]) => `${key} => ${value}`).sort();
}

function splitDump(line: string): [string, string] {
  const at = line.indexOf(" => ");
  return [line.slice(0, at), line.slice(at + 4)];
}

function describeDiff(got: readonly string[], want: readonly string[]): string {
  const wanted = new Set(want);
  const have = new Set(got);
  const extra = got.filter((line) => !wanted.has(line)).slice(0, 5);
  const missing = want.filter((line) => !have.has(line)).slice(0, 5);
  return `has [${extra.join("; ")}] where it should have [${missing.join("; ")}]`;
}
