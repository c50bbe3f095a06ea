// Which group member consumes which partition, as a pure function of the
// members (their subscriptions and what they own now) and the topics'
// partition counts: the group coordinator computes assignments on the
// broker, as in Kafka's KIP-848. This is the "uniform" server-side assignor
// (the default); range-assignor.ts is "range", and server-assignor.ts
// chooses between them.
//
// The rules, in order: every partition of a subscribed topic goes to exactly
// one member subscribed to its topic; loads are balanced (with identical
// subscriptions, no member holds more than one partition above another);
// and as few partitions as possible change hands (sticky): a member keeps
// what it owns up to its fair share, so when a member joins only the
// partitions it takes move, and when one leaves only its partitions move.

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface GroupMember {
  readonly memberId: string;
  readonly topics: readonly string[];
  /** What the member consumes now (its previous assignment). */
  readonly owned: readonly TopicPartition[];
}

/** The uniform assignor. Member id → its partitions, sorted by topic then partition. Deterministic for a given input. */
export function assignPartitions(
  members: readonly GroupMember[],
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, TopicPartition[]> {
  const sorted = [...members].sort((a, b) => compare(a.memberId, b.memberId));
  const assignment = new Map<string, TopicPartition[]>(sorted.map((m) => [m.memberId, []]));
  if (sorted.length === 0) return assignment;

  const subscribers = new Map<string, GroupMember[]>();
  for (const member of sorted) {
    for (const topic of new Set(member.topics)) {
      if (!partitionCounts.has(topic)) continue;
      subscribers.set(topic, [...(subscribers.get(topic) ?? []), member]);
    }
  }
  const all: TopicPartition[] = [];
  for (const topic of [...subscribers.keys()].sort(compare)) {
    for (let partition = 0; partition < (partitionCounts.get(topic) ?? 0); partition++) {
      all.push({ topic, partition });
    }
  }

  // Fair shares: every member floor(P/M), and P mod M of them one more. Exact with identical
  // subscriptions; with different ones it only bounds what a member keeps in the sticky phase.
  const floor = Math.floor(all.length / sorted.length);
  let extraSlots = all.length % sorted.length;
  const taken = new Set<string>();

  // Sticky: each member keeps what it owns, still exists and it still subscribes to, up to its share.
  for (const member of sorted) {
    const kept = assignment.get(member.memberId) as TopicPartition[];
    const subscribed = new Set(member.topics);
    const owned = [...member.owned]
      .filter((tp) => subscribed.has(tp.topic) && tp.partition < (partitionCounts.get(tp.topic) ?? 0))
      .sort(comparePartitions);
    for (const tp of owned) {
      const key = keyOf(tp);
      if (taken.has(key)) continue; // two members claim it (a stale owner): the first keeps it
      const share = floor + (extraSlots > 0 ? 1 : 0);
      if (kept.length >= share) break;
      if (kept.length === floor) extraSlots--;
      kept.push(tp);
      taken.add(key);
    }
  }

  // The rest to the least loaded subscriber, ties to the lowest member id.
  for (const tp of all) {
    if (taken.has(keyOf(tp))) continue;
    const candidates = subscribers.get(tp.topic) ?? [];
    let best: GroupMember | undefined;
    for (const candidate of candidates) {
      const load = (assignment.get(candidate.memberId) as TopicPartition[]).length;
      if (best === undefined || load < (assignment.get(best.memberId) as TopicPartition[]).length) {
        best = candidate;
      }
    }
    if (best === undefined) continue; // unreachable: every listed topic has a subscriber
    (assignment.get(best.memberId) as TopicPartition[]).push(tp);
    taken.add(keyOf(tp));
  }

  for (const partitions of assignment.values()) partitions.sort(comparePartitions);
  return assignment;
}

/** A partition as a map key. */
export function keyOf(tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`;
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** By topic, then partition. */
export function comparePartitions(a: TopicPartition, b: TopicPartition): number {
  return compare(a.topic, b.topic) || a.partition - b.partition;
}
