// The partition assigner of a Kafka-protocol source's mirror group (<connector>-mirror): every member is a
// task and says which (taskId and taskCount, in its metadata's userData), and partition p of a topic goes
// to the member whose taskId is ownerTask(topic, p): the same task as on the Brook path. A partition whose
// owner is absent goes to no one (another task never reads it); of two members claiming one taskId (a
// task restarting while the old one has not left), the first by memberId gets it. assignPartitions is pure.

import { AssignerProtocol, type Assignment, type GroupMember, type PartitionAssigner } from "kafkajs";
import { ownerTask } from "./task-split.js";

export const mirrorAssignerName = "brook-mirror";

/** What a member says of itself in its userData. */
export interface MirrorTaskIdentity {
  taskId: number;
  taskCount: number;
}

export interface MirrorMember extends MirrorTaskIdentity {
  memberId: string;
  /** The topics it subscribed to: it is given partitions of these only. */
  topics: readonly string[];
}

/** Each member's partitions by topic, for the partition count of every subscribed topic. */
export function assignPartitions(
  members: readonly MirrorMember[],
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, Assignment> {
  const ordered = [...members].sort((a, b) =>
    a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0,
  );
  // Maps, not objects, while building: a topic may be named valueOf or constructor.
  const owned = new Map(ordered.map(({ memberId }) => [memberId, new Map<string, number[]>()]));
  for (const [topic, count] of partitionCounts) {
    for (let partition = 0; partition < count; partition++) {
      const owner = ordered.find(
        (member) =>
          member.topics.includes(topic) &&
          ownerTask({ topic, partition }, member.taskCount) === member.taskId,
      );
      if (owner === undefined) continue;
      const topics = owned.get(owner.memberId) as Map<string, number[]>;
      topics.set(topic, [...(topics.get(topic) ?? []), partition]);
    }
  }
  return new Map([...owned].map(([memberId, topics]) => [memberId, Object.fromEntries(topics)]));
}

/** The kafkajs assigner for a task: it announces the task, and (as the group's leader) assigns by task. */
export function mirrorAssigner(task: MirrorTaskIdentity): PartitionAssigner {
  return ({ cluster }) => ({
    name: mirrorAssignerName,
    version: 1,
    protocol: ({ topics }) => ({
      name: mirrorAssignerName,
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: 1,
        topics,
        userData: Buffer.from(JSON.stringify(task)),
      }),
    }),
    async assign({ members, topics }) {
      const counts = new Map(
        topics.map((topic): [string, number] => [topic, cluster.findTopicPartitionMetadata(topic).length]),
      );
      const decoded = members.map(decodeMember).filter((member) => member !== undefined);
      const assignments = assignPartitions(decoded, counts);
      return members.map(({ memberId }) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: assignments.get(memberId) ?? {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
  });
}

/** A member's identity, or undefined for one that is not a mirror task (it is given nothing). */
export function decodeMember({ memberId, memberMetadata }: GroupMember): MirrorMember | undefined {
  let topics: string[];
  let identity: unknown;
  try {
    // Malformed metadata (or none) throws, as does userData that is not JSON: a member of another kind.
    const metadata = AssignerProtocol.MemberMetadata.decode(memberMetadata);
    topics = metadata?.topics ?? [];
    identity = JSON.parse(String(metadata?.userData));
  } catch {
    return undefined;
  }
  if (typeof identity !== "object" || identity === null) return undefined;
  const { taskId, taskCount } = identity as Record<string, unknown>;
  if (!isCount(taskCount) || !Number.isSafeInteger(taskId) || (taskId as number) < 0) return undefined;
  if ((taskId as number) >= taskCount) return undefined;
  return { memberId, taskId: taskId as number, taskCount, topics };
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}
