// The follower's fetcher against a leader that long-polls: a partition that
// starts following this leader is fetched at once, not after the long poll in
// flight runs out (after a failover the new leader's high watermark waits for
// exactly that fetch). And on an injected transport and timers, as the
// replication simulator drives it: its backoff runs on those timers.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defaultTopicConfig, type MetadataImage } from "@brook/metadata";
import {
  AssertionError,
  BrokerService,
  BrookError,
  type CallRequest__Output,
  type CallResponse,
  isAssertionError,
  noError,
  systemClock,
} from "@brook/protocol";
import { PartitionLog } from "@brook/storage";
import { fatalErrorsOf } from "@brook/testkit";
import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Partition } from "../src/partition.js";
import { type ConnectLeader, type LeaderTransport, ReplicaFetcherManager } from "../src/replica-fetcher.js";
import type { Timers } from "../src/timers.js";
import { partitionContext, silentLogger } from "./helpers.js";

const leaderId = 2;
/** Far beyond the test's patience: only a cancelled long poll lets a new partition through in time. */
const longPollMs = 20_000;

/** A leader that holds every Fetch for its full max_wait_ms (nothing new arrives) and records them. */
class LongPollingLeader {
  readonly fetches: { partitions: string[]; atMs: number }[] = [];
  cancelled = 0;
  private readonly server = new grpc.Server();
  private readonly timers = new Set<NodeJS.Timeout>();
  port = 0;

  async start(): Promise<void> {
    this.server.addService(BrokerService, {
      // Replica fetchers send their fetches on the Calls stream; a reset stream cancels the long poll on it.
      Calls: (call: grpc.ServerDuplexStream<CallRequest__Output, CallResponse>) => {
        const polls = new Set<NodeJS.Timeout>();
        call.on("data", ({ id, fetch: request }: CallRequest__Output) => {
          if (!request) throw new Error("only fetches are expected");
          this.fetches.push({
            partitions: request.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p.partition}`)),
            atMs: Date.now(),
          });
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            polls.delete(timer);
            call.write({
              id,
              result: "fetch",
              fetch: {
                topics: request.topics.map((t) => ({
                  topic: t.topic,
                  partitions: t.partitions.map((p) => ({
                    partition: p.partition,
                    error: noError,
                    highWatermark: 0,
                    logStartOffset: 0,
                    records: Buffer.alloc(0),
                  })),
                })),
              },
            });
          }, request.maxWaitMs);
          this.timers.add(timer);
          polls.add(timer);
        });
        call.on("cancelled", () => {
          this.cancelled += polls.size;
          for (const timer of polls) {
            clearTimeout(timer);
            this.timers.delete(timer);
          }
          polls.clear();
        });
      },
    } as grpc.UntypedServiceImplementation);
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
  }

  fetchedSince(partition: string, sinceMs: number) {
    return this.fetches.find((fetch) => fetch.atMs >= sinceMs && fetch.partitions.includes(partition));
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.forceShutdown();
  }
}

let root: string;
let leader: LongPollingLeader;
let manager: ReplicaFetcherManager;
const partitions: Partition[] = [];

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "brook-fetcher-"));
  leader = new LongPollingLeader();
  await leader.start();
  manager = new ReplicaFetcherManager(1, silentLogger, {
    maxWaitMs: longPollMs,
    partitionMaxBytes: 1 << 20,
    responseMaxBytes: 1 << 20,
  });
});

afterEach(async () => {
  manager.close();
  leader.stop();
  for (const partition of partitions.splice(0)) await partition.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** A replica on broker 1 that follows broker 2 (an empty log: nothing to truncate first). */
async function follower(partition: number): Promise<Partition> {
  const log = await PartitionLog.open(path.join(root, `orders-${partition}`), {}, { clock: systemClock });
  const state = {
    partition,
    replicas: [2, 1],
    isr: [2, 1],
    leader: leaderId,
    leaderEpoch: 0,
    partitionEpoch: 0,
  };
  const replica = new Partition(
    "orders",
    "id-1",
    partition,
    log,
    state,
    defaultTopicConfig,
    partitionContext(),
  );
  partitions.push(replica);
  return replica;
}

/** Just what the manager reads of the image: where the leader is. */
function imageWithLeader(): MetadataImage {
  return {
    brokers: new Map([[leaderId, { host: "127.0.0.1", port: leader.port }]]),
  } as unknown as MetadataImage;
}

/** Polling for what the leader saw (vitest's own waitFor retries until the callback stops throwing). */
const waiting = { timeout: 3_000, interval: 10 };

describe("replica fetcher", () => {
  it("fetches a partition that starts following the leader at once, cancelling the long poll in flight", async () => {
    const first = await follower(0);
    const second = await follower(1);
    manager.reconcile(imageWithLeader(), [first]);
    await vi.waitFor(
      () => expect(leader.fetchedSince("orders-0", 0), "the first long poll").toBeDefined(),
      waiting,
    );

    const addedMs = Date.now();
    manager.reconcile(imageWithLeader(), [first, second]);
    const fetch = await vi.waitFor(() => {
      const seen = leader.fetchedSince("orders-1", addedMs);
      if (seen === undefined) throw new Error("no fetch of the new partition yet");
      return seen;
    }, waiting);
    expect(fetch.partitions.sort()).toEqual(["orders-0", "orders-1"]);
    expect(fetch.atMs - addedMs).toBeLessThan(1_000);
    await vi.waitFor(() => expect(leader.cancelled, "long polls the leader saw cancelled").toBe(1), waiting);
  });

  it("leaves the long poll alone when nothing new is followed", async () => {
    const first = await follower(0);
    manager.reconcile(imageWithLeader(), [first]);
    await vi.waitFor(
      () => expect(leader.fetchedSince("orders-0", 0), "the first long poll").toBeDefined(),
      waiting,
    );
    manager.reconcile(imageWithLeader(), [first]); // an image that changed nothing for this fetcher
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(leader.fetches).toHaveLength(1);
    expect(leader.cancelled).toBe(0);
  });
});

/** Timers that fire only when the test says: the delays the fetcher asked for, in order. */
class StepTimers implements Timers {
  readonly delaysMs: number[] = [];
  private readonly pending: (() => void)[] = [];

  after(delayMs: number, fire: () => void): () => void {
    this.delaysMs.push(delayMs);
    this.pending.push(fire);
    return () => undefined;
  }

  fireNext(): void {
    this.pending.shift()?.();
  }
}

/** A leader that refuses every fetch (unreachable), through the injected transport. */
function unreachableLeader(fetches: { count: number }): ConnectLeader {
  const unreachable = () => Promise.reject(new BrookError("BROKER_NOT_AVAILABLE", "unreachable"));
  return () => ({
    offsetForLeaderEpoch: unreachable,
    listOffsets: unreachable,
    fetch: () => {
      fetches.count++;
      return unreachable();
    },
    resetFetch: () => undefined,
    close: () => undefined,
  });
}

describe("replica fetcher on an injected transport and timers", () => {
  it("backs off 50 ms doubling to 1 s while the leader is unreachable, on the injected timers only", async () => {
    const timers = new StepTimers();
    const fetches = { count: 0 };
    const injected = new ReplicaFetcherManager(
      1,
      silentLogger,
      { maxWaitMs: 500, partitionMaxBytes: 1 << 20, responseMaxBytes: 1 << 20 },
      unreachableLeader(fetches),
      timers,
    );
    try {
      injected.reconcile(imageWithLeader(), [await follower(0)]);
      for (let round = 1; round <= 7; round++) {
        await vi.waitFor(() => expect(timers.delaysMs).toHaveLength(round), waiting);
        expect(fetches.count).toBe(round);
        timers.fireNext();
      }
      expect(timers.delaysMs).toEqual([50, 100, 200, 400, 800, 1_000, 1_000]);
    } finally {
      injected.close();
    }
  });
});

/** A leader that answers every fetch of orders-0 with `records` at high watermark 0. */
function answeringLeader(records: Buffer): ConnectLeader {
  return () => ({
    offsetForLeaderEpoch: () => Promise.reject(new BrookError("BROKER_NOT_AVAILABLE", "not asked")),
    listOffsets: () => Promise.reject(new BrookError("BROKER_NOT_AVAILABLE", "not asked")),
    fetch: async () =>
      ({
        topics: [
          {
            topic: "orders",
            partitions: [{ partition: 0, error: noError, highWatermark: "0", logStartOffset: "0", records }],
          },
        ],
      }) as unknown as Awaited<ReturnType<LeaderTransport["fetch"]>>,
    resetFetch: () => undefined,
    close: () => undefined,
  });
}

describe("replica fetcher and broken invariants", () => {
  it("hands an assertion that fails while it appends the leader's records to the process's fatal handler", async () => {
    const injected = new ReplicaFetcherManager(
      1,
      silentLogger,
      { maxWaitMs: 500, partitionMaxBytes: 1 << 20, responseMaxBytes: 1 << 20 },
      answeringLeader(Buffer.from("records")),
      new StepTimers(),
    );
    const replica = await follower(0);
    vi.spyOn(replica, "appendAsFollower").mockImplementation(() => {
      throw new AssertionError("a follower append continues its log");
    });
    try {
      const reached = await fatalErrorsOf(() => injected.reconcile(imageWithLeader(), [replica]), 100);
      expect(reached.length).toBeGreaterThan(0);
      expect(reached.every(isAssertionError)).toBe(true);
    } finally {
      injected.close();
    }
  });
});
