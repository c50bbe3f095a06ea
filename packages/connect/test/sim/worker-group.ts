// A simulated Connect worker group, run by the production Worker, Herder, ConfigTable and assignment:
// only the world around them is simulated. The configs topic is one shared log that each worker reads at
// its own pace (a seeded schedule decides when each worker reads on), each worker sees the group's
// membership as of its last look, and tasks are fake runners that record where they run. Workers join,
// leave, crash; connectors are created, resized, paused, resumed, restarted, deleted; tasks fail.
// Transient overlaps (two workers running one task while their views differ) are counted, and at rest the
// group must agree: every task of a started connector on exactly one live worker, or FAILED there.

import { type Brook, silentLogger } from "@brook/client";
import { Random } from "@brook/testkit";
import type { AnyConnector, SourceOffset } from "../../src/api.js";
import { defineSink, defineSource } from "../../src/api.js";
import { assignUnits } from "../../src/runtime/assignment.js";
import {
  ConfigTable,
  type OffsetTable,
  StatusTable,
  type UnitStatus,
} from "../../src/runtime/connect-state.js";
import { Herder } from "../../src/runtime/herder.js";
import type { Membership } from "../../src/runtime/membership.js";
import { ConnectMetrics } from "../../src/runtime/metrics.js";
import type { ConnectStorage } from "../../src/runtime/storage.js";
import type { TaskDeps } from "../../src/runtime/task-deps.js";
import { type TaskRunner, Worker } from "../../src/runtime/worker.js";

const simSource = defineSource({
  name: "sim-source",
  description: "a simulated source",
  configSchema: { topic: { type: "string", default: "t", doc: "" } },
  canSeek: true,
  start: () => undefined,
  async *poll() {},
  stop: () => undefined,
});
const simSink = defineSink({
  name: "sim-sink",
  description: "a simulated sink",
  configSchema: {},
  start: () => undefined,
  put: () => undefined,
  flush: () => undefined,
  stop: () => undefined,
});
const plugins = new Map<string, AnyConnector>([
  [simSource.name, simSource as AnyConnector],
  [simSink.name, simSink as AnyConnector],
]);

/** The shared configs topic: records in order; each worker's storage reads up to its own position. */
class ConfigLog {
  readonly records: { key: string; value: unknown }[] = [];
}

/** What the simulation knows of the group as a whole. */
class World {
  readonly configs = new ConfigLog();
  /** The status topic, read by every worker at once (statuses are only shown, never acted on). */
  readonly statuses = new StatusTable();
  readonly live = new Set<string>();
  /** Where each task instance runs now: task key → workers. */
  readonly running = new Map<string, Map<string, (error: Error) => void>>();
  /** `<task>@<worker>`: task instances the simulation failed, until that worker starts the task again. */
  readonly failed = new Set<string>();
  overlaps = 0;
}

class SimStorage implements ConnectStorage {
  readonly configs = new ConfigTable();
  readonly offsets: OffsetTable = new Map<string, SourceOffset>();
  readonly offsetsTopic = "__connect-offsets";
  private position = 0;
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly world: World) {}

  get statuses(): StatusTable {
    return this.world.statuses;
  }

  get behind(): number {
    return this.world.configs.records.length - this.position;
  }

  async start(): Promise<void> {
    this.readOn(this.behind);
  }

  /** Applies the next `count` records of the configs log. */
  readOn(count: number): void {
    const end = Math.min(this.world.configs.records.length, this.position + count);
    for (; this.position < end; this.position += 1) {
      const { key, value } = this.world.configs.records[this.position];
      this.configs.apply(key, value);
      for (const listener of this.listeners) listener();
    }
  }

  async writeConfig(key: string, value: unknown): Promise<void> {
    this.world.configs.records.push({ key, value });
    this.readOn(this.behind);
  }

  async writeStatus(key: string, status: UnitStatus | null): Promise<void> {
    this.world.statuses.apply(key, status);
  }

  async readOffsets(): Promise<void> {}
  async commitOffsets(): Promise<void> {}

  onConfigChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async stop(): Promise<void> {}
}

class SimMembership implements Membership {
  view: string[] = [];
  constructor(
    readonly self: string,
    private readonly world: World,
  ) {}
  async start(): Promise<void> {
    this.world.live.add(this.self);
    this.look();
  }
  look(): void {
    this.view = [...this.world.live];
  }
  async workers(): Promise<string[]> {
    return this.view;
  }
  generation(): number {
    return 1;
  }
  async stop(): Promise<void> {
    this.world.live.delete(this.self);
  }
}

interface SimWorker {
  id: string;
  worker: Worker;
  storage: SimStorage;
  membership: SimMembership;
}

export interface SimReport {
  seed: number;
  steps: number;
  overlaps: number;
  connectors: number;
  tasksRunning: number;
  tasksFailed: number;
}

export class SimulationFailure extends Error {}

export class WorkerGroupSimulation {
  private readonly random: Random;
  private readonly world = new World();
  private readonly workers = new Map<string, SimWorker>();
  /** Simulated ms: each step takes one second, a quiescing round ten. */
  private nowMs = 0;
  private nextWorker = 1;
  readonly trace: string[] = [];

  constructor(private readonly seed: number) {
    this.random = new Random(seed);
  }

  async run(steps: number): Promise<SimReport> {
    for (let i = 0; i < 3; i += 1) await this.join();
    for (let step = 0; step < steps; step += 1) {
      this.nowMs += 1_000;
      await this.step();
      await this.settleReconciles();
      this.checkAlways();
    }
    await this.quiesce();
    return this.checkAtRest(steps);
  }

  private async step(): Promise<void> {
    const roll = this.random.int(0, 99);
    if (roll < 12) await this.changeConnector();
    else if (roll < 20) await this.controlConnector();
    else if (roll < 24) await this.join();
    else if (roll < 27) await this.leave();
    else if (roll < 30) this.crash();
    else if (roll < 34) this.failTask();
    else if (roll < 70) this.readOn();
    else this.look();
  }

  private pickWorker(): SimWorker | undefined {
    const ids = [...this.workers.keys()];
    return ids.length === 0 ? undefined : this.workers.get(this.random.pick(ids));
  }

  private herderOf(worker: SimWorker): Herder {
    return new Herder(worker.storage, plugins, () => worker.membership.view);
  }

  private async changeConnector(): Promise<void> {
    const worker = this.pickWorker();
    if (worker === undefined) return;
    const name = `c${this.random.int(1, 6)}`;
    const herder = this.herderOf(worker);
    if (this.random.chance(0.2) && worker.storage.configs.connectors.has(name)) {
      this.trace.push(`${worker.id} delete ${name}`);
      await herder.delete(name);
      return;
    }
    const sink = this.random.chance(0.5);
    const config = {
      "connector.class": sink ? "sim-sink" : "sim-source",
      "tasks.max": String(this.random.int(1, 4)),
      ...(sink ? { topics: "t" } : {}),
    };
    this.trace.push(`${worker.id} put ${name} ${JSON.stringify(config)}`);
    await herder.putConfig(name, config);
  }

  private async controlConnector(): Promise<void> {
    const worker = this.pickWorker();
    const names = worker === undefined ? [] : [...worker.storage.configs.connectors.keys()];
    if (worker === undefined || names.length === 0) return;
    const name = this.random.pick(names);
    const herder = this.herderOf(worker);
    const action = this.random.int(0, 3);
    this.trace.push(`${worker.id} ${["pause", "resume", "restart", "restart-task"][action]} ${name}`);
    if (action === 0) await herder.setTargetState(name, "PAUSED");
    else if (action === 1) await herder.setTargetState(name, "STARTED");
    else if (action === 2) {
      await herder.restart(name, { includeTasks: true, onlyFailed: this.random.chance(0.5) });
    } else {
      const tasks = herder.info(name).tasks.length;
      if (tasks > 0) await herder.restartTask(name, this.random.int(0, tasks - 1));
    }
  }

  private async join(): Promise<void> {
    const id = `w${this.nextWorker++}`;
    const storage = new SimStorage(this.world);
    const membership = new SimMembership(id, this.world);
    const worker = new Worker({
      brook: undefined as unknown as Brook,
      group: "sim",
      plugins,
      storage,
      membership,
      metrics: new ConnectMetrics(),
      logger: { ...silentLogger, child: () => silentLogger },
      exactlyOnceSource: true,
      pollIntervalMs: null,
      clock: () => this.nowMs,
      taskRunner: (deps) => this.fakeRunner(id, deps),
    });
    this.trace.push(`${id} joins`);
    await worker.start();
    this.workers.set(id, { id, worker, storage, membership });
  }

  private async leave(): Promise<void> {
    if (this.workers.size <= 1) return;
    const worker = this.pickWorker();
    if (worker === undefined) return;
    this.trace.push(`${worker.id} leaves`);
    this.workers.delete(worker.id);
    await worker.worker.stop();
  }

  /** A crash: the process and its tasks are gone at once, and the group forgets it (its session ends). */
  private crash(): void {
    if (this.workers.size <= 1) return;
    const worker = this.pickWorker();
    if (worker === undefined) return;
    this.trace.push(`${worker.id} crashes`);
    this.workers.delete(worker.id);
    this.world.live.delete(worker.id);
    for (const owners of this.world.running.values()) owners.delete(worker.id);
  }

  private failTask(): void {
    const instances = [...this.world.running].flatMap(([task, owners]) =>
      [...owners].map(([worker, fail]) => ({ task, worker, fail })),
    );
    if (instances.length === 0) return;
    const { task, worker, fail } = this.random.pick(instances);
    this.trace.push(`${task} fails on ${worker}`);
    fail(new Error(`simulated failure of ${task}`));
  }

  private readOn(): void {
    const worker = this.pickWorker();
    if (worker === undefined || worker.storage.behind === 0) return;
    const count = this.random.int(1, worker.storage.behind);
    this.trace.push(`${worker.id} reads ${count} config records`);
    worker.storage.readOn(count);
  }

  private look(): void {
    const worker = this.pickWorker();
    if (worker === undefined) return;
    this.trace.push(`${worker.id} looks at the group`);
    worker.membership.look();
    worker.worker.schedule();
  }

  private fakeRunner(worker: string, deps: TaskDeps): TaskRunner {
    const task = `${deps.plan.name}-${deps.task}`;
    return {
      run: (signal) =>
        new Promise<void>((resolve, reject) => {
          const owners = this.world.running.get(task) ?? new Map<string, (error: Error) => void>();
          this.world.running.set(task, owners);
          if (owners.size > 0) this.world.overlaps += 1;
          this.world.failed.delete(`${task}@${worker}`);
          const end = () => {
            if (owners.get(worker) === fail) owners.delete(worker);
          };
          const fail = (error: Error) => {
            end();
            this.world.failed.add(`${task}@${worker}`);
            reject(error);
          };
          owners.set(worker, fail);
          signal.addEventListener(
            "abort",
            () => {
              end();
              resolve();
            },
            { once: true },
          );
        }),
    };
  }

  private async settleReconciles(): Promise<void> {
    for (let round = 0; round < 5; round += 1) {
      await Promise.all([...this.workers.values()].map(({ worker }) => worker.idle()));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Everyone reads everything and looks at the group, until nothing moves. */
  private async quiesce(): Promise<void> {
    for (let round = 0; round < 3; round += 1) {
      this.nowMs += 10_000;
      for (const { storage, membership, worker } of this.workers.values()) {
        storage.readOn(storage.behind);
        membership.look();
        worker.schedule();
      }
      await this.settleReconciles();
    }
  }

  private checkAlways(): void {
    for (const [task, owners] of this.world.running) {
      for (const worker of owners.keys()) {
        if (!this.world.live.has(worker)) this.fail(`${task} runs on ${worker}, which is not live`);
      }
    }
  }

  private checkAtRest(steps: number): SimReport {
    const some = this.pickWorker();
    if (some === undefined) this.fail("no worker left");
    const connectors = some.storage.configs.connectors;
    const herder = this.herderOf(some);
    const counts = [...connectors.keys()].map((connector) => ({
      connector,
      taskCount: herder.info(connector).tasks.length,
    }));
    const assignment = assignUnits([...this.world.live], counts);
    const ownerOf = new Map(
      [...assignment].flatMap(([worker, units]) =>
        units.map((unit) => [`${unit.connector}-${unit.task}`, worker]),
      ),
    );
    let running = 0;
    let failed = 0;
    for (const { connector, taskCount } of counts) {
      const paused = connectors.get(connector)?.targetState === "PAUSED";
      for (let task = 0; task < taskCount; task += 1) {
        const key = `${connector}-${task}`;
        const owners = [...(this.world.running.get(key)?.keys() ?? [])];
        const status = herder.status(connector).tasks[task];
        if (paused) {
          if (owners.length > 0) this.fail(`${key} is paused but runs on ${owners.join(", ")}`);
          if (status.state !== "PAUSED") this.fail(`${key} is paused but its status is ${status.state}`);
        } else if (owners.length === 0) {
          const owner = ownerOf.get(key);
          if (
            !this.world.failed.has(`${key}@${owner}`) ||
            status.state !== "FAILED" ||
            status.worker_id !== owner
          ) {
            this.fail(`${key} runs nowhere and is not FAILED (status ${status.state})`);
          }
          failed += 1;
        } else {
          if (owners.length > 1) this.fail(`${key} runs on ${owners.join(", ")} at rest`);
          if (owners[0] !== ownerOf.get(key))
            this.fail(`${key} runs on ${owners[0]}, not ${ownerOf.get(key)}`);
          if (status.state !== "RUNNING" || status.worker_id !== owners[0]) {
            this.fail(`${key} runs on ${owners[0]} but its status is ${JSON.stringify(status)}`);
          }
          running += 1;
        }
      }
    }
    for (const [key, owners] of this.world.running) {
      if (owners.size > 0 && !ownerOf.has(key))
        this.fail(`${key} runs on ${[...owners.keys()]} but is no task`);
    }
    return {
      seed: this.seed,
      steps,
      overlaps: this.world.overlaps,
      connectors: counts.length,
      tasksRunning: running,
      tasksFailed: failed,
    };
  }

  private fail(message: string): never {
    throw new SimulationFailure(`seed ${this.seed}: ${message}\n${this.trace.slice(-40).join("\n")}`);
  }
}
