// The consumer: assign partitions itself, or subscribe as a member of a consumer group (groupId) and let the
// group's coordinator share the partitions out; then read with `for await` or run({ eachMessage |
// eachBatch }). A position (the next offset to hand out) moves only once the application is done with a
// message: its handler returned (run), or it asked for the next one or left the loop (iterator). So what a
// group commits (on a timer, on revocation, on close(), or commit()) never skips an unhandled record.

import { randomUUID } from "node:crypto";
import { asBrookError, BrookError } from "@brook/protocol";
import type { Cluster } from "../cluster/cluster.js";
import { GroupCoordinators } from "../cluster/coordinator.js";
import { listOffsets, OffsetSpec } from "../cluster/offsets.js";
import { consumerDefaults } from "../config.js";
import { withRetry } from "../retry/retry-policy.js";
import { after, type Cancel } from "../runtime.js";
import { type BufferedBatch, countsProgress, Fetcher, type PartitionState, passed } from "./fetcher.js";
import { GroupMembership, type GroupState } from "./group-membership.js";
import { HandlerTracker } from "./handler-tracker.js";
import type { IsolationLevel } from "./isolation.js";
import {
  MemberEpoch,
  memberMetadataBytesMax,
  partitionKey,
  regexMatches,
  subscriptionOf,
} from "./member-state.js";
import { type CommitFailure, OffsetCommitter } from "./offset-committer.js";
import { PartitionHandoff } from "./partition-handoff.js";
import type {
  Assignment,
  ConsumedMessage,
  ConsumerOptions,
  EachBatchPayload,
  GroupAssignor,
  OffsetResetPolicy,
  RebalanceListener,
  RunOptions,
  Subscription,
  TopicPartition,
  TopicPartitionOffset,
  TopicPartitions,
} from "./types.js";

/** What a consumer with a groupId has on top of a plain one. */
interface GroupParts {
  id: string;
  instanceId: string | undefined;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  assignor: GroupAssignor;
  /** What the member sends on joining; setMemberMetadata() replaces it. */
  memberMetadata: Buffer | undefined;
  autoCommit: boolean;
  autoCommitIntervalMs: number;
  /** Generated once: a member that joins again keeps it. */
  memberId: string;
  coordinators: GroupCoordinators;
  committer: OffsetCommitter;
  handoff: PartitionHandoff;
}

export class Consumer implements AsyncIterable<ConsumedMessage> {
  readonly groupId: string | undefined;
  readonly isolationLevel: IsolationLevel;
  private readonly fetcher: Fetcher;
  private readonly fromBeginning: boolean;
  private readonly handlers = new HandlerTracker();
  private readonly group: GroupParts | undefined;
  /** Set by the first subscribe() of a consumer with a groupId. */
  private membership: GroupMembership | undefined;
  private listener: RebalanceListener = {};
  private subscribedFromBeginning: boolean | undefined;
  /** A group consumer that used assign(): it commits as a standalone consumer and may not subscribe. */
  private assignedItself = false;
  /** Topics paused as a whole: partitions of them the group assigns later start paused. */
  private readonly pausedTopics = new Set<string>();
  private cancelAutoCommit: Cancel | undefined;
  /** Why the group membership stopped for good; reading again throws it. */
  private failure: BrookError | undefined;
  private reading = false;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly cluster: Cluster,
    options: ConsumerOptions = {},
  ) {
    this.groupId = options.groupId;
    this.fromBeginning = options.fromBeginning ?? false;
    this.isolationLevel = isolationLevelOf(options.isolationLevel);
    this.fetcher = new Fetcher(cluster, {
      minBytes: options.minBytes ?? consumerDefaults.minBytes,
      maxBytes: options.maxBytes ?? consumerDefaults.maxBytes,
      maxWaitMs: options.maxWaitMs ?? consumerDefaults.maxWaitMs,
      maxBytesPerPartition: options.maxBytesPerPartition ?? consumerDefaults.maxBytesPerPartition,
      prefetchResponsesMax: consumerDefaults.prefetchResponsesMax,
      autoOffsetReset: options.autoOffsetReset ?? defaultReset(this.fromBeginning),
      isolationLevel: this.isolationLevel,
      requestTimeoutMs: options.requestTimeoutMs ?? cluster.options.requestTimeoutMs,
      retry: { ...cluster.options.retry, ...options.retry },
    });
    this.group = options.groupId === undefined ? undefined : this.groupParts(options.groupId, options);
  }

  /** The member id this consumer joins its group with; undefined without a groupId. */
  get memberId(): string | undefined {
    return this.membership?.memberId ?? this.group?.memberId;
  }

  /** Membership as of now; undefined unless the consumer subscribed with a groupId. */
  groupState(): GroupState | undefined {
    return this.membership?.state();
  }

  /**
   * Kafka's groupMetadata(): the member id and epoch a transactional producer's sendOffsets() passes
   * along, so the group refuses offsets from a member that lost its partitions. Undefined while the
   * consumer is not a member that may commit (not subscribed, or between epochs).
   */
  groupMetadata(): { groupId: string; memberId: string; memberEpoch: number } | undefined {
    const identity = this.membership?.commitIdentity();
    if (identity === undefined || this.groupId === undefined) return undefined;
    return { groupId: this.groupId, ...identity };
  }

  /**
   * Replaces the bytes the group's coordinator keeps with this member (ConsumerOptions.memberMetadata); the
   * next heartbeat carries them, and describeGroups shows them. At most 8 KiB (INVALID_REQUEST beyond).
   * Never a reason to reassign partitions. Only for a consumer with a groupId.
   */
  setMemberMetadata(metadata: Buffer): void {
    if (this.group === undefined) {
      throw new BrookError("INVALID_REQUEST", "member metadata needs a consumer with a groupId");
    }
    checkMemberMetadata(metadata, "INVALID_REQUEST");
    this.group.memberMetadata = Buffer.from(metadata);
    this.membership?.setMemberMetadata(metadata);
  }

  /** Optional: checks that the cluster answers. */
  async connect(): Promise<void> {
    await this.cluster.metadata.refresh();
  }

  /**
   * Adds partitions to the assignment (every partition of a topic when `partition` is omitted), starting
   * at `offset`; else, with a groupId, at the group's committed offset (under read_committed a stable one:
   * see committed()); else at the earliest or latest offset per `fromBeginning`. Reassigning a partition
   * restarts it there. A group consumer that assigns commits outside the group (member id "", epoch -1),
   * which the coordinator allows only while the group has no members.
   */
  async assign(assignments: Assignment[]): Promise<void> {
    this.assertOpen();
    if (this.membership !== undefined) {
      throw new BrookError(
        "INVALID_REQUEST",
        `this consumer subscribed as a member of group '${this.groupId}': the coordinator assigns its partitions`,
      );
    }
    if (this.group !== undefined) this.assignedItself = true;
    const wanted: (TopicPartition & { offset?: number; resetTo: "earliest" | "latest" })[] = [];
    for (const { topic, partition, offset, fromBeginning } of assignments) {
      const resetTo = startFrom(fromBeginning ?? this.fromBeginning);
      const partitions = partition === undefined ? await this.partitionsOf(topic) : [partition];
      for (const each of partitions) wanted.push({ topic, partition: each, offset, resetTo });
    }
    const committed = await this.committedOffsets(wanted.filter(({ offset }) => offset === undefined));
    for (const { topic, partition, offset, resetTo } of wanted) {
      const committedOffset = committed.get(partitionKey({ topic, partition }));
      const state = this.fetcher.assign(topic, partition, offset ?? committedOffset, resetTo);
      state.committedOffset = committedOffset;
      this.started(state);
    }
    if (this.group !== undefined) this.startAutoCommit();
  }

  /**
   * KafkaJS-style. Without a groupId: assigns every partition of the topics (RegExps are matched against
   * the topics that exist now). With one: joins the group, or adds the topics to the subscription; the
   * coordinator assigns partitions, now and as members come and go (onAssigned, onRevoked). Resolves once
   * the coordinator answered the join; rejects, and the consumer stops, if it cannot join.
   */
  async subscribe(subscription: Subscription): Promise<void> {
    this.assertOpen();
    const topics = [
      ...(subscription.topic === undefined ? [] : [subscription.topic]),
      ...(subscription.topics ?? []),
    ];
    if (topics.length === 0) throw new BrookError("INVALID_REQUEST", "subscribe() needs topic or topics");
    if (this.group === undefined) {
      const names = await this.existingTopics(topics);
      await this.assign(names.map((topic) => ({ topic, fromBeginning: subscription.fromBeginning })));
      return;
    }
    if (this.assignedItself) {
      throw new BrookError(
        "INVALID_REQUEST",
        "this consumer assigned partitions itself (assign()); a group member gets them from the coordinator",
      );
    }
    this.listener = {
      onAssigned: subscription.onAssigned ?? this.listener.onAssigned,
      onRevoked: subscription.onRevoked ?? this.listener.onRevoked,
    };
    this.subscribedFromBeginning = subscription.fromBeginning ?? this.subscribedFromBeginning;
    const group = this.group;
    // Heartbeats and auto-commits run on their own, even when subscribe() is called from a handler.
    const joined = this.handlers.outside(() => {
      this.membership ??= new GroupMembership(this.cluster, group.coordinators, group.handoff, {
        groupId: group.id,
        memberId: group.memberId,
        instanceId: group.instanceId,
        sessionTimeoutMs: group.sessionTimeoutMs,
        rebalanceTimeoutMs: group.rebalanceTimeoutMs,
        assignor: group.assignor,
        memberMetadata: group.memberMetadata,
      });
      this.startAutoCommit();
      return this.membership.subscribe(topics);
    });
    await joined;
  }

  /**
   * The next message of the partition will be the one at `offset`; anything buffered is dropped. With a
   * group, the new position is what the next commit stores.
   */
  seek({ topic, partition, offset }: TopicPartitionOffset): void {
    if (!(Number.isSafeInteger(offset) && offset >= 0)) {
      throw new BrookError("INVALID_REQUEST", `seek takes an offset >= 0, got ${offset}`);
    }
    this.fetcher.seek(this.assigned({ topic, partition }), offset);
  }

  /** The offset of the next message the application will get; undefined until the start is resolved. */
  position(topicPartition: TopicPartition): number | undefined {
    return this.assigned(topicPartition).position;
  }

  /** The partition's high watermark as of the last fetch; undefined before the first. */
  highWatermark(topicPartition: TopicPartition): number | undefined {
    return this.assigned(topicPartition).highWatermark;
  }

  assignments(): TopicPartition[] {
    return this.fetcher.allStates().map(({ topic, partition }) => ({ topic, partition }));
  }

  /**
   * Stops fetching the partitions (every partition of a topic when `partitions` is omitted, including
   * ones the group assigns later) and stops handing out their messages: a run() handler or the iterator
   * gets none of them after the current one; what was fetched is kept for resume(). Unassigned
   * partitions are ignored.
   */
  pause(topics: TopicPartitions[]): void {
    for (const { topic, partitions } of topics) {
      if (partitions === undefined) this.pausedTopics.add(topic);
      for (const state of this.statesOf(topic, partitions)) this.fetcher.pause(state);
    }
  }

  /** Undoes pause(): their messages are handed out again, from where the application left off. */
  resume(topics: TopicPartitions[]): void {
    for (const { topic, partitions } of topics) {
      if (partitions === undefined) this.pausedTopics.delete(topic);
      for (const state of this.statesOf(topic, partitions)) this.fetcher.resume(state);
    }
  }

  /** The paused partitions, by topic. */
  paused(): { topic: string; partitions: number[] }[] {
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of this.fetcher.pausedStates()) {
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    }
    return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
  }

  /**
   * The high watermark of every assigned partition (the last stable offset with read_committed), asked
   * of its leader now (ListOffsets latest): where a reader that wants to stop "at the end" stops
   * (position >= offset).
   */
  async endOffsets(): Promise<TopicPartitionOffset[]> {
    const queries = this.assignments().map((each) => ({ ...each, timestamp: OffsetSpec.latest }));
    const offsets = await listOffsets(this.cluster, queries, this.isolationLevel);
    return queries.map(({ topic, partition }, index) => ({ topic, partition, offset: offsets[index] }));
  }

  /**
   * Commits to the group: the given offsets (each the next offset to consume), or else the position of
   * every partition held whose position moved since its last commit. Called from inside a run()
   * handler, the message being handled is not covered yet (pass offsets to include it). Rejects with the
   * first partition's error when any was refused; the others were committed.
   */
  async commit(offsets?: TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    const group = this.requireGroup("commit()");
    for (const { offset } of offsets ?? []) {
      if (!(Number.isSafeInteger(offset) && offset >= 0)) {
        throw new BrookError("INVALID_REQUEST", `commit takes offsets >= 0, got ${offset}`);
      }
    }
    const failures =
      offsets === undefined
        ? await group.committer.commitPositions([
            ...this.fetcher.allStates(),
            ...group.handoff.releasingStates(),
          ])
        : await group.committer.commitOffsets(offsets);
    if (failures.length > 0) throw commitError(failures);
  }

  /**
   * The group's committed offsets of `partitions` as the coordinator has them now (Kafka's committed()),
   * -1 where the group has none; held or not by this consumer. Under read_committed, a partition on which
   * a transaction that has not ended yet holds an offset of the group is asked again (with the client's
   * backoff) until the transaction commits or aborts; past rebalanceTimeoutMs this rejects with
   * UNSTABLE_OFFSET_COMMIT rather than answer the offset the transaction is about to replace.
   */
  async committed(partitions: TopicPartition[]): Promise<TopicPartitionOffset[]> {
    this.assertOpen();
    const group = this.requireGroup("committed()");
    const committed = await group.committer.fetchCommitted(partitions);
    return partitions.map(({ topic, partition }) => ({
      topic,
      partition,
      offset: committed.get(partitionKey({ topic, partition })) ?? -1,
    }));
  }

  /** KafkaJS's name for commit(offsets). */
  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void> {
    return this.commit(offsets);
  }

  /**
   * Reads until stop() or close(): eachBatch gets a batch at a time, else eachMessage a message at a time,
   * in order per partition. Unlike KafkaJS, the promise settles only when reading ends: it resolves after
   * stop()/close() and rejects with the error that stopped the consumer or that a handler threw (the
   * position then stays at the message that failed).
   */
  async run({ eachBatch, eachMessage }: RunOptions): Promise<void> {
    if (eachBatch === undefined && eachMessage === undefined) {
      throw new BrookError("INVALID_REQUEST", "run() needs eachBatch or eachMessage");
    }
    this.startReading();
    try {
      for (let entry = await this.fetcher.next(); entry !== undefined; entry = await this.fetcher.next()) {
        const current = entry;
        await this.handlers.run(current.state, () =>
          eachBatch !== undefined
            ? this.handleBatch(current, eachBatch)
            : this.handleMessages(current, eachMessage!),
        );
      }
    } finally {
      this.stopReading();
    }
  }

  /**
   * `for await (const message of consumer)`: ends after stop()/close(); breaking out stops fetching. A
   * message counts as handled (its position is passed, and may be committed) once the loop asks for the
   * next one or is left: by break, return or a throw alike.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumedMessage> {
    this.startReading();
    try {
      for (let entry = await this.fetcher.next(); entry !== undefined; entry = await this.fetcher.next()) {
        let whole = true;
        for (const [index, message] of entry.batch.messages.entries()) {
          if (!this.fetcher.isRunning || !this.fetcher.isCurrent(entry)) {
            whole = false;
            break;
          }
          if (entry.state.paused) {
            this.fetcher.putBack(entry, index);
            whole = false;
            break;
          }
          const handled = this.handlers.begin(entry.state, true);
          try {
            yield message;
          } finally {
            // Kafka's meaning of position: the offset of the next message to hand out.
            if (countsProgress(entry)) entry.state.position = message.offset + 1;
            handled();
          }
        }
        if (whole) passed(entry);
      }
    } finally {
      this.stopReading();
    }
  }

  /**
   * Ends reading (run() resolves, the iterator finishes); positions and assignment stay, and a group
   * member stays in its group (heartbeats and auto-commits go on) until close().
   */
  stop(): Promise<void> {
    this.fetcher.stop();
    return Promise.resolve();
  }

  /**
   * Stops reading; with a group, waits for the run() handler under way (not for the iterator's loop
   * body, which may be the caller), commits what was handled (with autoCommit), calls onRevoked and
   * leaves the group (epoch -1, or -2 with a groupInstanceId). Then closes the connections.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /** KafkaJS's name for close(). */
  disconnect(): Promise<void> {
    return this.close();
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    this.fetcher.stop();
    this.cancelAutoCommit?.();
    const group = this.group;
    try {
      if (group !== undefined) {
        await this.handlers.finished(undefined, {
          timeoutMs: group.rebalanceTimeoutMs,
          includeIterator: false,
        });
        if (this.membership !== undefined) await this.membership.leave();
        else if (group.autoCommit) await this.autoCommit();
      }
    } finally {
      this.cluster.close();
    }
  }

  private async handleBatch(
    entry: BufferedBatch,
    eachBatch: (payload: EachBatchPayload) => Promise<void>,
  ): Promise<void> {
    const { state, batch } = entry;
    const isStale = () => !this.fetcher.isCurrent(entry);
    await eachBatch({
      batch,
      resolveOffset: (offset) => {
        if (countsProgress(entry)) state.position = offset + 1;
      },
      isRunning: () => this.fetcher.isRunning,
      isStale,
    });
    if (!isStale()) passed(entry);
  }

  private async handleMessages(
    entry: BufferedBatch,
    eachMessage: NonNullable<RunOptions["eachMessage"]>,
  ): Promise<void> {
    const { state } = entry;
    for (const [index, message] of entry.batch.messages.entries()) {
      if (!this.fetcher.isRunning || !this.fetcher.isCurrent(entry)) return;
      if (state.paused) {
        this.fetcher.putBack(entry, index);
        return;
      }
      await eachMessage({ topic: state.topic, partition: state.partition, message });
      if (countsProgress(entry)) state.position = message.offset + 1;
    }
    if (this.fetcher.isRunning && this.fetcher.isCurrent(entry)) passed(entry);
  }

  private startReading(): void {
    this.assertOpen();
    if (this.failure !== undefined) throw this.failure;
    if (this.reading) {
      throw new BrookError("INVALID_REQUEST", "this consumer is already being read (run() or for await)");
    }
    this.reading = true;
    this.fetcher.start();
  }

  private stopReading(): void {
    this.reading = false;
    this.fetcher.stop();
  }

  private assertOpen(): void {
    if (this.closed) throw new BrookError("CLIENT_CLOSED", "the consumer is closed");
  }

  private assigned({ topic, partition }: TopicPartition): PartitionState {
    const state = this.fetcher.state(topic, partition);
    if (state === undefined) {
      throw new BrookError("INVALID_REQUEST", `${topic}-${partition} is not assigned to this consumer`);
    }
    return state;
  }

  private statesOf(topic: string, partitions: number[] | undefined): PartitionState[] {
    return this.fetcher
      .allStates()
      .filter((state) => state.topic === topic && (partitions?.includes(state.partition) ?? true));
  }

  /** A partition was added to the assignment: it starts paused when its whole topic is. */
  private started(state: PartitionState): void {
    if (this.pausedTopics.has(state.topic)) this.fetcher.pause(state);
  }

  private requireGroup(what: string): GroupParts {
    if (this.group === undefined) {
      throw new BrookError("INVALID_REQUEST", `${what} needs a consumer with a groupId`);
    }
    return this.group;
  }

  /** The group's committed offsets of `partitions`; none without a group. */
  private async committedOffsets(partitions: TopicPartition[]): Promise<Map<string, number>> {
    if (this.group === undefined || partitions.length === 0) return new Map();
    return this.group.committer.fetchCommitted(partitions);
  }

  /** Commits every autoCommitIntervalMs until close(). */
  private startAutoCommit(): void {
    const group = this.group;
    if (group === undefined || !group.autoCommit || this.cancelAutoCommit !== undefined) return;
    const schedule = () => {
      this.cancelAutoCommit = after(group.autoCommitIntervalMs, () => {
        void this.autoCommit().then(() => {
          if (!this.closed) schedule();
        });
      });
    };
    this.handlers.outside(schedule);
  }

  /** Commits the positions that moved; never throws (the next one tries again). */
  private async autoCommit(): Promise<void> {
    try {
      const failures = await this.group!.committer.commitPositions(this.fetcher.allStates());
      if (failures.length > 0) throw commitError(failures);
    } catch (error) {
      this.cluster.logger.warn(
        { groupId: this.groupId, error: asBrookError(error).message },
        "auto-commit failed; the next one tries again",
      );
    }
  }

  /** Names as given; RegExps matched against the topics that exist now, as the coordinator would. */
  private async existingTopics(topics: (string | RegExp)[]): Promise<string[]> {
    const { names, regex } = subscriptionOf(topics);
    if (regex === "") return names;
    const metadata = await this.cluster.callAny("metadata", { topics: [] });
    const matched = metadata.topics.map(({ name }) => name).filter((name) => regexMatches(regex, name));
    return [...new Set([...names, ...matched])];
  }

  private async partitionsOf(topic: string): Promise<number[]> {
    const { retry, random } = this.cluster.options;
    const metadata = await withRetry(
      retry,
      { random, onRetry: () => this.cluster.metadata.markStale() },
      () => this.cluster.metadata.topic(topic),
    );
    return metadata.partitions.map((partition) => partition.partition);
  }

  private groupParts(groupId: string, options: ConsumerOptions): GroupParts {
    const coordinators = new GroupCoordinators(this.cluster);
    const rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? consumerDefaults.rebalanceTimeoutMs;
    const committer = new OffsetCommitter({
      groupId,
      coordinators,
      logger: this.cluster.logger,
      identity: () =>
        this.membership === undefined
          ? { memberId: "", memberEpoch: MemberEpoch.standalone }
          : this.membership.commitIdentity(),
      nextHeartbeat: () =>
        this.membership?.nextHeartbeat() ??
        Promise.reject(new BrookError("STALE_MEMBER_EPOCH", "a standalone commit has no member epoch")),
      stateOf: ({ topic, partition }) => this.fetcher.state(topic, partition),
      // KIP-447: a read_committed consumer starts only from offsets no open transaction is about to replace.
      requireStable: this.isolationLevel === "read_committed",
      stableOffsetsWaitMs: rebalanceTimeoutMs,
      retry: this.cluster.options.retry,
      random: this.cluster.options.random,
      clock: this.cluster.options.clock,
    });
    const autoCommit = options.autoCommit ?? consumerDefaults.autoCommit;
    const handoff = new PartitionHandoff({
      fetcher: this.fetcher,
      handlers: this.handlers,
      committer,
      logger: this.cluster.logger,
      groupId,
      autoCommit,
      rebalanceTimeoutMs,
      listener: () => this.listener,
      resetTo: () => startFrom(this.subscribedFromBeginning ?? this.fromBeginning),
      started: (state) => this.started(state),
      isClosing: () => this.closed,
      failed: (error) => {
        this.failure = error;
        this.fetcher.fail(error);
      },
    });
    if (options.memberMetadata !== undefined) checkMemberMetadata(options.memberMetadata, "INVALID_CONFIG");
    return {
      id: groupId,
      instanceId: options.groupInstanceId,
      assignor: assignorOf(options.assignor),
      memberMetadata: options.memberMetadata === undefined ? undefined : Buffer.from(options.memberMetadata),
      sessionTimeoutMs: options.sessionTimeoutMs ?? consumerDefaults.sessionTimeoutMs,
      rebalanceTimeoutMs,
      autoCommit,
      autoCommitIntervalMs: options.autoCommitIntervalMs ?? consumerDefaults.autoCommitIntervalMs,
      memberId: randomUUID(),
      coordinators,
      committer,
      handoff,
    };
  }
}

function isolationLevelOf(level: ConsumerOptions["isolationLevel"]): IsolationLevel {
  if (level === undefined || level === "read_uncommitted" || level === "read_committed") {
    return level ?? consumerDefaults.isolationLevel;
  }
  throw new BrookError(
    "INVALID_CONFIG",
    `isolationLevel is "read_uncommitted" or "read_committed", got ${JSON.stringify(level)}`,
  );
}

function assignorOf(assignor: ConsumerOptions["assignor"]): GroupAssignor {
  switch (assignor) {
    case undefined:
      return "uniform";
    case "uniform":
    case "range":
      return assignor;
    default:
      throw new BrookError(
        "INVALID_CONFIG",
        `assignor is "uniform" or "range", got ${JSON.stringify(assignor satisfies never)}`,
      );
  }
}

/** The coordinator keeps at most memberMetadataBytesMax bytes per member; more would stop the consumer. */
function checkMemberMetadata(metadata: Buffer, code: "INVALID_CONFIG" | "INVALID_REQUEST"): void {
  if (!Buffer.isBuffer(metadata)) throw new BrookError(code, "member metadata is a Buffer");
  if (metadata.length > memberMetadataBytesMax) {
    throw new BrookError(
      code,
      `member metadata is ${metadata.length} bytes; the coordinator keeps at most ${memberMetadataBytesMax}`,
    );
  }
}

function startFrom(fromBeginning: boolean): "earliest" | "latest" {
  return fromBeginning ? "earliest" : "latest";
}

function defaultReset(fromBeginning: boolean): OffsetResetPolicy {
  return startFrom(fromBeginning);
}

/** One error for a commit some partitions of which were refused: the first one's code, all of them named. */
function commitError(failures: CommitFailure[]): BrookError {
  const [first] = failures;
  const names = failures.map(({ topic, partition }) => `${topic}-${partition}`).join(", ");
  return new BrookError(first.error.code, `could not commit ${names}: ${first.error.message}`, {
    cause: first.error,
  });
}
