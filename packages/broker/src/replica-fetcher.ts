// The follower side of replication: one fetcher per leader broker, as in
// Kafka, fetching every partition this broker follows from that leader in
// one long-polling Fetch (with this broker's id as replica_id). Before a
// partition's first fetch under a leader epoch, the fetcher asks the leader
// where this replica's latest epoch ends (OffsetForLeaderEpoch) and
// truncates whatever it holds beyond that (KIP-101 and KIP-279): a replica
// never keeps records a new leader does not have. After each response it
// appends the batches verbatim and fsyncs them (group commit, per partition)
// before it fetches again, so the fetch offset it reports is durable.

import type { MetadataImage } from "@brook/metadata";
import {
  asBrookError,
  BrookError,
  CallStream,
  type ChannelSecurity,
  createBrokerClient,
  type FetchRequest,
  type FetchResponse__Output,
  fromServiceError,
  isAssertionError,
  type ListOffsetsRequest,
  type ListOffsetsResponse__Output,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse__Output,
  stopOnAssertion,
} from "@brook/protocol";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Partition } from "./partition.js";
import { truncationOffset } from "./replica-progress.js";
import { systemTimers, type Timers } from "./timers.js";

/**
 * A leader's RPCs as a fetcher calls them: gRPC in production, the simulated
 * network in the replication simulator. Each call rejects when it fails (lost,
 * timed out, refused, cancelled).
 */
export interface LeaderTransport {
  offsetForLeaderEpoch(
    request: OffsetForLeaderEpochRequest,
    timeoutMs: number,
  ): Promise<OffsetForLeaderEpochResponse__Output>;
  /** Asked only for the earliest offset (timestamp -2): the leader's log start. */
  listOffsets(request: ListOffsetsRequest, timeoutMs: number): Promise<ListOffsetsResponse__Output>;
  fetch(request: FetchRequest, timeoutMs: number): Promise<FetchResponse__Output>;
  /** Cancels the fetch in flight (it rejects); the next fetch goes on a new stream. */
  resetFetch(): void;
  close(): void;
}

/** Opens the transport to one leader at `address` (host:port from the image). */
export type ConnectLeader = (leaderId: number, address: string) => LeaderTransport;

export interface ReplicaFetcherOptions {
  /** How long the leader may hold a fetch with nothing new (Kafka's replica.fetch.wait.max.ms). */
  readonly maxWaitMs: number;
  /** Cap on one partition's bytes per fetch (replica.fetch.max.bytes) and on a whole response. */
  readonly partitionMaxBytes: number;
  readonly responseMaxBytes: number;
}

export const defaultReplicaFetcherOptions: ReplicaFetcherOptions = {
  maxWaitMs: 500,
  partitionMaxBytes: 1024 * 1024,
  responseMaxBytes: 8 * 1024 * 1024,
};

/** Backoff after a failed round (leader unreachable, errors): doubles up to the max. */
const backoffMsMin = 50;
const backoffMsMax = 1_000;
/** A call's deadline beyond the long poll it asks for. */
const callSlackMs = 5_000;

/** Keeps one fetcher per leader, following the partitions the image says this broker follows. */
export class ReplicaFetcherManager {
  private readonly fetchers = new Map<number, ReplicaFetcher>();

  constructor(
    private readonly brokerId: number,
    private readonly logger: Logger,
    private readonly options: ReplicaFetcherOptions = defaultReplicaFetcherOptions,
    private readonly connect: ConnectLeader = grpcLeaderTransport({}),
    private readonly timers: Timers = systemTimers,
  ) {}

  /** After each image: which local partitions follow which leader, at which address. */
  reconcile(image: MetadataImage, partitions: Iterable<Partition>): void {
    const byLeader = new Map<number, Partition[]>();
    for (const partition of partitions) {
      if (!partition.isFollower) continue;
      const list = byLeader.get(partition.leaderId) ?? [];
      list.push(partition);
      byLeader.set(partition.leaderId, list);
    }
    for (const [leaderId, fetcher] of this.fetchers) {
      const leader = image.brokers.get(leaderId);
      const address = leader ? `${leader.host}:${leader.port}` : undefined;
      if (!byLeader.has(leaderId) || address !== fetcher.address) {
        fetcher.close();
        this.fetchers.delete(leaderId);
      }
    }
    for (const [leaderId, followed] of byLeader) {
      const leader = image.brokers.get(leaderId);
      if (!leader) continue; // a leader the image does not know cannot be fetched from; the next image will say
      let fetcher = this.fetchers.get(leaderId);
      if (!fetcher) {
        const address = `${leader.host}:${leader.port}`;
        fetcher = new ReplicaFetcher(
          this.brokerId,
          leaderId,
          address,
          this.connect(leaderId, address),
          this.options,
          this.timers,
          this.logger.child({ leaderId }),
        );
        this.fetchers.set(leaderId, fetcher);
      }
      fetcher.follow(followed);
    }
  }

  /** Partitions being fetched, per leader: for tests and status. */
  followedCount(): number {
    let count = 0;
    for (const fetcher of this.fetchers.values()) count += fetcher.size;
    return count;
  }

  close(): void {
    for (const fetcher of this.fetchers.values()) fetcher.close();
    this.fetchers.clear();
  }
}

interface Followed {
  /** The leader epoch this partition is fetched under; a new one means truncating again first. */
  readonly epoch: number;
  truncated: boolean;
  /** The leader said our fetch offset is out of its range: check its log start before fetching again. */
  outOfRange: boolean;
}

class ReplicaFetcher {
  private readonly followed = new Map<Partition, Followed>();
  private closed = false;
  private wake: (() => void) | undefined;
  /** follow() started a partition since this round chose what to fetch: start the round over. */
  private restartRound = false;

  constructor(
    private readonly brokerId: number,
    readonly leaderId: number,
    readonly address: string,
    private readonly leader: LeaderTransport,
    private readonly options: ReplicaFetcherOptions,
    private readonly timers: Timers,
    private readonly logger: Logger,
  ) {
    void this.run();
  }

  get size(): number {
    return this.followed.size;
  }

  /** Fetches exactly these partitions from now on; one with a new leader epoch is truncated first. */
  follow(partitions: readonly Partition[]): void {
    const wanted = new Set(partitions);
    for (const partition of this.followed.keys()) if (!wanted.has(partition)) this.followed.delete(partition);
    let started = false;
    for (const partition of partitions) {
      if (this.followed.get(partition)?.epoch === partition.leaderEpoch) continue;
      this.followed.set(partition, { epoch: partition.leaderEpoch, truncated: false, outOfRange: false });
      started = true;
    }
    // A long poll in flight (up to maxWaitMs on a quiet leader) would hold back a partition that just got
    // this leader: after a failover, the new leader's high watermark waits for exactly this follower. Its
    // answer is not needed (nothing is appended from a cancelled fetch; the next asks from the same offsets).
    if (started) {
      this.restartRound = true;
      this.leader.resetFetch();
    }
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.followed.clear();
    this.wake?.();
    this.leader.close();
  }

  private async run(): Promise<void> {
    let backoffMs = 0;
    while (!this.closed) {
      if (this.followed.size === 0 || backoffMs > 0) {
        await this.pause(this.followed.size === 0 ? undefined : backoffMs);
        if (this.closed) return;
      }
      try {
        this.restartRound = false;
        await this.truncateWhereNeeded();
        const clean = await this.fetchOnce();
        backoffMs = clean ? 0 : Math.min(Math.max(backoffMsMin, backoffMs * 2), backoffMsMax);
      } catch (error) {
        if (this.closed) return;
        this.logger.debug({ error: asBrookError(error).message }, "replica fetch failed; backing off");
        backoffMs = Math.min(Math.max(backoffMsMin, backoffMs * 2), backoffMsMax);
      }
    }
  }

  /** Waits for `ms`, or (without one) until follow() or close() wakes it. */
  private pause(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      let cancelTimer: (() => void) | undefined;
      const done = () => {
        cancelTimer?.();
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      if (ms !== undefined) cancelTimer = this.timers.after(ms, done);
    });
  }

  /**
   * Asks the leader where this replica's latest epoch ends and truncates to
   * it (KIP-279: when the leader answers with an older epoch, to where that
   * epoch ends here too, whichever is lower). A replica with no epochs has
   * nothing that could diverge.
   */
  private async truncateWhereNeeded(): Promise<void> {
    const pending = [...this.followed].filter(
      ([partition, state]) => !state.truncated && partition.isFollower,
    );
    if (pending.length === 0) return;
    for (const [partition, state] of pending) {
      if (state.outOfRange) await this.restartBelowLeaderStart(partition);
    }
    const asked = pending
      .map(([partition, state]) => ({ partition, state, epoch: partition.log.leaderEpochs.at(-1)?.epoch }))
      .filter((entry) => {
        if (entry.epoch !== undefined) return true;
        entry.state.truncated = true;
        return false;
      });
    if (asked.length === 0) return;
    const response = await this.leader.offsetForLeaderEpoch(
      {
        replicaId: this.brokerId,
        topics: groupByTopic(
          asked.map(({ partition, state, epoch }) => ({
            topic: partition.topic,
            entry: { partition: partition.partition, currentLeaderEpoch: state.epoch, leaderEpoch: epoch },
          })),
        ),
      },
      callSlackMs,
    );
    const results = new Map<
      string,
      { error?: { code: string; message: string } | null; leaderEpoch: number; endOffset: number }
    >();
    for (const topic of response.topics) {
      for (const result of topic.partitions) results.set(`${topic.topic}-${result.partition}`, result);
    }
    for (const { partition, state, epoch } of asked) {
      const result = results.get(`${partition.topic}-${partition.partition}`);
      if (!result || this.followed.get(partition) !== state || !partition.isFollower) continue;
      if (result.error?.code) {
        this.logger.debug(
          { topic: partition.topic, partition: partition.partition, error: result.error.message },
          "leader cannot say where the epoch ends yet",
        );
        continue;
      }
      const before = partition.logEndOffset;
      const target = truncationOffset(
        epoch as number,
        { leaderEpoch: result.leaderEpoch, endOffset: Number(result.endOffset) },
        {
          logEndOffset: before,
          highWatermark: partition.highWatermark,
          endOffsetForEpoch: (e) => partition.log.endOffsetForEpoch(e)?.endOffset,
        },
      );
      if (target < before) {
        partition.truncateTo(target);
        this.logger.info(
          {
            topic: partition.topic,
            partition: partition.partition,
            from: before,
            to: target,
            leaderEpoch: state.epoch,
          },
          "truncated a diverging log tail before following the new leader",
        );
      }
      state.truncated = true;
    }
  }

  /** The leader no longer has our fetch offset: start over at its log start when we are below it. */
  private async restartBelowLeaderStart(partition: Partition): Promise<void> {
    const response = await this.leader.listOffsets(
      {
        topics: [{ topic: partition.topic, partitions: [{ partition: partition.partition, timestamp: -2 }] }],
      },
      callSlackMs,
    );
    const result = response.topics[0]?.partitions[0];
    const state = this.followed.get(partition);
    if (!result || result.error?.code || !state) return;
    const leaderStart = Number(result.offset);
    if (partition.logEndOffset < leaderStart) {
      partition.truncateFullyAndStartAt(leaderStart);
      this.logger.warn(
        { topic: partition.topic, partition: partition.partition, leaderStart },
        "follower restarted its log at the leader's log start",
      );
    }
    state.outOfRange = false;
  }

  /** One fetch round; false when some partition failed (the caller backs off). */
  private async fetchOnce(): Promise<boolean> {
    const fetched = [...this.followed].filter(
      ([partition, state]) => state.truncated && partition.isFollower && !partition.waitsForSpace,
    );
    // Nothing to fetch while partitions are still listed: they wait for truncation, for room on a full
    // disk, or for the manager to drop them; back off rather than spin without yielding.
    if (fetched.length === 0) return this.followed.size === 0;
    // Durable before reported, whoever wrote the tail: records this replica appended as leader, or that
    // the previous leader's fetcher appended (its fsync may still run), count only once on disk. The
    // replication simulator found both. With nothing unflushed this costs nothing.
    const durable = await Promise.allSettled(fetched.map(([partition]) => partition.flushForReplication()));
    if (durable.some((outcome) => outcome.status === "rejected")) return false;
    const offsets = new Map(fetched.map(([partition]) => [partition, partition.logEndOffset]));
    const request: FetchRequest = {
      replicaId: this.brokerId,
      maxWaitMs: this.options.maxWaitMs,
      minBytes: 1,
      maxBytes: this.options.responseMaxBytes,
      topics: groupByTopic(
        fetched.map(([partition, state]) => ({
          topic: partition.topic,
          entry: {
            partition: partition.partition,
            fetchOffset: offsets.get(partition),
            partitionMaxBytes: this.options.partitionMaxBytes,
            currentLeaderEpoch: state.epoch,
          },
        })),
      ),
    };
    if (this.restartRound) return true;
    let response: FetchResponse__Output;
    try {
      response = await this.leader.fetch(request, this.options.maxWaitMs + callSlackMs);
    } catch (error) {
      if (this.restartRound) return true; // follow() cancelled it: fetch again at once, with the new partitions
      throw error;
    }
    const byName = new Map(
      fetched.map(([partition, state]) => [
        `${partition.topic}-${partition.partition}`,
        { partition, state },
      ]),
    );
    const appended: Partition[] = [];
    let clean = true;
    for (const topic of response.topics) {
      for (const result of topic.partitions) {
        const entry = byName.get(`${topic.topic}-${result.partition}`);
        if (!entry) continue;
        const { partition, state } = entry;
        // The world may have moved during the long poll: a new epoch, a truncation, another leader.
        if (this.followed.get(partition) !== state || !partition.isFollower) continue;
        if (partition.logEndOffset !== offsets.get(partition)) continue;
        if (result.error?.code) {
          clean = false;
          if (result.error.code === "OFFSET_OUT_OF_RANGE") {
            state.truncated = false;
            state.outOfRange = true;
          }
          this.logger.debug(
            { topic: partition.topic, partition: partition.partition, error: result.error.message },
            "replica fetch refused",
          );
          continue;
        }
        try {
          if (result.records.length > 0) {
            partition.appendAsFollower(result.records);
            appended.push(partition);
          }
          partition.followLeaderHighWatermark(Number(result.highWatermark));
        } catch (error) {
          // A broken invariant (the log's or the partition's) stops the node rather than being retried.
          if (isAssertionError(error)) stopOnAssertion(error);
          clean = false;
          this.logger.error(
            { err: error, topic: partition.topic, partition: partition.partition },
            "could not append the leader's records",
          );
          // A batch that does not continue this log means it diverged: truncate again first.
          state.truncated = false;
        }
      }
    }
    // Durable before reported: the next fetch offset counts toward the leader's high watermark.
    const flushes = await Promise.allSettled(appended.map((partition) => partition.flushForReplication()));
    if (flushes.some((outcome) => outcome.status === "rejected")) clean = false;
    return clean;
  }
}

/**
 * The gRPC transport: fetches go as messages on one stream to the leader (a
 * unary call costs several times more, and every acks=all produce waits for
 * two of them); the other two calls are unary.
 */
export function grpcLeaderTransport(security: ChannelSecurity): ConnectLeader {
  return (_leaderId, address) => {
    const client = createBrokerClient(address, security);
    const stream = new CallStream(client);
    let closed = false;
    const unary = <Res>(
      method: "OffsetForLeaderEpoch" | "ListOffsets",
      request: object,
      timeoutMs: number,
    ): Promise<Res> =>
      new Promise((resolve, reject) => {
        if (closed) {
          reject(new BrookError("BROKER_NOT_AVAILABLE", "the replica fetcher is closed"));
          return;
        }
        // biome-ignore lint/suspicious/noExplicitAny: one call site for two typed unary methods
        const fn = (client as any)[method].bind(client) as (
          request: object,
          options: grpc.CallOptions,
          callback: (error: grpc.ServiceError | null, response?: Res) => void,
        ) => grpc.ClientUnaryCall;
        fn(request, { deadline: Date.now() + timeoutMs }, (error, response) =>
          error ? reject(fromServiceError(error)) : resolve(response as Res),
        );
      });
    return {
      offsetForLeaderEpoch: (request, timeoutMs) => unary("OffsetForLeaderEpoch", request, timeoutMs),
      listOffsets: (request, timeoutMs) => unary("ListOffsets", request, timeoutMs),
      fetch: (request, timeoutMs) => stream.call("fetch", request, { timeoutMs }),
      resetFetch: () => stream.reset(),
      close: () => {
        closed = true;
        stream.close();
        client.close();
      },
    };
  };
}

function groupByTopic<T>(
  entries: readonly { topic: string; entry: T }[],
): { topic: string; partitions: T[] }[] {
  const byTopic = new Map<string, T[]>();
  for (const { topic, entry } of entries) {
    const list = byTopic.get(topic) ?? [];
    list.push(entry);
    byTopic.set(topic, list);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}
