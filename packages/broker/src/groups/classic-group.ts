// One classic consumer group, the protocol Kafka clients speak (JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup), with the rules of Kafka's GroupCoordinator/GroupMetadata. Pure: time comes in as `nowMs`,
// member ids from the injected generator. After each call the driver (classic-coordinator.ts) takes
// ready(): the answers to requests that wait (JoinGroup and SyncGroup are long polls) and whether the
// persisted state changed; it writes the group's record and delivers the answers once it is durable.
// docs/consumer-groups.md, "Kafka clients (classic protocol)", explains the protocol.
//
// Allowed transitions (Kafka's GroupState.validPreviousStates), target <- sources:
//   Empty               <- PreparingRebalance (the join phase ended with nobody in the group)
//   PreparingRebalance  <- Empty, Stable, CompletingRebalance
//   CompletingRebalance <- PreparingRebalance (the join phase ended: a new generation)
//   Stable              <- CompletingRebalance (the leader's SyncGroup brought the assignment)
//   Dead                <- any (deleted, taken over by the other protocol, or no longer coordinated here)
//
// The rules:
// - Join phase: a rebalance waits until every known member has sent JoinGroup (and every member id
//   handed out with MEMBER_ID_REQUIRED has come back or expired), or until the group's rebalance
//   timeout (the largest of its members'). A group starting from Empty waits initialRebalanceDelayMs
//   after the last new member, so consumers started together land in one generation.
// - When the phase ends, dynamic members that did not rejoin are removed, the generation goes up, the
//   protocol every member supports with the most first-choice votes is chosen, and every joined member
//   is answered; the leader (the first member, or the first that rejoined) gets everyone's metadata.
// - Sync phase: followers' SyncGroup waits for the leader's, which brings every member's assignment;
//   then the group is Stable. A member that has not sent SyncGroup within the rebalance timeout is
//   removed (so a leader that never assigns cannot stall the group).
// - Heartbeats carry the generation: REBALANCE_IN_PROGRESS while a join phase runs (rejoin),
//   ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID for a member that was left behind. A
//   member heard from neither by heartbeat nor by a waiting JoinGroup/SyncGroup for its session timeout
//   is removed, which starts a rebalance, as does LeaveGroup.
// - KIP-394: a new dynamic member (JoinGroup v4+) is given an id with MEMBER_ID_REQUIRED and joins with it.
// - KIP-345: a static member (group.instance.id) that rejoins takes its old member's place, id and
//   assignment, without a rebalance when the group is Stable and the chosen protocol does not change;
//   the old member id is fenced (FENCED_INSTANCE_ID).
// - Assignment is client-side: the broker stores the leader's bytes and hands them out, so range,
//   roundrobin and cooperative-sticky (whose second rebalance the clients start) all just work.

import { assert, BrookError } from "@brook/protocol";
import { BaseGroup } from "./base-group.js";

export type ClassicGroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

const previousStates: Readonly<Record<ClassicGroupState, readonly ClassicGroupState[]>> = {
  Empty: ["PreparingRebalance"],
  PreparingRebalance: ["Empty", "Stable", "CompletingRebalance"],
  CompletingRebalance: ["PreparingRebalance"],
  Stable: ["CompletingRebalance"],
  Dead: ["Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"],
};

export interface ClassicGroupConfig {
  /** Kafka's group.initial.rebalance.delay.ms: how long a group starting from Empty waits for more members. */
  readonly initialRebalanceDelayMs: number;
  /** Kafka's group.max.size: members, plus member ids handed out and not yet used. */
  readonly membersMax: number;
  /** Protocols (assignors) one member may offer. */
  readonly protocolsPerMemberMax: number;
}

export interface ClassicProtocol {
  name: string;
  metadata: Buffer;
}

export interface ClassicJoinInput {
  /** "" for a member that has none yet. */
  memberId: string;
  /** group.instance.id: a static member (KIP-345); null for a dynamic one. */
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: readonly ClassicProtocol[];
  /** JoinGroup v4+: a new dynamic member is first given an id (MEMBER_ID_REQUIRED). */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+: a static leader that rejoins a stable group is told to skip assigning. */
  supportsSkipAssignment: boolean;
}

export interface ClassicJoinMember {
  memberId: string;
  groupInstanceId: string | null;
  /** The member's metadata for the chosen protocol. */
  metadata: Buffer;
}

export interface ClassicJoinResult {
  memberId: string;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string;
  skipAssignment: boolean;
  /** Every member's metadata, for the leader to assign; empty for the others. */
  members: ClassicJoinMember[];
}

export interface ClassicMemberIdentity {
  memberId: string;
  groupInstanceId: string | null;
}

export interface ClassicSyncInput extends ClassicMemberIdentity {
  generationId: number;
  /** SyncGroup v5: checked against the group's when given. */
  protocolType: string | null;
  protocolName: string | null;
  /** The leader's assignment, one entry per member; followers send none. */
  assignments: readonly { memberId: string; assignment: Buffer }[];
}

export interface ClassicSyncResult {
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface ClassicGenerationInput extends ClassicMemberIdentity {
  generationId: number;
}

/** What one call produced, for the driver: answers to deliver once the group's record is durable. */
export interface ClassicReady {
  replies: ClassicReply[];
  /** The persisted part (snapshot()) changed: write it before delivering the replies. */
  persist: boolean;
}

/** The answer to a waiting JoinGroup or SyncGroup: a result, or the error it fails with. */
export type ClassicReply =
  | { kind: "join"; memberId: string; answer: ClassicJoinResult | BrookError }
  | { kind: "sync"; memberId: string; answer: ClassicSyncResult | BrookError };

/** A member as persisted (GroupMetadataValue's member); bytes in base64. */
export interface ClassicMemberSnapshot extends Omit<ClassicMemberView, "protocols" | "assignment"> {
  protocols: { name: string; metadata: string }[];
  assignment: string;
}

/** The group as persisted in __consumer_offsets (records.ts): Kafka's GroupMetadataValue plus its state. */
export interface ClassicGroupSnapshot {
  type: "classic";
  groupId: string;
  state: Exclude<ClassicGroupState, "Dead">;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string | null;
  members: ClassicMemberSnapshot[];
}

/** A member as the rules see it; `assignment` is what the last leader's SyncGroup gave it. */
export interface ClassicMemberView {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocols: readonly ClassicProtocol[];
  assignment: Buffer;
}

interface Member extends ClassicMemberView {
  protocols: ClassicProtocol[];
  /** A JoinGroup of this member waits for the join phase to end. */
  awaitingJoin: boolean;
  /** A SyncGroup of this member waits for the leader's. */
  awaitingSync: boolean;
  /** Not persisted: a coordinator that loads the group gives every member a full session. */
  lastHeartbeatMs: number;
}

/** JoinGroup's answer to a new member (KIP-394): join again with this id. */
export class MemberIdRequiredError extends BrookError {
  constructor(
    readonly memberId: string,
    groupId: string,
  ) {
    super(
      "MEMBER_ID_REQUIRED",
      `group '${groupId}' gave the new member id ${memberId}; send JoinGroup again with it`,
    );
  }
}

const emptyBytes = Buffer.alloc(0);

export class ClassicGroup extends BaseGroup {
  readonly type = "classic";
  private currentState: ClassicGroupState = "Empty";
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  private readonly members = new Map<string, Member>();
  /** group.instance.id -> the member id that has it now. */
  private readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED -> when they expire unused. */
  private readonly pendingMembers = new Map<string, number>();
  /** Members of this generation that have not sent SyncGroup yet. */
  private readonly pendingSync = new Set<string>();
  private joinDeadlineMs = 0;
  /** A join phase that started from Empty: it waits initialRebalanceDelayMs after the last new member. */
  private initialJoinStartedMs: number | undefined;
  private syncDeadlineMs = 0;
  private replies: ClassicReply[] = [];
  private dirty = false;

  constructor(
    groupId: string,
    private readonly config: ClassicGroupConfig,
    private readonly newMemberId: () => string,
  ) {
    super(groupId);
  }

  static fromSnapshot(
    snapshot: ClassicGroupSnapshot,
    nowMs: number,
    config: ClassicGroupConfig,
    newMemberId: () => string,
  ): ClassicGroup {
    const group = new ClassicGroup(snapshot.groupId, config, newMemberId);
    group.generationId = snapshot.generationId;
    group.protocolType = snapshot.protocolType;
    group.protocolName = snapshot.protocolName;
    group.leaderId = snapshot.leaderId;
    for (const member of snapshot.members) {
      group.members.set(member.memberId, {
        ...member,
        protocols: member.protocols.map(({ name, metadata }) => ({
          name,
          metadata: Buffer.from(metadata, "base64"),
        })),
        assignment: Buffer.from(member.assignment, "base64"),
        awaitingJoin: false,
        awaitingSync: false,
        lastHeartbeatMs: nowMs,
      });
      if (member.groupInstanceId !== null) group.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    // Deadlines restart from the load: whoever was waiting on the old coordinator asks this one again.
    group.currentState = snapshot.state;
    if (snapshot.state === "PreparingRebalance") group.joinDeadlineMs = nowMs + group.rebalanceTimeoutMs;
    if (snapshot.state === "CompletingRebalance") {
      for (const memberId of group.members.keys()) group.pendingSync.add(memberId);
      group.syncDeadlineMs = nowMs + group.rebalanceTimeoutMs;
    }
    return group;
  }

  /** The persisted part; waiting requests, sessions and deadlines are not. */
  snapshot(): ClassicGroupSnapshot {
    assert(this.currentState !== "Dead", "a dead group is deleted, not persisted");
    return {
      type: "classic",
      groupId: this.groupId,
      state: this.currentState,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leaderId: this.leaderId,
      members: [...this.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        rebalanceTimeoutMs: member.rebalanceTimeoutMs,
        sessionTimeoutMs: member.sessionTimeoutMs,
        protocols: member.protocols.map(({ name, metadata }) => ({
          name,
          metadata: metadata.toString("base64"),
        })),
        assignment: member.assignment.toString("base64"),
      })),
    };
  }

  get state(): ClassicGroupState {
    return this.currentState;
  }

  get memberCount(): number {
    return this.members.size;
  }

  /** Also keeps a group whose only trace is a member id handed out moments ago. */
  override get isEmpty(): boolean {
    return super.isEmpty && this.pendingMembers.size === 0;
  }

  memberViews(): ClassicMemberView[] {
    return [...this.members.values()];
  }

  /** The member's metadata for the chosen protocol (empty before one is chosen). */
  metadataOf(member: ClassicMemberView): Buffer {
    return member.protocols.find(({ name }) => name === this.protocolName)?.metadata ?? emptyBytes;
  }

  /** Requests the group counts as waiting (JoinGroup and SyncGroup): the driver must hold exactly these. */
  get awaitingCount(): number {
    let count = 0;
    for (const member of this.members.values())
      count += Number(member.awaitingJoin) + Number(member.awaitingSync);
    return count;
  }

  /** What the calls since the last ready() produced: answers to deliver, and whether to persist first. */
  ready(): ClassicReady {
    const ready = { replies: this.replies, persist: this.dirty };
    this.replies = [];
    this.dirty = false;
    return ready;
  }

  // ---- requests ----

  /** A JoinGroup; returns the member id its answer will be addressed to (a reply, now or later). */
  join(input: ClassicJoinInput, nowMs: number): string {
    this.checkAlive();
    this.checkProtocols(input);
    if (input.memberId === "") return this.joinNewMember(input, nowMs);
    if (this.pendingMembers.delete(input.memberId)) {
      this.checkRoom(0);
      this.addMember(input.memberId, input, nowMs);
      return input.memberId;
    }
    const member = this.requireMember(input);
    if (this.currentState === "PreparingRebalance") {
      this.updateMember(member, input, nowMs);
      this.maybeCompleteJoin(nowMs);
    } else if (
      sameProtocols(member.protocols, input.protocols) &&
      (this.currentState === "CompletingRebalance" || member.memberId !== this.leaderId)
    ) {
      // It lost the answer to its last JoinGroup: nothing changed, so it gets the same one again.
      member.lastHeartbeatMs = nowMs;
      const answer = this.joinResult(member.memberId, this.leaderId ?? "", false);
      this.reply({ kind: "join", memberId: member.memberId, answer });
    } else {
      this.updateMember(member, input, nowMs);
      this.prepareRebalance(nowMs);
    }
    return member.memberId;
  }

  /** A SyncGroup; its answer comes as a reply addressed to its member id, now or once the leader's arrives. */
  sync(input: ClassicSyncInput, nowMs: number): void {
    const member = this.requireGeneration(input);
    if (
      (input.protocolType !== null && input.protocolType !== this.protocolType) ||
      (input.protocolName !== null && input.protocolName !== this.protocolName)
    ) {
      throw new BrookError(
        "INCONSISTENT_GROUP_PROTOCOL",
        `group '${this.groupId}' uses ${this.protocolType}/${this.protocolName}; SyncGroup named ${input.protocolType}/${input.protocolName}`,
      );
    }
    if (this.currentState === "PreparingRebalance") throw this.rebalancing();
    member.lastHeartbeatMs = nowMs;
    this.pendingSync.delete(member.memberId);
    if (this.currentState === "Stable") {
      this.reply({ kind: "sync", memberId: member.memberId, answer: this.syncResult(member) });
    } else {
      member.awaitingSync = true;
      if (member.memberId === this.leaderId) this.completeSync(input.assignments);
    }
    if (this.pendingSync.size === 0) this.syncDeadlineMs = 0;
  }

  heartbeat(input: ClassicGenerationInput, nowMs: number): void {
    const member = this.requireGeneration(input);
    member.lastHeartbeatMs = nowMs;
    if (this.currentState === "PreparingRebalance") throw this.rebalancing();
  }

  /** One member of a LeaveGroup (v3+ leaves several; an instance id alone names a static member). */
  leave(identity: ClassicMemberIdentity, nowMs: number): void {
    this.checkAlive();
    if (identity.memberId === "" && identity.groupInstanceId !== null) {
      const memberId = this.staticMembers.get(identity.groupInstanceId);
      if (memberId === undefined) throw this.unknownMember(`with instance id '${identity.groupInstanceId}'`);
      this.removeMember(memberId, nowMs);
      return;
    }
    if (this.pendingMembers.delete(identity.memberId)) {
      this.maybeCompleteJoin(nowMs);
      return;
    }
    this.removeMember(this.requireMember(identity).memberId, nowMs);
  }

  /**
   * Whether a classic OffsetCommit may write (Kafka's validateOffsetCommit): generation -1 with no
   * member id is a "simple" commit, allowed only while the group is Empty; otherwise the member and
   * generation must be current, and not while the new generation's assignment is being decided.
   */
  validateCommit(input: ClassicGenerationInput): void {
    this.checkAlive();
    if (input.generationId < 0 && this.currentState === "Empty") return;
    if (input.generationId < 0 && input.memberId === "" && input.groupInstanceId === null) {
      throw new BrookError(
        "UNKNOWN_MEMBER_ID",
        `group '${this.groupId}' has ${this.members.size} member(s); a commit without member id and generation is allowed only while it has none`,
      );
    }
    this.requireGeneration(input);
    if (this.currentState === "CompletingRebalance") throw this.rebalancing();
  }

  /** Expires member ids handed out, members' sessions, and the join and sync phases' deadlines. */
  tick(nowMs: number): void {
    if (this.currentState === "Dead") return;
    let pendingExpired = false;
    for (const [memberId, deadlineMs] of this.pendingMembers) {
      if (nowMs < deadlineMs) continue;
      this.pendingMembers.delete(memberId);
      pendingExpired = true;
    }
    for (const member of [...this.members.values()]) {
      const waiting = member.awaitingJoin || member.awaitingSync;
      if (!waiting && nowMs - member.lastHeartbeatMs > member.sessionTimeoutMs)
        this.removeMember(member.memberId, nowMs);
    }
    if (this.currentState === "PreparingRebalance") {
      if (nowMs >= this.joinDeadlineMs) this.completeJoin(nowMs);
      else if (pendingExpired) this.maybeCompleteJoin(nowMs);
    }
    const syncing = this.currentState === "CompletingRebalance" || this.currentState === "Stable";
    if (syncing && this.pendingSync.size > 0 && nowMs >= this.syncDeadlineMs) {
      // Members that never sent SyncGroup (a leader that never assigned) are dropped; the rest rejoin.
      for (const memberId of [...this.pendingSync]) this.removeMember(memberId, nowMs);
    }
  }

  /** The driver dropped a waiting JoinGroup or SyncGroup (its connection closed): the session restarts now. */
  cancelWait(kind: "join" | "sync", memberId: string, nowMs: number): void {
    const member = this.members.get(memberId);
    const waiting = kind === "join" ? member?.awaitingJoin : member?.awaitingSync;
    if (member === undefined || !waiting) return;
    if (kind === "join") member.awaitingJoin = false;
    else member.awaitingSync = false;
    member.lastHeartbeatMs = nowMs;
  }

  // ---- transitions: one per target state, each refusing an illegal source ----

  private transitionTo(target: ClassicGroupState): void {
    assert(
      previousStates[target].includes(this.currentState),
      `classic group '${this.groupId}': ${this.currentState} -> ${target} is not a legal transition`,
    );
    this.currentState = target;
    this.dirty = true;
  }

  private toPreparingRebalance(nowMs: number): void {
    const fromEmpty = this.currentState === "Empty";
    this.transitionTo("PreparingRebalance");
    this.initialJoinStartedMs = fromEmpty ? nowMs : undefined;
    this.joinDeadlineMs = fromEmpty ? this.initialJoinDeadline(nowMs) : nowMs + this.rebalanceTimeoutMs;
  }

  private toCompletingRebalance(nowMs: number): void {
    this.transitionTo("CompletingRebalance");
    this.pendingSync.clear();
    for (const memberId of this.members.keys()) this.pendingSync.add(memberId);
    this.syncDeadlineMs = nowMs + this.rebalanceTimeoutMs;
  }

  private toStable(): void {
    this.transitionTo("Stable");
  }

  private toEmpty(): void {
    this.transitionTo("Empty");
  }

  /** The group is gone from this coordinator (deleted, converted, or its partition moved). */
  toDead(): void {
    this.transitionTo("Dead");
  }

  // ---- the rules ----

  private joinNewMember(input: ClassicJoinInput, nowMs: number): string {
    const memberId = `${input.groupInstanceId ?? input.clientId}-${this.newMemberId()}`;
    if (input.groupInstanceId !== null) {
      const previous = this.staticMembers.get(input.groupInstanceId);
      if (previous !== undefined) {
        this.replaceStaticMember(this.members.get(previous)!, memberId, input, nowMs);
        return memberId;
      }
      this.checkRoom(0);
      this.addMember(memberId, input, nowMs);
      return memberId;
    }
    if (input.requireKnownMemberId) {
      this.checkRoom(this.pendingMembers.size);
      this.pendingMembers.set(memberId, nowMs + input.sessionTimeoutMs);
      this.reply({ kind: "join", memberId, answer: new MemberIdRequiredError(memberId, this.groupId) });
      return memberId;
    }
    this.checkRoom(0);
    this.addMember(memberId, input, nowMs);
    return memberId;
  }

  private addMember(memberId: string, input: ClassicJoinInput, nowMs: number): void {
    if (this.members.size === 0) this.protocolType = input.protocolType;
    this.members.set(memberId, {
      memberId,
      groupInstanceId: input.groupInstanceId,
      clientId: input.clientId,
      clientHost: input.clientHost,
      rebalanceTimeoutMs: input.rebalanceTimeoutMs,
      sessionTimeoutMs: input.sessionTimeoutMs,
      protocols: copyProtocols(input.protocols),
      assignment: emptyBytes,
      awaitingJoin: true,
      awaitingSync: false,
      lastHeartbeatMs: nowMs,
    });
    if (input.groupInstanceId !== null) this.staticMembers.set(input.groupInstanceId, memberId);
    this.leaderId ??= memberId;
    this.dirty = true;
    if (this.currentState === "PreparingRebalance") {
      if (this.initialJoinStartedMs !== undefined) this.joinDeadlineMs = this.initialJoinDeadline(nowMs);
      this.maybeCompleteJoin(nowMs);
    } else {
      this.prepareRebalance(nowMs);
    }
  }

  private updateMember(member: Member, input: ClassicJoinInput, nowMs: number): void {
    this.dirty ||=
      !sameProtocols(member.protocols, input.protocols) ||
      member.rebalanceTimeoutMs !== input.rebalanceTimeoutMs ||
      member.sessionTimeoutMs !== input.sessionTimeoutMs;
    member.protocols = copyProtocols(input.protocols);
    member.rebalanceTimeoutMs = input.rebalanceTimeoutMs;
    member.sessionTimeoutMs = input.sessionTimeoutMs;
    member.awaitingJoin = true;
    member.lastHeartbeatMs = nowMs;
  }

  /**
   * KIP-345: a static member restarted with a new member id. It takes the old member's place; the old
   * id's waiting requests fail with FENCED_INSTANCE_ID. A Stable group whose chosen protocol stays the
   * same does not rebalance: the member gets the current generation and its old assignment.
   */
  private replaceStaticMember(old: Member, memberId: string, input: ClassicJoinInput, nowMs: number): void {
    const fenced = this.fencedError(old.memberId, input.groupInstanceId!);
    if (old.awaitingJoin) this.reply({ kind: "join", memberId: old.memberId, answer: fenced });
    if (old.awaitingSync) this.reply({ kind: "sync", memberId: old.memberId, answer: fenced });
    const leaderBefore = this.leaderId ?? "";
    const member: Member = { ...old, memberId, clientId: input.clientId, clientHost: input.clientHost };
    this.members.delete(old.memberId);
    this.members.set(memberId, member);
    this.dirty = true;
    this.staticMembers.set(input.groupInstanceId!, memberId);
    if (this.leaderId === old.memberId) this.leaderId = memberId;
    if (this.pendingSync.delete(old.memberId)) this.pendingSync.add(memberId);
    member.awaitingSync = false;
    this.updateMember(member, input, nowMs);
    if (this.currentState === "PreparingRebalance") {
      this.maybeCompleteJoin(nowMs);
    } else if (this.currentState === "Stable" && this.selectProtocol() === this.protocolName) {
      // Before JoinGroup v9 the old leader id is returned, so a restarted leader does not assign
      // (a stable group would not pass a new assignment on); from v9 it is told to skip assigning.
      const isLeader = this.leaderId === memberId;
      const answer = input.supportsSkipAssignment
        ? this.joinResult(memberId, this.leaderId!, isLeader)
        : { ...this.joinResult(memberId, leaderBefore, false), members: [] };
      this.reply({ kind: "join", memberId, answer });
    } else {
      // CompletingRebalance: the leader may be assigning to the old id; start over.
      this.prepareRebalance(nowMs);
    }
  }

  private prepareRebalance(nowMs: number): void {
    if (this.currentState === "CompletingRebalance") {
      // The assignment being decided is void: everyone waiting on SyncGroup rejoins.
      for (const member of this.members.values()) {
        member.assignment = emptyBytes;
        if (member.awaitingSync)
          this.reply({ kind: "sync", memberId: member.memberId, answer: this.rebalancing() });
      }
    }
    this.pendingSync.clear();
    this.syncDeadlineMs = 0;
    this.toPreparingRebalance(nowMs);
    this.maybeCompleteJoin(nowMs);
  }

  private maybeCompleteJoin(nowMs: number): void {
    if (this.currentState !== "PreparingRebalance") return;
    const initial = this.initialJoinStartedMs !== undefined;
    if ((initial && nowMs >= this.joinDeadlineMs) || (!initial && this.allMembersJoined())) {
      this.completeJoin(nowMs);
    }
  }

  private allMembersJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const member of this.members.values()) if (!member.awaitingJoin) return false;
    return true;
  }

  /** The join phase is over: drop who did not rejoin, start the next generation, answer who did. */
  private completeJoin(nowMs: number): void {
    for (const member of [...this.members.values()]) {
      // A static member that did not rejoin keeps its place until its session expires (KIP-345).
      if (!member.awaitingJoin && member.groupInstanceId === null) this.forget(member);
    }
    const joined = [...this.members.values()].filter((member) => member.awaitingJoin);
    if (this.members.size > 0 && joined.length === 0) {
      // Only static members that have not come back: wait another rebalance timeout for them.
      this.initialJoinStartedMs = undefined;
      this.joinDeadlineMs = nowMs + this.rebalanceTimeoutMs;
      return;
    }
    if (this.leaderId !== null && !this.members.get(this.leaderId)?.awaitingJoin) {
      this.leaderId = joined[0]?.memberId ?? null;
    }
    this.generationId++;
    this.initialJoinStartedMs = undefined;
    if (this.members.size === 0) {
      this.protocolName = null;
      this.toEmpty();
      return;
    }
    this.protocolName = this.selectProtocol();
    this.toCompletingRebalance(nowMs);
    for (const member of joined) {
      member.lastHeartbeatMs = nowMs;
      const answer = this.joinResult(member.memberId, this.leaderId!, false);
      this.reply({ kind: "join", memberId: member.memberId, answer });
    }
  }

  /** The leader's SyncGroup: every member's assignment; the group is Stable and every waiting follower answered. */
  private completeSync(assignments: ClassicSyncInput["assignments"]): void {
    const given = new Map(assignments.map(({ memberId, assignment }) => [memberId, assignment]));
    for (const member of this.members.values())
      member.assignment = Buffer.from(given.get(member.memberId) ?? emptyBytes);
    this.toStable();
    for (const member of this.members.values()) {
      if (member.awaitingSync)
        this.reply({ kind: "sync", memberId: member.memberId, answer: this.syncResult(member) });
    }
  }

  /** Removes a member (if an earlier removal in the same step has not already) and rebalances. */
  private removeMember(memberId: string, nowMs: number): void {
    const member = this.members.get(memberId);
    if (member === undefined) return;
    this.forget(member);
    if (this.currentState === "Stable" || this.currentState === "CompletingRebalance") {
      this.prepareRebalance(nowMs);
    } else {
      this.maybeCompleteJoin(nowMs);
    }
  }

  /** Takes a member out; a request of its still waiting learns it is no longer known. */
  private forget(member: Member): void {
    const gone = this.unknownMember(member.memberId);
    if (member.awaitingJoin) this.reply({ kind: "join", memberId: member.memberId, answer: gone });
    if (member.awaitingSync) this.reply({ kind: "sync", memberId: member.memberId, answer: gone });
    this.members.delete(member.memberId);
    this.dirty = true;
    this.pendingSync.delete(member.memberId);
    if (
      member.groupInstanceId !== null &&
      this.staticMembers.get(member.groupInstanceId) === member.memberId
    ) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.leaderId === member.memberId) this.leaderId = this.members.keys().next().value ?? null;
  }

  /** The protocol every member supports with the most first-choice votes; ties go to the leader's preference. */
  private selectProtocol(): string {
    const members = [...this.members.values()];
    const leader = this.members.get(this.leaderId ?? "") ?? members[0];
    const candidates = leader.protocols
      .map(({ name }) => name)
      .filter((name) => members.every((member) => member.protocols.some((p) => p.name === name)));
    assert(candidates.length > 0, "every member was admitted supporting a protocol the others support");
    const votes = new Map<string, number>();
    for (const member of members) {
      const choice = member.protocols.find((p) => candidates.includes(p.name))!.name;
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    return candidates.reduce((best, name) => ((votes.get(name) ?? 0) > (votes.get(best) ?? 0) ? name : best));
  }

  private joinResult(memberId: string, leaderId: string, skipAssignment: boolean): ClassicJoinResult {
    const isLeader = memberId === this.leaderId;
    return {
      memberId,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leaderId,
      skipAssignment,
      members: isLeader
        ? [...this.members.values()].map((member) => ({
            memberId: member.memberId,
            groupInstanceId: member.groupInstanceId,
            metadata: this.metadataOf(member),
          }))
        : [],
    };
  }

  private syncResult(member: Member): ClassicSyncResult {
    return {
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      assignment: member.assignment,
    };
  }

  /** Answers a waiting (or this very) request of the member: it waits no more. */
  private reply(reply: ClassicReply): void {
    const member = this.members.get(reply.memberId);
    if (member !== undefined && reply.kind === "join") member.awaitingJoin = false;
    if (member !== undefined && reply.kind === "sync") member.awaitingSync = false;
    this.replies.push(reply);
  }

  // ---- checks ----

  private checkAlive(): void {
    if (this.currentState === "Dead") {
      throw new BrookError(
        "COORDINATOR_NOT_AVAILABLE",
        `group '${this.groupId}' was just deleted or moved; find its coordinator again`,
      );
    }
  }

  /** A member's protocols must be usable with everybody else's: same type, one protocol they all have. */
  private checkProtocols(input: ClassicJoinInput): void {
    if (input.protocolType === "" || input.protocols.length === 0) {
      throw new BrookError(
        "INCONSISTENT_GROUP_PROTOCOL",
        `a member of group '${this.groupId}' must name its protocol type and at least one protocol`,
      );
    }
    if (input.protocols.length > this.config.protocolsPerMemberMax) {
      throw new BrookError(
        "INVALID_REQUEST",
        `a member may offer at most ${this.config.protocolsPerMemberMax} protocols, got ${input.protocols.length}`,
      );
    }
    // The joining member's own earlier protocols do not count (nor those of the static member it
    // replaces): it may change its assignors.
    const self = input.groupInstanceId === null ? undefined : this.staticMembers.get(input.groupInstanceId);
    const others = [...this.members.values()].filter(
      (member) => member.memberId !== input.memberId && member.memberId !== self,
    );
    if (others.length === 0) return;
    if (input.protocolType !== this.protocolType) {
      throw new BrookError(
        "INCONSISTENT_GROUP_PROTOCOL",
        `group '${this.groupId}' has protocol type '${this.protocolType}'; the member joined with '${input.protocolType}'`,
      );
    }
    const common = input.protocols.some(({ name }) =>
      others.every((member) => member.protocols.some((p) => p.name === name)),
    );
    if (!common) {
      throw new BrookError(
        "INCONSISTENT_GROUP_PROTOCOL",
        `group '${this.groupId}': none of the member's assignors (${input.protocols.map((p) => p.name).join(", ")}) is supported by every other member; configure a common one`,
      );
    }
  }

  private checkRoom(pending: number): void {
    if (this.members.size + pending >= this.config.membersMax) {
      throw new BrookError(
        "GROUP_MAX_SIZE_REACHED",
        `group '${this.groupId}' has ${this.members.size} member(s) and ${pending} joining; the broker allows ${this.config.membersMax}`,
      );
    }
  }

  private requireMember(identity: ClassicMemberIdentity): Member {
    if (identity.groupInstanceId !== null) {
      const current = this.staticMembers.get(identity.groupInstanceId);
      if (current !== undefined && current !== identity.memberId) {
        throw this.fencedError(identity.memberId, identity.groupInstanceId);
      }
    }
    const member = this.members.get(identity.memberId);
    if (member === undefined) throw this.unknownMember(identity.memberId || "without an id");
    return member;
  }

  private requireGeneration(input: ClassicGenerationInput): Member {
    this.checkAlive();
    const member = this.requireMember(input);
    if (input.generationId !== this.generationId) {
      throw new BrookError(
        "ILLEGAL_GENERATION",
        `group '${this.groupId}' is at generation ${this.generationId}; member ${input.memberId} sent ${input.generationId}`,
      );
    }
    return member;
  }

  private unknownMember(which: string): BrookError {
    return new BrookError("UNKNOWN_MEMBER_ID", `group '${this.groupId}' has no member ${which}; join again`);
  }

  private fencedError(memberId: string, instanceId: string): BrookError {
    return new BrookError(
      "FENCED_INSTANCE_ID",
      `another consumer joined group '${this.groupId}' with instance id '${instanceId}' and replaced member ${memberId}`,
    );
  }

  private rebalancing(): BrookError {
    return new BrookError(
      "REBALANCE_IN_PROGRESS",
      `group '${this.groupId}' is rebalancing (generation ${this.generationId}, ${this.currentState}); rejoin`,
    );
  }

  /** The group's rebalance timeout: the largest of its members' (Kafka's GroupMetadata.rebalanceTimeoutMs). */
  private get rebalanceTimeoutMs(): number {
    let timeoutMs = 0;
    for (const member of this.members.values()) timeoutMs = Math.max(timeoutMs, member.rebalanceTimeoutMs);
    return timeoutMs;
  }

  private initialJoinDeadline(nowMs: number): number {
    const startedMs = this.initialJoinStartedMs ?? nowMs;
    return Math.min(nowMs + this.config.initialRebalanceDelayMs, startedMs + this.rebalanceTimeoutMs);
  }
}

function copyProtocols(protocols: readonly ClassicProtocol[]): ClassicProtocol[] {
  return protocols.map(({ name, metadata }) => ({ name, metadata: Buffer.from(metadata) }));
}

function sameProtocols(a: readonly ClassicProtocol[], b: readonly ClassicProtocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i].name && p.metadata.equals(b[i].metadata));
}
