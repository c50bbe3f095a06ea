// The "range" server-side assignor (KIP-848's name for Kafka's co-partitioning assignor): partition p of
// every topic the same members subscribe to goes to the same member. A stream-processing task that reads
// partition p of several topics (an input topic and its repartition topic, two joined topics) then finds
// them all on one member.
//
// How: topics are grouped by the exact set of members subscribed to them (a "topic class"); with
// identical subscriptions, every subscribed topic is in one class. Each class has partition numbers
// 0..n-1, n its topics' largest partition count, and the numbers are what gets assigned: the uniform
// assignor (assignor.ts) shares them out, balanced and sticky, as if each class were a topic with n
// partitions and each number one partition of it. A member then gets, for every number it was given,
// that partition of each topic of the class that has it (a topic with fewer partitions simply lacks the
// high numbers). So, with identical subscriptions: no member has more than one partition number above
// another; a member keeps the numbers it owns (it owns a number when it owns that partition of any topic
// of the class) up to its fair share; and a member joining or leaving moves only the numbers that must
// move. With different subscriptions (a rolling change of a stream application, say), each class is
// assigned among its own subscribers, co-partitioned within the class, not across classes.

import {
  assignPartitions,
  compare,
  comparePartitions,
  type GroupMember,
  keyOf,
  type TopicPartition,
} from "./assignor.js";

/** Topics with the same subscribers: assigned together, by partition number. */
interface TopicClass {
  /** Its first topic: the name the class goes by as the uniform assignor's pseudo-topic (classes are disjoint). */
  readonly name: string;
  /** Sorted. */
  readonly topics: readonly string[];
  /** How many partition numbers it has: its topics' largest partition count. */
  readonly numbers: number;
}

/** Member id → its partitions, sorted by topic then partition. Deterministic for a given input. */
export function assignCoPartitioned(
  members: readonly GroupMember[],
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, TopicPartition[]> {
  const classes = topicClasses(members, partitionCounts);
  const classOfTopic = new Map(classes.flatMap((c) => c.topics.map((topic) => [topic, c] as const)));
  const numbers = assignPartitions(
    members.map((member) => asNumberMember(member, classOfTopic, partitionCounts)),
    new Map(classes.map((c) => [c.name, c.numbers])),
  );
  const byName = new Map(classes.map((c) => [c.name, c]));
  const assignment = new Map<string, TopicPartition[]>();
  for (const [memberId, units] of numbers) {
    assignment.set(memberId, expand(units, byName, partitionCounts));
  }
  return assignment;
}

/** The subscribed topics that exist, grouped by the exact set of members subscribed to each. */
function topicClasses(
  members: readonly GroupMember[],
  partitionCounts: ReadonlyMap<string, number>,
): TopicClass[] {
  const subscribers = new Map<string, string[]>();
  for (const member of [...members].sort((a, b) => compare(a.memberId, b.memberId))) {
    for (const topic of new Set(member.topics)) {
      if (partitionCounts.has(topic)) append(subscribers, topic, member.memberId);
    }
  }
  const topicsBySubscribers = new Map<string, string[]>();
  for (const [topic, ids] of subscribers) append(topicsBySubscribers, ids.join("\u0000"), topic);
  return [...topicsBySubscribers.values()].map((topics) => {
    const sorted = topics.sort(compare);
    const numbers = sorted.reduce((most, topic) => Math.max(most, partitionCounts.get(topic) ?? 0), 0);
    return { name: sorted[0], topics: sorted, numbers };
  });
}

/** The member as the uniform assignor sees it: subscribed to classes, owning partition numbers of them. */
function asNumberMember(
  member: GroupMember,
  classOfTopic: ReadonlyMap<string, TopicClass>,
  partitionCounts: ReadonlyMap<string, number>,
): GroupMember {
  const classes = new Set<string>();
  for (const topic of member.topics) {
    const topicClass = classOfTopic.get(topic);
    if (topicClass !== undefined) classes.add(topicClass.name);
  }
  const owned = new Map<string, TopicPartition>();
  for (const { topic, partition } of member.owned) {
    const topicClass = classOfTopic.get(topic);
    if (topicClass === undefined || partition >= (partitionCounts.get(topic) ?? 0)) continue;
    const number = { topic: topicClass.name, partition };
    owned.set(keyOf(number), number);
  }
  return { memberId: member.memberId, topics: [...classes], owned: [...owned.values()] };
}

/** Partition numbers of classes → that partition of each topic of the class that has it. */
function expand(
  numbers: readonly TopicPartition[],
  classes: ReadonlyMap<string, TopicClass>,
  partitionCounts: ReadonlyMap<string, number>,
): TopicPartition[] {
  const partitions: TopicPartition[] = [];
  for (const { topic: name, partition } of numbers) {
    for (const topic of classes.get(name)?.topics ?? []) {
      if (partition < (partitionCounts.get(topic) ?? 0)) partitions.push({ topic, partition });
    }
  }
  return partitions.sort(comparePartitions);
}

function append(lists: Map<string, string[]>, key: string, value: string): void {
  const list = lists.get(key);
  if (list === undefined) lists.set(key, [value]);
  else list.push(value);
}
