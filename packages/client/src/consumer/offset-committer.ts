// Commits positions to the group's coordinator and reads committed offsets back. Commits go one at a time,
// in order, so an older position can never land after a newer one; a position is sent only when it moved
// since the partition's last successful commit. A commit refused with STALE_MEMBER_EPOCH is sent again
// after the next heartbeat, with the epoch that heartbeat brought.
// A read_committed consumer reads committed offsets as stable ones only (KIP-447): a partition on which a
// transaction that has not ended holds an offset of the group answers UNSTABLE_OFFSET_COMMIT, and is asked
// again with the client's backoff until the transaction commits or aborts, for at most
// stableOffsetsWaitMs; starting at the offset the transaction is about to replace would process again what
// it already processed.

import { BrookError, type Clock, fromWireError, type RandomSource } from "@brook/protocol";
import type { GroupCoordinators } from "../cluster/coordinator.js";
import { consumerLimits } from "../config.js";
import type { Logger } from "../logger.js";
import { backoffMs, type RetryPolicy } from "../retry/retry-policy.js";
import { sleep } from "../runtime.js";
import type { PartitionState } from "./fetcher.js";
import { partitionKey, toWirePartitions } from "./member-state.js";
import type { TopicPartition, TopicPartitionOffset } from "./types.js";

/** Who commits: a member's id and epoch, or "" and -1 for a consumer outside the group. */
export interface CommitIdentity {
  memberId: string;
  memberEpoch: number;
}

export interface CommitterContext {
  groupId: string;
  coordinators: GroupCoordinators;
  logger: Logger;
  /** Undefined while the member may not commit (not joined yet, or it lost its partitions). */
  identity(): CommitIdentity | undefined;
  /** Resolves after the next heartbeat answer; rejects when there will be none (left, lost, stopped). */
  nextHeartbeat(): Promise<void>;
  /** The assigned partition's state, to record what was committed. */
  stateOf(topicPartition: TopicPartition): PartitionState | undefined;
  /** Read only stable offsets (OffsetFetch require_stable): the consumer reads read_committed. */
  requireStable: boolean;
  /** How long fetchCommitted waits for a transaction holding an offset to end; then UNSTABLE_OFFSET_COMMIT. */
  stableOffsetsWaitMs: number;
  /** The client's backoff between asks while offsets are unstable. */
  retry: RetryPolicy;
  random: RandomSource;
  clock: Clock;
}

/** A partition the coordinator did not take the offset of, and why. */
export interface CommitFailure extends TopicPartitionOffset {
  error: BrookError;
}

export class OffsetCommitter {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly context: CommitterContext) {}

  /** Commits each state's position where it moved since the last commit; returns what failed. */
  commitPositions(states: readonly PartitionState[]): Promise<CommitFailure[]> {
    return this.enqueue(async () => {
      const moved = states.filter(
        (state) => state.position !== undefined && state.position !== state.committedOffset,
      );
      const offsets = moved.map(({ topic, partition, position }) => ({
        topic,
        partition,
        offset: position!,
      }));
      return this.send(offsets, (index) => moved[index]);
    });
  }

  /** Commits the given offsets as they are (the next offset to consume, per partition). */
  commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<CommitFailure[]> {
    return this.enqueue(() => this.send(offsets, (index) => this.context.stateOf(offsets[index])));
  }

  /**
   * The group's committed offset of each partition, by partitionKey; absent when it has none. With
   * requireStable, partitions answered UNSTABLE_OFFSET_COMMIT are asked again (with the client's
   * backoff) until stable; past stableOffsetsWaitMs this rejects with UNSTABLE_OFFSET_COMMIT naming
   * them, and it rejects at once when `signal` aborts (the caller no longer wants them).
   */
  async fetchCommitted(
    partitions: readonly TopicPartition[],
    options: { signal?: AbortSignal } = {},
  ): Promise<Map<string, number>> {
    const committed = new Map<string, number>();
    const { requireStable, stableOffsetsWaitMs, retry, random, clock, logger, groupId } = this.context;
    const startedMs = clock.nowMs();
    let asked = partitions;
    for (let attempt = 0; asked.length > 0; attempt++) {
      const unstable = await this.fetchOnce(asked, committed, requireStable, options.signal);
      if (unstable.length === 0) break;
      const waitedMs = clock.nowMs() - startedMs;
      const delayMs = Math.min(backoffMs(retry, attempt, random), stableOffsetsWaitMs - waitedMs);
      if (delayMs <= 0 || options.signal?.aborted) {
        throw unstableError(groupId, unstable, options.signal?.aborted ? undefined : waitedMs);
      }
      const fields = { groupId, partitions: unstable.map(partitionKey), attempt, delayMs };
      if (attempt === 0) {
        logger.info(fields, "waiting for a transaction that commits offsets of the group to end (KIP-447)");
      } else logger.debug(fields, "offsets still unstable; asking again");
      await sleep(delayMs, options.signal);
      asked = unstable;
    }
    return committed;
  }

  /** One OffsetFetch: records the offsets answered in `committed`, and returns the partitions answered unstable. */
  private async fetchOnce(
    partitions: readonly TopicPartition[],
    committed: Map<string, number>,
    requireStable: boolean,
    signal: AbortSignal | undefined,
  ): Promise<TopicPartition[]> {
    const { groupId, coordinators } = this.context;
    const response = await coordinators.call(
      groupId,
      "offsetFetch",
      { groupId, topics: toWirePartitions(partitions), requireStable },
      // A partition's error is as retriable as the request's, so both go through the retry loop; an
      // unstable partition is waited for here instead, for longer than the retry policy lasts.
      (answer) =>
        answer.error?.code
          ? answer.error
          : answer.topics
              .flatMap((topic) => topic.partitions)
              .find((partition) => partition.error?.code && partition.error.code !== "UNSTABLE_OFFSET_COMMIT")
              ?.error,
      { signal },
    );
    const unstable: TopicPartition[] = [];
    for (const { topic, partitions: answers } of response.topics) {
      for (const { partition, offset, error } of answers) {
        if (error?.code === "UNSTABLE_OFFSET_COMMIT") unstable.push({ topic, partition });
        else if (offset >= 0) committed.set(partitionKey({ topic, partition }), offset);
      }
    }
    return unstable;
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Sends `offsets`, again after a heartbeat for those refused as STALE_MEMBER_EPOCH (at most
   * commitStaleEpochRetriesMax times), and records each success on its partition's state.
   */
  private async send(
    offsets: readonly TopicPartitionOffset[],
    stateAt: (index: number) => PartitionState | undefined,
  ): Promise<CommitFailure[]> {
    const failures: CommitFailure[] = [];
    const fail = (index: number, error: BrookError) => failures.push({ ...offsets[index], error });
    let pending = offsets.map((_, index) => index);
    for (let attempt = 0; pending.length > 0; attempt++) {
      const identity = this.context.identity();
      if (identity === undefined) {
        const error = new BrookError("UNKNOWN_MEMBER_ID", "not a member of the group right now");
        for (const index of pending) fail(index, error);
        break;
      }
      const refused = await this.sendOnce(identity, pending, offsets);
      const stale: number[] = [];
      for (const index of pending) {
        const error = refused.get(index);
        if (error === undefined) {
          const state = stateAt(index);
          if (state !== undefined) state.committedOffset = offsets[index].offset;
        } else if (
          error.code === "STALE_MEMBER_EPOCH" &&
          attempt < consumerLimits.commitStaleEpochRetriesMax
        ) {
          stale.push(index);
        } else fail(index, error);
      }
      pending = stale;
      if (pending.length === 0) break;
      try {
        await this.context.nextHeartbeat();
      } catch (error) {
        const reason = error instanceof BrookError ? error : refused.get(pending[0])!;
        for (const index of pending) fail(index, reason);
        break;
      }
    }
    return failures;
  }

  /** One OffsetCommit of `offsets[indexes]`; the errors by index (a request-level error applies to all). */
  private async sendOnce(
    identity: CommitIdentity,
    indexes: readonly number[],
    offsets: readonly TopicPartitionOffset[],
  ): Promise<Map<number, BrookError>> {
    const { groupId, coordinators } = this.context;
    const byTopic = new Map<string, { partition: number; offset: number; metadata: string }[]>();
    for (const index of indexes) {
      const { topic, partition, offset } = offsets[index];
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), { partition, offset, metadata: "" }]);
    }
    const request = {
      groupId,
      memberId: identity.memberId,
      memberEpoch: identity.memberEpoch,
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    };
    // STALE_MEMBER_EPOCH is retriable in the error table, but sending the same epoch again cannot help:
    // it is handled here, after a heartbeat; coordinator moves and the like are retried by call().
    const response = await coordinators.call(groupId, "offsetCommit", request, (answer) =>
      answer.error?.code === "STALE_MEMBER_EPOCH" ? undefined : answer.error,
    );
    const refused = new Map<number, BrookError>();
    const whole = fromWireError(response.error);
    const answers = new Map<string, BrookError | undefined>();
    for (const { topic, partitions } of response.topics) {
      for (const { partition, error } of partitions) {
        answers.set(partitionKey({ topic, partition }), fromWireError(error));
      }
    }
    for (const index of indexes) {
      const offset = offsets[index];
      const key = partitionKey(offset);
      const error =
        whole ??
        (answers.has(key)
          ? answers.get(key)
          : new BrookError("UNKNOWN_SERVER_ERROR", `no answer for ${offset.topic}-${offset.partition}`));
      if (error !== undefined) refused.set(index, error);
    }
    return refused;
  }
}

/** What fetchCommitted rejects with when offsets stayed unstable: past the wait, or no longer wanted. */
function unstableError(
  groupId: string,
  unstable: readonly TopicPartition[],
  waitedMs: number | undefined,
): BrookError {
  const names = unstable.map(({ topic, partition }) => `${topic}-${partition}`).join(", ");
  return new BrookError(
    "UNSTABLE_OFFSET_COMMIT",
    waitedMs === undefined
      ? `stopped waiting for the committed offsets of group '${groupId}' on ${names}: no longer wanted`
      : `a transaction that commits offsets of group '${groupId}' on ${names} has not committed or aborted after ${waitedMs} ms, and the offset it is about to replace would be stale (brook transactions list --state Ongoing shows open transactions)`,
  );
}
