// One Raft member as a running service: it owns everything the pure core
// leaves out — the tick timer, the durable log, the network and the state
// machine — and runs the Ready loop in the order the core demands:
// persist (fsync) → send → apply → advance.
//
// Proposals are refused on followers (NotControllerError names the leader): the
// caller knows where to go, and only the leader can tell when — and whether —
// its entry commits. Reads are served on any node via read index.

import { BrookError } from "@brook/protocol";
import { electionTicksDefault, heartbeatTicksDefault } from "../limits.js";
import { type PeerProgress, RaftCore } from "../raft.js";
import type { DeliveryFailure, RaftTransport } from "../transport/transport.js";
import {
  type Entry,
  type Membership,
  type Message,
  NONE,
  type NodeId,
  type ReadState,
  type Ready,
  type Role,
  type SoftState,
} from "../types.js";
import { fromCoreError, NotControllerError } from "./errors.js";
import { LevelLogStorage, type RaftDisk } from "./level-storage.js";
import { type Random, systemRandom, systemTicker, type Ticker } from "./runtime.js";

// ---- limits and defaults -----------------------------------------------------

/**
 * 100 ms per tick: with the core's election timeout of 10 ticks (randomized
 * to 10–19) a follower notices a dead leader after 1–2 s and a new leader is
 * elected a round trip later; a heartbeat every tick keeps a healthy leader's
 * followers ten heartbeats inside their timeout even on a busy two-core machine.
 */
export const tickMsDefault = 100;
/**
 * Take a snapshot and compact the log after this many entries applied since
 * the last one: bounds the log held in memory and on disk, and what a
 * restarting node replays.
 */
export const snapshotEntriesDefault = 10_000;
/** A proposal not applied by then is rejected as REQUEST_TIMED_OUT: its outcome is unknown. */
export const proposalTimeoutMs = 10_000;
/** A read whose read index is not confirmed and applied by then is rejected as REQUEST_TIMED_OUT. */
export const readTimeoutMs = 5_000;
/** A leadership transfer not finished by then is abandoned (the core gives up after an election timeout). */
export const transferTimeoutMs = 5_000;
/** Proposals waiting to be applied; beyond this, propose refuses rather than queue without bound. */
export const pendingProposalsMax = 100_000;
/** One entry must fit a gRPC message with room to spare (grpcMessageBytesMax is 64 MiB). */
export const entryBytesMax = 8 * 1024 * 1024;

// ---- the state machine -------------------------------------------------------

/** What the replicated log drives. Brook's controller is one. */
export interface StateMachine {
  /** Applies committed entries (normal entries with data, in index order). */
  apply(entries: readonly Entry[]): Promise<void> | void;
  /** The state after every entry applied so far, encoded. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's. */
  restore(data: Uint8Array): void;
  /** Whether an entry's data is one apply() accepts; others are refused when proposed. Default: all are. */
  isValidEntry?(data: Uint8Array): boolean;
}

export interface RaftNodeOptions {
  readonly id: NodeId;
  /** Where the node's `level` database lives. */
  readonly dataDir: string;
  /** The file system under it: the real one by default. */
  readonly disk?: RaftDisk;
  /** The voters of a brand-new cluster; ignored once the node has stored a membership. */
  readonly voters: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  readonly stateMachine: StateMachine;
  /** The node owns it from here on and closes it on close(). */
  readonly transport: RaftTransport;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly snapshotEntries?: number;
  readonly ticker?: Ticker;
  readonly random?: Random;
  /** Called whenever the role or the known leader changes (e.g. to start or stop serving as controller). */
  readonly onStateChange?: (state: SoftState & { readonly term: number }) => void;
  /**
   * Called once when the node fails for good: a write or fsync of its log, hard state or snapshot
   * failed (STORAGE_ERROR), or the state machine threw. The node has stopped by then: it persists,
   * sends and applies nothing more, and rejects every request. What it wrote before may not be on
   * disk, so only a restart (recovering from the disk) can bring it back: a server ends the process.
   */
  readonly onFatal?: (error: BrookError) => void;
}

export interface RaftNodeStatus {
  readonly id: NodeId;
  readonly role: Role;
  /** NONE (0) while no leader is known. */
  readonly leader: NodeId;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly membership: Membership;
  /** On the leader, every voter and learner (itself included) by id, in id order; empty on other roles. */
  readonly progress: ReadonlyMap<NodeId, MemberProgress>;
}

/** How far one member's log is behind the leader's, as the leader sees it. */
export interface MemberProgress {
  readonly id: NodeId;
  readonly isLearner: boolean;
  /** The last index known to be replicated on the member. */
  readonly match: number;
  /** The leader's last index minus `match`; 0 for the leader itself. */
  readonly lag: number;
  /**
   * Milliseconds since the leader last received a message from the member,
   * to the tick (since this node started if never); 0 for the leader itself.
   */
  readonly lastContactMs: number;
}

interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
}

interface PendingProposal extends Waiter<number> {
  readonly term: number;
  readonly deadlineTick: number;
}

interface PendingRead {
  readonly waiters: Waiter<void>[];
  readonly deadlineTick: number;
  /** Known once the leader has confirmed it. */
  index?: number;
}

interface LeaderWaiter extends Waiter<NodeId> {
  readonly until: (leader: NodeId) => boolean;
  deadlineTick: number;
  /** A closing node's transfer: once it has stepped down, it waits one election timeout at most. */
  readonly closing: boolean;
}

export class RaftNode {
  readonly id: NodeId;
  private readonly core: RaftCore;
  private readonly stopTicker: () => void;
  private readonly tickMs: number;
  private readonly electionTicks: number;
  private readonly snapshotEntries: number;
  private ticks = 0;
  /** Peer → the tick at which a message from it last arrived: for status().progress, not for the core. */
  private readonly lastContactTicks = new Map<NodeId, number>();
  private softState: SoftState = { leader: NONE, role: "follower" };
  private applied: number;
  private snapshotIndex: number;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** The Ready loop is draining the core; a new event needs no new loop. */
  private looping = false;
  private loop: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  /** Index → proposal, kept in index order (and so in deadline order): see trackProposal. */
  private readonly proposals = new Map<number, PendingProposal>();
  private lastProposedIndex = 0;
  /** Reads issued in this turn of the event loop: they share one read-index request. */
  private readBatch: Waiter<void>[] = [];
  private readonly reads = new Map<string, PendingRead>();
  private readSequence = 0;
  private snapshotWaiters: Waiter<void>[] = [];
  private leaderWaiters: LeaderWaiter[] = [];

  private constructor(
    private readonly storage: LevelLogStorage,
    private readonly stateMachine: StateMachine,
    private readonly transport: RaftTransport,
    private readonly options: RaftNodeOptions,
  ) {
    this.id = options.id;
    this.tickMs = options.tickMs ?? tickMsDefault;
    this.electionTicks = options.electionTicks ?? electionTicksDefault;
    this.snapshotEntries = options.snapshotEntries ?? snapshotEntriesDefault;
    const snapshot = storage.snapshot();
    this.snapshotIndex = snapshot.metadata.index;
    this.applied = snapshot.metadata.index;
    if (this.applied > 0) stateMachine.restore(snapshot.data);
    this.core = new RaftCore({
      id: options.id,
      storage,
      electionTicks: this.electionTicks,
      heartbeatTicks: options.heartbeatTicks ?? heartbeatTicksDefault,
      random: options.random ?? systemRandom,
      applied: this.applied,
      isValidEntry: stateMachine.isValidEntry?.bind(stateMachine),
    });
    transport.onMessages((messages) => this.receive(messages));
    transport.onFailure((peer, failure) => this.deliveryFailed(peer, failure));
    this.stopTicker = (options.ticker ?? systemTicker).start(this.tickMs, () => this.tick());
  }

  /**
   * Opens the node's log in `dataDir`, restores the state machine from the
   * latest snapshot (the committed entries after it are applied again as the
   * node learns they are committed) and starts ticking.
   */
  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    const membership = { voters: [...options.voters], learners: [...(options.learners ?? [])] };
    const storage = await LevelLogStorage.open(options.dataDir, membership, options.disk);
    try {
      return new RaftNode(storage, options.stateMachine, options.transport, options);
    } catch (error) {
      await storage.close();
      throw error;
    }
  }

  // ---- public API --------------------------------------------------------------

  /**
   * Appends `data` to the replicated log. Resolves with its index once this
   * node has applied it; rejects with NotControllerError on a follower.
   * Proposals made in one turn of the event loop go out in one Ready.
   */
  propose(data: Uint8Array): Promise<number> {
    const refusal = this.refusal() ?? checkProposal(data, this.proposals.size);
    if (refusal) return Promise.reject(refusal);
    let index: number;
    try {
      index = this.core.propose(data);
    } catch (error) {
      return Promise.reject(fromCoreError(error, this.id));
    }
    this.schedule();
    return new Promise((resolve, reject) => this.trackProposal(index, resolve, reject));
  }

  /**
   * Resolves once this node's state machine has applied every entry that was
   * committed when read() was called, so what it reads then is linearizable.
   * Works on followers too (the leader confirms the read index).
   */
  read(): Promise<void> {
    const refusal = this.refusal();
    if (refusal) return Promise.reject(refusal);
    return new Promise((resolve, reject) => {
      this.readBatch.push({ resolve, reject });
      if (this.readBatch.length === 1) queueMicrotask(() => this.requestReadIndex());
    });
  }

  /**
   * Hands leadership to `to` (by default the most up-to-date voter) and
   * resolves with the new leader once it has taken over. For graceful shutdown.
   */
  transferLeadership(to?: NodeId): Promise<NodeId> {
    return this.handOver(to, false);
  }

  /**
   * Starts a transfer and waits until `target` leads. A closing node (`closing`) that has stepped down
   * waits at most an election timeout more: if the target is closing too, nobody will lead soon.
   */
  private handOver(to: NodeId | undefined, closing: boolean): Promise<NodeId> {
    const refusal = this.refusal();
    if (refusal) return Promise.reject(refusal);
    const target = to ?? this.bestTransferTarget();
    if (target === NONE)
      return Promise.reject(new BrookError("NOT_ENOUGH_REPLICAS", "no voter to hand over to"));
    try {
      this.core.transferLeadership(target);
    } catch (error) {
      return Promise.reject(fromCoreError(error, this.id));
    }
    this.schedule();
    const deadlineTick = this.deadline(transferTimeoutMs);
    return new Promise((resolve, reject) => {
      const until = (leader: NodeId) => leader === target;
      this.leaderWaiters.push({ until, deadlineTick, closing, resolve, reject });
    });
  }

  /** Takes a snapshot of the state machine now and compacts the log up to it. */
  takeSnapshot(): Promise<void> {
    const refusal = this.refusal();
    if (refusal) return Promise.reject(refusal);
    return new Promise((resolve, reject) => {
      this.snapshotWaiters.push({ resolve, reject });
      this.schedule();
    });
  }

  status(): RaftNodeStatus {
    const core = this.core.status();
    return {
      id: this.id,
      role: core.role,
      leader: core.leader,
      term: core.term,
      commit: core.commit,
      applied: this.applied,
      lastIndex: core.lastIndex,
      snapshotIndex: this.snapshotIndex,
      membership: core.membership,
      progress: this.memberProgress(core.lastIndex, core.progress.values()),
    };
  }

  /**
   * Stops the node. By default a leader first hands leadership to another
   * voter (bounded by transferTimeoutMs), so the others need not wait out an
   * election timeout. Pending proposals and reads are rejected.
   */
  close(options: { transferLeadership?: boolean } = {}): Promise<void> {
    this.closing ??= this.shutDown(options.transferLeadership ?? true);
    return this.closing;
  }

  // ---- events into the core ----------------------------------------------------

  private tick(): void {
    if (this.closed) return;
    this.ticks++;
    this.core.tick();
    this.expireDeadlines();
    this.schedule();
  }

  private receive(messages: Message[]): void {
    if (this.closed) return;
    for (const message of messages) {
      this.lastContactTicks.set(message.from, this.ticks);
      this.core.step(message);
    }
    this.schedule();
  }

  private deliveryFailed(peer: NodeId, failure: DeliveryFailure): void {
    if (this.closed) return;
    if (failure === "snapshot") this.core.reportSnapshotFailure(peer);
    else this.core.reportUnreachable(peer);
    this.schedule();
  }

  private requestReadIndex(): void {
    const waiters = this.readBatch;
    this.readBatch = [];
    const context = new TextEncoder().encode(`${this.id}/${++this.readSequence}`);
    try {
      const refusal = this.refusal();
      if (refusal) throw refusal;
      this.core.readIndex(context);
    } catch (error) {
      const reason = fromCoreError(error, this.id) as Error;
      for (const waiter of waiters) waiter.reject(reason);
      return;
    }
    this.reads.set(contextKey(context), { waiters, deadlineTick: this.deadline(readTimeoutMs) });
    this.schedule();
  }

  // ---- the Ready loop ----------------------------------------------------------

  /** Starts the loop unless it is running; it drains every Ready the core has. */
  private schedule(): void {
    if (this.looping || this.closed) return;
    this.looping = true;
    this.loop = this.runLoop();
  }

  private async runLoop(): Promise<void> {
    // Let every propose/step of the current turn reach the core first, so they share one Ready.
    await Promise.resolve();
    try {
      while (!this.closed) {
        if (this.core.hasReady()) {
          const ready = this.core.ready();
          await this.handleReady(ready);
          this.core.advance(ready);
        } else if (
          this.snapshotWaiters.length > 0 ||
          this.applied - this.snapshotIndex >= this.snapshotEntries
        ) {
          await this.snapshotAndCompact();
        } else {
          return;
        }
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.looping = false; // in the same turn as the last hasReady(), so no event falls in between
    }
  }

  /** Persist (fsync) → send → apply, as the core's contract demands; the caller then advances. */
  private async handleReady(ready: Ready): Promise<void> {
    await this.storage.persist(ready);
    if (ready.snapshot) this.restore(ready.snapshot.metadata.index, ready.snapshot.data);
    this.transport.send(ready.messages);
    await this.apply(ready.committedEntries);
    this.acceptReadStates(ready.readStates);
    if (ready.softState) this.updateSoftState(ready.softState);
  }

  private restore(index: number, data: Uint8Array): void {
    this.stateMachine.restore(data);
    this.applied = index;
    this.snapshotIndex = index;
    this.settleProposalsThrough(index, undefined); // covered by the snapshot: committed or not, unknown
  }

  private async apply(committed: readonly Entry[]): Promise<void> {
    const entries = committed.filter((entry) => entry.index > this.applied);
    if (entries.length === 0) return;
    const forStateMachine = entries.filter((entry) => entry.type === "normal" && entry.data.length > 0);
    if (forStateMachine.length > 0) {
      const applying = this.stateMachine.apply(forStateMachine);
      if (applying) await applying;
    }
    this.applied = entries[entries.length - 1].index;
    for (const entry of entries) this.settleProposalsThrough(entry.index, entry);
    this.resolveReads();
  }

  /**
   * Waits for the entry at `index`. A new entry at or below an index still
   * pending means this node's log was cut back there under a later leader,
   * so those older proposals were overwritten and can never commit.
   */
  private trackProposal(
    index: number,
    resolve: (index: number) => void,
    reject: (error: Error) => void,
  ): void {
    if (index <= this.lastProposedIndex) {
      for (const [proposedIndex, proposal] of this.proposals) {
        if (proposedIndex < index) continue;
        this.proposals.delete(proposedIndex);
        proposal.reject(new NotControllerError(this.id, this.core.leader));
      }
    }
    this.lastProposedIndex = index;
    this.proposals.set(index, {
      term: this.core.term,
      deadlineTick: this.deadline(proposalTimeoutMs),
      resolve,
      reject,
    });
  }

  /**
   * Settles the proposals up to `index` as `entry` (the entry applied there)
   * shows: it is ours if its term is the proposal's; anything older was lost.
   * Without an entry (a snapshot covered them) their outcome is unknown.
   */
  private settleProposalsThrough(index: number, entry: Entry | undefined): void {
    for (const [proposedIndex, proposal] of this.proposals) {
      if (proposedIndex > index) return;
      this.proposals.delete(proposedIndex);
      if (proposedIndex === index && entry?.term === proposal.term) proposal.resolve(index);
      else if (entry === undefined)
        proposal.reject(timedOut(`entry ${proposedIndex} was replaced by a snapshot`));
      else proposal.reject(new NotControllerError(this.id, this.core.leader));
    }
  }

  private acceptReadStates(readStates: readonly ReadState[]): void {
    for (const readState of readStates) {
      const read = this.reads.get(contextKey(readState.context));
      if (read !== undefined) read.index = readState.index;
    }
    if (readStates.length > 0) this.resolveReads();
  }

  private resolveReads(): void {
    for (const [key, read] of this.reads) {
      if (read.index === undefined || read.index > this.applied) continue;
      this.reads.delete(key);
      for (const waiter of read.waiters) waiter.resolve();
    }
  }

  private async snapshotAndCompact(): Promise<void> {
    const waiters = this.snapshotWaiters;
    this.snapshotWaiters = [];
    try {
      if (this.applied > this.snapshotIndex) {
        const index = this.applied;
        await this.storage.compact(index, this.core.membership(), this.stateMachine.snapshot());
        this.snapshotIndex = index;
      }
      for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error as Error);
      throw error;
    }
  }

  private updateSoftState(softState: SoftState): void {
    this.softState = softState;
    this.options.onStateChange?.({ ...softState, term: this.core.term });
    const steppedDownDeadline = this.ticks + this.electionTicks;
    this.leaderWaiters = this.leaderWaiters.filter((waiter) => {
      if (!waiter.until(softState.leader)) {
        if (waiter.closing && softState.role !== "leader") {
          waiter.deadlineTick = Math.min(waiter.deadlineTick, steppedDownDeadline);
        }
        return true;
      }
      waiter.resolve(softState.leader);
      return false;
    });
  }

  // ---- timeouts, failure, shutdown ---------------------------------------------

  private deadline(timeoutMs: number): number {
    return this.ticks + Math.ceil(timeoutMs / this.tickMs);
  }

  private expireDeadlines(): void {
    for (const [index, proposal] of this.proposals) {
      if (proposal.deadlineTick > this.ticks) break;
      this.proposals.delete(index);
      proposal.reject(timedOut(`entry ${index} was not applied within ${proposalTimeoutMs} ms`));
    }
    for (const [key, read] of this.reads) {
      if (read.deadlineTick > this.ticks) continue;
      this.reads.delete(key);
      for (const waiter of read.waiters)
        waiter.reject(timedOut(`read index not confirmed within ${readTimeoutMs} ms`));
    }
    // The core abandons a transfer the target did not finish within an election timeout (it is still the
    // leader, transferring to nobody); so does the waiter then, rather than at its own later deadline.
    const core = this.leaderWaiters.length > 0 ? this.core.status() : undefined;
    const abandoned = core?.role === "leader" && core.leadTransferee === NONE;
    this.leaderWaiters = this.leaderWaiters.filter((waiter) => {
      if (waiter.deadlineTick > this.ticks && !abandoned) return true;
      waiter.reject(timedOut(`leadership did not move within ${transferTimeoutMs} ms`));
      return false;
    });
  }

  private async shutDown(transfer: boolean): Promise<void> {
    if (transfer && !this.closed && this.softState.role === "leader") {
      await this.handOver(undefined, true).catch(() => undefined);
    }
    this.closed = true;
    this.stopTicker();
    await this.loop;
    this.rejectAll(this.failure ? storageError(this.failure) : new NotControllerError(this.id, NONE));
    await this.transport.close();
    await this.storage.close();
  }

  /** A storage failure stops the node: it cannot promise anything it has not persisted. */
  private fail(error: unknown): void {
    this.failure = error instanceof Error ? error : new Error(String(error));
    this.closed = true;
    void this.close({ transferLeadership: false });
    this.options.onFatal?.(storageError(this.failure));
  }

  private rejectAll(error: Error): void {
    const waiters: Waiter<never>[] = [
      ...this.proposals.values(),
      ...[...this.reads.values()].flatMap((read) => read.waiters),
      ...this.readBatch,
      ...this.snapshotWaiters,
      ...this.leaderWaiters,
    ];
    this.proposals.clear();
    this.reads.clear();
    this.readBatch = [];
    this.snapshotWaiters = [];
    this.leaderWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  private refusal(): Error | undefined {
    if (this.failure) return storageError(this.failure);
    if (this.closed) return new NotControllerError(this.id, NONE);
    return undefined;
  }

  /** The core's per-member progress (empty unless leader), with lag and last contact added. */
  private memberProgress(
    lastIndex: number,
    progress: Iterable<PeerProgress>,
  ): ReadonlyMap<NodeId, MemberProgress> {
    const members = new Map<NodeId, MemberProgress>();
    for (const { id, isLearner, match } of progress) {
      const self = id === this.id;
      const contactTicks = this.ticks - (this.lastContactTicks.get(id) ?? 0);
      members.set(id, {
        id,
        isLearner,
        match,
        lag: self ? 0 : Math.max(0, lastIndex - match),
        lastContactMs: self ? 0 : contactTicks * this.tickMs,
      });
    }
    return members;
  }

  /** The voter with the longest matching log: it can take over without catching up first. */
  private bestTransferTarget(): NodeId {
    let best = NONE;
    let bestMatch = -1;
    for (const progress of this.core.status().progress.values()) {
      if (progress.id === this.id || progress.isLearner || !progress.recentActive) continue;
      if (progress.match <= bestMatch) continue;
      best = progress.id;
      bestMatch = progress.match;
    }
    return best;
  }
}

function checkProposal(data: Uint8Array, pending: number): BrookError | undefined {
  if (data.length === 0)
    return new BrookError("INVALID_REQUEST", "a proposal must carry data (empty is Raft's no-op)");
  if (data.length > entryBytesMax) {
    return new BrookError(
      "REQUEST_TOO_LARGE",
      `a proposal of ${data.length} bytes exceeds entryBytesMax ${entryBytesMax}`,
    );
  }
  if (pending >= pendingProposalsMax) {
    return new BrookError(
      "REQUEST_TIMED_OUT",
      `${pending} proposals are waiting (pendingProposalsMax); retry later`,
    );
  }
  return undefined;
}

function contextKey(context: Uint8Array): string {
  return new TextDecoder().decode(context);
}

function timedOut(detail: string): BrookError {
  return new BrookError("REQUEST_TIMED_OUT", detail);
}

function storageError(cause: Error): BrookError {
  if (cause instanceof BrookError && cause.code === "STORAGE_ERROR") return cause;
  return new BrookError("STORAGE_ERROR", cause.message, { cause });
}
