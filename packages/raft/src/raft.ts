// The Raft core: a pure, synchronous state machine. It takes ticks, messages
// and proposals and hands back one Ready batch — what to persist, what to send,
// what was committed. No timers, sockets, disk, clock or randomness of its own:
// the driver (or the simulator) owns all of that, which is what makes the core
// testable under a deterministic simulation.
//
// Roles and the transitions between them (from ↓, to →). Each target role has
// one toX() function; all of them check the table through transition().
//
//   from \ to       follower  learner  pre-candidate  candidate  leader
//   follower           ✓         ✓           ✓             ✓         ·
//   learner            ✓         ✓           ·             ·         ·
//   pre-candidate      ✓         ✓           ✓             ✓         ·
//   candidate          ✓         ✓           ✓             ✓         ✓
//   leader             ✓         ✓           ·             ·         ·
//
// - follower / learner: a higher term, a leader of our term, a lost election,
//   check-quorum failing, or a membership change. Which of the two depends only
//   on the membership: a learner is listed as one; a node that is in no list
//   (removed, or not yet added) is a follower that never campaigns.
// - pre-candidate: the election timeout fired (pre-vote on); again if it fires again.
// - candidate: a won pre-vote, "timeout-now" from a leader handing over, or the
//   election timeout with pre-vote off.
// - leader: a won election. A leader never becomes a candidate directly.

import { assert } from "./assert.js";
import { applyConfChange, decodeConfChange, encodeConfChange } from "./conf-change.js";
import { NotLeaderError, RaftError } from "./errors.js";
import {
  electionTicksDefault,
  heartbeatTicksDefault,
  maxInflightMsgsDefault,
  maxMsgBytesDefault,
  readIndexPendingMax,
  readyCommittedBytesMax,
  snapshotStallTicksMax,
  uncommittedBytesMaxDefault,
} from "./limits.js";
import type { LogStorage } from "./log-storage.js";
import type { ProgressState } from "./progress.js";
import { RaftLog } from "./raft-log.js";
import { ReadOnly } from "./read-only.js";
import { ProgressTracker } from "./tracker.js";
import {
  type ConfChange,
  type Entry,
  type EntryType,
  emptyEntries,
  type HardState,
  type Membership,
  type Message,
  type MessageType,
  NONE,
  type NodeId,
  type ReadState,
  type Ready,
  type Role,
  type Snapshot,
  type SoftState,
} from "./types.js";

export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: LogStorage;
  /** Uniform in [0, 1); randomizes election timeouts. Injected so simulations are reproducible. */
  readonly random: () => number;
  /** Election timeout in ticks; each node waits a random [electionTicks, 2*electionTicks). */
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Ask "would you vote for me?" before bumping the term, so a partitioned node cannot disrupt. Default true. */
  readonly preVote?: boolean;
  /** A leader steps down without a quorum for an election timeout; followers keep a leader lease. Default true. */
  readonly checkQuorum?: boolean;
  readonly maxMsgBytes?: number;
  readonly maxInflightMsgs?: number;
  readonly uncommittedBytesMax?: number;
  /**
   * The index the state machine has already applied, when it is durable. Default: the latest
   * snapshot's index (the state machine restarts from the snapshot and replays the log after it).
   */
  readonly applied?: number;
  /**
   * Whether a normal entry's data is one the state machine can apply; an entry that is not is refused
   * when proposed (here or forwarded by a follower), so it never reaches the log every member applies.
   * Default: every entry is.
   */
  readonly isValidEntry?: (data: Uint8Array) => boolean;
}

export interface PeerProgress {
  readonly id: NodeId;
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly recentActive: boolean;
  readonly isLearner: boolean;
  readonly inflight: number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly role: Role;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly leadTransferee: NodeId;
  readonly membership: Membership;
  /** The leader's view of every member (itself included), in id order; empty on other roles. */
  readonly progress: ReadonlyMap<NodeId, PeerProgress>;
}

type CampaignKind = "pre-vote" | "election" | "transfer";

const allowedTransitions: Record<Role, readonly Role[]> = {
  follower: ["follower", "learner", "pre-candidate", "candidate"],
  learner: ["follower", "learner"],
  "pre-candidate": ["follower", "learner", "pre-candidate", "candidate"],
  candidate: ["follower", "learner", "pre-candidate", "candidate", "leader"],
  leader: ["follower", "learner"],
};

/** Marks the vote requests of a campaign started by "timeout-now": they override the leader lease. */
const campaignTransferContext = new TextEncoder().encode("campaign-transfer");

const noData = new Uint8Array(0);

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function responseType(type: "vote" | "pre-vote"): MessageType {
  return type === "vote" ? "vote-resp" : "pre-vote-resp";
}

type MessageFields = Pick<Message, "type" | "to"> & Partial<Message>;

export class RaftCore {
  readonly id: NodeId;
  private readonly random: () => number;
  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxMsgBytes: number;
  private readonly maxInflightMsgs: number;
  private readonly uncommittedBytesMax: number;
  private readonly isValidEntry: (data: Uint8Array) => boolean;

  private readonly log: RaftLog;
  private readonly tracker: ProgressTracker;
  private currentTerm = 0;
  private votedFor: NodeId = NONE;
  private leaderId: NodeId = NONE;
  private currentRole: Role = "follower";
  private stepRole: (message: Message) => void = (message) => this.stepFollower(message);

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId = NONE;
  /** Index of the latest membership change the leader appended; another waits until it is applied. */
  private pendingConfIndex = 0;
  private uncommittedBytes = 0;
  /** The leader appended entries: send appends to everyone when the Ready is built (one message per batch). */
  private broadcastPending = false;
  /** Reads arrived: confirm leadership with one heartbeat round when the Ready is built (one per batch). */
  private readHeartbeatPending = false;
  private readOnly = new ReadOnly();
  /** Read-index requests that arrived before the leader committed an entry of its term. */
  private pendingReadIndexMessages: Message[] = [];

  private messages: Message[] = [];
  private readStates: ReadState[] = [];
  private previousSoftState: SoftState;
  private previousHardState: HardState;
  private outstandingReady: Ready | undefined;

  constructor(config: RaftConfig) {
    this.id = config.id;
    this.random = config.random;
    this.electionTicks = config.electionTicks ?? electionTicksDefault;
    this.heartbeatTicks = config.heartbeatTicks ?? heartbeatTicksDefault;
    this.preVote = config.preVote ?? true;
    this.checkQuorum = config.checkQuorum ?? true;
    this.maxMsgBytes = config.maxMsgBytes ?? maxMsgBytesDefault;
    this.maxInflightMsgs = config.maxInflightMsgs ?? maxInflightMsgsDefault;
    this.uncommittedBytesMax = config.uncommittedBytesMax ?? uncommittedBytesMaxDefault;
    this.isValidEntry = config.isValidEntry ?? (() => true);
    validateConfig(
      config.id,
      this.electionTicks,
      this.heartbeatTicks,
      this.maxMsgBytes,
      this.maxInflightMsgs,
    );

    this.log = new RaftLog(config.storage);
    const { hardState, membership } = config.storage.initialState();
    assert(
      hardState.commit <= this.log.lastIndex(),
      `stored commit ${hardState.commit} beyond the stored log`,
    );
    this.log.commitTo(hardState.commit);
    this.currentTerm = hardState.term;
    this.votedFor = hardState.vote;
    // The state machine restarts from the latest snapshot (entries before it may still be in the log).
    const snapshotIndex = config.storage.snapshot().metadata.index;
    this.log.commitTo(snapshotIndex);
    this.log.appliedTo(snapshotIndex);
    this.tracker = new ProgressTracker(
      this.replayMembership(membership, config.applied),
      this.maxInflightMsgs,
    );
    this.currentRole = this.tracker.learners.has(this.id) ? "learner" : "follower";
    this.reset(this.currentTerm);
    this.previousSoftState = this.softState();
    this.previousHardState = this.hardState();
  }

  // ---- Reading the state ----------------------------------------------------------------

  get term(): number {
    return this.currentTerm;
  }

  get vote(): NodeId {
    return this.votedFor;
  }

  get role(): Role {
    return this.currentRole;
  }

  get leader(): NodeId {
    return this.leaderId;
  }

  get commitIndex(): number {
    return this.log.committed;
  }

  get appliedIndex(): number {
    return this.log.applied;
  }

  get lastIndex(): number {
    return this.log.lastIndex();
  }

  /** Term of the entry at `index` in this node's log (persisted or not); undefined if compacted or absent. */
  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  /** The membership as of the applied index (what a snapshot taken now must record). */
  membership(): Membership {
    return this.tracker.membership();
  }

  status(): RaftStatus {
    const progress = new Map<NodeId, PeerProgress>();
    if (this.currentRole === "leader") {
      const ids = [...this.tracker.progress.keys()].sort((a, b) => a - b);
      for (const id of ids) {
        const pr = this.tracker.progress.get(id)!;
        progress.set(id, {
          id,
          match: pr.match,
          next: pr.next,
          state: pr.state,
          recentActive: pr.recentActive,
          isLearner: pr.isLearner,
          inflight: pr.inflights.count(),
        });
      }
    }
    return {
      id: this.id,
      term: this.currentTerm,
      vote: this.votedFor,
      role: this.currentRole,
      leader: this.leaderId,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      leadTransferee: this.leadTransferee,
      membership: this.tracker.membership(),
      progress,
    };
  }

  // ---- Inputs -------------------------------------------------------------------------

  /** Advances the logical clock by one tick: election timeouts, heartbeats, check-quorum. */
  tick(): void {
    if (this.currentRole === "leader") this.tickLeader();
    else this.tickElection();
  }

  /** Starts an election now (pre-vote first when enabled), as if the election timeout fired. */
  campaign(): void {
    this.hup("election");
  }

  /** Appends `data` as a new entry; returns its index. Leader only: others throw NotLeaderError. */
  propose(data: Uint8Array): number {
    return this.proposeEntry("normal", data);
  }

  /** Proposes a single-step membership change; it takes effect when its entry is applied. */
  proposeConfChange(change: ConfChange): number {
    this.requireLeader();
    if (this.pendingConfIndex > this.log.applied) {
      throw new RaftError(
        "PROPOSAL_DROPPED",
        `membership change at ${this.pendingConfIndex} is not applied yet`,
      );
    }
    this.validateConfChange(change);
    const index = this.proposeEntry("conf-change", encodeConfChange(change));
    this.pendingConfIndex = index;
    return index;
  }

  /**
   * Asks for a linearizable read point. The answer arrives as a ReadState with the same
   * context in a later Ready; serve the read once the state machine has applied its index.
   */
  readIndex(context: Uint8Array): void {
    const request = this.message({ type: "read-index", to: this.id, term: 0, context });
    if (this.currentRole === "leader") {
      if (!this.handleReadIndex(request)) {
        throw new RaftError("PROPOSAL_DROPPED", "too many reads pending, or one with this context");
      }
      return;
    }
    if (this.leaderId === NONE) throw new NotLeaderError(NONE, this.currentTerm);
    this.send({ ...request, to: this.leaderId });
  }

  /** Hands leadership to `to` once it has caught up ("timeout-now"); aborted after an election timeout. */
  transferLeadership(to: NodeId): void {
    this.requireLeader();
    if (!this.tracker.voters.has(to)) throw new RaftError("INVALID_TRANSFER", `node ${to} is not a voter`);
    if (to === this.id || to === this.leadTransferee) return;
    // The transfer gets one full election timeout to finish.
    this.electionElapsed = 0;
    this.leadTransferee = to;
    const pr = this.tracker.progress.get(to)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to);
  }

  /** The driver could not reach `id`: stop streaming to it and probe instead. */
  reportUnreachable(id: NodeId): void {
    const pr = this.currentRole === "leader" ? this.tracker.progress.get(id) : undefined;
    if (pr?.state === "replicate") pr.becomeProbe();
  }

  /** The driver failed to deliver a snapshot to `id`: probe again (and resend it if still needed). */
  reportSnapshotFailure(id: NodeId): void {
    const pr = this.currentRole === "leader" ? this.tracker.progress.get(id) : undefined;
    if (pr?.state === "snapshot") {
      pr.pendingSnapshot = 0;
      pr.becomeProbe();
    }
  }

  /** Processes one message from a peer (or a forwarded proposal / read request). */
  step(message: Message): void {
    if (!this.isWellFormed(message)) return;
    if (message.term === 0) {
      // Forwarded proposals and read requests carry no term: they are not bound to one.
      this.stepRole(message);
      return;
    }
    if (message.term > this.currentTerm) {
      if (!this.adoptHigherTerm(message)) return;
    } else if (message.term < this.currentTerm) {
      this.answerStaleTerm(message);
      return;
    }
    if (message.type === "vote" || message.type === "pre-vote") this.handleVoteRequest(message);
    else this.stepRole(message);
  }

  // ---- The Ready contract ---------------------------------------------------------------

  /** True when ready() has something to hand out; false while a Ready awaits advance(). */
  hasReady(): boolean {
    if (this.outstandingReady) return false;
    return (
      this.broadcastPending ||
      this.readHeartbeatPending ||
      this.messages.length > 0 ||
      this.readStates.length > 0 ||
      this.log.unstable.entries.length > 0 ||
      this.log.hasPendingSnapshot() ||
      this.log.hasNextCommittedEntries() ||
      !sameSoftState(this.softState(), this.previousSoftState) ||
      !sameHardState(this.hardState(), this.previousHardState)
    );
  }

  /**
   * The next batch of work. The driver must, in order: persist snapshot, entries and hard
   * state (fsync if mustSync); send the messages; apply the committed entries; then call
   * advance(ready). Only one Ready is outstanding at a time.
   */
  ready(): Ready {
    assert(this.outstandingReady === undefined, "ready() called again before advance()");
    if (this.broadcastPending) this.broadcastAppend();
    if (this.readHeartbeatPending) this.broadcastHeartbeat(this.readOnly.lastPendingContext());
    const softState = this.softState();
    const hardState = this.hardState();
    const entries = this.log.unstableEntries();
    const ready: Ready = {
      softState: sameSoftState(softState, this.previousSoftState) ? undefined : softState,
      hardState: sameHardState(hardState, this.previousHardState) ? undefined : hardState,
      entries,
      snapshot: this.log.unstable.snapshot,
      committedEntries: this.log.nextCommittedEntries(readyCommittedBytesMax),
      messages: this.messages,
      readStates: this.readStates,
      // A snapshot replaces the log: unsynced, a power loss could leave the entries after it with no base.
      mustSync:
        entries.length > 0 ||
        this.log.unstable.snapshot !== undefined ||
        hardState.term !== this.previousHardState.term ||
        hardState.vote !== this.previousHardState.vote,
    };
    this.messages = [];
    this.readStates = [];
    this.previousSoftState = softState;
    this.previousHardState = hardState;
    this.outstandingReady = ready;
    return ready;
  }

  /** The driver persisted, sent and applied `ready`: entries become stable, committed ones applied. */
  advance(ready: Ready): void {
    assert(ready === this.outstandingReady, "advance() with a Ready that is not the outstanding one");
    this.outstandingReady = undefined;
    if (ready.snapshot) {
      this.log.stableSnapTo(ready.snapshot.metadata.index);
      this.log.appliedTo(ready.snapshot.metadata.index);
    }
    const lastEntry = ready.entries.at(-1);
    if (lastEntry) this.log.stableTo(lastEntry.index, lastEntry.term);
    const lastCommitted = ready.committedEntries.at(-1);
    if (lastCommitted) {
      this.log.appliedTo(lastCommitted.index);
      // A snapshot restored since this Ready was built already holds these changes.
      const supersededBelow = this.log.firstIndex();
      for (const entry of ready.committedEntries) {
        if (entry.type !== "conf-change" || entry.index < supersededBelow) continue;
        this.setMembership(applyConfChange(this.membership(), decodeConfChange(entry.data)));
      }
      this.uncommittedBytes = Math.max(0, this.uncommittedBytes - payloadBytes(ready.committedEntries));
    }
  }

  // ---- Role transitions -------------------------------------------------------------------

  private transition(to: Role): void {
    const from = this.currentRole;
    assert(allowedTransitions[from].includes(to), `illegal role transition ${from} → ${to}`);
    this.currentRole = to;
  }

  private toFollower(term: number, leader: NodeId): void {
    this.transition("follower");
    this.reset(term);
    this.leaderId = leader;
    this.stepRole = (message) => this.stepFollower(message);
  }

  private toLearner(term: number, leader: NodeId): void {
    this.transition("learner");
    this.reset(term);
    this.leaderId = leader;
    this.stepRole = (message) => this.stepFollower(message);
  }

  private toPreCandidate(): void {
    this.transition("pre-candidate");
    // Pre-vote keeps the term and the vote: nothing changes unless a real election follows.
    this.reset(this.currentTerm);
    this.stepRole = (message) => this.stepCandidate(message);
  }

  private toCandidate(): void {
    this.transition("candidate");
    this.reset(this.currentTerm + 1);
    this.votedFor = this.id;
    this.stepRole = (message) => this.stepCandidate(message);
  }

  private toLeader(): void {
    this.transition("leader");
    this.reset(this.currentTerm);
    this.leaderId = this.id;
    this.stepRole = (message) => this.stepLeader(message);
    const self = this.tracker.progress.get(this.id)!;
    self.becomeReplicate();
    self.recentActive = true;
    // The no-op: the only way to commit entries of earlier terms is through one of ours.
    const noopIndex = this.appendEntries([{ type: "normal", data: noData }]);
    assert(noopIndex !== undefined, "a new leader can always append its no-op");
    // No membership change until the no-op is applied: a change proposed before an entry of our
    // term commits could combine with an uncommitted change of an earlier leader (Ongaro's bug).
    this.pendingConfIndex = noopIndex;
  }

  /** To follower or learner, whichever the membership says we are. */
  private stepDown(term: number, leader: NodeId): void {
    if (this.tracker.learners.has(this.id)) this.toLearner(term, leader);
    else this.toFollower(term, leader);
  }

  private reset(term: number): void {
    if (term !== this.currentTerm) {
      this.currentTerm = term;
      this.votedFor = NONE;
    }
    this.leaderId = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    const random = this.random();
    assert(random >= 0 && random < 1, `random source returned ${random}, not in [0, 1)`);
    this.randomizedElectionTimeout = this.electionTicks + Math.floor(random * this.electionTicks);
    this.leadTransferee = NONE;
    this.tracker.votes.clear();
    this.resetProgress();
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.broadcastPending = false;
    this.readHeartbeatPending = false;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  private resetProgress(): void {
    const lastIndex = this.log.lastIndex();
    for (const [id, pr] of this.tracker.progress) {
      pr.becomeProbe();
      pr.match = id === this.id ? lastIndex : 0;
      pr.next = lastIndex + 1;
      pr.sentCommit = 0;
      pr.recentActive = false;
    }
  }

  // ---- Ticks and elections --------------------------------------------------------------

  private promotable(): boolean {
    return this.tracker.voters.has(this.id);
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup("election");
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    this.tickSnapshotStalls();
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.tracker.quorumActive()) {
        this.stepDown(this.currentTerm, NONE);
        return;
      }
      for (const [id, pr] of this.tracker.progress) if (id !== this.id) pr.recentActive = false;
      this.leadTransferee = NONE;
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat(this.readOnly.lastPendingContext());
    }
  }

  /** A snapshot that was never acknowledged (lost, or the follower restarted) is retried. */
  private tickSnapshotStalls(): void {
    for (const pr of this.tracker.progress.values()) {
      if (pr.state !== "snapshot") continue;
      pr.snapshotTicks++;
      if (pr.snapshotTicks > snapshotStallTicksMax) pr.becomeProbe();
    }
  }

  private hup(kind: "election" | "transfer"): void {
    if (this.currentRole === "leader" || !this.promotable()) return;
    // A committed membership change we have not applied may remove us or change the quorum.
    if (this.log.hasUnappliedConfChange()) return;
    this.startCampaign(kind === "transfer" ? "transfer" : this.preVote ? "pre-vote" : "election");
  }

  private startCampaign(kind: CampaignKind): void {
    if (kind === "pre-vote") this.toPreCandidate();
    else this.toCandidate();
    this.tracker.recordVote(this.id, true);
    if (this.tracker.tallyVotes().result === "won") {
      this.wonCampaign();
      return;
    }
    const type = kind === "pre-vote" ? "pre-vote" : "vote";
    const term = kind === "pre-vote" ? this.currentTerm + 1 : this.currentTerm;
    const context = kind === "transfer" ? campaignTransferContext : undefined;
    for (const voter of this.tracker.voters) {
      if (voter === this.id) continue;
      this.send({
        type,
        to: voter,
        term,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
        context,
      });
    }
  }

  private wonCampaign(): void {
    if (this.currentRole === "pre-candidate") this.startCampaign("election");
    else this.toLeader();
  }

  // ---- Terms and votes ----------------------------------------------------------------

  /** A message from a higher term; false if it must be ignored. */
  private adoptHigherTerm(message: Message): boolean {
    if (message.type === "vote" || message.type === "pre-vote") {
      const force = sameBytes(message.context, campaignTransferContext);
      // Leader lease: while we hear from a live leader, nobody can depose it (check-quorum).
      const inLease = this.checkQuorum && this.leaderId !== NONE && this.electionElapsed < this.electionTicks;
      if (inLease && !force) return false;
    }
    // Pre-vote never changes the term: neither asking nor being granted one.
    if (message.type === "pre-vote" || (message.type === "pre-vote-resp" && !message.reject)) return true;
    const fromLeader = message.type === "app" || message.type === "heartbeat" || message.type === "snap";
    this.stepDown(message.term, fromLeader ? message.from : NONE);
    return true;
  }

  private answerStaleTerm(message: Message): void {
    if ((this.checkQuorum || this.preVote) && (message.type === "app" || message.type === "heartbeat")) {
      // A leader cut off for a while (and now stale) learns our term and steps down; otherwise,
      // with pre-vote, a node that lost its leader could never win an election against our lease.
      this.send({ type: "app-resp", to: message.from });
    } else if (message.type === "pre-vote") {
      this.send({ type: "pre-vote-resp", to: message.from, reject: true });
    }
  }

  private handleVoteRequest(message: Message): void {
    const type = message.type as "vote" | "pre-vote";
    const canVote =
      this.votedFor === message.from ||
      (this.votedFor === NONE && this.leaderId === NONE) ||
      (type === "pre-vote" && message.term > this.currentTerm);
    if (canVote && this.log.isUpToDate(message.index, message.logTerm)) {
      // A granted answer carries the asked-for term so the candidate can count it.
      this.send({ type: responseType(type), to: message.from, term: message.term });
      if (type === "vote") {
        this.electionElapsed = 0;
        this.votedFor = message.from;
      }
    } else {
      this.send({ type: responseType(type), to: message.from, reject: true });
    }
  }

  // ---- Follower and learner -----------------------------------------------------------

  private stepFollower(message: Message): void {
    switch (message.type) {
      case "prop":
      case "read-index":
        if (this.leaderId !== NONE) this.send({ ...message, to: this.leaderId });
        return;
      case "app":
        this.heardFromLeader(message.from);
        this.handleAppend(message);
        return;
      case "heartbeat":
        this.heardFromLeader(message.from);
        this.handleHeartbeat(message);
        return;
      case "snap":
        this.heardFromLeader(message.from);
        this.handleSnapshot(message);
        return;
      case "timeout-now":
        this.hup("transfer");
        return;
      case "read-index-resp":
        this.readStates.push({ index: message.index, context: message.context ?? noData });
        return;
      default:
        return;
    }
  }

  private heardFromLeader(leader: NodeId): void {
    this.electionElapsed = 0;
    this.leaderId = leader;
  }

  private handleAppend(message: Message): void {
    if (message.index < this.log.committed) {
      this.send({ type: "app-resp", to: message.from, index: this.log.committed });
      return;
    }
    const lastNewIndex = this.log.maybeAppend(
      message.index,
      message.logTerm,
      message.commit,
      message.entries,
    );
    if (lastNewIndex !== undefined) {
      this.send({ type: "app-resp", to: message.from, index: lastNewIndex });
      return;
    }
    // Fast back-off: tell the leader where our logs may match, skipping a whole conflicting term.
    const hint = this.log.findConflictByTerm(Math.min(message.index, this.log.lastIndex()), message.logTerm);
    this.send({
      type: "app-resp",
      to: message.from,
      index: message.index,
      reject: true,
      rejectHint: hint.index,
      rejectHintTerm: hint.term,
    });
  }

  private handleHeartbeat(message: Message): void {
    this.log.commitTo(message.commit);
    this.send({ type: "heartbeat-resp", to: message.from, context: message.context });
  }

  private handleSnapshot(message: Message): void {
    const restored = this.restore(message.snapshot!);
    const index = restored ? this.log.lastIndex() : this.log.committed;
    this.send({ type: "app-resp", to: message.from, index });
  }

  /** True if the snapshot replaced our log; false if we already had what it covers. */
  private restore(snapshot: Snapshot): boolean {
    const { index, term, membership } = snapshot.metadata;
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      // Our log already holds the snapshot's last entry: just commit up to it.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    this.setMembership(membership);
    return true;
  }

  // ---- Candidate and pre-candidate ------------------------------------------------------

  private stepCandidate(message: Message): void {
    const ownResponse = this.currentRole === "pre-candidate" ? "pre-vote-resp" : "vote-resp";
    switch (message.type) {
      case "app":
      case "heartbeat":
      case "snap":
        // A leader of our term exists: follow it.
        this.stepDown(this.currentTerm, message.from);
        this.stepFollower(message);
        return;
      case ownResponse:
        this.countVote(message);
        return;
      default:
        // Proposals and reads are dropped (no leader); timeout-now is for followers.
        return;
    }
  }

  private countVote(message: Message): void {
    this.tracker.recordVote(message.from, !message.reject);
    const { result } = this.tracker.tallyVotes();
    if (result === "won") this.wonCampaign();
    else if (result === "lost") this.stepDown(this.currentTerm, NONE);
  }

  // ---- Leader ----------------------------------------------------------------------------

  private stepLeader(message: Message): void {
    if (message.type === "prop") {
      this.appendForwardedProposal(message.entries);
      return;
    }
    if (message.type === "read-index") {
      this.handleReadIndex(message);
      return;
    }
    const pr = this.tracker.progress.get(message.from);
    if (!pr) return;
    if (message.type === "app-resp") this.handleAppendResponse(message);
    else if (message.type === "heartbeat-resp") this.handleHeartbeatResponse(message);
  }

  private requireLeader(): void {
    if (this.currentRole !== "leader") throw new NotLeaderError(this.leaderId, this.currentTerm);
  }

  private proposeEntry(type: EntryType, data: Uint8Array): number {
    this.requireLeader();
    if (type === "normal" && !this.isValidEntry(data)) {
      throw new RaftError("PROPOSAL_DROPPED", "the entry is not one the state machine can apply");
    }
    if (this.leadTransferee !== NONE) {
      throw new RaftError("PROPOSAL_DROPPED", `leadership is moving to node ${this.leadTransferee}`);
    }
    const index = this.appendEntries([{ type, data }]);
    if (index === undefined) {
      throw new RaftError("PROPOSAL_DROPPED", `more than ${this.uncommittedBytesMax} uncommitted bytes`);
    }
    return index;
  }

  /** Forwarded proposals: normal entries only (membership changes are proposed on the leader). */
  private appendForwardedProposal(entries: readonly Entry[]): void {
    if (this.leadTransferee !== NONE) return;
    const normal = entries
      .filter((entry) => entry.type === "normal" && this.isValidEntry(entry.data))
      .map(({ type, data }) => ({ type, data }));
    if (normal.length > 0) this.appendEntries(normal);
  }

  private validateConfChange(change: ConfChange): void {
    if (!Number.isInteger(change.nodeId) || change.nodeId <= NONE) {
      throw new RaftError("INVALID_CONF_CHANGE", `node id ${change.nodeId} is not a positive integer`);
    }
    const before = this.tracker.membership();
    const after = applyConfChange(before, change);
    if (after.voters.length === 0) throw new RaftError("INVALID_CONF_CHANGE", "it would leave no voters");
    if (JSON.stringify(before) === JSON.stringify(after)) {
      throw new RaftError("INVALID_CONF_CHANGE", `${change.type} ${change.nodeId} changes nothing`);
    }
  }

  /** Appends at the end of the leader's log; undefined when over the uncommitted-bytes limit. */
  private appendEntries(proposals: readonly { type: EntryType; data: Uint8Array }[]): number | undefined {
    const bytes = payloadBytes(proposals);
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.uncommittedBytesMax) {
      return undefined;
    }
    let index = this.log.lastIndex();
    const entries = proposals.map(({ type, data }) => ({
      term: this.currentTerm,
      index: ++index,
      type,
      data,
    }));
    this.log.append(entries);
    this.uncommittedBytes += bytes;
    // The leader's own copy counts toward the quorum: the Ready contract persists it before any
    // append goes out, so no follower can acknowledge it before it is on our disk.
    this.tracker.progress.get(this.id)!.maybeUpdate(index);
    this.broadcastPending = true;
    this.maybeCommit();
    return index;
  }

  /** Commits the quorum's match index — only if that entry is of our term (Raft §5.4.2). */
  private maybeCommit(): boolean {
    if (!this.log.maybeCommit(this.tracker.committedIndex(), this.currentTerm)) return false;
    // Followers learn the new commit index with the next appends.
    this.broadcastPending = true;
    this.releasePendingReadIndexMessages();
    return true;
  }

  private handleAppendResponse(message: Message): void {
    const pr = this.tracker.progress.get(message.from)!;
    pr.recentActive = true;
    if (message.reject) {
      const hintTerm = message.rejectHintTerm ?? 0;
      const hint =
        hintTerm > 0 ? this.log.findConflictByTerm(message.rejectHint, hintTerm).index : message.rejectHint;
      if (pr.maybeDecrTo(message.index, hint)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.sendAppend(message.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(message.index) && !(pr.match === message.index && pr.state === "probe")) return;
    if (pr.state === "probe") {
      pr.becomeReplicate();
    } else if (pr.state === "snapshot" && pr.match + 1 >= this.log.firstIndex()) {
      // The snapshot (or the log) reconnected the follower to our log.
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) {
      // It has the snapshot, but we compacted past it meanwhile: probe, which sends a newer one.
      pr.becomeProbe();
    } else if (pr.state === "replicate") {
      pr.inflights.freeLE(message.index);
    }
    if (!this.maybeCommit() && wasPaused) this.sendAppend(message.from);
    this.sendAppendsWhileOpen(message.from);
    if (message.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(message.from);
    }
  }

  private handleHeartbeatResponse(message: Message): void {
    const pr = this.tracker.progress.get(message.from)!;
    pr.recentActive = true;
    pr.probeSent = false;
    // A full window may be full of lost messages: free one slot so something gets through.
    if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex() || pr.state === "probe") this.sendAppend(message.from);
    if (message.context === undefined || message.context.length === 0) return;
    const acks = this.readOnly.recvAck(message.from, message.context);
    if (!acks || this.votersIn(acks) < this.tracker.quorum()) return;
    for (const request of this.readOnly.advance(message.context)) {
      this.answerReadIndex(request.from, request.index, request.context);
    }
  }

  private votersIn(ids: ReadonlySet<NodeId>): number {
    let count = 0;
    for (const id of ids) if (this.tracker.voters.has(id)) count++;
    return count;
  }

  /** False if the request was dropped (too many pending, or its context already is). */
  private handleReadIndex(message: Message): boolean {
    if (this.log.term(this.log.committed) !== this.currentTerm) {
      // Until our no-op commits we do not know the true commit index: hold the request.
      if (this.pendingReadIndexMessages.length >= readIndexPendingMax) return false;
      this.pendingReadIndexMessages.push(message);
      return true;
    }
    const context = message.context ?? noData;
    if (this.tracker.voters.size === 1) {
      this.answerReadIndex(message.from, this.log.committed, context);
      return true;
    }
    if (!this.readOnly.add(this.log.committed, message)) return false;
    this.readOnly.recvAck(this.id, context);
    this.readHeartbeatPending = true;
    return true;
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (this.log.term(this.log.committed) !== this.currentTerm) return;
    const held = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const message of held) this.handleReadIndex(message);
  }

  private answerReadIndex(from: NodeId, index: number, context: Uint8Array): void {
    if (from === this.id) this.readStates.push({ index, context });
    else this.send({ type: "read-index-resp", to: from, index, context });
  }

  // ---- Sending ---------------------------------------------------------------------------

  /** New entries or a new commit index for every follower (skipping those with nothing to learn). */
  private broadcastAppend(): void {
    this.broadcastPending = false;
    const lastIndex = this.log.lastIndex();
    for (const [id, pr] of this.tracker.progress) {
      if (id === this.id) continue;
      const upToDate = pr.state === "replicate" && pr.next > lastIndex && pr.sentCommit >= this.log.committed;
      if (upToDate) continue;
      this.sendAppend(id);
      this.sendAppendsWhileOpen(id);
    }
  }

  /** Fills the follower's in-flight window with whatever entries it has not been sent. */
  private sendAppendsWhileOpen(to: NodeId): void {
    for (let sent = 0; sent < this.maxInflightMsgs; sent++) {
      if (!this.maybeSendAppend(to, false)) return;
    }
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /** Sends the entries after the follower's `next` (or a snapshot if they are compacted). */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const previousIndex = pr.next - 1;
    assert(previousIndex <= this.log.lastIndex(), `next ${pr.next} of node ${to} beyond our log`);
    const previousTerm = this.log.term(previousIndex);
    const entries = previousTerm === undefined ? undefined : this.log.entriesFrom(pr.next, this.maxMsgBytes);
    if (previousTerm === undefined || entries === undefined) return this.sendSnapshot(to);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({
      type: "app",
      to,
      index: previousIndex,
      logTerm: previousTerm,
      entries,
      commit: this.log.committed,
    });
    pr.sentEntries(entries.length, entries.at(-1)?.index ?? previousIndex);
    pr.sentCommit = Math.max(pr.sentCommit, this.log.committed);
    return true;
  }

  private sendSnapshot(to: NodeId): boolean {
    const pr = this.tracker.progress.get(to)!;
    // Do not ship a snapshot to a node we have not heard from lately; it may be down.
    if (!pr.recentActive) return false;
    const snapshot = this.log.snapshot();
    assert(snapshot.metadata.index > 0, "a compacted log has a snapshot");
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send({ type: "snap", to, snapshot });
    return true;
  }

  /** Heartbeats carry the newest pending read's context: its echo confirms every read queued before it. */
  private broadcastHeartbeat(context: Uint8Array | undefined): void {
    this.readHeartbeatPending = false;
    for (const [id, pr] of this.tracker.progress) {
      if (id === this.id) continue;
      // Never tell a follower to commit beyond what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ type: "heartbeat", to: id, commit, context });
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: "timeout-now", to });
  }

  private message(fields: MessageFields): Message {
    return {
      from: this.id,
      term: this.currentTerm,
      logTerm: 0,
      index: 0,
      entries: emptyEntries,
      commit: 0,
      reject: false,
      rejectHint: 0,
      ...fields,
    };
  }

  private send(fields: MessageFields): void {
    this.messages.push(this.message(fields));
  }

  // ---- Membership ------------------------------------------------------------------------

  /** Applies a membership (from a committed conf change or a snapshot) and fixes our role. */
  private setMembership(membership: Membership): void {
    const added = this.tracker.setMembership(membership, this.log.lastIndex() + 1);
    const isVoter = this.tracker.voters.has(this.id);
    const isLearner = this.tracker.learners.has(this.id);
    if (this.currentRole === "leader") {
      if (!isVoter) {
        this.stepDown(this.currentTerm, NONE);
        return;
      }
      if (this.leadTransferee !== NONE && !this.tracker.voters.has(this.leadTransferee))
        this.leadTransferee = NONE;
      // The quorum changed: the commit index may move, and new members need the log.
      this.maybeCommit();
      for (const id of added) this.sendAppend(id);
    } else if (this.currentRole === "learner" && isVoter) {
      this.toFollower(this.currentTerm, this.leaderId);
    } else if (this.currentRole !== "learner" && isLearner) {
      this.toLearner(this.currentTerm, this.leaderId);
    } else if ((this.currentRole === "candidate" || this.currentRole === "pre-candidate") && !isVoter) {
      this.stepDown(this.currentTerm, NONE);
    }
  }

  /** The membership as of `applied`: the snapshot's plus conf changes the state machine applied after it. */
  private replayMembership(stored: Membership, applied: number | undefined): Membership {
    if (applied === undefined || applied <= this.log.applied) return stored;
    assert(applied <= this.log.committed, `applied ${applied} beyond commit ${this.log.committed}`);
    const entries = this.log.slice(this.log.applied + 1, applied + 1, Number.POSITIVE_INFINITY);
    assert(entries !== undefined, "entries after the snapshot are in the log");
    let membership = stored;
    for (const entry of entries) {
      if (entry.type === "conf-change")
        membership = applyConfChange(membership, decodeConfChange(entry.data));
    }
    this.log.appliedTo(applied);
    return membership;
  }

  // ---- Helpers ---------------------------------------------------------------------------

  private softState(): SoftState {
    return { leader: this.leaderId, role: this.currentRole };
  }

  private hardState(): HardState {
    return { term: this.currentTerm, vote: this.votedFor, commit: this.log.committed };
  }

  /** Drops malformed input from the network instead of letting it corrupt the log. */
  private isWellFormed(message: Message): boolean {
    if (message.to !== this.id || message.from === NONE || !(message.term >= 0)) return false;
    if (message.term === 0 && message.type !== "prop" && message.type !== "read-index") return false;
    if (message.type === "snap") return message.snapshot !== undefined;
    if (message.type !== "app") return true;
    return message.entries.every(
      (entry, i) =>
        entry.index === message.index + 1 + i &&
        entry.term <= message.term &&
        entry.term >= (i === 0 ? message.logTerm : message.entries[i - 1].term),
    );
  }
}

function payloadBytes(entries: readonly { data: Uint8Array }[]): number {
  let total = 0;
  for (const entry of entries) total += entry.data.byteLength;
  return total;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function validateConfig(
  id: NodeId,
  electionTicks: number,
  heartbeatTicks: number,
  maxMsgBytes: number,
  maxInflightMsgs: number,
): void {
  const problems: string[] = [];
  if (!Number.isInteger(id) || id <= NONE) problems.push(`id ${id} must be a positive integer`);
  if (!(heartbeatTicks >= 1)) problems.push("heartbeatTicks must be at least 1");
  if (!(electionTicks > heartbeatTicks)) problems.push("electionTicks must exceed heartbeatTicks");
  if (!(maxMsgBytes > 0)) problems.push("maxMsgBytes must be positive");
  if (!(maxInflightMsgs >= 1)) problems.push("maxInflightMsgs must be at least 1");
  if (problems.length > 0) throw new RangeError(`invalid raft config: ${problems.join("; ")}`);
}
