// Topic (create, grow, describe, delete), cluster, consumer group (groups.ts), transaction (transactions.ts),
// user and ACL (security.ts) administration, KafkaJS-shaped. Calls go to whichever
// broker answers (brokers forward writes to the active controller) and are retried on retriable errors; a
// per-topic error rejects with that topic's BrookError (createTopics of an existing topic rejects with
// TOPIC_ALREADY_EXISTS).

import {
  type BrokerInfo__Output,
  BrookError,
  fromWireError,
  type PartitionDescription__Output,
  type TopicConfigEntry__Output,
  type WireError__Output,
} from "@brook/protocol";
import type { AclBinding, AclBindingFilter, ScramMechanism } from "@brook/security";
import type { Cluster } from "../cluster/cluster.js";
import { listOffsets, OffsetSpec } from "../cluster/offsets.js";
import type { BrokerRpc, BrokerRpcs } from "../cluster/unary.js";
import { adminDefaults } from "../config.js";
import type { TopicPartitionOffset } from "../consumer/types.js";
import { withRetry } from "../retry/retry-policy.js";
import { sleep } from "../runtime.js";
import {
  type DeleteGroupResult,
  GroupAdmin,
  type GroupDescription,
  type GroupLag,
  type GroupOffset,
  type GroupOverview,
  type ResetOffsetsOptions,
} from "./groups.js";
import { namedError } from "./named-error.js";
import {
  type CreateUserOptions,
  type DeletedAcls,
  type NewAclBinding,
  SecurityAdmin,
  type UserDescription,
} from "./security.js";
import { TransactionAdmin, type TransactionDescription, type TransactionOverview } from "./transactions.js";

export interface ConfigEntry {
  name: string;
  value: string;
}

export interface NewTopic {
  topic: string;
  /** Omitted or -1: the cluster default (1). */
  numPartitions?: number;
  /** Omitted or -1: the cluster default (min(3, brokers)). */
  replicationFactor?: number;
  configEntries?: ConfigEntry[];
}

export interface CreateTopicsOptions {
  topics: NewTopic[];
  /** Check the request without creating anything. */
  validateOnly?: boolean;
  /** Resolve only once every new partition has a leader in metadata (default true, as in KafkaJS). */
  waitForLeaders?: boolean;
  /** How long to wait for leaders. Default 10 s. */
  timeoutMs?: number;
}

/** KafkaJS's createPartitions entry (Java's NewPartitions): grow `topic` to `count` partitions. */
export interface NewPartitions {
  topic: string;
  /** The new partition count, greater than the topic's. */
  count: number;
  /**
   * Broker ids of each new partition's replicas, leader first: one list per new partition, each as long
   * as the topic's replication factor. Omitted: placed by the controller, as a new topic's are.
   */
  assignments?: number[][];
}

export interface CreatePartitionsOptions {
  topicPartitions: NewPartitions[];
  /** Check the request without changing anything. */
  validateOnly?: boolean;
  /** Resolve only once every new partition has a leader in metadata (default true). */
  waitForLeaders?: boolean;
  /** How long to wait for leaders. Default 10 s. */
  timeoutMs?: number;
}

/** Where a broker is reached: gRPC (host, port) and, when it serves one, its Kafka listener. */
export interface BrokerEndpoint {
  id: number;
  host: string;
  port: number;
  rack?: string;
  kafkaHost?: string;
  kafkaPort?: number;
}

export interface PartitionDescription {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
  sizeBytes: number;
  /** Compacted topics: the share of the replica's sealed bytes not cleaned yet (0 to 1); -1 otherwise. */
  dirtyRatio: number;
}

export interface TopicDescription {
  name: string;
  topicId: string;
  partitions: PartitionDescription[];
  configEntries: ConfigEntry[];
  /** The brokers holding its replicas, by id. */
  brokers: BrokerEndpoint[];
}

/** KafkaJS's fetchTopicOffsets entry, with numbers: offset is the high watermark. */
export interface PartitionOffsets {
  partition: number;
  offset: number;
  high: number;
  low: number;
}

export interface ClusterDescription {
  clusterId: string;
  /**
   * The controller quorum. `term` and `commitIndex` are each controller's own (-1 when it did not
   * answer); `matchIndex` is the last Raft index known on each voter and `lag` how many entries it is
   * behind the leader (-1 when the active controller could not be asked).
   */
  controllers: {
    id: number;
    leader: boolean;
    term: number;
    commitIndex: number;
    matchIndex: number;
    lag: number;
  }[];
  /** kafkaHost and kafkaPort: the broker's Kafka listener, absent when it has none. */
  brokers: (BrokerEndpoint & { state: string })[];
  offlinePartitions: number;
  underReplicatedPartitions: number;
}

/** Asks the cluster for its default partition count or replication factor (proto/common.proto). */
const clusterDefault = -1;

export class Admin {
  private readonly groups: GroupAdmin;
  private readonly transactions: TransactionAdmin;
  private readonly security: SecurityAdmin;

  constructor(private readonly cluster: Cluster) {
    this.groups = new GroupAdmin(cluster);
    this.transactions = new TransactionAdmin(cluster);
    this.security = new SecurityAdmin(cluster);
  }

  /** Optional: checks that the cluster answers. */
  async connect(): Promise<void> {
    await this.cluster.metadata.refresh();
  }

  async createTopics({
    topics,
    validateOnly = false,
    waitForLeaders = true,
    timeoutMs,
  }: CreateTopicsOptions) {
    const response = await this.callAny("createTopics", {
      validateOnly,
      topics: topics.map(({ topic, numPartitions, replicationFactor, configEntries }) => ({
        name: topic,
        numPartitions: numPartitions ?? clusterDefault,
        replicationFactor: replicationFactor ?? clusterDefault,
        configs: (configEntries ?? []).map(({ name, value }) => ({ key: name, value })),
      })),
    });
    throwFirstTopicError(response.topics);
    if (validateOnly) return;
    this.cluster.metadata.markStale();
    if (waitForLeaders) {
      await this.waitForLeaders(
        new Map(topics.map(({ topic }) => [topic, 1])),
        timeoutMs ?? adminDefaults.waitForLeadersTimeoutMs,
        "were created",
      );
    }
  }

  /**
   * Grows topics to more partitions (Kafka's CreatePartitions); rejects with the first topic's error
   * (INVALID_PARTITIONS naming the current count, UNKNOWN_TOPIC, INVALID_REPLICA_ASSIGNMENT). Keys map
   * to partitions by murmur2 over the count, so from then on a key's records may go to another partition.
   */
  async createPartitions({
    topicPartitions,
    validateOnly = false,
    waitForLeaders = true,
    timeoutMs,
  }: CreatePartitionsOptions): Promise<void> {
    const response = await this.callAny("createPartitions", {
      validateOnly,
      topics: topicPartitions.map(({ topic, count, assignments }) => ({
        name: topic,
        count,
        assignments: (assignments ?? []).map((brokerIds) => ({ brokerIds })),
      })),
    });
    throwFirstTopicError(response.topics);
    if (validateOnly) return;
    this.cluster.metadata.markStale();
    if (waitForLeaders) {
      await this.waitForLeaders(
        new Map(topicPartitions.map(({ topic, count }) => [topic, count])),
        timeoutMs ?? adminDefaults.waitForLeadersTimeoutMs,
        "were grown",
      );
    }
  }

  async deleteTopics({ topics }: { topics: string[] }): Promise<void> {
    const response = await this.callAny("deleteTopics", { names: topics });
    throwFirstTopicError(response.topics);
    for (const topic of topics) this.cluster.metadata.forget(topic);
  }

  async listTopics(): Promise<string[]> {
    const response = await this.callAny("metadata", { topics: [] });
    return response.topics
      .filter((topic) => fromWireError(topic.error) === undefined)
      .map((topic) => topic.name);
  }

  /** Every topic when `topics` is omitted; rejects with UNKNOWN_TOPIC if a named one does not exist. */
  async describeTopics({ topics = [] }: { topics?: string[] } = {}): Promise<TopicDescription[]> {
    const response = await this.callAny("describeTopics", { names: topics });
    throwFirstTopicError(response.topics);
    return response.topics.map((topic) => ({
      name: topic.name,
      topicId: topic.topicId,
      partitions: topic.partitions
        .filter((partition) => partition.info !== null)
        .map(toPartitionDescription)
        .sort((a, b) => a.partition - b.partition),
      configEntries: topic.configs.map(toConfigEntry),
      brokers: topic.brokers.map(toBrokerEndpoint),
    }));
  }

  /** Earliest (low) and latest (high) offset of every partition of `topic`, asked of each leader. */
  async fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]> {
    const { retry, random } = this.cluster.options;
    const metadata = await withRetry(
      retry,
      { random, onRetry: () => this.cluster.metadata.markStale() },
      () => this.cluster.metadata.topic(topic),
    );
    const partitions = metadata.partitions.map((partition) => partition.partition);
    const [low, high] = await Promise.all(
      [OffsetSpec.earliest, OffsetSpec.latest].map((timestamp) =>
        listOffsets(
          this.cluster,
          partitions.map((partition) => ({ topic, partition, timestamp })),
        ),
      ),
    );
    return partitions.map((partition, index) => ({
      partition,
      offset: high[index],
      high: high[index],
      low: low[index],
    }));
  }

  async describeCluster(): Promise<ClusterDescription> {
    const response = await this.callAny("describeCluster", {});
    return {
      clusterId: response.clusterId,
      controllers: response.controllers.map(({ id, leader, term, commitIndex, matchIndex, lag }) => ({
        id,
        leader,
        term,
        commitIndex,
        matchIndex,
        lag,
      })),
      brokers: response.brokers.map((broker) => ({ ...toBrokerEndpoint(broker), state: broker.state })),
      offlinePartitions: response.offlinePartitions,
      underReplicatedPartitions: response.underReplicatedPartitions,
    };
  }

  /** Every consumer group of the cluster (each broker lists those it coordinates), sorted by id. */
  listGroups(): Promise<GroupOverview[]> {
    return this.groups.listGroups();
  }

  /** Members, their assignment and target, and the group's epochs, from its coordinator. */
  describeGroup(groupId: string): Promise<GroupDescription> {
    return this.groups.describeGroup(groupId);
  }

  /** Committed offsets: every partition of `topics` (-1 where none), or all the group has committed. */
  fetchOffsets(options: { groupId: string; topics?: string[] }): Promise<GroupOffset[]> {
    return this.groups.fetchOffsets(options);
  }

  /**
   * Committed offset, last stable offset and lag per partition: `brook group describe --json`'s shape.
   * Lag is counted to the last stable offset (the high watermark when no transaction is open): exact for
   * a read_committed group, and the committed backlog for a read_uncommitted one.
   */
  groupLag(groupId: string): Promise<GroupLag> {
    return this.groups.groupLag(groupId);
  }

  /** Moves an empty group's offsets on a topic (NON_EMPTY_GROUP while it has members); resolves with them. */
  resetOffsets(options: ResetOffsetsOptions): Promise<TopicPartitionOffset[]> {
    return this.groups.resetOffsets(options);
  }

  /** Deletes empty groups and their committed offsets; rejects with the first failure's typed error. */
  deleteGroups(groupIds: string[]): Promise<DeleteGroupResult[]> {
    return this.groups.deleteGroups(groupIds);
  }

  /** Transactional ids every broker coordinates (those in `states`, or all), sorted by id. */
  listTransactions(states?: readonly string[]): Promise<TransactionOverview[]> {
    return this.transactions.listTransactions(states);
  }

  /** A transactional id's state, producer id and epoch, partitions and groups, from its coordinator. */
  describeTransaction(transactionalId: string): Promise<TransactionDescription> {
    return this.transactions.describeTransaction(transactionalId);
  }

  /**
   * Creates the user, or replaces its credentials, for each of `options.mechanisms` (default SCRAM-SHA-256
   * and SCRAM-SHA-512) with `options.iterations` (default 8192). The password never leaves this process:
   * it is salted and hashed here, and the cluster stores only what checks a SCRAM login. Rejects with
   * INVALID_REQUEST for a bad name, mechanism or iteration count.
   */
  createUser(name: string, password: string, options?: CreateUserOptions): Promise<void> {
    return this.security.createUser(name, password, options);
  }

  /** Deletes the user's credentials for `mechanisms`, or all of them; INVALID_REQUEST if it has none to delete. */
  deleteUser(name: string, mechanisms?: ScramMechanism[]): Promise<void> {
    return this.security.deleteUser(name, mechanisms);
  }

  /** Users with their mechanisms and iteration counts (never salts or keys): all, or those named. */
  describeUsers(names?: string[]): Promise<UserDescription[]> {
    return this.security.describeUsers(names);
  }

  /** Adds ACL bindings (an existing one is no error); rejects with the first refused binding's error. */
  createAcls(bindings: NewAclBinding[]): Promise<void> {
    return this.security.createAcls(bindings);
  }

  /** The ACL bindings `filter` selects (all without one), sorted by resource, then principal. */
  describeAcls(filter?: AclBindingFilter): Promise<AclBinding[]> {
    return this.security.describeAcls(filter);
  }

  /** Removes the bindings each filter selects; resolves with what each filter matched. */
  deleteAcls(filters: AclBindingFilter[]): Promise<DeletedAcls[]> {
    return this.security.deleteAcls(filters);
  }

  async close(): Promise<void> {
    this.cluster.close();
  }

  /** KafkaJS's name for close(). */
  disconnect(): Promise<void> {
    return this.close();
  }

  private callAny<M extends BrokerRpc>(method: M, request: BrokerRpcs[M][0]): Promise<BrokerRpcs[M][1]> {
    const { retry, random } = this.cluster.options;
    return withRetry(retry, { random, onRetry: () => this.cluster.metadata.markStale() }, () =>
      this.cluster.callAny(method, request),
    );
  }

  /**
   * Polls metadata until each topic has at least its number of partitions and every one has a leader
   * (metadata reaches brokers shortly after a create).
   */
  private async waitForLeaders(
    partitionsMin: ReadonlyMap<string, number>,
    timeoutMs: number,
    done: string,
  ): Promise<void> {
    const topics = [...partitionsMin.keys()];
    const deadlineMs = this.cluster.options.clock.nowMs() + timeoutMs;
    // Bounded by the deadline: each pass waits waitForLeadersPollMs or returns.
    for (;;) {
      const response = await this.callAny("metadata", { topics });
      const ready = topics.every((name) => {
        const topic = response.topics.find((each) => each.name === name);
        return (
          topic !== undefined &&
          fromWireError(topic.error) === undefined &&
          topic.partitions.length >= (partitionsMin.get(name) ?? 1) &&
          topic.partitions.every((partition) => partition.leader >= 0)
        );
      });
      if (ready) return;
      if (this.cluster.options.clock.nowMs() >= deadlineMs) {
        throw new BrookError(
          "REQUEST_TIMED_OUT",
          `topics ${topics.join(", ")} ${done} but did not all have leaders within ${timeoutMs} ms`,
        );
      }
      await sleep(adminDefaults.waitForLeadersPollMs);
    }
  }
}

function throwFirstTopicError(results: { name: string; error: WireError__Output | null }[]): void {
  for (const { name, error } of results) {
    const brookError = fromWireError(error);
    if (brookError !== undefined) throw namedError(brookError, `topic "${name}"`);
  }
}

function toPartitionDescription(description: PartitionDescription__Output): PartitionDescription {
  const info = description.info!;
  return {
    partition: info.partition,
    leader: info.leader,
    leaderEpoch: info.leaderEpoch,
    replicas: info.replicas,
    isr: info.isr,
    highWatermark: description.highWatermark,
    logStartOffset: description.logStartOffset,
    logEndOffset: description.logEndOffset,
    sizeBytes: description.sizeBytes,
    dirtyRatio: description.dirtyRatio,
  };
}

/** A Kafka port of 0 on the wire: the broker has no Kafka listener. */
function toBrokerEndpoint({
  id,
  host,
  port,
  rack,
  kafkaHost,
  kafkaPort,
}: BrokerInfo__Output): BrokerEndpoint {
  return {
    id,
    host,
    port,
    ...(rack ? { rack } : {}),
    ...(kafkaPort > 0 ? { kafkaHost, kafkaPort } : {}),
  };
}

function toConfigEntry({ key, value }: TopicConfigEntry__Output): ConfigEntry {
  return { name: key, value };
}
