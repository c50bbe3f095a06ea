// Watches a topic the way a client sees it, every few milliseconds: Metadata from whichever broker
// answers says who leads each partition; ListOffsets(latest) to that leader says whether it really
// serves (a killed leader refuses the connection, a paused one never answers, a deposed one says
// NOT_LEADER) and what the high watermark is. Feeds LeaderlessTimer and HighWatermarkCheck, and lets a
// drill wait for "every partition has a leader again" without guessing at sleeps.

import {
  type BrokerClient,
  createBrokerClient,
  fromServiceError,
  fromWireError,
  type ListOffsetsResponse__Output,
  type MetadataResponse__Output,
} from "@brook/protocol";
import { HighWatermarkCheck, LeaderlessTimer } from "./health.js";
import { sleepMs } from "./time.js";

export const leaderWatchDefaults = {
  /** Resolution of the leaderless timings. */
  pollMs: 20,
  /** A broker that has not answered in this long counts as not serving (a paused process never answers). */
  callTimeoutMs: 250,
  /** The watch stops by itself after this long, so a forgotten one cannot poll forever. */
  durationMsMax: 60 * 60 * 1000,
} as const;

/** ListOffsets' special timestamp for "latest", i.e. the high watermark. */
const latestOffset = -1;

export interface WatchedPartition {
  partition: number;
  /** The leader per Metadata; -1 when the partition is offline. */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  /** The leader answered ListOffsets for the partition in this poll. */
  served: boolean;
  /** What the serving leader answered; undefined when it did not serve. */
  highWatermark: number | undefined;
}

/** One poll's picture of the cluster, as a client sees it. */
export interface ClusterView {
  atMs: number;
  /** -1 when no broker answered Metadata. */
  controllerId: number;
  /** Brokers in service (Metadata leaves fenced ones out). */
  brokers: { id: number; address: string }[];
  /** Empty while the topic is unknown to the broker that answered. */
  partitions: WatchedPartition[];
}

export interface LeaderWatchOptions {
  /** Bootstrap addresses, host:port; brokers found in Metadata are asked too. */
  brokers: string[];
  topic: string;
  pollMs?: number;
  callTimeoutMs?: number;
  durationMsMax?: number;
  /** Shared with other observers (e.g. a consumer's fetches) so one rule sees every sighting. */
  highWatermarks?: HighWatermarkCheck;
  now?: () => number;
}

export class LeaderWatch {
  readonly leaderless = new LeaderlessTimer();
  readonly highWatermarks: HighWatermarkCheck;
  private readonly options: Required<Omit<LeaderWatchOptions, "highWatermarks">>;
  private readonly clients = new Map<string, BrokerClient>();
  /** Asked first for Metadata: the broker that answered last. */
  private preferred: string | undefined;
  private current: ClusterView | undefined;
  private polling: Promise<void> | undefined;
  private running = false;
  private readonly listeners = new Set<() => void>();

  constructor(options: LeaderWatchOptions) {
    this.options = {
      pollMs: leaderWatchDefaults.pollMs,
      callTimeoutMs: leaderWatchDefaults.callTimeoutMs,
      durationMsMax: leaderWatchDefaults.durationMsMax,
      now: Date.now,
      ...options,
    };
    this.highWatermarks = options.highWatermarks ?? new HighWatermarkCheck();
  }

  /** The latest poll's picture; undefined before the first poll ends. */
  get view(): ClusterView | undefined {
    return this.current;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.polling = this.pollUntilStopped();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.polling;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    this.notify();
  }

  /**
   * Resolves with the first view (from now on) for which `ready` holds; rejects after `timeoutMs` with
   * a message naming `what`, or when the watch stops.
   */
  waitFor(what: string, timeoutMs: number, ready: (view: ClusterView) => boolean): Promise<ClusterView> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const view = this.current;
        if (view !== undefined && ready(view)) finish(() => resolve(view));
        else if (!this.running) finish(() => reject(new Error(`the watch stopped before ${what}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private async pollUntilStopped(): Promise<void> {
    const { pollMs, durationMsMax, now } = this.options;
    const endMs = now() + durationMsMax;
    while (this.running && now() < endMs) {
      const startedMs = now();
      this.current = await this.poll();
      this.record(this.current);
      this.notify();
      const waitMs = pollMs - (now() - startedMs);
      await sleepMs(waitMs);
    }
    this.running = false;
    this.notify();
  }

  private record(view: ClusterView): void {
    for (const partition of view.partitions) {
      this.leaderless.observe(partition.partition, partition.served, view.atMs);
      if (partition.highWatermark !== undefined) {
        this.highWatermarks.observe(
          partition.partition,
          partition.highWatermark,
          "list-offsets",
          view.atMs,
          partition.leaderEpoch,
        );
      }
    }
  }

  private async poll(): Promise<ClusterView> {
    const metadata = await this.metadata();
    const atMs = this.options.now();
    if (metadata === undefined) {
      // Nobody answers: as far as any client can tell, no partition has a leader.
      const partitions = (this.current?.partitions ?? []).map((p) => ({
        ...p,
        served: false,
        highWatermark: undefined,
      }));
      return { atMs, controllerId: -1, brokers: [], partitions };
    }
    const brokers = metadata.brokers.map((b) => ({ id: b.id, address: `${b.host}:${b.port}` }));
    const topic = metadata.topics.find(
      (t) => t.name === this.options.topic && fromWireError(t.error) === undefined,
    );
    const infos = [...(topic?.partitions ?? [])].sort((a, b) => a.partition - b.partition);
    const byLeader = new Map<number, number[]>();
    for (const info of infos) {
      if (info.leader < 0) continue;
      byLeader.set(info.leader, [...(byLeader.get(info.leader) ?? []), info.partition]);
    }
    const answers = new Map<number, number>();
    await Promise.all(
      [...byLeader].map(async ([leader, partitions]) => {
        const address = brokers.find((b) => b.id === leader)?.address;
        if (address === undefined) return; // fenced: left out of Metadata, so it serves nothing
        for (const [partition, offset] of await this.highWatermarksAt(address, partitions)) {
          answers.set(partition, offset);
        }
      }),
    );
    const partitions = infos.map((info) => ({
      partition: info.partition,
      leader: info.leader,
      leaderEpoch: info.leaderEpoch,
      replicas: info.replicas,
      isr: info.isr,
      served: answers.has(info.partition),
      highWatermark: answers.get(info.partition),
    }));
    return { atMs, controllerId: metadata.controllerId, brokers, partitions };
  }

  /** Metadata from the broker that answered last, else any other known one, one at a time. */
  private async metadata(): Promise<MetadataResponse__Output | undefined> {
    const known = [
      ...(this.preferred === undefined ? [] : [this.preferred]),
      ...(this.current?.brokers.map((b) => b.address) ?? []),
      ...this.options.brokers,
    ];
    for (const address of new Set(known)) {
      const response = await this.call<MetadataResponse__Output>(address, "Metadata", {
        topics: [this.options.topic],
      });
      if (response !== undefined) {
        this.preferred = address;
        return response;
      }
    }
    this.preferred = undefined;
    return undefined;
  }

  /** The high watermark of each of `partitions` that the broker at `address` serves as leader. */
  private async highWatermarksAt(address: string, partitions: number[]): Promise<Map<number, number>> {
    const served = new Map<number, number>();
    const response = await this.call<ListOffsetsResponse__Output>(address, "ListOffsets", {
      topics: [
        {
          topic: this.options.topic,
          partitions: partitions.map((partition) => ({ partition, timestamp: latestOffset })),
        },
      ],
    });
    for (const answer of response?.topics.find((t) => t.topic === this.options.topic)?.partitions ?? []) {
      if (fromWireError(answer.error) === undefined) served.set(answer.partition, answer.offset);
    }
    return served;
  }

  /** One call with the watch's deadline; undefined on any failure. */
  private call<Res>(
    address: string,
    method: "Metadata" | "ListOffsets",
    request: unknown,
  ): Promise<Res | undefined> {
    const client = this.client(address);
    return new Promise((resolve) => {
      const callback = (error: Parameters<typeof fromServiceError>[0] | null, response: Res) => {
        // A fresh channel connects at once; a broken one would wait out gRPC's reconnect backoff,
        // which after a restart can be longer than the outage being measured.
        if (error && fromServiceError(error).code === "BROKER_NOT_AVAILABLE") this.forget(address, client);
        resolve(error ? undefined : response);
      };
      const invoke = client[method].bind(client) as unknown as (
        request: unknown,
        options: { deadline: number },
        callback: (error: Parameters<typeof fromServiceError>[0] | null, response: Res) => void,
      ) => void;
      invoke(request, { deadline: Date.now() + this.options.callTimeoutMs }, callback);
    });
  }

  private client(address: string): BrokerClient {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = createBrokerClient(address);
      this.clients.set(address, client);
    }
    return client;
  }

  private forget(address: string, client: BrokerClient): void {
    if (this.clients.get(address) !== client) return;
    this.clients.delete(address);
    client.close();
  }
}
