// Keeps a consumer in its group (docs/consumer-groups.md): heartbeats at the coordinator's pace with
// everything the member holds, and carries out the steps member-state.ts decides (lose, revoke, assign)
// one at a time through the consumer (MembershipHost), while heartbeats go on, so a slow handler holding
// up a revocation does not cost the member its session. leave() gives everything up and leaves.

import { asBrookError, BrookError, type ConsumerGroupHeartbeatResponse__Output } from "@brook/protocol";
import type { Cluster } from "../cluster/cluster.js";
import type { GroupCoordinators } from "../cluster/coordinator.js";
import { consumerDefaults } from "../config.js";
import { logRetry } from "../logger.js";
import { backoffMs } from "../retry/retry-policy.js";
import { type Deferred, deferred, sleep } from "../runtime.js";
import {
  canCommit,
  type HeartbeatSettings,
  heartbeatAnswered,
  heartbeatFailed,
  heartbeatRequest,
  leaveEpoch,
  MemberEpoch,
  type MemberState,
  metadataToSend,
  newMember,
  nextStep,
  partitionKey,
  type ReconcileStep,
  stepDone,
  stopped,
  subscriptionOf,
} from "./member-state.js";
import type { CommitIdentity } from "./offset-committer.js";
import type { GroupAssignor, TopicPartition } from "./types.js";

/** What the consumer does for its membership. */
export interface MembershipHost {
  /** Stop fetching, let the handler busy with them finish, commit them when `commit`, call onRevoked. */
  release(partitions: TopicPartition[], options: { commit: boolean }): Promise<void>;
  /**
   * Read their committed offsets, start fetching there, call onAssigned. `signal` aborts when the step is
   * no longer wanted (the target changed, or the member leaves, loses its partitions or stops): a wait
   * for offsets a transaction holds (KIP-447) ends then rather than hold up the steps after it.
   */
  acquire(partitions: TopicPartition[], signal?: AbortSignal): Promise<void>;
  /** A failure no rejoin can fix: the consumer stops with it. */
  fail(error: BrookError): void;
}

export interface MembershipOptions {
  groupId: string;
  memberId: string;
  instanceId: string | undefined;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  assignor: GroupAssignor;
  memberMetadata: Buffer | undefined;
}

/** What a consumer's group membership looks like right now. */
export interface GroupState {
  memberId: string;
  /** 0 while joining (or rejoining after losing its partitions); the coordinator's epoch once joined. */
  memberEpoch: number;
  /** The partitions the member holds (reconciled): what it reports to the coordinator. */
  assigned: TopicPartition[];
}

/**
 * running: heartbeats, and reconciles towards the coordinator's assignment.
 * leaving: close() was called; heartbeats go on (commits may need a fresh epoch) while everything held is
 *          revoked, with no new partitions taken on.
 * stopped: no heartbeats; only losing what is held may still be under way.
 */
type Phase = "running" | "leaving" | "stopped";

export class GroupMembership {
  private member: MemberState;
  private phase: Phase = "running";
  private readonly topics: (string | RegExp)[] = [];
  private loop: Promise<void> | undefined;
  private readonly joined = deferred<void>();
  private hasJoined = false;
  /** Consecutive failed heartbeats; paces retries. */
  private failures = 0;
  private lastAnsweredMs: number;
  /** Set when something changed that the coordinator should hear about now rather than at the next beat. */
  private heartbeatWanted = false;
  private sleeping: AbortController | undefined;
  private answerWaiters: Deferred<void>[] = [];
  private reconciling = false;
  private reconciled: Promise<void> = Promise.resolve();
  /** The assign step under way, aborted once it is no longer the next step. */
  private acquiring: { partitions: TopicPartition[]; controller: AbortController } | undefined;
  private stepFailures = 0;
  /** The member's metadata now, and what the coordinator last acknowledged (undefined: none). */
  private metadata: Buffer | undefined;
  private acknowledgedMetadata: Buffer | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly coordinators: GroupCoordinators,
    private readonly host: MembershipHost,
    private readonly options: MembershipOptions,
  ) {
    this.member = newMember(options.memberId, consumerDefaults.heartbeatIntervalMs);
    this.metadata = options.memberMetadata;
    this.lastAnsweredMs = cluster.options.clock.nowMs();
    // subscribe() hands the join's outcome to the caller; nobody else has to handle it.
    this.joined.promise.catch(() => undefined);
  }

  get memberId(): string {
    return this.member.memberId;
  }

  state(): GroupState {
    const { memberId, memberEpoch, held } = this.member;
    return { memberId, memberEpoch, assigned: held.map(({ topic, partition }) => ({ topic, partition })) };
  }

  /**
   * Adds topics to the subscription. The first call starts heartbeating and resolves once the coordinator
   * answered the join (the assignment comes with that answer or a later one); it rejects when the member
   * cannot join (FENCED_INSTANCE_ID, an invalid group, no coordinator within the retry policy). Later
   * calls send the grown subscription at once.
   */
  subscribe(topics: readonly (string | RegExp)[]): Promise<void> {
    if (this.phase !== "running") {
      return Promise.reject(new BrookError("CLIENT_CLOSED", "this consumer left its group"));
    }
    this.topics.push(...topics);
    if (this.loop === undefined) {
      this.loop = this.heartbeatLoop();
      return this.joined.promise;
    }
    this.heartbeatNow();
    return Promise.resolve();
  }

  /** New member metadata: the next heartbeat carries it (checked against the limit by the caller). */
  setMemberMetadata(metadata: Buffer): void {
    this.metadata = Buffer.from(metadata);
  }

  /** The member id and epoch to commit with; undefined while the member may not commit. */
  commitIdentity(): CommitIdentity | undefined {
    return canCommit(this.member)
      ? { memberId: this.member.memberId, memberEpoch: this.member.memberEpoch }
      : undefined;
  }

  /** Heartbeats now; resolves with its answer, rejects if the member loses its partitions or stops first. */
  nextHeartbeat(): Promise<void> {
    if (this.phase === "stopped") {
      return Promise.reject(new BrookError("CLIENT_CLOSED", "this consumer left its group"));
    }
    const waiter = deferred<void>();
    this.answerWaiters.push(waiter);
    this.heartbeatNow();
    return waiter.promise;
  }

  /**
   * Revokes everything held (commit, onRevoked) with no new partitions taken on, then stops heartbeating
   * and leaves: epoch -1, or -2 for a static member, which keeps its partitions for its session timeout.
   * Never throws; what fails is logged.
   */
  async leave(): Promise<void> {
    if (this.phase === "running") {
      this.phase = "leaving";
      if (!this.member.lost) this.member = { ...this.member, target: [] };
      this.abandonStaleAcquire();
      this.reconcile();
    }
    while (this.reconciling) await this.reconciled;
    const leaving = this.phase === "leaving" && canCommit(this.member);
    this.stopHeartbeats(new BrookError("CLIENT_CLOSED", "the consumer is closing"));
    await this.loop;
    if (!leaving) return;
    const epoch = leaveEpoch(this.options.instanceId);
    try {
      await this.coordinators.call(
        this.options.groupId,
        "consumerGroupHeartbeat",
        heartbeatRequest(this.member, this.settings(), epoch),
        (answer) => answer.error,
      );
      this.member = stepDone(this.member, { kind: "lose", partitions: [] });
    } catch (error) {
      this.cluster.logger.warn(
        { groupId: this.options.groupId, memberId: this.member.memberId, error: asBrookError(error).message },
        "leaving the group failed; the coordinator removes the member after its session timeout",
      );
    }
  }

  private async heartbeatLoop(): Promise<void> {
    while (this.phase !== "stopped") {
      if (this.member.lost) {
        // The reconciler drops the partitions first and then asks for the join heartbeat.
        this.heartbeatWanted = false;
        await this.pause(this.member.heartbeatIntervalMs);
        continue;
      }
      await this.heartbeat();
      const { retry, random } = this.cluster.options;
      await this.pause(
        this.failures > 0 ? backoffMs(retry, this.failures - 1, random) : this.member.heartbeatIntervalMs,
      );
    }
  }

  private async heartbeat(): Promise<void> {
    this.heartbeatWanted = false;
    const { groupId, sessionTimeoutMs } = this.options;
    const epoch = this.member.memberEpoch;
    const sent = metadataToSend(epoch, this.metadata, this.acknowledgedMetadata);
    try {
      const response = await this.coordinators.call(
        groupId,
        "consumerGroupHeartbeat",
        heartbeatRequest(this.member, this.settings(sent)),
        (answer) => answer.error,
        { retry: false, timeoutMs: Math.min(this.cluster.options.requestTimeoutMs, sessionTimeoutMs) },
      );
      // A join set the coordinator's metadata to what it carried (maybe none); a later heartbeat, if it carried any.
      if (epoch === MemberEpoch.join || sent !== undefined) this.acknowledgedMetadata = sent;
      this.answered(response);
    } catch (error) {
      this.failed(asBrookError(error));
    }
  }

  private answered(response: ConsumerGroupHeartbeatResponse__Output): void {
    if (this.phase === "stopped") return;
    this.failures = 0;
    this.lastAnsweredMs = this.cluster.options.clock.nowMs();
    const answered = heartbeatAnswered(this.member, response);
    // While leaving, the target stays "nothing": the member is giving everything up.
    this.member = this.phase === "leaving" ? { ...answered, target: this.member.target } : answered;
    if (!this.hasJoined) {
      this.hasJoined = true;
      this.joined.resolve();
    }
    for (const waiter of this.answerWaiters.splice(0)) waiter.resolve();
    this.abandonStaleAcquire();
    this.reconcile();
  }

  private failed(error: BrookError): void {
    if (this.phase === "stopped") return;
    const silentForMs = this.cluster.options.clock.nowMs() - this.lastAnsweredMs;
    const { member, action } = heartbeatFailed(
      this.member,
      error,
      silentForMs,
      this.options.sessionTimeoutMs,
    );
    this.member = member;
    const fields = { groupId: this.options.groupId, memberId: member.memberId, error: error.message };
    if (action === "fatal") {
      this.stop(error);
    } else if (action === "lose") {
      this.cluster.logger.warn(fields, "group member lost its partitions; joining again");
      this.rejectWaiters(error);
      this.abandonStaleAcquire();
      this.reconcile();
    } else {
      this.failures++;
      // Cheap to look up again, and the coordinator may have moved whatever the error says.
      this.coordinators.forget(this.options.groupId);
      logRetry(this.cluster.logger, this.failures, fields, "group heartbeat failed; retrying");
      if (!this.hasJoined && this.failures > this.cluster.options.retry.retries) this.stop(error);
    }
  }

  /** A failure no rejoin fixes: drop everything (no commit), stop heartbeating, stop the consumer. */
  private stop(error: BrookError): void {
    // The error stops the consumer (host.fail), which hands it to the application.
    this.cluster.logger.info(
      { groupId: this.options.groupId, memberId: this.member.memberId, error: error.message },
      "group member stopped",
    );
    this.stopHeartbeats(error);
    this.joined.reject(error);
    this.member = stopped(this.member);
    this.host.fail(error);
    this.reconcile();
  }

  private stopHeartbeats(reason: BrookError): void {
    this.phase = "stopped";
    this.sleeping?.abort();
    this.acquiring?.controller.abort();
    this.rejectWaiters(reason);
    this.joined.reject(reason);
  }

  private rejectWaiters(reason: BrookError): void {
    for (const waiter of this.answerWaiters.splice(0)) waiter.reject(reason);
  }

  /** Starts working through the steps towards the target, unless that is under way already. */
  private reconcile(): void {
    if (this.reconciling) return;
    this.reconciling = true;
    this.reconciled = this.reconcileSteps();
  }

  private async reconcileSteps(): Promise<void> {
    try {
      for (;;) {
        const step = nextStep(this.member);
        if (step.kind === "idle" || (step.kind === "assign" && this.phase !== "running")) return;
        await this.perform(step);
      }
    } finally {
      // In the same turn as the last nextStep(): an answer arriving later starts a new run.
      this.reconciling = false;
    }
  }

  private async perform(step: Exclude<ReconcileStep, { kind: "idle" }>): Promise<void> {
    const acquiring =
      step.kind === "assign" ? { partitions: step.partitions, controller: new AbortController() } : undefined;
    try {
      this.acquiring = acquiring;
      if (step.kind === "assign") await this.host.acquire(step.partitions, acquiring!.controller.signal);
      else await this.host.release(step.partitions, { commit: step.kind === "revoke" });
    } catch (error) {
      // The step was abandoned (abandonStaleAcquire): the next one is decided afresh, without a backoff.
      if (acquiring?.controller.signal.aborted) return;
      // Only acquire() throws: it could not read the committed offsets within the retry policy, or a
      // transaction held them past the wait for stable offsets (UNSTABLE_OFFSET_COMMIT, retried here).
      const brook = asBrookError(error);
      if (!brook.retriable) {
        this.stop(brook);
        return;
      }
      const { retry, random } = this.cluster.options;
      const delayMs = backoffMs(retry, this.stepFailures++, random);
      this.cluster.logger.warn(
        { groupId: this.options.groupId, step: step.kind, error: brook.message, delayMs },
        "group reconciliation step failed; retrying",
      );
      await sleep(delayMs, acquiring?.controller.signal);
      return;
    } finally {
      if (this.acquiring === acquiring) this.acquiring = undefined;
    }
    this.stepFailures = 0;
    this.member = stepDone(this.member, step);
    this.heartbeatNow();
  }

  /**
   * Aborts the assign step under way when it is no longer the next step: the member now has to revoke or
   * lose partitions first, its target changed, or it is leaving or stopped. A revocation must not wait
   * behind an acquire that waits for a transaction to end.
   */
  private abandonStaleAcquire(): void {
    const acquiring = this.acquiring;
    if (acquiring === undefined) return;
    const next = this.phase === "running" ? nextStep(this.member) : undefined;
    if (next?.kind === "assign" && samePartitions(next.partitions, acquiring.partitions)) return;
    acquiring.controller.abort();
  }

  private heartbeatNow(): void {
    this.heartbeatWanted = true;
    this.sleeping?.abort();
  }

  /** Waits `ms`, or less when a heartbeat is wanted now or heartbeats stop. */
  private async pause(ms: number): Promise<void> {
    if (this.heartbeatWanted || this.phase === "stopped") return;
    const sleeping = new AbortController();
    this.sleeping = sleeping;
    await sleep(ms, sleeping.signal);
    if (this.sleeping === sleeping) this.sleeping = undefined;
  }

  /** The heartbeat's settings; `memberMetadata` only when this heartbeat carries it. */
  private settings(memberMetadata?: Buffer): HeartbeatSettings {
    return {
      groupId: this.options.groupId,
      instanceId: this.options.instanceId,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
      clientId: this.cluster.options.clientId,
      subscription: subscriptionOf(this.topics),
      assignor: this.options.assignor,
      memberMetadata,
    };
  }
}

function samePartitions(a: readonly TopicPartition[], b: readonly TopicPartition[]): boolean {
  if (a.length !== b.length) return false;
  const keys = new Set(a.map(partitionKey));
  return b.every((tp) => keys.has(partitionKey(tp)));
}
