// The follower side of replication in the simulator: the loop of
// src/replica-fetcher.ts (which is bound to a gRPC client), step for step,
// over the simulated network. Before the first fetch under a leader epoch it
// asks the leader where this replica's latest epoch ends (OffsetForLeaderEpoch)
// and truncates to truncationOffset(); then it fetches from its log end with
// the epoch it believes in, appends verbatim, follows the leader's high
// watermark, flushes, and fetches again. A response that finds the world moved
// on (another epoch, another log end, no longer a follower) is dropped; a
// failed round backs off 50 ms doubling to 1 s. One fetcher per leader, as
// there; the simulated partition is its only one.

import type { Partition } from "../../src/partition.js";
import { truncationOffset } from "../../src/replica-progress.js";

/** Constants of src/replica-fetcher.ts. */
const backoffMsMin = 50;
const backoffMsMax = 1_000;

export interface LeaderEpochAnswer {
  readonly error?: string;
  readonly leaderEpoch: number;
  readonly endOffset: number;
}

export interface FetchAnswer {
  readonly error?: string;
  readonly records: Buffer;
  readonly highWatermark: number;
}

/** The leader's RPCs as the fetcher calls them; each rejects when the call fails (lost, timed out, refused). */
export interface FetcherTransport {
  offsetForLeaderEpoch(
    connection: string,
    currentLeaderEpoch: number,
    leaderEpoch: number,
  ): Promise<LeaderEpochAnswer>;
  fetch(connection: string, fetchOffset: number, currentLeaderEpoch: number): Promise<FetchAnswer>;
  /** ListOffsets for the earliest offset (the leader's log start). */
  logStartOffset(connection: string): Promise<{ readonly error?: string; readonly offset: number }>;
  timer(delayMs: number, fire: () => void): void;
  /** What happened, for the trace. */
  note(event: string): void;
}

interface Followed {
  readonly partition: Partition;
  /** The leader epoch this partition is fetched under; a new one means truncating again first. */
  readonly epoch: number;
  truncated: boolean;
  outOfRange: boolean;
}

export class SimFetcher {
  private followed: Followed | undefined;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    readonly leaderId: number,
    private readonly connection: string,
    private readonly transport: FetcherTransport,
    onFailure: (error: unknown) => void,
  ) {
    this.run().catch(onFailure);
  }

  /** Fetches `partition` from now on; a new leader epoch means truncating first. */
  follow(partition: Partition): void {
    if (this.followed?.partition === partition && this.followed.epoch === partition.leaderEpoch) return;
    this.followed = { partition, epoch: partition.leaderEpoch, truncated: false, outOfRange: false };
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.followed = undefined;
    this.wake?.();
  }

  private async run(): Promise<void> {
    let backoffMs = 0;
    while (!this.closed) {
      if (this.followed === undefined || backoffMs > 0) {
        await this.pause(this.followed === undefined ? undefined : backoffMs);
        if (this.closed) return;
      }
      try {
        await this.truncateWhereNeeded();
        const clean = await this.fetchOnce();
        backoffMs = clean ? 0 : Math.min(Math.max(backoffMsMin, backoffMs * 2), backoffMsMax);
      } catch {
        if (this.closed) return;
        backoffMs = Math.min(Math.max(backoffMsMin, backoffMs * 2), backoffMsMax);
      }
    }
  }

  private pause(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.wake = undefined;
        resolve();
      };
      this.wake = finish;
      if (ms !== undefined) this.transport.timer(ms, finish);
    });
  }

  private async truncateWhereNeeded(): Promise<void> {
    const state = this.followed;
    if (!state || state.truncated || !state.partition.isFollower) return;
    const { partition } = state;
    if (state.outOfRange) await this.restartBelowLeaderStart(state);
    const epoch = partition.log.leaderEpochs.at(-1)?.epoch;
    if (epoch === undefined) {
      state.truncated = true;
      return;
    }
    const answer = await this.transport.offsetForLeaderEpoch(this.connection, state.epoch, epoch);
    if (this.followed !== state || !partition.isFollower) return;
    if (answer.error) {
      this.transport.note(`leader cannot say where epoch ${epoch} ends: ${answer.error}`);
      return;
    }
    const before = partition.logEndOffset;
    const target = truncationOffset(
      epoch,
      { leaderEpoch: answer.leaderEpoch, endOffset: answer.endOffset },
      {
        logEndOffset: before,
        highWatermark: partition.highWatermark,
        endOffsetForEpoch: (e) => partition.log.endOffsetForEpoch(e)?.endOffset,
      },
    );
    if (target < before) {
      partition.truncateTo(target);
      this.transport.note(
        `truncated ${before} -> ${partition.logEndOffset} (asked epoch ${epoch}, leader said ${answer.leaderEpoch}@${answer.endOffset})`,
      );
    }
    state.truncated = true;
  }

  private async restartBelowLeaderStart(state: Followed): Promise<void> {
    const answer = await this.transport.logStartOffset(this.connection);
    if (answer.error || this.followed !== state) return;
    if (state.partition.logEndOffset < answer.offset) state.partition.truncateFullyAndStartAt(answer.offset);
    state.outOfRange = false;
  }

  /** One fetch round; false when it failed (the caller backs off). */
  private async fetchOnce(): Promise<boolean> {
    const state = this.followed;
    if (state === undefined) return true;
    if (!state.truncated || !state.partition.isFollower) return state.truncated;
    const { partition } = state;
    // As replica-fetcher.ts: durable before reported, whoever wrote the tail.
    try {
      await partition.flushForReplication();
    } catch {
      return false;
    }
    if (this.followed !== state || !partition.isFollower) return true;
    const fetchOffset = partition.logEndOffset;
    const answer = await this.transport.fetch(this.connection, fetchOffset, state.epoch);
    // The world may have moved during the long poll: a new epoch, a truncation, another leader.
    if (this.followed !== state || !partition.isFollower || partition.logEndOffset !== fetchOffset)
      return true;
    if (answer.error) {
      if (answer.error === "OFFSET_OUT_OF_RANGE") {
        state.truncated = false;
        state.outOfRange = true;
      }
      this.transport.note(`fetch refused: ${answer.error}`);
      return false;
    }
    let appended = false;
    let clean = true;
    try {
      if (answer.records.length > 0) {
        partition.appendAsFollower(answer.records);
        appended = true;
      }
      partition.followLeaderHighWatermark(answer.highWatermark);
    } catch (error) {
      clean = false;
      this.transport.note(`could not append the leader's records: ${(error as Error).message}`);
      // A batch that does not continue this log means it diverged: truncate again first.
      state.truncated = false;
    }
    // Durable before reported: the next fetch offset counts toward the leader's high watermark.
    if (appended) {
      try {
        await partition.flushForReplication();
      } catch {
        clean = false;
      }
    }
    return clean;
  }
}
