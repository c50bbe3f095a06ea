// A consumer group member's decisions (docs/consumer-groups.md), with no I/O: what a heartbeat's answer or
// failure does to the member, which step brings what it holds towards what the coordinator assigned, and
// what each heartbeat says. group-membership.ts owns the timers and calls and carries the steps out.
//
// Steps, one at a time, in this order of priority:
//   lose    the partitions are gone (fenced, unknown member, session over): drop them without committing,
//           then join again with epoch 0
//   revoke  held but no longer assigned: stop, let the handler finish, commit, onRevoked, then heartbeat
//   assign  assigned but not held: committed offsets, start fetching, onAssigned, then heartbeat

import type {
  BrookError,
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse__Output,
  GroupTopicPartitions,
  GroupTopicPartitions__Output,
} from "@brook/protocol";
import type { GroupAssignor, TopicPartition } from "./types.js";

/** The most member metadata a coordinator keeps for one member (proto/broker.proto). */
export const memberMetadataBytesMax = 8 * 1024;

/** Member epochs with a meaning of their own (proto/broker.proto). */
export const MemberEpoch = {
  join: 0,
  leave: -1,
  /** A static member stops for now and keeps its partitions for its session timeout (a restart). */
  leaveStatic: -2,
  /** A commit from a consumer that is not a member (it assigns partitions itself). */
  standalone: -1,
} as const;

export interface MemberState {
  readonly memberId: string;
  /** The epoch the coordinator last gave; 0 until joined, and again once the partitions were lost. */
  readonly memberEpoch: number;
  readonly heartbeatIntervalMs: number;
  /** What the member holds now, sorted: its owned_partitions on every heartbeat. */
  readonly held: readonly TopicPartition[];
  /** The coordinator's last answer: everything the member may hold. Undefined until it answers a join. */
  readonly target: readonly TopicPartition[] | undefined;
  /** The partitions were lost: drop them (no commit), then join again. */
  readonly lost: boolean;
}

export type ReconcileStep =
  | { kind: "idle" }
  | { kind: "lose"; partitions: TopicPartition[] }
  | { kind: "revoke"; partitions: TopicPartition[] }
  | { kind: "assign"; partitions: TopicPartition[] };

/** What the member does after a failed heartbeat. */
export type HeartbeatFailureAction = "retry" | "lose" | "fatal";

/** A subscription as the heartbeat carries it. */
export interface WireSubscription {
  names: string[];
  /** Every RegExp's source, joined with `|`; "" when there is none. */
  regex: string;
}

export interface HeartbeatSettings {
  groupId: string;
  instanceId: string | undefined;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  clientId: string;
  subscription: WireSubscription;
  assignor: GroupAssignor;
  /** The metadata this heartbeat carries: undefined leaves the coordinator's as it is (a join: none). */
  memberMetadata: Buffer | undefined;
}

export function newMember(memberId: string, heartbeatIntervalMs: number): MemberState {
  return {
    memberId,
    memberEpoch: MemberEpoch.join,
    heartbeatIntervalMs,
    held: [],
    target: undefined,
    lost: false,
  };
}

/** The coordinator answered: its epoch, its pace and the assignment to reconcile towards. */
export function heartbeatAnswered(
  member: MemberState,
  response: ConsumerGroupHeartbeatResponse__Output,
): MemberState {
  return {
    ...member,
    memberId: response.memberId === "" ? member.memberId : response.memberId,
    memberEpoch: response.memberEpoch,
    heartbeatIntervalMs:
      response.heartbeatIntervalMs > 0 ? response.heartbeatIntervalMs : member.heartbeatIntervalMs,
    target: fromWirePartitions(response.assignment),
  };
}

/**
 * A heartbeat failed after `silentForMs` without an answer. The partitions are lost when the coordinator
 * says the member is unknown or fenced, or when no heartbeat got through for a whole session (it has
 * been removed by now); FENCED_INSTANCE_ID and errors no retry can fix stop the member; anything retriable
 * is retried at the retry policy's pace. A member with nothing to lose just retries, so that a join
 * refused again and again backs off instead of spinning through lose steps.
 */
export function heartbeatFailed(
  member: MemberState,
  error: BrookError,
  silentForMs: number,
  sessionTimeoutMs: number,
): { member: MemberState; action: HeartbeatFailureAction } {
  const action = failureAction(error, silentForMs >= sessionTimeoutMs);
  if (action !== "lose") return { member, action };
  const hasSomethingToLose = member.memberEpoch !== MemberEpoch.join || member.held.length > 0;
  if (!hasSomethingToLose) return { member, action: "retry" };
  return { member: { ...member, lost: true, target: undefined }, action };
}

function failureAction(error: BrookError, sessionOver: boolean): HeartbeatFailureAction {
  switch (error.code) {
    case "UNKNOWN_MEMBER_ID":
    case "FENCED_MEMBER_EPOCH":
      return "lose";
    case "FENCED_INSTANCE_ID":
      return "fatal";
    default:
      if (!error.retriable) return "fatal";
      return sessionOver ? "lose" : "retry";
  }
}

/** The member stops for good (fatal error): what it holds is lost, and it does not join again. */
export function stopped(member: MemberState): MemberState {
  return { ...member, lost: true, target: undefined };
}

/** The next step towards the target: lose first, then revoke, then assign. */
export function nextStep(member: MemberState): ReconcileStep {
  if (member.lost) return { kind: "lose", partitions: [...member.held] };
  if (member.target === undefined) return { kind: "idle" };
  const target = new Set(member.target.map(partitionKey));
  const held = new Set(member.held.map(partitionKey));
  const revoked = member.held.filter((tp) => !target.has(partitionKey(tp)));
  if (revoked.length > 0) return { kind: "revoke", partitions: revoked };
  const added = member.target.filter((tp) => !held.has(partitionKey(tp)));
  if (added.length > 0) return { kind: "assign", partitions: added };
  return { kind: "idle" };
}

/** The member after `step` was carried out. */
export function stepDone(member: MemberState, step: ReconcileStep): MemberState {
  switch (step.kind) {
    case "idle":
      return member;
    case "lose":
      return { ...member, held: [], memberEpoch: MemberEpoch.join, lost: false, target: undefined };
    case "revoke": {
      const revoked = new Set(step.partitions.map(partitionKey));
      return { ...member, held: member.held.filter((tp) => !revoked.has(partitionKey(tp))) };
    }
    case "assign":
      return { ...member, held: sortPartitions([...member.held, ...step.partitions]) };
  }
}

/** A member may commit once joined and while it has not lost its partitions. */
export function canCommit(member: MemberState): boolean {
  return !member.lost && member.memberEpoch > 0;
}

/** The heartbeat for the member as it is now; `memberEpoch` overrides its epoch (to leave). */
export function heartbeatRequest(
  member: MemberState,
  settings: HeartbeatSettings,
  memberEpoch = member.memberEpoch,
): ConsumerGroupHeartbeatRequest {
  return {
    groupId: settings.groupId,
    memberId: member.memberId,
    memberEpoch,
    instanceId: settings.instanceId ?? "",
    sessionTimeoutMs: settings.sessionTimeoutMs,
    rebalanceTimeoutMs: settings.rebalanceTimeoutMs,
    subscribedTopicNames: settings.subscription.names,
    subscribedTopicRegex: settings.subscription.regex,
    ownedPartitions: toWirePartitions(member.held),
    clientId: settings.clientId,
    serverAssignor: settings.assignor,
    ...(settings.memberMetadata === undefined ? {} : { memberMetadata: settings.memberMetadata }),
  };
}

/**
 * The metadata a heartbeat at `memberEpoch` carries: on a join, the member's (none when it has none); after
 * that, only when it differs from what the coordinator acknowledged last (empty clears it).
 */
export function metadataToSend(
  memberEpoch: number,
  current: Buffer | undefined,
  acknowledged: Buffer | undefined,
): Buffer | undefined {
  const none = Buffer.alloc(0);
  if (memberEpoch === MemberEpoch.join)
    return current === undefined || current.length === 0 ? undefined : current;
  return (current ?? none).equals(acknowledged ?? none) ? undefined : (current ?? none);
}

/** The epoch a member leaves with: a static member (with an instance id) keeps its partitions a while. */
export function leaveEpoch(instanceId: string | undefined): number {
  return instanceId === undefined || instanceId === "" ? MemberEpoch.leave : MemberEpoch.leaveStatic;
}

/**
 * Names as they are; every RegExp by its source, joined with `|` (the coordinator matches whole topic
 * names, as `^(?:regex)$`). Flags are not carried: the wire has only the source.
 */
export function subscriptionOf(topics: readonly (string | RegExp)[]): WireSubscription {
  const names = [...new Set(topics.filter((topic): topic is string => typeof topic === "string"))].sort();
  const sources = topics.filter((topic): topic is RegExp => topic instanceof RegExp).map((re) => re.source);
  return { names, regex: [...new Set(sources)].join("|") };
}

/** Whether a topic is matched by a subscription's regex the way the coordinator matches it. */
export function regexMatches(regex: string, topic: string): boolean {
  return regex !== "" && !topic.startsWith("__") && new RegExp(`^(?:${regex})$`).test(topic);
}

export function partitionKey({ topic, partition }: TopicPartition): string {
  return `${topic}\u0000${partition}`;
}

export function sortPartitions(partitions: TopicPartition[]): TopicPartition[] {
  return partitions.sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
  );
}

export function toWirePartitions(partitions: readonly TopicPartition[]): GroupTopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  }
  return [...byTopic].map(([topic, numbers]) => ({ topic, partitions: numbers }));
}

export function fromWirePartitions(groups: readonly GroupTopicPartitions__Output[]): TopicPartition[] {
  return sortPartitions(
    groups.flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition }))),
  );
}
