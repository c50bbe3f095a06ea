// Where standby copies go: a pure function of the group's members and what each is assigned. Members in
// member-id order form a ring; the standbys of a task run on the next numStandbyReplicas members after
// the member running it (never on that member itself), so every instance computes the same placement.

import type { TopicPartition } from "@brook/client";
import type { Subtopology } from "./internal-topics.js";
import { parseTaskName, type TaskId, taskName, tasksOf } from "./task-id.js";

export interface MemberAssignment {
  memberId: string;
  assignment: readonly TopicPartition[];
}

/** The tasks `memberId` should keep standby copies of. */
export function standbyTasksFor(
  memberId: string,
  members: readonly MemberAssignment[],
  subtopologies: readonly Subtopology[],
  numStandbyReplicas: number,
): TaskId[] {
  const ring = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  const self = ring.findIndex((member) => member.memberId === memberId);
  if (self < 0 || numStandbyReplicas === 0) return [];
  const copies = Math.min(numStandbyReplicas, ring.length - 1);
  const own = new Set(tasksOf(ring[self]?.assignment ?? [], subtopologies).map(taskName));
  const standby = new Set<string>();
  ring.forEach((member, index) => {
    const distance = (self - index + ring.length) % ring.length;
    if (distance === 0 || distance > copies) return;
    for (const task of tasksOf(member.assignment, subtopologies)) {
      const name = taskName(task);
      const stateful = (subtopologies[task.subtopology]?.stores.length ?? 0) > 0;
      if (stateful && !own.has(name)) standby.add(name);
    }
  });
  return [...standby].sort().map(parseTaskName);
}
