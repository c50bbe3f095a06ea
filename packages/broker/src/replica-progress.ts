// What a partition leader knows of its followers, and the decisions that
// follow from it, as pure functions: Kafka's rules for the high watermark
// (the smallest durable log end offset across the ISR, and only while the
// ISR meets min.insync.replicas, KIP-966) and for who belongs in the ISR (a
// follower is in sync while it has caught up with the leader's log end at
// least once in the last replica.lag.time.max.ms).

/** One follower, as its fetches report it. */
export interface FollowerProgress {
  /**
   * The follower's log end offset as its last fetch reported it: the
   * follower fsyncs what it appended before it fetches again, so everything
   * below it is durable there. -1 until it has fetched in this leader epoch.
   */
  readonly logEndOffset: number;
  /** When it last fetched (ms). */
  readonly lastFetchMs: number;
  /** The leader's log end offset at that fetch. */
  readonly leaderEndAtLastFetch: number;
  /** The last time its fetch offset reached the leader's log end (ms). */
  readonly lastCaughtUpMs: number;
}

/** A follower of a new leader: nothing known yet, but a full lag window to catch up in. */
export function unknownFollower(nowMs: number): FollowerProgress {
  return { logEndOffset: -1, lastFetchMs: -1, leaderEndAtLastFetch: -1, lastCaughtUpMs: nowMs };
}

/**
 * Kafka's caught-up rule: a fetch from the leader's log end means caught up
 * now; a fetch from at least where the leader's log ended at the previous
 * fetch means caught up as of that previous fetch (it read everything there
 * was then, and new records arrived since).
 */
export function afterFetch(
  previous: FollowerProgress,
  fetchOffset: number,
  leaderEndOffset: number,
  nowMs: number,
): FollowerProgress {
  const lastCaughtUpMs =
    fetchOffset >= leaderEndOffset
      ? nowMs
      : fetchOffset >= previous.leaderEndAtLastFetch && previous.lastFetchMs >= 0
        ? Math.max(previous.lastCaughtUpMs, previous.lastFetchMs)
        : previous.lastCaughtUpMs;
  return {
    logEndOffset: fetchOffset,
    lastFetchMs: nowMs,
    leaderEndAtLastFetch: leaderEndOffset,
    lastCaughtUpMs,
  };
}

/**
 * The high watermark the leader may advance to, or undefined when it must
 * stay: while any ISR member's durable end is unknown, or the ISR is below
 * min.insync.replicas. `isr` is the maximal ISR (the committed one plus any
 * member an in-flight expansion adds), so a pending change never lets the
 * high watermark pass a replica that might be in the ISR.
 */
export function highWatermarkFor(
  leaderId: number,
  leaderDurableEnd: number,
  isr: readonly number[],
  followers: ReadonlyMap<number, FollowerProgress>,
  minInsyncReplicas: number,
): number | undefined {
  if (isr.length < minInsyncReplicas) return undefined;
  let lowest = leaderDurableEnd;
  for (const id of isr) {
    if (id === leaderId) continue;
    const end = followers.get(id)?.logEndOffset ?? -1;
    if (end < 0) return undefined;
    lowest = Math.min(lowest, end);
  }
  return lowest;
}

/** ISR followers that have not caught up within `lagTimeMaxMs`: the leader asks to drop them. */
export function laggingFollowers(
  leaderId: number,
  isr: readonly number[],
  followers: ReadonlyMap<number, FollowerProgress>,
  nowMs: number,
  lagTimeMaxMs: number,
): number[] {
  return isr.filter((id) => {
    if (id === leaderId) return false;
    const progress = followers.get(id);
    return progress === undefined || nowMs - progress.lastCaughtUpMs > lagTimeMaxMs;
  });
}

/**
 * Whether a follower outside the ISR may join it: it holds everything
 * committed (its end is at least the high watermark) and has reached this
 * leader's epoch (its end is at least where the epoch began), so it cannot
 * be missing records of an older leader that this one truncated away.
 */
export function mayJoinIsr(
  progress: FollowerProgress,
  highWatermark: number,
  epochStartOffset: number,
): boolean {
  return progress.logEndOffset >= highWatermark && progress.logEndOffset >= epochStartOffset;
}

/** The leader's answer to "where does epoch E end?": the largest epoch ≤ E it knows (-1: none) and that epoch's end. */
export interface LeaderEpochEnd {
  readonly leaderEpoch: number;
  readonly endOffset: number;
}

/**
 * Where a follower truncates before it follows a new leader epoch (Kafka's
 * KIP-101, with KIP-279's fix), given the epoch it asked about (its latest)
 * and the leader's answer:
 * - the leader knows that epoch: keep up to where the leader's copy of it ends;
 * - the leader knows only an older one: keep up to where that older epoch
 *   ends on both sides (the follower's copy of it may be longer or shorter);
 * - the leader knows none that old: keep only what was committed (the high
 *   watermark), the one thing certain to be on the leader too.
 * Never beyond the follower's own log end.
 */
export function truncationOffset(
  askedEpoch: number,
  answer: LeaderEpochEnd,
  follower: {
    readonly logEndOffset: number;
    readonly highWatermark: number;
    endOffsetForEpoch(epoch: number): number | undefined;
  },
): number {
  const end = follower.logEndOffset;
  if (answer.leaderEpoch < 0) return Math.min(follower.highWatermark, end);
  if (answer.leaderEpoch === askedEpoch) return Math.min(answer.endOffset, end);
  const ownEnd = follower.endOffsetForEpoch(answer.leaderEpoch) ?? end;
  return Math.min(answer.endOffset, ownEnd, end);
}
