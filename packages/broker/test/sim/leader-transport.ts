// The production ReplicaFetcher's transport in the replication simulator: its
// three RPCs cross the simulated network (Simulation.call: lost, delayed,
// partitioned, reset by a restarted leader) and the leader answers them with
// the production handlers (fetch.ts with its long poll, offsets.ts), given
// the narrow part of a BrokerContext they read. Resetting the fetch stream
// (follow() does, to cancel a long poll) fails the fetch in flight and moves
// later calls to a new connection, as a new gRPC stream would. Requests and
// responses are encoded and decoded with the gRPC service's own protobuf
// (de)serializers, so each side sees what the wire would give it.

import {
  BrokerService,
  BrookError,
  type FetchRequest,
  type FetchRequest__Output,
  type FetchResponse__Output,
  type ListOffsetsRequest,
  type ListOffsetsRequest__Output,
  type ListOffsetsResponse__Output,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochRequest__Output,
  type OffsetForLeaderEpochResponse__Output,
} from "@brook/protocol";
import { type BrokerContext, defaultBrokerLimits, noBrokerObserver } from "../../src/context.js";
import { fetch } from "../../src/fetch.js";
import { listOffsets, offsetForLeaderEpoch } from "../../src/offsets.js";
import type { Partition } from "../../src/partition.js";
import type { ConnectLeader, LeaderTransport } from "../../src/replica-fetcher.js";
import type { Timers } from "../../src/timers.js";

/** What the transport needs from the simulation. */
export interface SimRpcs {
  /** One request from `from` to `to` and its reply, over `connection` (Simulation.call). */
  call<T>(
    from: number,
    to: number,
    connection: string,
    label: string,
    serve: () => T | Promise<T>,
    timeoutMs: number,
  ): Promise<T>;
  /** The partition the leader's process holds now, if it is up. */
  partitionOf(brokerId: number): Partition | undefined;
  readonly timers: Timers;
  /** A handler answered UNKNOWN_SERVER_ERROR: a bug, which fails the run. */
  fail(error: unknown): void;
  /** A new connection's number, for its label. */
  nextConnection(): number;
}

/** A gRPC method's protobuf (de)serializers, as the service definition has them. */
interface WireCodec<Req, Res> {
  requestSerialize(request: object): Buffer;
  requestDeserialize(bytes: Buffer): Req;
  responseSerialize(response: object): Buffer;
  responseDeserialize(bytes: Buffer): Res;
}

/** Every response partition's error, checked for a bug a handler turned into an answer. */
interface Answered {
  readonly topics: readonly {
    readonly partitions: readonly { readonly error?: { code: string; message: string } | null }[];
  }[];
}

export function simConnectLeader(followerId: number, rpcs: SimRpcs): ConnectLeader {
  return (leaderId) => new SimLeaderTransport(followerId, leaderId, rpcs);
}

class SimLeaderTransport implements LeaderTransport {
  private connection: string;
  private closed = false;
  /** Fetches in flight, each with the function that fails it (resetFetch, close). */
  private readonly fetches = new Set<(error: BrookError) => void>();

  constructor(
    private readonly followerId: number,
    private readonly leaderId: number,
    private readonly rpcs: SimRpcs,
  ) {
    this.connection = this.newConnection();
  }

  offsetForLeaderEpoch(
    request: OffsetForLeaderEpochRequest,
    timeoutMs: number,
  ): Promise<OffsetForLeaderEpochResponse__Output> {
    const asked = request.topics?.[0]?.partitions?.[0];
    const label = `OffsetForLeaderEpoch(current ${asked?.currentLeaderEpoch}, epoch ${asked?.leaderEpoch})`;
    return this.send<OffsetForLeaderEpochRequest__Output, OffsetForLeaderEpochResponse__Output>(
      "OffsetForLeaderEpoch",
      label,
      request,
      offsetForLeaderEpoch,
      timeoutMs,
    );
  }

  listOffsets(request: ListOffsetsRequest, timeoutMs: number): Promise<ListOffsetsResponse__Output> {
    return this.send<ListOffsetsRequest__Output, ListOffsetsResponse__Output>(
      "ListOffsets",
      "ListOffsets(earliest)",
      request,
      listOffsets,
      timeoutMs,
    );
  }

  fetch(request: FetchRequest, timeoutMs: number): Promise<FetchResponse__Output> {
    const asked = request.topics?.[0]?.partitions?.[0];
    const label = `Fetch(offset ${asked?.fetchOffset}, epoch ${asked?.currentLeaderEpoch})`;
    return new Promise((resolve, reject) => {
      const cancel = (error: BrookError) => reject(error);
      this.fetches.add(cancel);
      this.send<FetchRequest__Output, FetchResponse__Output>("Fetch", label, request, fetch, timeoutMs)
        .then(resolve, reject)
        .finally(() => this.fetches.delete(cancel));
    });
  }

  resetFetch(): void {
    this.cancelFetches("the call was cancelled");
    this.connection = this.newConnection();
  }

  close(): void {
    this.closed = true;
    this.cancelFetches("the replica fetcher is closed");
  }

  private cancelFetches(why: string): void {
    const error = new BrookError("CLIENT_CLOSED", why);
    for (const fail of [...this.fetches]) fail(error);
    this.fetches.clear();
  }

  private newConnection(): string {
    return `fetcher ${this.followerId}->${this.leaderId} #${this.rpcs.nextConnection()}`;
  }

  /** The request crosses the network, encoded; the leader's production handler answers it. */
  private send<Req, Res extends Answered>(
    method: "Fetch" | "ListOffsets" | "OffsetForLeaderEpoch",
    label: string,
    request: object,
    handle: (ctx: BrokerContext, request: Req) => object | Promise<object>,
    timeoutMs: number,
  ): Promise<Res> {
    const wire = BrokerService[method] as unknown as WireCodec<Req, Res>;
    const encoded = wire.requestSerialize(request);
    if (this.closed) {
      return Promise.reject(new BrookError("BROKER_NOT_AVAILABLE", "the replica fetcher is closed"));
    }
    return this.rpcs
      .call(
        this.followerId,
        this.leaderId,
        this.connection,
        label,
        async () => {
          const partition = this.rpcs.partitionOf(this.leaderId);
          if (!partition) throw new BrookError("BROKER_NOT_AVAILABLE", `broker ${this.leaderId} is down`);
          const response = await handle(
            leaderContext(partition, this.rpcs.timers),
            wire.requestDeserialize(encoded),
          );
          return wire.responseSerialize(response);
        },
        timeoutMs,
      )
      .then((bytes) => {
        const response = wire.responseDeserialize(bytes);
        for (const answer of response.topics.flatMap((topic) => topic.partitions)) {
          if (answer.error?.code === "UNKNOWN_SERVER_ERROR") {
            this.rpcs.fail(new Error(`${label} on broker ${this.leaderId}: ${answer.error.message}`));
          }
        }
        return response;
      });
  }
}

/**
 * What fetch.ts and offsets.ts read of a broker: its metadata image (passed
 * to replicas.get, which here ignores it), its one partition, the limits, the
 * observer, and the timers its long polls wait on.
 */
function leaderContext(partition: Partition, timers: Timers): BrokerContext {
  const replicas = {
    get(_image: unknown, topic: string, index: number): Partition {
      if (topic !== partition.topic || index !== partition.partition) {
        throw new BrookError("UNKNOWN_TOPIC", `topic '${topic}' does not exist`);
      }
      return partition;
    },
    waitTimers: timers,
  };
  const context = {
    metadata: { image: undefined },
    replicas,
    limits: defaultBrokerLimits,
    observer: noBrokerObserver,
  };
  return context as unknown as BrokerContext;
}
