// A streams application instance, Kafka Streams' KafkaStreams: start() checks the input topics, creates
// the internal ones and runs a stream thread (one consumer and one producer in the application's consumer
// group); a thread that fails is replaced after a backoff, with its tasks restored from their changelogs;
// close() commits and leaves. Interactive queries read the stores of the tasks running here.

import { randomUUID } from "node:crypto";
import { type Admin, BrookError, type Logger, silentLogger } from "@brook/client";
import { partitionForKey } from "@brook/protocol";
import { TopologyError } from "../errors.js";
import type { Serde } from "../serdes.js";
import type { KeyValueStore } from "../stores/key-value-store.js";
import type { StateStore } from "../stores/state-store.js";
import type { WindowStore } from "../stores/window-store.js";
import type { StoreSpec, Topology } from "../topology.js";
import type { ActiveTask } from "./active-tasks.js";
import { type ResolvedConfig, resolveConfig, type StreamsConfig, streamsDefaults } from "./config.js";
import { decodeInstanceMetadata } from "./instance-metadata.js";
import { inputTopics, planInternalTopics, type Subtopology, subtopologiesOf } from "./internal-topics.js";
import { StreamsMetrics } from "./metrics.js";
import {
  keyValueView,
  type ReadOnlyKeyValueStore,
  type ReadOnlyWindowStore,
  windowView,
} from "./queryable-stores.js";
import { isFatal, StreamThread } from "./stream-thread.js";

/** Kafka Streams' states, lower case. */
export type StreamsState =
  | "created"
  | "rebalancing"
  | "running"
  | "pending_shutdown"
  | "not_running"
  | "error";

export interface KeyQueryMetadata {
  /** The partition the key maps to: task <sub-topology>_<partition> holds it. */
  partition: number;
  /** The holder's applicationServer, or null if it has none. */
  endpoint: string | null;
  processId: string | null;
}

export interface LocalTask {
  name: string;
  /** False while its stores are being restored. */
  ready: boolean;
  subtopology: number;
  partition: number;
  stores: { name: string; entries: number }[];
  streamTimeMs: number;
}

export class KafkaStreams {
  readonly config: ResolvedConfig;
  private readonly subtopologies: Subtopology[];
  private readonly metricsSet: StreamsMetrics;
  private readonly logger: Logger;
  /** Kafka's process id: names this instance's transactional id. */
  private readonly processId = randomUUID();
  private stateNow: StreamsState = "created";
  private readonly listeners: ((state: StreamsState, previous: StreamsState) => void)[] = [];
  private thread: StreamThread | undefined;
  private running: Promise<void> | undefined;
  private closing = false;
  private fatalError: unknown;
  /** Topic → partitions, of every topic the application reads or writes; known after start(). */
  private partitionCounts = new Map<string, number>();

  constructor(
    private readonly topology: Topology,
    config: StreamsConfig,
  ) {
    this.config = resolveConfig(config);
    this.subtopologies = subtopologiesOf(topology, this.config.applicationId);
    this.metricsSet = new StreamsMetrics(this.config.applicationId);
    this.logger = this.config.logger ?? silentLogger;
  }

  state(): StreamsState {
    return this.stateNow;
  }

  /** Called on every state change, with the new state and the one before. */
  onStateChange(listener: (state: StreamsState, previous: StreamsState) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Checks that the input topics exist, creates the internal topics and starts processing. Resolves once
   * processing has begun (the state is "rebalancing" until tasks are assigned and restored, then "running").
   */
  async start(): Promise<void> {
    if (this.stateNow !== "created")
      throw new TopologyError(`start() once; the application is ${this.stateNow}`);
    this.setState("rebalancing");
    const admin = this.config.brook.admin();
    try {
      await this.createInternalTopics(admin);
    } catch (error) {
      this.fatalError = error;
      this.setState("error");
      throw error;
    } finally {
      await admin.close();
    }
    this.running = this.runThreads();
  }

  /** Resolves when the state is "running"; rejects if it turns "error" or not_running first, or after timeoutMs. */
  waitUntilRunning(timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (state: StreamsState) => {
        if (state === "running") resolve();
        if (state === "error" || state === "not_running") {
          reject(this.fatalError ?? new Error(`the application is ${state}`));
        }
      };
      check(this.stateNow);
      this.onStateChange(check);
      setTimeout(() => reject(new Error(`not running after ${timeoutMs} ms`)), timeoutMs).unref();
    });
  }

  /** Commits, gives the tasks back to the group and stops. */
  async close(): Promise<void> {
    if (this.closing) return this.running;
    this.closing = true;
    if (this.stateNow !== "error") this.setState("pending_shutdown");
    await this.thread?.close();
    await this.running;
    if (this.stateNow !== "error") this.setState("not_running");
  }

  /** What this instance publishes to the group (tasks, standbys, store sizes, restores). */
  instanceMetadata() {
    return this.thread?.instanceMetadata();
  }

  /** The tasks running here, with their stores' sizes. */
  localTasks(): LocalTask[] {
    return (this.thread?.tasks.all() ?? []).map(({ id, name, task, ready }) => ({
      name,
      ready,
      subtopology: id.subtopology,
      partition: id.partition,
      stores: task.storeNames().map((store) => ({
        name: store,
        entries: task.store(store).approximateNumEntries(),
      })),
      streamTimeMs: task.streamTime(),
    }));
  }

  /**
   * The named store of every task running here (a key lives in the one task its partition maps to), and
   * whether one of them is still restoring.
   */
  localStores<S extends StateStore>(name: string): { stores: S[]; restoring: boolean } {
    this.requireStore(name);
    const found = this.thread?.tasks.stores(name) ?? { stores: [], restoring: false };
    return { stores: found.stores as S[], restoring: found.restoring };
  }

  /** Interactive queries on a key-value store: the copies in the tasks running here, read only. */
  store<K, V>(name: string): ReadOnlyKeyValueStore<K, V> {
    this.requireStore(name, "keyValue");
    return keyValueView(name, () => this.localStores<KeyValueStore<K, V>>(name));
  }

  /** Interactive queries on a window store, as store() for key-value ones. */
  windowStore<K, V>(name: string): ReadOnlyWindowStore<K, V> {
    this.requireStore(name, "window");
    return windowView(name, () => this.localStores<WindowStore<K, V>>(name));
  }

  /**
   * Which instance holds `key` in store `name` (Kafka's queryMetadataForKey): its applicationServer
   * endpoint and the partition (task) the key maps to; undefined while nobody holds it (a rebalance) or
   * before this instance has looked at the group (every couple of seconds).
   */
  metadataForKey<K>(name: string, key: K, keySerde: Serde<K>): KeyQueryMetadata | undefined {
    const spec = this.requireStore(name);
    const sub = this.subtopologies.find((each) => each.stores.some((store) => store.name === spec.name));
    const sources = sub?.sourceTopics ?? [];
    const partitions = Math.max(0, ...sources.map((topic) => this.partitionCounts.get(topic) ?? 0));
    if (partitions === 0) return undefined;
    const keyBytes = keySerde.serialize(key, sources[0] as string);
    const partition = partitionForKey(keyBytes, partitions);
    for (const member of this.thread?.members ?? []) {
      if (!member.assignment.some((tp) => sources.includes(tp.topic) && tp.partition === partition)) continue;
      const metadata = decodeInstanceMetadata(member.metadata);
      return { partition, endpoint: metadata?.endpoint ?? null, processId: metadata?.processId ?? null };
    }
    return undefined;
  }

  /** The application's metrics registry (prom-client): serve `await app.metrics().metrics()` where you like. */
  metrics() {
    return this.metricsSet.registry;
  }

  private requireStore(name: string, kind?: StoreSpec["kind"]): StoreSpec {
    const spec = this.topology.stores.get(name);
    if (!spec) {
      throw new TopologyError(
        `no store ${name}; stores: ${[...this.topology.stores.keys()].join(", ") || "none"}`,
      );
    }
    if (kind !== undefined && spec.kind !== kind)
      throw new TopologyError(`store ${name} is a ${spec.kind} store`);
    return spec;
  }

  private async runThreads(): Promise<void> {
    let backoffMs: number = streamsDefaults.restartBackoffMs.min;
    while (!this.closing) {
      const thread = new StreamThread(
        this.topology,
        this.subtopologies,
        this.config,
        this.processId,
        this.metricsSet,
        {
          onRestoring: () => {
            if (!this.closing && this.stateNow !== "error") this.setState("rebalancing");
          },
          onTasksChanged: (tasks) => this.tasksChanged(tasks),
          onRestored: (store, records, elapsedMs) => this.restored(store, records, elapsedMs),
        },
        this.logger,
      );
      this.thread = thread;
      try {
        await thread.run();
        return;
      } catch (error) {
        await thread.abandon();
        if (this.closing) return;
        if (isFatal(error)) {
          this.fatalError = error;
          this.logger.error({ error: String(error) }, "the application stopped: its topology or data failed");
          this.setState("error");
          return;
        }
        this.logger.warn({ error: String(error), backoffMs }, "stream thread failed; starting a new one");
        this.metricsSet.threadRestarts.inc();
        this.setState("rebalancing");
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        backoffMs = Math.min(backoffMs * 2, streamsDefaults.restartBackoffMs.max);
      }
    }
  }

  private tasksChanged(tasks: readonly ActiveTask[]): void {
    this.metricsSet.activeTasks.set(tasks.length);
    if (!this.closing && this.stateNow !== "error")
      this.setState(tasks.length > 0 ? "running" : "rebalancing");
  }

  private restored(store: string, records: number, elapsedMs: number): void {
    this.metricsSet.restored.inc({ store }, records);
    if (records > 0) this.metricsSet.restoreRate.set({ store }, (records * 1000) / Math.max(1, elapsedMs));
  }

  private async createInternalTopics(admin: Admin): Promise<void> {
    const inputs = inputTopics(this.subtopologies);
    const existing = new Set(await admin.listTopics());
    const missing = inputs.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      throw new TopologyError(`missing source topics: ${missing.join(", ")} (create them before starting)`);
    }
    const described = await admin.describeTopics({ topics: inputs });
    const partitions = new Map(described.map((topic) => [topic.name, topic.partitions.length]));
    const plan = planInternalTopics(this.config.applicationId, this.subtopologies, partitions);
    this.partitionCounts = new Map([
      ...partitions,
      ...plan.map((topic) => [topic.name, topic.partitions] as const),
    ]);
    const toCreate = plan.filter((topic) => !existing.has(topic.name));
    if (toCreate.length > 0) {
      await admin
        .createTopics({
          topics: toCreate.map((topic) => ({
            topic: topic.name,
            numPartitions: topic.partitions,
            replicationFactor: this.config.replicationFactor,
            configEntries: Object.entries(topic.configs).map(([name, value]) => ({ name, value })),
          })),
        })
        .catch((error: unknown) => {
          // Another instance created them first.
          if (!(error instanceof BrookError && error.code === "TOPIC_ALREADY_EXISTS")) throw error;
        });
    }
    await this.checkInternalPartitions(admin, plan);
  }

  private async checkInternalPartitions(
    admin: Admin,
    plan: ReturnType<typeof planInternalTopics>,
  ): Promise<void> {
    if (plan.length === 0) return;
    const described = await admin.describeTopics({ topics: plan.map((topic) => topic.name) });
    for (const topic of plan) {
      const actual = described.find((each) => each.name === topic.name)?.partitions.length;
      if (actual !== topic.partitions) {
        throw new TopologyError(
          `internal topic ${topic.name} has ${actual} partitions, the topology needs ${topic.partitions}`,
        );
      }
    }
  }

  private setState(state: StreamsState): void {
    if (state === this.stateNow) return;
    const previous = this.stateNow;
    this.stateNow = state;
    for (const listener of this.listeners) listener(state, previous);
  }
}
