// A deterministic simulation of a Raft cluster: N cores in one process over a
// simulated network and clock, every choice drawn from one seeded PRNG. The
// fault phase drops, duplicates, delays and reorders messages, partitions the
// network (both ways and one way), crashes nodes, cuts the power of one node or
// of all at once, takes snapshots, moves leadership and membership, and runs a
// client that proposes and reads through random nodes. Each node keeps its log
// in the production LevelLogStorage over a PowerLossDisk: a crashed process
// restarts from everything it wrote, a node that lost power from what it had
// synced (and some of the rest).
// The Checker verifies Raft's safety properties after every event. Then the
// liveness phase: faults stop, the network heals, every node is up — a leader
// must be elected and a proposal applied everywhere within a bounded time.

import { EventQueue, Random } from "@brook/testkit";
import {
  decodeEntry,
  entryKey,
  LevelLogStorage,
  snapshotMetadataKey,
} from "../../src/driver/level-storage.js";
import {
  type ConfChange,
  type Membership,
  type Message,
  type NodeId,
  NotLeaderError,
  RaftCore,
  RaftError,
  type SnapshotMetadata,
} from "../../src/index.js";
import { Checker, type NodeView, SafetyViolation } from "./checker.js";
import { PowerLossDisk } from "./power-loss-disk.js";
import { HashChainMachine } from "./state-machine.js";

/** Simulated time units per tick (a tick is "100 ms"; a unit "10 ms"). */
const tickUnits = 10;
const electionTicks = 10;

export interface SimulationOptions {
  /** Ticks of the fault phase. */
  readonly faultTicks?: number;
  /** Ticks the healed cluster gets to elect a leader and apply a proposal everywhere. */
  readonly livenessTicksMax?: number;
}

export interface SimulationReport {
  readonly seed: number;
  readonly voters: number;
  readonly learners: number;
  readonly events: number;
  readonly committed: number;
  readonly readsAnswered: number;
  readonly crashes: number;
  readonly powerLosses: number;
  readonly partitions: number;
  readonly snapshotsInstalled: number;
  readonly transfersStarted: number;
  readonly membershipChanges: number;
  readonly highestTerm: number;
  readonly livenessTicks: number;
}

/** How hostile this seed's world is; drawn once per seed so seeds cover calm and stormy runs. */
interface FaultProfile {
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly reorderRate: number;
  readonly delayMaxUnits: number;
  readonly reorderDelayMaxUnits: number;
  readonly diskDelayMaxUnits: number;
  readonly crashWeight: number;
  /** Chance that a newly elected leader crashes moments later (short-lived leaders, diverging logs). */
  readonly newLeaderCrashRate: number;
  /** Every node loses power at once. */
  readonly powerLossEverywhereWeight: number;
  readonly partitionWeight: number;
  readonly transferWeight: number;
  readonly confChangeWeight: number;
  readonly faultEveryUnitsMax: number;
  readonly clientEveryUnitsMax: number;
  readonly snapshotEveryEntries: number;
  readonly maxMsgBytes: number;
  readonly maxInflightMsgs: number;
  /** Small values make the leader refuse proposals when followers fall behind (backpressure). */
  readonly uncommittedBytesMax: number;
}

const calmNetwork = { dropRate: 0, duplicateRate: 0, reorderRate: 0, delayMaxUnits: 3 } as const;

type SimEvent =
  | { readonly kind: "tick"; readonly node: NodeId }
  | { readonly kind: "deliver"; readonly message: Message }
  | { readonly kind: "ready"; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: "client" }
  | { readonly kind: "fault" }
  | { readonly kind: "restart"; readonly node: NodeId }
  | { readonly kind: "crash"; readonly node: NodeId; readonly incarnation: number; readonly power: boolean }
  | { readonly kind: "heal" };

const decoder = new TextDecoder();
/** Stored snapshot metadata → its index, parsed once. */
const snapshotIndexes = new WeakMap<Uint8Array, number>();

function snapshotIndexOf(stored: Uint8Array): number {
  let index = snapshotIndexes.get(stored);
  if (index === undefined) {
    index = (JSON.parse(decoder.decode(stored)) as SnapshotMetadata).index;
    snapshotIndexes.set(stored, index);
  }
  return index;
}

class SimNode implements NodeView {
  core: RaftCore | undefined;
  /** Open while the node is up. */
  storage: LevelLogStorage | undefined;
  readonly disk: PowerLossDisk;
  machine = new HashChainMachine();
  readyScheduled = false;
  /** Bumped on every crash, so a Ready scheduled before the crash is not processed after it. */
  incarnation = 0;
  /** The last term this node was seen leading. */
  ledTerm = 0;

  constructor(
    readonly id: NodeId,
    readonly membership: Membership,
    random: Random,
  ) {
    this.disk = new PowerLossDisk(`/node-${id}/raft`, random);
  }

  /** Whether entry index:term (or a snapshot past it) would survive this node losing power now. */
  durablyHolds(index: number, term: number): boolean {
    const metadata = this.disk.durable(snapshotMetadataKey);
    if (metadata && snapshotIndexOf(metadata) >= index) return true;
    const value = this.disk.durable(entryKey(index));
    return value !== undefined && decodeEntry(index, value).term === term;
  }
}

export class Simulation {
  readonly seed: number;
  readonly checker = new Checker();
  private readonly random: Random;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes: SimNode[] = [];
  private readonly profile: FaultProfile;
  private network: { dropRate: number; duplicateRate: number; reorderRate: number; delayMaxUnits: number };
  private readonly faultTicks: number;
  private readonly livenessTicksMax: number;
  private readonly voterCount: number;
  private readonly learnerCount: number;
  /** "from>to" pairs whose messages are lost (partitions). */
  private blocked = new Set<string>();
  private partitioned = false;
  private faultsOn = true;
  private now = 0;
  private events = 0;
  private sequence = 0;
  private crashes = 0;
  private powerLosses = 0;
  private partitions = 0;
  private snapshotsInstalled = 0;
  private transfersStarted = 0;
  private membershipChanges = 0;

  constructor(seed: number, options: SimulationOptions = {}) {
    this.seed = seed;
    this.random = new Random(seed);
    this.faultTicks = options.faultTicks ?? 2000;
    this.livenessTicksMax = options.livenessTicksMax ?? 600;
    this.voterCount = this.random.pick([3, 5]);
    this.learnerCount = this.random.chance(0.3) ? 1 : 0;
    this.profile = this.drawProfile();
    this.network = this.profile;
    const ids = Array.from({ length: this.voterCount + this.learnerCount }, (_, i) => i + 1);
    const membership = { voters: ids.slice(0, this.voterCount), learners: ids.slice(this.voterCount) };
    for (const id of ids) this.nodes.push(new SimNode(id, membership, this.random));
  }

  async run(): Promise<SimulationReport> {
    for (const node of this.nodes) await this.start(node);
    for (const node of this.nodes)
      this.queue.push(this.random.int(0, tickUnits - 1), { kind: "tick", node: node.id });
    this.queue.push(this.random.int(1, this.profile.clientEveryUnitsMax), { kind: "client" });
    this.queue.push(this.random.int(1, this.profile.faultEveryUnitsMax), { kind: "fault" });
    await this.runUntil(this.faultTicks * tickUnits);
    const livenessTicks = await this.liveness();
    return {
      seed: this.seed,
      voters: this.voterCount,
      learners: this.learnerCount,
      events: this.events,
      committed: this.checker.committed.size,
      readsAnswered: this.checker.readsAnswered,
      crashes: this.crashes,
      powerLosses: this.powerLosses,
      partitions: this.partitions,
      snapshotsInstalled: this.snapshotsInstalled,
      transfersStarted: this.transfersStarted,
      membershipChanges: this.membershipChanges,
      highestTerm: Math.max(...this.nodes.map((node) => node.core?.term ?? 0)),
      livenessTicks,
    };
  }

  private drawProfile(): FaultProfile {
    const r = this.random;
    return {
      dropRate: r.pick([0, 0.01, 0.05, 0.15]),
      duplicateRate: r.pick([0, 0.02, 0.1]),
      reorderRate: r.pick([0, 0.05, 0.2]),
      delayMaxUnits: r.int(1, 15),
      reorderDelayMaxUnits: r.int(10, 120),
      diskDelayMaxUnits: r.int(0, 5),
      crashWeight: r.pick([0, 1, 3]),
      newLeaderCrashRate: r.pick([0, 0.2, 0.5]),
      powerLossEverywhereWeight: r.pick([0, 1]),
      partitionWeight: r.pick([0, 1, 3]),
      transferWeight: r.pick([0, 1]),
      confChangeWeight: this.learnerCount > 0 ? r.pick([0, 1, 2]) : 0,
      faultEveryUnitsMax: r.pick([50, 150, 400]),
      clientEveryUnitsMax: r.pick([5, 20, 60]),
      snapshotEveryEntries: r.pick([3, 10, 40]),
      maxMsgBytes: r.pick([64, 1024, 1 << 20]),
      maxInflightMsgs: r.pick([1, 4, 256]),
      uncommittedBytesMax: r.pick([256, 4096]),
    };
  }

  // ---- The event loop ----------------------------------------------------------------------

  private async runUntil(endTime: number, stop?: () => boolean): Promise<boolean> {
    for (;;) {
      const next = this.queue.pop();
      if (!next || next.time > endTime) {
        if (next) this.queue.push(next.time, next.event);
        this.now = endTime;
        return false;
      }
      this.now = next.time;
      const handling = this.handle(next.event);
      if (handling) await handling; // only storage events wait; the rest stay synchronous
      this.events++;
      this.noticeNewLeaders();
      this.checker.afterStep(this.nodes);
      if (stop?.()) return true;
    }
  }

  private handle(event: SimEvent): Promise<void> | undefined {
    switch (event.kind) {
      case "tick":
        this.tick(this.node(event.node));
        return;
      case "deliver":
        this.deliver(event.message);
        return;
      case "ready":
        return this.processReady(this.node(event.node), event.incarnation);
      case "client":
        this.clientRequest();
        return;
      case "fault":
        this.injectFault();
        return;
      case "restart":
        return this.start(this.node(event.node));
      case "crash":
        if (this.node(event.node).incarnation === event.incarnation)
          this.crashAndRestart(this.node(event.node), event.power);
        return;
      case "heal":
        this.blocked.clear();
        this.partitioned = false;
        return;
    }
  }

  private node(id: NodeId): SimNode {
    return this.nodes[id - 1];
  }

  private tick(node: SimNode): void {
    this.queue.push(this.now + tickUnits, { kind: "tick", node: node.id });
    if (!node.core) return;
    node.core.tick();
    this.scheduleReady(node);
  }

  // ---- Nodes: start, crash, Ready ------------------------------------------------------------

  /** Opens the node's log as the driver does (recovering what its disk kept) and starts its core. */
  private async start(node: SimNode): Promise<void> {
    if (node.core) return;
    const storage = await LevelLogStorage.open(node.disk.storeDir, node.membership, node.disk);
    node.storage = storage;
    node.core = new RaftCore({
      id: node.id,
      storage,
      random: () => this.random.next(),
      electionTicks,
      heartbeatTicks: 1,
      maxMsgBytes: this.profile.maxMsgBytes,
      maxInflightMsgs: this.profile.maxInflightMsgs,
      uncommittedBytesMax: this.profile.uncommittedBytesMax,
    });
    // The state machine is volatile: rebuilt from the snapshot, then from committed entries.
    node.machine = HashChainMachine.decode(storage.snapshot().data);
    this.scheduleReady(node);
  }

  /** The process dies; with `power`, the machine loses power too, and what was not synced may be lost. */
  private crash(node: SimNode, power: boolean): void {
    node.core = undefined;
    node.storage = undefined;
    node.readyScheduled = false;
    node.incarnation++;
    this.crashes++;
    if (!power) {
      node.disk.crashProcess();
      return;
    }
    this.powerLosses++;
    node.disk.losePower();
  }

  private scheduleReady(node: SimNode): void {
    if (node.readyScheduled || !node.core) return;
    node.readyScheduled = true;
    const at = this.now + this.random.int(0, this.profile.diskDelayMaxUnits);
    this.queue.push(at, { kind: "ready", node: node.id, incarnation: node.incarnation });
  }

  /**
   * The driver's loop: persist, then send, then apply, then advance. Atomic: a crash falls before or
   * after; what a power loss takes from the persisted Ready is the disk's to decide.
   */
  private async processReady(node: SimNode, incarnation: number): Promise<void> {
    const { core, storage } = node;
    if (!core || !storage || incarnation !== node.incarnation) return;
    node.readyScheduled = false;
    if (!core.hasReady()) return;
    const ready = core.ready();
    if (ready.snapshot) this.checker.beforeSnapshotRestore(node, ready.snapshot);
    if (ready.entries.length > 0) this.checker.beforeAppend(node, ready.entries);
    await storage.persist(ready);
    if (ready.entries.length > 0) this.checker.afterAppend(node, ready.entries);
    if (ready.snapshot) {
      node.machine = HashChainMachine.decode(ready.snapshot.data);
      this.checker.restoredSnapshot(node, node.machine.index, node.machine.hash);
      this.snapshotsInstalled++;
    }
    for (const message of ready.messages) this.send(message);
    for (const entry of ready.committedEntries) {
      if (entry.index !== node.machine.index + 1) {
        throw new SafetyViolation(
          "state machine safety",
          `node ${node.id} applies ${entry.index} after ${node.machine.index}`,
        );
      }
      node.machine.apply(entry);
      this.checker.applied(node, entry, node.machine.hash);
    }
    for (const state of ready.readStates) this.checker.readAnswered(node, state);
    core.advance(ready);
    await this.maybeSnapshot(node, core, storage);
    if (core.hasReady()) this.scheduleReady(node);
  }

  /** Snapshots the state machine every few entries and compacts the log up to it, as the driver does. */
  private async maybeSnapshot(node: SimNode, core: RaftCore, storage: LevelLogStorage): Promise<void> {
    const snapshotIndex = storage.snapshot().metadata.index;
    if (node.machine.index - snapshotIndex < this.profile.snapshotEveryEntries) return;
    await storage.compact(node.machine.index, core.membership(), node.machine.encode());
  }

  // ---- The network ---------------------------------------------------------------------------

  private send(message: Message): void {
    if (this.blocked.has(`${message.from}>${message.to}`) || this.random.chance(this.network.dropRate))
      return;
    const copies = this.random.chance(this.network.duplicateRate) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      let delay = this.random.int(1, this.network.delayMaxUnits);
      if (this.random.chance(this.network.reorderRate))
        delay += this.random.int(0, this.profile.reorderDelayMaxUnits);
      this.queue.push(this.now + delay, { kind: "deliver", message });
    }
  }

  private deliver(message: Message): void {
    const node = this.nodes[message.to - 1];
    if (!node?.core || this.blocked.has(`${message.from}>${message.to}`)) return;
    node.core.step(message);
    this.scheduleReady(node);
  }

  // ---- The client and the faults ---------------------------------------------------------------

  private upNodes(): SimNode[] {
    return this.nodes.filter((node) => node.core);
  }

  private leaders(): SimNode[] {
    return this.nodes.filter((node) => node.core?.role === "leader");
  }

  private clientRequest(): void {
    if (!this.faultsOn) return;
    this.queue.push(this.now + this.random.int(1, this.profile.clientEveryUnitsMax), { kind: "client" });
    const up = this.upNodes();
    if (up.length === 0) return;
    // Like a client with a leader cache: usually straight to the leader the node names, sometimes not.
    const picked = this.random.pick(up);
    const named = picked.core?.leader ? this.nodes[picked.core.leader - 1] : undefined;
    const node = named?.core && this.random.chance(0.75) ? named : picked;
    if (this.random.chance(0.65)) this.propose(node, `p${this.seed}-${++this.sequence}`);
    else this.read(node);
  }

  /** Proposes on `node`, or on the leader it names. Returns whether some leader took it. */
  private propose(node: SimNode, payload: string): boolean {
    try {
      node.core!.propose(new TextEncoder().encode(payload));
      this.scheduleReady(node);
      return true;
    } catch (error) {
      if (error instanceof NotLeaderError && error.leader !== 0 && error.leader !== node.id) {
        const leader = this.nodes[error.leader - 1];
        if (leader?.core) return this.propose(leader, payload);
      }
      if (error instanceof RaftError) return false;
      throw error;
    }
  }

  private read(node: SimNode): void {
    const context = new TextEncoder().encode(`r${this.seed}-${++this.sequence}`);
    this.checker.readIssued(context);
    try {
      node.core!.readIndex(context);
      this.scheduleReady(node);
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
    }
  }

  private injectFault(): void {
    if (!this.faultsOn) return;
    this.queue.push(this.now + this.random.int(1, this.profile.faultEveryUnitsMax), { kind: "fault" });
    const p = this.profile;
    const choices: [number, () => void][] = [
      [p.crashWeight, () => this.crashSomeone()],
      [p.powerLossEverywhereWeight, () => this.losePowerEverywhere()],
      [p.partitionWeight, () => this.partition()],
      [p.transferWeight, () => this.transferLeadership()],
      [p.confChangeWeight, () => this.changeMembership()],
    ];
    const total = choices.reduce((sum, [weight]) => sum + weight, 0);
    if (total === 0) return;
    let pick = this.random.next() * total;
    for (const [weight, action] of choices) {
      pick -= weight;
      if (pick < 0) {
        action();
        return;
      }
    }
  }

  /** Half the crashes hit the leader: that is where the interesting histories start. */
  private crashSomeone(): void {
    const up = this.upNodes();
    const leader = this.leaders()[0];
    const node =
      leader && this.random.chance(0.5) ? leader : up.length > 0 ? this.random.pick(up) : undefined;
    if (node) this.crashAndRestart(node, this.random.chance(0.5));
  }

  /** Power loss everywhere: every node goes down at the same instant; they come back one by one. */
  private losePowerEverywhere(): void {
    for (const node of this.upNodes()) this.crashAndRestart(node, true);
  }

  private crashAndRestart(node: SimNode, power: boolean): void {
    this.crash(node, power);
    this.queue.push(this.now + this.random.int(1, 40) * tickUnits, { kind: "restart", node: node.id });
  }

  /** Some new leaders crash while they replicate their first entries (the "figure 8" histories). */
  private noticeNewLeaders(): void {
    for (const node of this.nodes) {
      const core = node.core;
      if (core?.role !== "leader" || node.ledTerm === core.term) continue;
      node.ledTerm = core.term;
      if (this.faultsOn && this.random.chance(this.profile.newLeaderCrashRate)) {
        const at = this.now + this.random.int(0, 2 * tickUnits);
        const power = this.random.chance(0.5);
        this.queue.push(at, { kind: "crash", node: node.id, incarnation: node.incarnation, power });
      }
    }
  }

  private partition(): void {
    if (this.partitioned) return;
    this.partitioned = true;
    this.partitions++;
    const ids = this.nodes.map((node) => node.id);
    const leader = this.leaders()[0];
    if (this.random.chance(0.6)) {
      // Symmetric: one side cannot talk to the other, either way; often the leader's side is a minority.
      const side = new Set(ids.filter(() => this.random.chance(0.5)));
      if (leader && this.random.chance(0.5)) {
        side.clear();
        side.add(leader.id);
        if (this.random.chance(0.5)) side.add(this.random.pick(ids));
      }
      for (const a of ids)
        for (const b of ids) if (side.has(a) !== side.has(b)) this.blocked.add(`${a}>${b}`);
    } else {
      // One way: some links lose messages in one direction only.
      const links = this.random.int(1, ids.length);
      for (let i = 0; i < links; i++) this.blocked.add(`${this.random.pick(ids)}>${this.random.pick(ids)}`);
    }
    this.queue.push(this.now + this.random.int(5, 80) * tickUnits, { kind: "heal" });
  }

  private transferLeadership(): void {
    const leader = this.leaders()[0];
    if (!leader?.core) return;
    const target = this.random.pick(leader.core.membership().voters);
    try {
      leader.core.transferLeadership(target);
      this.transfersStarted++;
      this.scheduleReady(leader);
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
    }
  }

  /** Promotes the learner, or demotes a voter to learner (keeping at least three voters). */
  private changeMembership(): void {
    const leader = this.leaders()[0];
    if (!leader?.core) return;
    const { voters, learners } = leader.core.membership();
    let change: ConfChange;
    if (learners.length > 0) change = { type: "add-voter", nodeId: this.random.pick(learners) };
    else if (voters.length > 3) change = { type: "add-learner", nodeId: this.random.pick(voters) };
    else return;
    try {
      leader.core.proposeConfChange(change);
      this.membershipChanges++;
      this.scheduleReady(leader);
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
    }
  }

  // ---- Liveness -------------------------------------------------------------------------------

  /** Heals everything, then requires a proposal applied on every node. Returns the ticks it took. */
  private async liveness(): Promise<number> {
    this.faultsOn = false;
    this.blocked.clear();
    this.partitioned = false;
    this.network = calmNetwork;
    for (const node of this.nodes) await this.start(node);
    const startTime = this.now;
    const payloads: string[] = [];
    let proposer: { node: SimNode; term: number } | undefined;
    let attemptedAt = Number.NEGATIVE_INFINITY;
    const done = () => {
      // Applied everywhere: every state machine (entry by entry, or through a snapshot) is past it.
      const appliedAt = payloads.map((payload) => this.checker.appliedIndexOf.get(`normal:${payload}`));
      if (
        appliedAt.some(
          (index) => index !== undefined && this.nodes.every((node) => node.machine.index >= index),
        )
      ) {
        return true;
      }
      const leader = this.leaders()[0];
      const stale = proposer?.node.core?.role !== "leader" || proposer.node.core.term !== proposer.term;
      if (leader?.core && stale && this.now - attemptedAt >= tickUnits) {
        attemptedAt = this.now;
        const payload = `live${this.seed}-${payloads.length}`;
        if (this.propose(leader, payload)) {
          payloads.push(payload);
          proposer = { node: leader, term: leader.core.term };
        }
      }
      return false;
    };
    const deadline = startTime + this.livenessTicksMax * tickUnits;
    if (!(await this.runUntil(deadline, done))) {
      const states = this.nodes
        .map((node) => `${node.id}:${node.core?.role}@${node.core?.term} commit=${node.core?.commitIndex}`)
        .join(" ");
      throw new SafetyViolation(
        "liveness",
        `no proposal was applied on every node within ${this.livenessTicksMax} ticks of healing (${states})`,
      );
    }
    return Math.ceil((this.now - startTime) / tickUnits);
  }
}

export function runSimulation(seed: number, options?: SimulationOptions): Promise<SimulationReport> {
  return new Simulation(seed, options).run();
}
