// One consumer group of Brook's protocol as the coordinator sees it: its
// members, the target assignment the assignor computed, what each member holds
// now, and (base-group.ts) its committed offsets. Pure: no I/O, no clock
// (callers pass `nowMs`), so the rules are unit-tested directly and the
// coordinator only persists what changed (docs/consumer-groups.md explains the
// protocol; classic-group.ts has the rules of Kafka clients' groups).
//
// The rules, after Kafka's KIP-848:
// - Membership or subscription changes bump the group epoch and recompute
//   the target assignment at once, with the server-side assignor most
//   members name (server-assignor.ts: "uniform", balanced and sticky, or
//   "range", co-partitioning); a change of that choice does too.
// - A member's metadata (opaque bytes, at most 8 KiB) is kept and shown, and
//   is never an input to the assignment: changing it moves nothing.
// - A member gives up partitions before anybody gets them: its answers leave
//   revoked partitions out, and only once its heartbeat no longer lists them
//   (it committed them) are they released. Its member epoch then moves to the
//   assignment epoch, and it is given the target partitions nobody else holds.
// - No partition is ever held by two members at once.

import { BrookError } from "@brook/protocol";
import { comparePartitions, keyOf, type TopicPartition } from "./assignor.js";
import { BaseGroup } from "./base-group.js";
import {
  assignWith,
  chooseServerAssignor,
  DEFAULT_SERVER_ASSIGNOR,
  type ServerAssignor,
} from "./server-assignor.js";

export type { CommittedOffset, PartitionOffset } from "./base-group.js";
export type { ServerAssignor } from "./server-assignor.js";
export { keyOf, type TopicPartition };

/** Bytes of metadata one member may keep (Brook Streams sends a small JSON document). */
export const memberMetadataBytesMax = 8 * 1024;
/**
 * Bytes of metadata all members of a group may keep together: every group record holds all of it, and
 * must stay well under __consumer_offsets' max.message.bytes (1 MiB).
 */
export const groupMetadataBytesMax = 256 * 1024;

export type GroupState = "empty" | "reconciling" | "stable";

/** What a member is, as persisted (docs/consumer-groups.md, the group record). */
export interface MemberSnapshot {
  memberId: string;
  /** Static membership: "" for a dynamic member. */
  instanceId: string;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberEpoch: number;
  /** The epoch before the last move: a commit in flight across the move still counts. */
  previousMemberEpoch: number;
  /** What the member holds: given to it and not yet released. */
  assigned: TopicPartition[];
  /** Where the coordinator is taking it. */
  target: TopicPartition[];
  /** A static member that left with epoch -2: it keeps its partitions until its session expires. */
  leftTemporarily: boolean;
  /** The server-side assignor it asks for; the group uses the one most members name. */
  serverAssignor: ServerAssignor;
  /** Its metadata in base64, "" for none: kept and shown, never an input to the assignment. */
  memberMetadata: string;
}

export interface GroupSnapshot {
  groupId: string;
  groupEpoch: number;
  assignmentEpoch: number;
  members: MemberSnapshot[];
  /** Partition counts of the subscribed topics the target was computed for. */
  subscribedPartitions: [string, number][];
  /** The assignor the target was computed with. */
  serverAssignor: ServerAssignor;
}

/** A group record as stored: records written before server assignors and metadata lack them. */
export type StoredGroupSnapshot = Omit<GroupSnapshot, "members" | "serverAssignor"> & {
  members: (Omit<MemberSnapshot, "serverAssignor" | "memberMetadata"> & Partial<MemberSnapshot>)[];
  serverAssignor?: ServerAssignor;
};

/** What the group needs to know about the cluster's topics. */
export interface TopicView {
  /** Partition count, or undefined when the topic does not exist. */
  partitionCount(topic: string): number | undefined;
  /** Every topic a regex subscription may match (internal topics excluded). */
  topicNames(): Iterable<string>;
}

export interface HeartbeatInput {
  memberId: string;
  memberEpoch: number;
  instanceId: string;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: readonly string[];
  subscribedTopicRegex: string;
  owned: readonly TopicPartition[];
  serverAssignor: ServerAssignor;
  /** Undefined: unchanged (a join: none). */
  memberMetadata: Buffer | undefined;
}

export interface HeartbeatOutput {
  memberId: string;
  memberEpoch: number;
  assignment: TopicPartition[];
}

/** Member epochs with a meaning of their own in a heartbeat. */
export const JOIN_EPOCH = 0;
export const LEAVE_EPOCH = -1;
export const STATIC_LEAVE_EPOCH = -2;

interface Member extends MemberSnapshot {
  /** Not persisted: a coordinator that loads the group gives every member a full session. */
  lastHeartbeatMs: number;
  /** Set while the member holds partitions outside its target: it must let go before this. */
  revocationDeadlineMs: number | undefined;
}

/** How many replaced members' ids a group remembers, to answer them FENCED_INSTANCE_ID. */
const replacedMembersMax = 100;

export class ConsumerGroup extends BaseGroup {
  readonly type = "consumer";
  groupEpoch = 0;
  assignmentEpoch = 0;
  /** The assignor the target assignment was computed with. */
  serverAssignor: ServerAssignor = DEFAULT_SERVER_ASSIGNOR;
  private readonly members = new Map<string, Member>();
  private subscribedPartitions = new Map<string, number>();
  /** Members whose static instance id another process took over: they are fenced, not unknown. */
  private readonly replaced = new Map<string, string>();

  constructor(
    groupId: string,
    private readonly newMemberId: () => string,
  ) {
    super(groupId);
  }

  static fromSnapshot(
    snapshot: StoredGroupSnapshot,
    nowMs: number,
    newMemberId: () => string,
  ): ConsumerGroup {
    const group = new ConsumerGroup(snapshot.groupId, newMemberId);
    group.groupEpoch = snapshot.groupEpoch;
    group.assignmentEpoch = snapshot.assignmentEpoch;
    group.subscribedPartitions = new Map(snapshot.subscribedPartitions);
    group.serverAssignor = snapshot.serverAssignor ?? DEFAULT_SERVER_ASSIGNOR;
    for (const member of snapshot.members) {
      group.members.set(member.memberId, {
        ...member,
        serverAssignor: member.serverAssignor ?? DEFAULT_SERVER_ASSIGNOR,
        memberMetadata: member.memberMetadata ?? "",
        lastHeartbeatMs: nowMs,
        revocationDeadlineMs: undefined,
      });
    }
    return group;
  }

  /** A copy of the persisted part. */
  snapshot(): GroupSnapshot {
    return {
      groupId: this.groupId,
      groupEpoch: this.groupEpoch,
      assignmentEpoch: this.assignmentEpoch,
      members: [...this.members.values()].map(({ lastHeartbeatMs, revocationDeadlineMs, ...member }) => ({
        ...member,
        subscribedTopicNames: [...member.subscribedTopicNames],
        assigned: [...member.assigned],
        target: [...member.target],
      })),
      subscribedPartitions: [...this.subscribedPartitions],
      serverAssignor: this.serverAssignor,
    };
  }

  get memberCount(): number {
    return this.members.size;
  }

  get state(): GroupState {
    if (this.members.size === 0) return "empty";
    for (const member of this.members.values()) {
      if (member.memberEpoch !== this.assignmentEpoch || !samePartitions(member.assigned, member.target)) {
        return "reconciling";
      }
    }
    return "stable";
  }

  memberSnapshots(): MemberSnapshot[] {
    return this.snapshot().members;
  }

  /** One heartbeat: join, stay, or leave, and the assignment the member may hold now. */
  heartbeat(input: HeartbeatInput, nowMs: number, topics: TopicView): HeartbeatOutput {
    if (input.memberEpoch >= JOIN_EPOCH) this.checkMetadata(input);
    if (input.memberEpoch === JOIN_EPOCH) return this.join(input, nowMs, topics);
    const member = this.requireMember(input.memberId);
    if (input.memberEpoch === LEAVE_EPOCH) {
      this.remove(member, topics);
      return { memberId: member.memberId, memberEpoch: LEAVE_EPOCH, assignment: [] };
    }
    if (input.memberEpoch === STATIC_LEAVE_EPOCH) {
      if (member.instanceId === "") this.remove(member, topics);
      else {
        member.leftTemporarily = true;
        member.lastHeartbeatMs = nowMs;
      }
      return { memberId: member.memberId, memberEpoch: STATIC_LEAVE_EPOCH, assignment: [] };
    }
    if (input.memberEpoch !== member.memberEpoch && input.memberEpoch !== member.previousMemberEpoch) {
      throw new BrookError(
        "FENCED_MEMBER_EPOCH",
        `member ${member.memberId} of group '${this.groupId}' sent epoch ${input.memberEpoch}; its epoch is ${member.memberEpoch}`,
      );
    }
    member.lastHeartbeatMs = nowMs;
    member.leftTemporarily = false;
    if (input.memberMetadata !== undefined) member.memberMetadata = input.memberMetadata.toString("base64");
    this.updateSubscription(member, input, topics);
    return this.reconcile(member, input.owned, nowMs);
  }

  /**
   * Removes members whose session expired or who held revoked partitions
   * past their rebalance timeout; returns them (the group changed if any).
   */
  expire(nowMs: number, topics: TopicView): MemberSnapshot[] {
    const expired: MemberSnapshot[] = [];
    for (const member of [...this.members.values()]) {
      const sessionOver = nowMs - member.lastHeartbeatMs > member.sessionTimeoutMs;
      const revocationOver = member.revocationDeadlineMs !== undefined && nowMs > member.revocationDeadlineMs;
      if (sessionOver || revocationOver) {
        expired.push(member);
        this.members.delete(member.memberId);
      }
    }
    if (expired.length > 0) this.rebalance(topics);
    return expired;
  }

  /** Topics were created, deleted or grew: recompute the target if the subscribed ones changed. True if so. */
  refreshTopics(topics: TopicView): boolean {
    if (this.members.size === 0) return false;
    const counts = this.resolvePartitionCounts(topics);
    if (sameCounts(counts, this.subscribedPartitions)) return false;
    this.rebalance(topics);
    return true;
  }

  /**
   * Whether `memberId` at `memberEpoch` may commit offsets for `partitions`.
   * An empty member id is an admin's or a standalone consumer's commit:
   * allowed only while the group has no members.
   */
  validateCommit(memberId: string, memberEpoch: number, partitions: readonly TopicPartition[]): void {
    if (memberId === "") {
      if (this.members.size > 0) {
        throw new BrookError(
          "NON_EMPTY_GROUP",
          `group '${this.groupId}' has ${this.members.size} active member(s); only they may commit`,
        );
      }
      return;
    }
    const member = this.requireMember(memberId);
    if (memberEpoch !== member.memberEpoch && memberEpoch !== member.previousMemberEpoch) {
      throw new BrookError(
        memberEpoch > member.memberEpoch ? "FENCED_MEMBER_EPOCH" : "STALE_MEMBER_EPOCH",
        `member ${memberId} of group '${this.groupId}' commits at epoch ${memberEpoch}; its epoch is ${member.memberEpoch}`,
      );
    }
    const held = new Set(member.assigned.map(keyOf));
    const foreign = partitions.find((tp) => !held.has(keyOf(tp)));
    if (foreign !== undefined) {
      throw new BrookError(
        "STALE_MEMBER_EPOCH",
        `member ${memberId} of group '${this.groupId}' does not hold ${foreign.topic}-${foreign.partition}`,
      );
    }
  }

  private join(input: HeartbeatInput, nowMs: number, topics: TopicView): HeartbeatOutput {
    if (input.instanceId !== "") {
      const predecessor = [...this.members.values()].find((m) => m.instanceId === input.instanceId);
      if (predecessor !== undefined && predecessor.memberId !== input.memberId) {
        return this.replace(predecessor, input, nowMs, topics);
      }
    }
    let member = input.memberId === "" ? undefined : this.members.get(input.memberId);
    if (member === undefined) {
      const memberId = input.memberId === "" ? this.newMemberId() : input.memberId;
      member = {
        memberId,
        instanceId: input.instanceId,
        clientId: input.clientId,
        clientHost: input.clientHost,
        subscribedTopicNames: [...input.subscribedTopicNames],
        subscribedTopicRegex: input.subscribedTopicRegex,
        sessionTimeoutMs: input.sessionTimeoutMs,
        rebalanceTimeoutMs: input.rebalanceTimeoutMs,
        memberEpoch: 0,
        previousMemberEpoch: 0,
        assigned: [],
        target: [],
        leftTemporarily: false,
        serverAssignor: input.serverAssignor,
        memberMetadata: joinMetadata(input),
        lastHeartbeatMs: nowMs,
        revocationDeadlineMs: undefined,
      };
      this.members.set(memberId, member);
      this.rebalance(topics);
    } else {
      // A known member starting over (it lost its partitions): it holds only what it says it holds.
      const owned = new Set(input.owned.map(keyOf));
      member.assigned = member.assigned.filter((tp) => owned.has(keyOf(tp)));
      member.lastHeartbeatMs = nowMs;
      member.leftTemporarily = false;
      member.memberMetadata = joinMetadata(input);
      this.updateSubscription(member, input, topics);
    }
    return this.reconcile(member, input.owned, nowMs);
  }

  /**
   * Static membership: a process that comes back with the instance id of a
   * member takes that member's place and partitions, with no rebalance when
   * its subscription is the same. The old member id is fenced from now on.
   */
  private replace(
    predecessor: Member,
    input: HeartbeatInput,
    nowMs: number,
    topics: TopicView,
  ): HeartbeatOutput {
    const memberId = input.memberId === "" ? this.newMemberId() : input.memberId;
    this.members.delete(predecessor.memberId);
    this.replaced.set(predecessor.memberId, predecessor.instanceId);
    if (this.replaced.size > replacedMembersMax) {
      this.replaced.delete(this.replaced.keys().next().value as string);
    }
    const member: Member = {
      ...predecessor,
      memberId,
      clientId: input.clientId,
      clientHost: input.clientHost,
      sessionTimeoutMs: input.sessionTimeoutMs,
      rebalanceTimeoutMs: input.rebalanceTimeoutMs,
      leftTemporarily: false,
      memberMetadata: joinMetadata(input),
      lastHeartbeatMs: nowMs,
    };
    this.members.set(memberId, member);
    this.updateSubscription(member, input, topics);
    return this.reconcile(member, member.assigned, nowMs);
  }

  private requireMember(memberId: string): Member {
    const member = this.members.get(memberId);
    if (member !== undefined) return member;
    const instanceId = this.replaced.get(memberId);
    if (instanceId !== undefined) {
      throw new BrookError(
        "FENCED_INSTANCE_ID",
        `another consumer joined group '${this.groupId}' with instance id '${instanceId}' and replaced member ${memberId}`,
      );
    }
    throw new BrookError(
      "UNKNOWN_MEMBER_ID",
      `group '${this.groupId}' has no member ${memberId === "" ? "without an id" : memberId}`,
    );
  }

  private remove(member: Member, topics: TopicView): void {
    this.members.delete(member.memberId);
    this.rebalance(topics);
  }

  /**
   * A new subscription, or another assignor asked for, recomputes the target; the assignor only when it
   * changes the group's choice.
   */
  private updateSubscription(member: Member, input: HeartbeatInput, topics: TopicView): void {
    const names = [...input.subscribedTopicNames];
    const subscriptionChanged =
      !sameStrings(names, member.subscribedTopicNames) ||
      input.subscribedTopicRegex !== member.subscribedTopicRegex;
    member.subscribedTopicNames = names;
    member.subscribedTopicRegex = input.subscribedTopicRegex;
    member.serverAssignor = input.serverAssignor;
    if (subscriptionChanged || this.chosenAssignor() !== this.serverAssignor) this.rebalance(topics);
  }

  private chosenAssignor(): ServerAssignor {
    return chooseServerAssignor([...this.members.values()].map((member) => member.serverAssignor));
  }

  /** Refuses metadata over the member's or the group's limit, before anything changes. */
  private checkMetadata(input: HeartbeatInput): void {
    const bytes = input.memberMetadata?.length;
    if (bytes === undefined) return;
    if (bytes > memberMetadataBytesMax) {
      throw new BrookError(
        "INVALID_REQUEST",
        `member metadata is ${bytes} bytes; at most ${memberMetadataBytesMax} bytes per member`,
      );
    }
    let others = 0;
    for (const member of this.members.values()) {
      const same =
        member.memberId === input.memberId ||
        (input.instanceId !== "" && member.instanceId === input.instanceId);
      if (!same) others += Buffer.byteLength(member.memberMetadata, "base64");
    }
    if (others + bytes > groupMetadataBytesMax) {
      throw new BrookError(
        "INVALID_REQUEST",
        `group '${this.groupId}' would keep ${others + bytes} bytes of member metadata; at most ${groupMetadataBytesMax} bytes for all members together`,
      );
    }
  }

  /** A new group epoch and the target assignment for it, by the assignor most members name. */
  private rebalance(topics: TopicView): void {
    this.groupEpoch++;
    this.subscribedPartitions = this.resolvePartitionCounts(topics);
    this.serverAssignor = this.chosenAssignor();
    const members = [...this.members.values()].map((member) => ({
      memberId: member.memberId,
      topics: this.subscribedTopics(member, topics),
      // Sticky towards where the last target was taking each member.
      owned: member.target.length > 0 ? member.target : member.assigned,
    }));
    const target = assignWith(this.serverAssignor, members, this.subscribedPartitions);
    for (const member of this.members.values()) member.target = target.get(member.memberId) ?? [];
    this.assignmentEpoch = this.groupEpoch;
  }

  /** Steps the member towards its target; see the rules at the top of the file. */
  private reconcile(member: Member, owned: readonly TopicPartition[], nowMs: number): HeartbeatOutput {
    const target = new Set(member.target.map(keyOf));
    const stillOwned = new Set(owned.map(keyOf));
    // Partitions being revoked are released once the member's heartbeat leaves them out.
    member.assigned = member.assigned.filter((tp) => target.has(keyOf(tp)) || stillOwned.has(keyOf(tp)));
    const revoking = member.assigned.filter((tp) => !target.has(keyOf(tp)));
    if (revoking.length > 0) {
      member.revocationDeadlineMs ??= nowMs + member.rebalanceTimeoutMs;
      return {
        memberId: member.memberId,
        memberEpoch: member.memberEpoch,
        assignment: member.assigned.filter((tp) => target.has(keyOf(tp))),
      };
    }
    member.revocationDeadlineMs = undefined;
    if (member.memberEpoch !== this.assignmentEpoch) {
      member.previousMemberEpoch = member.memberEpoch;
      member.memberEpoch = this.assignmentEpoch;
    }
    const heldElsewhere = new Set<string>();
    for (const other of this.members.values()) {
      if (other !== member) for (const tp of other.assigned) heldElsewhere.add(keyOf(tp));
    }
    const held = new Set(member.assigned.map(keyOf));
    for (const tp of member.target) {
      if (!held.has(keyOf(tp)) && !heldElsewhere.has(keyOf(tp))) member.assigned.push(tp);
    }
    member.assigned.sort(comparePartitions);
    return { memberId: member.memberId, memberEpoch: member.memberEpoch, assignment: [...member.assigned] };
  }

  private subscribedTopics(member: MemberSnapshot, topics: TopicView): string[] {
    const names = new Set(member.subscribedTopicNames.filter((t) => topics.partitionCount(t) !== undefined));
    if (member.subscribedTopicRegex !== "") {
      const pattern = compileSubscription(member.subscribedTopicRegex);
      for (const topic of topics.topicNames()) if (pattern.test(topic)) names.add(topic);
    }
    return [...names].sort();
  }

  private resolvePartitionCounts(topics: TopicView): Map<string, number> {
    const counts = new Map<string, number>();
    for (const member of this.members.values()) {
      for (const topic of this.subscribedTopics(member, topics)) {
        counts.set(topic, topics.partitionCount(topic) ?? 0);
      }
    }
    return counts;
  }
}

/** A subscription regex matches whole topic names, as Kafka's pattern subscriptions do. */
export function compileSubscription(regex: string): RegExp {
  try {
    return new RegExp(`^(?:${regex})$`);
  } catch (error) {
    throw new BrookError(
      "INVALID_REQUEST",
      `subscribed topic regex /${regex}/ is not valid: ${String(error)}`,
    );
  }
}

/** A member's metadata as bytes, empty for none. */
export function memberMetadataOf(member: MemberSnapshot): Buffer {
  return Buffer.from(member.memberMetadata, "base64");
}

/** A join sets the member's metadata: what it sent, or none. */
function joinMetadata(input: HeartbeatInput): string {
  return input.memberMetadata?.toString("base64") ?? "";
}

function samePartitions(a: readonly TopicPartition[], b: readonly TopicPartition[]): boolean {
  if (a.length !== b.length) return false;
  const keys = new Set(a.map(keyOf));
  return b.every((tp) => keys.has(keyOf(tp)));
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

function sameCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [topic, count] of a) if (b.get(topic) !== count) return false;
  return true;
}
