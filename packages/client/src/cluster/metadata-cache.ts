// The client's view of the cluster: brokers and, for the topics this client uses, each partition's leader.
// Refreshed on demand (unknown topic, stale after NOT_LEADER and friends, or older than maxAgeMs), one
// refresh at a time, and never more often than refreshIntervalMsMin.

import {
  type BrokerInfo__Output,
  BrookError,
  type Clock,
  fromWireError,
  type MetadataResponse__Output,
  type PartitionInfo__Output,
} from "@brook/protocol";
import { metadataLimits } from "../config.js";
import { sleep } from "../runtime.js";

export interface BrokerAddress {
  id: number;
  host: string;
  port: number;
  rack: string;
  /** host:port, as the connection pool keys it. */
  address: string;
}

export interface PartitionMetadata {
  partition: number;
  /** Broker id; -1 while the partition is offline. */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
}

export interface TopicMetadata {
  name: string;
  topicId: string;
  /** Indexed by partition number. */
  partitions: PartitionMetadata[];
}

/** Fetches metadata for `topics` (every topic when empty) from some broker. */
export type MetadataFetcher = (topics: string[]) => Promise<MetadataResponse__Output>;

export function brokerAddress(broker: Pick<BrokerInfo__Output, "host" | "port">): string {
  return broker.host.includes(":") ? `[${broker.host}]:${broker.port}` : `${broker.host}:${broker.port}`;
}

export class MetadataCache {
  private brokers = new Map<number, BrokerAddress>();
  private readonly topics = new Map<string, TopicMetadata>();
  private readonly topicErrors = new Map<string, BrookError>();
  /** Topics this client asked about; a refresh fetches exactly these. */
  private readonly interest = new Set<string>();
  private fetchedAtMs = Number.NEGATIVE_INFINITY;
  /** Failed refreshes count too, so an unreachable cluster is not asked in a tight loop. */
  private attemptedAtMs = Number.NEGATIVE_INFINITY;
  private stale = true;
  private refreshing: Promise<void> | undefined;
  private lastRequested = new Set<string>();
  /** Address → until when it is asked for metadata after the others (distrust()). */
  private readonly distrusted = new Map<string, number>();

  constructor(
    private readonly fetchMetadata: MetadataFetcher,
    private readonly clock: Clock,
  ) {}

  /** Brokers from the last refresh. */
  knownBrokers(): BrokerAddress[] {
    return [...this.brokers.values()];
  }

  /**
   * The broker at `address` did not answer, or refused a send with NOT_LEADER although this cache named it
   * leader (its own metadata may be what is stale: a leader cut off from the controller): for a while,
   * other brokers are asked for metadata first.
   */
  distrust(address: string): void {
    this.distrusted.delete(address);
    this.distrusted.set(address, this.clock.nowMs() + metadataLimits.distrustMs);
    if (this.distrusted.size > metadataLimits.distrustedMax) {
      this.distrusted.delete(this.distrusted.keys().next().value as string);
    }
  }

  /** `addresses` in the order to ask them for metadata: the ones distrusted lately last. */
  inAskingOrder(addresses: readonly string[]): string[] {
    const now = this.clock.nowMs();
    const trusted = (address: string) => (this.distrusted.get(address) ?? 0) <= now;
    return [...addresses.filter(trusted), ...addresses.filter((address) => !trusted(address))];
  }

  /** The address of broker `id`, if the last refresh listed it. */
  broker(id: number): BrokerAddress | undefined {
    return this.brokers.get(id);
  }

  /** Whatever is cached, however old: good enough for a partition count. */
  peekTopic(name: string): TopicMetadata | undefined {
    return this.topics.get(name);
  }

  /**
   * The cached leader of a partition, or the error that says why there is none; undefined when the cache
   * is stale or has not asked about the topic yet (the next refresh will). Never does I/O.
   */
  cachedLeader(topic: string, partition: number): BrokerAddress | BrookError | undefined {
    if (!this.isFresh()) return undefined;
    const metadata = this.topics.get(topic);
    if (metadata !== undefined) return this.partitionLeader(metadata, partition);
    if (this.lastRequested.has(topic)) return this.topicError(topic);
    this.interest.add(topic);
    return undefined;
  }

  /**
   * The leader epoch the cache knows for a partition, or -1: fetches carry it,
   * so a deposed leader that has not heard of its successor refuses them
   * (FENCED_LEADER_EPOCH) instead of serving, and the fetch moves on after a
   * metadata refresh.
   */
  cachedLeaderEpoch(topic: string, partition: number): number {
    return this.topics.get(topic)?.partitions[partition]?.leaderEpoch ?? -1;
  }

  /** Metadata for a topic, refreshing first when the cache is stale, old, or has never seen it. */
  async topic(name: string): Promise<TopicMetadata> {
    if (!this.isFresh() || !this.topics.has(name)) {
      this.interest.add(name);
      await this.refresh();
      // A refresh already running when the topic was added did not ask for it; the next one does.
      if (!this.lastRequested.has(name)) await this.refresh();
    }
    const topic = this.topics.get(name);
    if (topic === undefined) throw this.topicError(name);
    return topic;
  }

  /** The leader of a partition, refreshing as `topic` does; a retriable NOT_LEADER while it has none. */
  async leader(topic: string, partition: number): Promise<BrokerAddress> {
    const leader = this.partitionLeader(await this.topic(topic), partition);
    if (leader instanceof BrookError) throw leader;
    return leader;
  }

  /** After NOT_LEADER, BROKER_NOT_AVAILABLE and the like: the next lookup refreshes. */
  markStale(): void {
    this.stale = true;
  }

  /** Forgets a topic, e.g. after deleting it. */
  forget(topic: string): void {
    this.topics.delete(topic);
    this.interest.delete(topic);
  }

  /** Fetches fresh metadata for the topics of interest; concurrent callers share one fetch. */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * Refreshes (sharing a fetch in flight), then resolves with a lookup that
   * says why a partition still cannot be sent to or fetched from: its own
   * error (no leader, unknown topic), else the refresh's failure when the
   * cache knows nothing, else undefined (it has a leader). The producer and
   * the consumer use it to count a failed attempt against each stuck partition.
   */
  async refreshForLeaders(): Promise<(topic: string, partition: number) => BrookError | undefined> {
    const refreshError = await this.refresh().then(
      () => undefined,
      (error: unknown) => (error instanceof BrookError ? error : undefined),
    );
    return (topic, partition) => {
      const leader = this.cachedLeader(topic, partition);
      return leader instanceof BrookError ? leader : leader === undefined ? refreshError : undefined;
    };
  }

  private topicError(name: string): BrookError {
    return this.topicErrors.get(name) ?? new BrookError("UNKNOWN_TOPIC", `topic "${name}" does not exist`);
  }

  private partitionLeader(metadata: TopicMetadata, partition: number): BrokerAddress | BrookError {
    const info = metadata.partitions[partition];
    if (info === undefined) {
      return new BrookError(
        "UNKNOWN_PARTITION",
        `topic "${metadata.name}" has ${metadata.partitions.length} partitions; there is no partition ${partition}`,
      );
    }
    return (
      this.brokers.get(info.leader) ??
      new BrookError("NOT_LEADER", `partition ${metadata.name}-${partition} has no live leader right now`)
    );
  }

  private isFresh(): boolean {
    return !this.stale && this.clock.nowMs() - this.fetchedAtMs < metadataLimits.maxAgeMs;
  }

  private async doRefresh(): Promise<void> {
    await sleep(this.attemptedAtMs + metadataLimits.refreshIntervalMsMin - this.clock.nowMs());
    this.attemptedAtMs = this.clock.nowMs();
    // Captured before the call: a topic added while it runs waits for the next refresh.
    const requested = [...this.interest];
    const response = await this.fetchMetadata(requested);
    this.apply(response);
    this.lastRequested = new Set(requested);
    this.fetchedAtMs = this.clock.nowMs();
    this.stale = false;
  }

  private apply(response: MetadataResponse__Output): void {
    this.brokers = new Map(
      response.brokers.map((broker) => [
        broker.id,
        {
          id: broker.id,
          host: broker.host,
          port: broker.port,
          rack: broker.rack,
          address: brokerAddress(broker),
        },
      ]),
    );
    for (const info of response.topics) {
      const error = fromWireError(info.error);
      if (error !== undefined) {
        this.topics.delete(info.name);
        this.topicErrors.set(info.name, error);
        if (error.code === "UNKNOWN_TOPIC") this.interest.delete(info.name);
        continue;
      }
      this.topicErrors.delete(info.name);
      // A topic deleted and created again has a new id, and its leader epochs start over.
      const previous = this.topics.get(info.name);
      this.topics.set(info.name, {
        name: info.name,
        topicId: info.topicId,
        partitions: toPartitions(info.partitions, previous?.topicId === info.topicId ? previous : undefined),
      });
    }
  }
}

/** Orders partitions by number and keeps a cached entry whose leader epoch is newer than the answer's. */
function toPartitions(
  infos: PartitionInfo__Output[],
  previous: TopicMetadata | undefined,
): PartitionMetadata[] {
  const partitions: PartitionMetadata[] = [];
  for (const info of infos) {
    const cached = previous?.partitions[info.partition];
    partitions[info.partition] =
      cached !== undefined && cached.leaderEpoch > info.leaderEpoch
        ? cached
        : {
            partition: info.partition,
            leader: info.leader,
            leaderEpoch: info.leaderEpoch,
            replicas: info.replicas,
            isr: info.isr,
          };
  }
  return partitions;
}
