// The I/O around classic groups (classic-group.ts holds the rules): it parks the JoinGroup and SyncGroup
// requests that wait for a rebalance, runs each call on the group, writes the group's record when the
// call changed it, and only then delivers the answers the call produced (to this request and to the
// others that were waiting). Nothing a member acts on is ever answered before it is durable.
//
// Waiting requests are bounded: at most one JoinGroup and one SyncGroup per member id (a newer request
// of the same member supersedes the older), members per group are bounded, every wait ends by the
// group's rebalance timeout, and an AbortSignal (the connection closed) drops a wait at once.

import { asBrookError, BrookError } from "@brook/protocol";
import type { Logger } from "pino";
import type {
  ClassicGenerationInput,
  ClassicGroup,
  ClassicJoinInput,
  ClassicJoinResult,
  ClassicMemberIdentity,
  ClassicReply,
  ClassicSyncInput,
  ClassicSyncResult,
} from "./classic-group.js";

/** What the driver needs of the coordinator; `Shard` is the partition of __consumer_offsets holding the group. */
export interface ClassicGroupStore<Shard> {
  nowMs(): number;
  /** Writes the group's record (or its tombstone) and resolves once it, and all before it, is durable. */
  persist(shard: Shard, group: ClassicGroup): Promise<void>;
  /** Resolves once everything written to the shard so far is durable. */
  committed(shard: Shard): Promise<void>;
  readonly logger: Logger;
}

type WaitKind = ClassicReply["kind"];

interface Waiter {
  settle(answer: unknown): void;
}

export class ClassicCoordinator<Shard> {
  /** Per group: the waiting request of each (kind, member id). */
  private readonly waiting = new WeakMap<ClassicGroup, Map<string, Waiter>>();

  constructor(private readonly store: ClassicGroupStore<Shard>) {}

  /** JoinGroup: resolves when the join phase ends (or at once); rejects with the error the member gets. */
  async join(
    shard: Shard,
    group: ClassicGroup,
    input: ClassicJoinInput,
    signal?: AbortSignal,
  ): Promise<ClassicJoinResult> {
    checkNotAborted(signal);
    // A member sends JoinGroup again only once it gave up on the last one.
    if (input.memberId !== "") this.supersede(group, "join", input.memberId);
    const memberId = this.call(shard, group, () => group.join(input, this.store.nowMs()));
    const answer = this.wait<ClassicJoinResult>(group, "join", memberId, signal);
    this.flush(shard, group).catch(() => undefined); // its failure reaches the waiters
    return answer;
  }

  /** SyncGroup: resolves with the member's assignment once the leader's SyncGroup brought it. */
  async sync(
    shard: Shard,
    group: ClassicGroup,
    input: ClassicSyncInput,
    signal?: AbortSignal,
  ): Promise<ClassicSyncResult> {
    checkNotAborted(signal);
    this.supersede(group, "sync", input.memberId);
    this.call(shard, group, () => group.sync(input, this.store.nowMs()));
    const answer = this.wait<ClassicSyncResult>(group, "sync", input.memberId, signal);
    this.flush(shard, group).catch(() => undefined);
    return answer;
  }

  async heartbeat(shard: Shard, group: ClassicGroup, input: ClassicGenerationInput): Promise<void> {
    this.call(shard, group, () => group.heartbeat(input, this.store.nowMs()));
    await this.store.committed(shard);
  }

  /** LeaveGroup: each member's own error (undefined: it left); resolves once the group's record is durable. */
  async leave(
    shard: Shard,
    group: ClassicGroup,
    members: readonly ClassicMemberIdentity[],
  ): Promise<(BrookError | undefined)[]> {
    const errors = members.map((identity) => {
      try {
        group.leave(identity, this.store.nowMs());
        return undefined;
      } catch (error) {
        return asBrookError(error);
      }
    });
    await this.flush(shard, group);
    return errors;
  }

  /** Runs the group's timers (sessions, join and sync deadlines) and delivers what they decided. */
  tick(shard: Shard, group: ClassicGroup, nowMs: number): void {
    group.tick(nowMs);
    this.flush(shard, group).catch((error: unknown) =>
      this.store.logger.warn({ err: error, group: group.groupId }, "could not persist classic group state"),
    );
  }

  /** The group leaves this coordinator (deleted, converted, or its partition moved): every wait fails. */
  abandon(group: ClassicGroup, error: BrookError): void {
    for (const waiter of this.waiting.get(group)?.values() ?? []) waiter.settle(error);
    this.waiting.delete(group);
    if (group.state !== "Dead") group.toDead();
  }

  /** How many requests wait on the group (tests check that none leak). */
  waitingCount(group: ClassicGroup): number {
    return this.waiting.get(group)?.size ?? 0;
  }

  /** Runs one call of the rules; when it throws, what it decided so far is still written and delivered. */
  private call<T>(shard: Shard, group: ClassicGroup, run: () => T): T {
    try {
      return run();
    } catch (error) {
      this.flush(shard, group).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Takes what the group decided, binds each answer to the request waiting for it now, writes the group
   * if it changed (or waits for what was written before), then answers: each with its own answer, or
   * all with the write's error.
   */
  private async flush(shard: Shard, group: ClassicGroup): Promise<void> {
    const { replies, persist } = group.ready();
    const bound = replies.flatMap((reply) => {
      const waiter = this.take(group, reply.kind, reply.memberId);
      return waiter === undefined ? [] : [{ waiter, answer: reply.answer as unknown }];
    });
    if (bound.length === 0 && !persist) return;
    try {
      await (persist ? this.store.persist(shard, group) : this.store.committed(shard));
    } catch (error) {
      for (const { waiter } of bound) waiter.settle(asBrookError(error));
      throw error;
    }
    for (const { waiter, answer } of bound) waiter.settle(answer);
  }

  /** Parks a request until an answer for (kind, member id) arrives or its signal aborts. */
  private wait<T>(group: ClassicGroup, kind: WaitKind, memberId: string, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        const waiters = this.waiting.get(group);
        if (waiters?.get(waitKey(kind, memberId)) !== waiter) return; // answered or superseded already
        waiters.delete(waitKey(kind, memberId));
        group.cancelWait(kind, memberId, this.store.nowMs());
        waiter.settle(
          new BrookError(
            "REQUEST_TIMED_OUT",
            `${kind} of member ${memberId} in group '${group.groupId}' was cancelled`,
          ),
        );
      };
      const waiter: Waiter = {
        settle: (answer) => {
          signal?.removeEventListener("abort", onAbort);
          if (answer instanceof BrookError) reject(answer);
          else resolve(answer as T);
        },
      };
      let waiters = this.waiting.get(group);
      if (waiters === undefined) {
        waiters = new Map();
        this.waiting.set(group, waiters);
      }
      waiters.set(waitKey(kind, memberId), waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** An older request of the member waits no more: it fails, and the group stops counting it as waiting. */
  private supersede(group: ClassicGroup, kind: WaitKind, memberId: string): void {
    const older = this.take(group, kind, memberId);
    if (older === undefined) return;
    group.cancelWait(kind, memberId, this.store.nowMs());
    older.settle(
      new BrookError(
        "REBALANCE_IN_PROGRESS",
        `member ${memberId} of group '${group.groupId}' sent a newer ${kind === "join" ? "JoinGroup" : "SyncGroup"}`,
      ),
    );
  }

  private take(group: ClassicGroup, kind: WaitKind, memberId: string): Waiter | undefined {
    const waiters = this.waiting.get(group);
    const key = waitKey(kind, memberId);
    const waiter = waiters?.get(key);
    waiters?.delete(key);
    return waiter;
  }
}

function waitKey(kind: WaitKind, memberId: string): string {
  return `${kind}\u0000${memberId}`;
}

function checkNotAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new BrookError("REQUEST_TIMED_OUT", "the request was cancelled before it started");
}
