// A streams application instance, Kafka Streams' KafkaStreams: start() checks the input topics, creates
// the internal ones and runs a stream thread (one consumer and one producer in the application's consumer
// group); a thread that fails is replaced after a backoff, with its tasks restored from their changelogs;
// close() commits and leaves. Interactive queries read the stores of the tasks running here.

import { randomUUID } from "node:crypto";
import { type Admin, BrookError, type Logger, silentLogger } from "@brook/client";
import { TopologyError } from "../errors.js";
import type { StateStore } from "../stores/state-store.js";
import type { Topology } from "../topology.js";
import type { ActiveTask } from "./active-tasks.js";
import { type ResolvedConfig, resolveConfig, type StreamsConfig, streamsDefaults } from "./config.js";
import { inputTopics, planInternalTopics, type Subtopology, subtopologiesOf } from "./internal-topics.js";
import { StreamsMetrics } from "./metrics.js";
import { isFatal, StreamThread } from "./stream-thread.js";

/** Kafka Streams' states, lower case. */
export type StreamsState =
  | "created"
  | "rebalancing"
  | "running"
  | "pending_shutdown"
  | "not_running"
  | "error";

export interface LocalTask {
  name: string;
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

  /** The tasks running here, with their stores' sizes. */
  localTasks(): LocalTask[] {
    return (this.thread?.tasks.all() ?? []).map(({ id, name, task }) => ({
      name,
      subtopology: id.subtopology,
      partition: id.partition,
      stores: task.storeNames().map((store) => ({
        name: store,
        entries: task.store(store).approximateNumEntries(),
      })),
      streamTimeMs: task.streamTime(),
    }));
  }

  /** The named store of every task running here (a key lives in the one task its partition maps to). */
  localStores<S extends StateStore>(name: string): S[] {
    if (!this.topology.stores.has(name)) {
      throw new TopologyError(
        `no store ${name}; stores: ${[...this.topology.stores.keys()].join(", ") || "none"}`,
      );
    }
    return (this.thread?.tasks.stores(name) ?? []) as S[];
  }

  /** The application's metrics registry (prom-client): serve `await app.metrics().metrics()` where you like. */
  metrics() {
    return this.metricsSet.registry;
  }

  private async runThreads(): Promise<void> {
    let backoffMs: number = streamsDefaults.restartBackoffMs.min;
    while (!this.closing) {
      const thread = new StreamThread(
        this.topology,
        this.subtopologies,
        this.config,
        `${this.config.applicationId}-${this.processId}`,
        this.metricsSet,
        {
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
