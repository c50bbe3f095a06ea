// How a group consumer gives partitions up and takes them on when its membership says so: stop fetching,
// let the handler busy with one finish, commit, tell the application (onRevoked); or read the group's
// committed offsets (stable ones under read_committed: offset-committer.ts), start fetching there, tell
// the application (onAssigned).

import { asBrookError, type BrookError } from "@brook/protocol";
import type { Logger } from "../logger.js";
import type { Fetcher, PartitionState } from "./fetcher.js";
import type { MembershipHost } from "./group-membership.js";
import type { HandlerTracker } from "./handler-tracker.js";
import { partitionKey } from "./member-state.js";
import type { CommitFailure, OffsetCommitter } from "./offset-committer.js";
import type { RebalanceListener, TopicPartition } from "./types.js";

export interface HandoffContext {
  fetcher: Fetcher;
  handlers: HandlerTracker;
  committer: OffsetCommitter;
  logger: Logger;
  groupId: string;
  /** Without auto-commit the application commits; giving partitions up does not. */
  autoCommit: boolean;
  /** The longest a revocation waits for the handler: past it the coordinator has removed the member. */
  rebalanceTimeoutMs: number;
  listener(): RebalanceListener;
  /** Where a partition the group has no committed offset for starts. */
  resetTo(): "earliest" | "latest";
  /** A partition was taken on (the consumer pauses it when its whole topic is paused). */
  started(state: PartitionState): void;
  /** close() is under way: the iterator's loop body may be the caller, so it is not waited for. */
  isClosing(): boolean;
  /** The consumer stops with `error`. */
  failed(error: BrookError): void;
}

export class PartitionHandoff implements MembershipHost {
  /** Given up but perhaps not committed yet: commit() and position() still reach them. */
  private readonly releasing = new Set<PartitionState>();

  constructor(private readonly context: HandoffContext) {}

  releasingStates(): PartitionState[] {
    return [...this.releasing];
  }

  /** Never throws: a commit that fails is logged (at-least-once: the next owner processes it again). */
  async release(partitions: TopicPartition[], options: { commit: boolean }): Promise<void> {
    const { fetcher, handlers, committer } = this.context;
    const states = partitions.flatMap(({ topic, partition }) => fetcher.unassign(topic, partition) ?? []);
    for (const state of states) this.releasing.add(state);
    try {
      await handlers.finished(partitions, {
        timeoutMs: this.context.rebalanceTimeoutMs,
        includeIterator: !this.context.isClosing(),
      });
      if (options.commit && this.context.autoCommit) {
        const failures = await committer.commitPositions(states).catch((error: unknown) =>
          states.map(({ topic, partition }) => ({
            topic,
            partition,
            offset: -1,
            error: asBrookError(error),
          })),
        );
        this.logFailures(failures);
      }
      await this.notify("onRevoked", partitions);
    } finally {
      for (const state of states) this.releasing.delete(state);
    }
  }

  async acquire(partitions: TopicPartition[], signal?: AbortSignal): Promise<void> {
    const { fetcher, committer } = this.context;
    const committed = await committer.fetchCommitted(partitions, { signal });
    const resetTo = this.context.resetTo();
    for (const { topic, partition } of partitions) {
      const offset = committed.get(partitionKey({ topic, partition }));
      const state = fetcher.assign(topic, partition, offset, resetTo);
      state.committedOffset = offset;
      this.context.started(state);
    }
    await this.notify("onAssigned", partitions);
  }

  fail(error: BrookError): void {
    this.context.failed(error);
  }

  /** Calls the application's listener; what it throws is logged, and the handoff carries on. */
  private async notify(name: keyof RebalanceListener, partitions: TopicPartition[]): Promise<void> {
    const callback = this.context.listener()[name];
    if (callback === undefined) return;
    try {
      await callback(partitions.map(({ topic, partition }) => ({ topic, partition })));
    } catch (error) {
      this.context.logger.error(
        { groupId: this.context.groupId, error: asBrookError(error).message },
        `${name} threw; the handoff carries on`,
      );
    }
  }

  private logFailures(failures: CommitFailure[]): void {
    for (const { topic, partition, error } of failures) {
      this.context.logger.warn(
        { groupId: this.context.groupId, topic, partition, error: error.message },
        "could not commit a partition given up; its next owner processes some records again",
      );
    }
  }
}
