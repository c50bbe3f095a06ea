// A Connect worker: reads the connector configs, works out its share of the group's connectors and tasks
// (assignment.ts) whenever a config or the membership changes, and starts and stops task runners to
// match. It is the one owner of what runs in this process and of the statuses it reports; the REST API
// changes configs only through the storage, never the running tasks directly.

import type { Brook, Logger } from "@brook/client";
import type { AnyConnector } from "../api.js";
import { assignUnits, type ConnectorTasks, unitKey, type WorkUnit } from "./assignment.js";
import {
  type ConnectorEntry,
  connectorStatusKey,
  taskStatusKey,
  type UnitState,
  type UnitStatus,
} from "./connect-state.js";
import { type ConnectorPlan, planConnector } from "./connector-config.js";
import type { Membership } from "./membership.js";
import type { ConnectMetrics } from "./metrics.js";
import { SinkTaskRunner } from "./sink-task.js";
import { SourceTaskRunner } from "./source-task.js";
import type { ConnectStorage } from "./storage.js";
import type { TaskDeps } from "./task-deps.js";

export interface WorkerOptions {
  brook: Brook;
  /** The worker group id, or "standalone". */
  group: string;
  plugins: ReadonlyMap<string, AnyConnector>;
  storage: ConnectStorage;
  membership: Membership;
  metrics: ConnectMetrics;
  /** pino-compatible; `child` gives each task a logger naming its connector and task. */
  logger: Logger & { child(bindings: object): Logger };
  /** exactly.once.source.support=enabled: sources that can seek write records and offsets in transactions. */
  exactlyOnceSource: boolean;
  /**
   * How often membership is listed (a worker that died is noticed within its session timeout plus this).
   * null: never on a timer, only on schedule() (the simulation drives it so).
   */
  pollIntervalMs?: number | null;
  /** ms since the epoch; Date.now unless given (the simulation's clock). */
  clock?: () => number;
  /** Makes the runner of a task; the real source and sink runners unless given (the simulation's). */
  taskRunner?: (deps: TaskDeps) => TaskRunner;
}

/** Runs one task until the signal aborts (resolves) or the task fails (rejects). */
export interface TaskRunner {
  run(signal: AbortSignal): Promise<void>;
}

function realTaskRunner(deps: TaskDeps): TaskRunner {
  return deps.plan.connector.kind === "source" ? new SourceTaskRunner(deps) : new SinkTaskRunner(deps);
}

interface RunningUnit {
  unit: WorkUnit;
  /** The config it was started with, as JSON: a different one restarts it. */
  configJson: string;
  paused: boolean;
  /** The connector's restart request it has seen, and its own task's (POST .../tasks/{n}/restart). */
  restartId: string | undefined;
  taskRestartId: string | undefined;
  state: UnitState;
  /** The failure's stack when FAILED. */
  trace?: string;
  /** When its status was last written. */
  reportedAt: number;
  controller: AbortController;
  done: Promise<void>;
}

/** How long a stopping task may take before the worker goes on without it. */
const stopTimeoutMs = 30_000;
/**
 * A unit's status that names another worker or state this long after it was written is written again:
 * an earlier owner that ran it for a moment (while the workers' views of the group differed) may have
 * written over it, and the owner's word must be the last.
 */
const statusRepairMs = 3_000;
/** The longest a new owner waits for the previous one to stop a task (see mayStart). */
const handOverWaitMs = 5_000;

export class Worker {
  private readonly running = new Map<string, RunningUnit>();
  /** Plans by connector, with the config JSON each was made from (as many as the config table holds). */
  private readonly planCache = new Map<string, { configJson: string; plan: ConnectorPlan | Error }>();
  /** Tasks this worker owns but waits to start until their previous owner let go: since when. */
  private readonly waitingSince = new Map<string, number>();
  private reconciling: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private liveWorkers: string[] = [];

  constructor(private readonly options: WorkerOptions) {}

  get id(): string {
    return this.options.membership.self;
  }

  /** The workers of the group at the last look. */
  workers(): string[] {
    return this.liveWorkers;
  }

  async start(): Promise<void> {
    await this.options.storage.start();
    this.options.storage.onConfigChange(() => this.schedule());
    await this.options.membership.start();
    const intervalMs = this.options.pollIntervalMs === undefined ? 1_000 : this.options.pollIntervalMs;
    if (intervalMs !== null) this.timer = setInterval(() => this.schedule(), intervalMs);
    this.schedule();
  }

  /** Stops every task here (committing what each has done) and leaves the group. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.reconciling;
    await Promise.all([...this.running.keys()].map((key) => this.stopUnit(key, true)));
    await this.options.membership.stop();
    await this.options.storage.stop();
  }

  /** Resolves once no reconcile is under way or scheduled. */
  async idle(): Promise<void> {
    while (this.reconciling !== undefined) await this.reconciling;
  }

  /** Runs a reconcile now, or once more after the one under way. */
  schedule(): void {
    if (this.stopped) return;
    if (this.reconciling !== undefined) {
      this.again = true;
      return;
    }
    this.reconciling = this.reconcile()
      .catch((error: unknown) => this.options.logger.warn({ error: String(error) }, "could not rebalance"))
      .finally(() => {
        this.reconciling = undefined;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
  }

  private async reconcile(): Promise<void> {
    this.liveWorkers = await this.options.membership.workers();
    const plans = this.plans();
    const connectors: ConnectorTasks[] = [...plans].map(([connector, plan]) => ({
      connector,
      taskCount: plan instanceof Error ? 0 : plan.taskCount,
    }));
    const mine = assignUnits(this.liveWorkers, connectors).get(this.id) ?? [];
    const wanted = new Map(mine.map((unit) => [unitKey(unit), unit]));
    for (const [key, running] of this.running) {
      const entry = this.options.storage.configs.connectors.get(running.unit.connector);
      if (!wanted.has(key)) await this.stopUnit(key, true);
      else if (entry === undefined || this.mustRestart(running, entry)) await this.stopUnit(key, false);
    }
    for (const [key, unit] of wanted) {
      const entry = this.options.storage.configs.connectors.get(unit.connector);
      const plan = plans.get(unit.connector);
      if (!this.running.has(key) && entry !== undefined && plan !== undefined && this.mayStart(key, unit)) {
        this.startUnit(unit, entry, plan);
      }
    }
    for (const key of this.waitingSince.keys()) if (!wanted.has(key)) this.waitingSince.delete(key);
    this.repairStatuses();
  }

  /**
   * A task this worker now owns that its status shows RUNNING on another live worker waits until that
   * worker has stopped it (and marked it UNASSIGNED), or for handOverWaitMs: while the workers' views of
   * the group differ, the two would otherwise run it at once for a moment.
   */
  private mayStart(key: string, unit: WorkUnit): boolean {
    if (unit.task === undefined) return true;
    const status = this.options.storage.statuses.statuses.get(statusKey(unit));
    const elsewhere =
      status?.state === "RUNNING" &&
      status.worker_id !== this.id &&
      this.liveWorkers.includes(status.worker_id);
    if (!elsewhere) {
      this.waitingSince.delete(key);
      return true;
    }
    const since = this.waitingSince.get(key) ?? this.now();
    this.waitingSince.set(key, since);
    return this.now() - since >= handOverWaitMs;
  }

  private repairStatuses(): void {
    const now = this.now();
    for (const running of this.running.values()) {
      const status = this.options.storage.statuses.statuses.get(statusKey(running.unit));
      const right = status?.worker_id === this.id && status.state === running.state;
      if (!right && now - running.reportedAt >= statusRepairMs) this.report(running, running.state);
    }
  }

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }

  /**
   * Each connector's plan (or why its config does not parse). Reconciles run every second, so a plan is
   * made again only when its connector's config changed; plans of deleted connectors are dropped.
   */
  private plans(): Map<string, ConnectorPlan | Error> {
    const plans = new Map<string, ConnectorPlan | Error>();
    for (const [name, entry] of this.options.storage.configs.connectors) {
      const configJson = JSON.stringify(entry.config);
      const cached = this.planCache.get(name);
      const plan = cached?.configJson === configJson ? cached.plan : this.plan(name, entry);
      this.planCache.set(name, { configJson, plan });
      plans.set(name, plan);
    }
    for (const name of this.planCache.keys()) if (!plans.has(name)) this.planCache.delete(name);
    return plans;
  }

  private plan(name: string, entry: ConnectorEntry): ConnectorPlan | Error {
    try {
      return planConnector({ ...entry.config, name }, this.options.plugins);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  private mustRestart(running: RunningUnit, entry: ConnectorEntry): boolean {
    if (running.configJson !== this.planCache.get(running.unit.connector)?.configJson) return true;
    if (running.paused !== (entry.targetState === "PAUSED")) return true;
    const { task } = running.unit;
    if (task !== undefined && entry.taskRestarts.get(task) !== running.taskRestartId) return true;
    const request = entry.restart;
    if (request === undefined || request.id === running.restartId) return false;
    running.restartId = request.id;
    return (
      (task === undefined || request.includeTasks) && (!request.onlyFailed || running.state === "FAILED")
    );
  }

  private startUnit(unit: WorkUnit, entry: ConnectorEntry, plan: ConnectorPlan | Error): void {
    const { task } = unit;
    const paused = entry.targetState === "PAUSED";
    const running: RunningUnit = {
      unit,
      configJson: this.planCache.get(unit.connector)?.configJson ?? JSON.stringify(entry.config),
      paused,
      restartId: entry.restart?.id,
      taskRestartId: task === undefined ? undefined : entry.taskRestarts.get(task),
      state: paused ? "PAUSED" : "RUNNING",
      reportedAt: 0,
      controller: new AbortController(),
      done: Promise.resolve(),
    };
    this.running.set(unitKey(unit), running);
    if (plan instanceof Error) {
      this.report(running, "FAILED", plan);
      return;
    }
    this.report(running, running.state);
    if (task === undefined || paused) return;
    running.done = this.runTask(running, plan, task);
  }

  private async runTask(running: RunningUnit, plan: ConnectorPlan, task: number): Promise<void> {
    const { options } = this;
    const logger = options.logger.child({ connector: plan.name, task });
    const exactlyOnce = this.exactlyOnce(plan);
    options.metrics.running.inc();
    try {
      if (exactlyOnce instanceof Error) throw exactlyOnce;
      const deps = {
        plan,
        task,
        brook: options.brook,
        storage: options.storage,
        metrics: options.metrics,
        logger,
        workerGroup: options.group,
        exactlyOnce,
      };
      const runner = (options.taskRunner ?? realTaskRunner)(deps);
      await runner.run(running.controller.signal);
      if (!running.controller.signal.aborted) logger.info({}, "task finished");
    } catch (error) {
      if (running.controller.signal.aborted) return;
      if (isFenced(error)) {
        logger.warn({ error: String(error) }, "task fenced: another worker runs it now");
        return;
      }
      logger.error({ error: String(error), stack: (error as Error)?.stack }, "task failed");
      this.report(running, "FAILED", error);
    } finally {
      options.metrics.running.dec();
    }
  }

  /** Whether a source task writes exactly once; an Error when exactly-once is required and impossible. */
  private exactlyOnce(plan: ConnectorPlan): boolean | Error {
    const { connector, common } = plan;
    if (connector.kind !== "source") return false;
    const possible =
      this.options.exactlyOnceSource && connector.canSeek && this.options.storage.offsetsTopic !== undefined;
    if (!possible && common["exactly.once.support"] === "required") {
      return new Error(
        `exactly.once.support=required, but ${this.options.exactlyOnceSource ? "this worker keeps offsets in a file" : "the worker runs without exactly.once.source.support=enabled"}`,
      );
    }
    return possible;
  }

  /** Stops a unit; `handOver`: another worker owns it now, so its status says it runs nowhere until then. */
  private async stopUnit(key: string, handOver: boolean): Promise<void> {
    const running = this.running.get(key);
    if (running === undefined) return;
    this.running.delete(key);
    running.controller.abort();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, stopTimeoutMs).unref());
    await Promise.race([running.done.catch(() => undefined), timeout]);
    const { connector, task } = running.unit;
    if (task !== undefined) this.options.metrics.removeTask(connector, task);
    const status = this.options.storage.statuses.statuses.get(statusKey(running.unit));
    if (handOver && status?.worker_id === this.id) this.report(running, "UNASSIGNED");
  }

  private report(running: RunningUnit, state: UnitState, error?: unknown): void {
    running.state = state;
    running.reportedAt = this.now();
    if (error !== undefined)
      running.trace = error instanceof Error ? (error.stack ?? error.message) : String(error);
    const status: UnitStatus = {
      state,
      worker_id: this.id,
      generation: this.options.membership.generation(),
      ...(state === "FAILED" && running.trace !== undefined ? { trace: running.trace } : {}),
    };
    const key = statusKey(running.unit);
    this.options.storage
      .writeStatus(key, status)
      .catch((failure: unknown) =>
        this.options.logger.warn({ error: String(failure), key }, "could not write status"),
      );
  }
}

function statusKey({ connector, task }: WorkUnit): string {
  return task === undefined ? connectorStatusKey(connector) : taskStatusKey(connector, task);
}

function isFenced(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (
    code === "PRODUCER_FENCED" || code === "INVALID_PRODUCER_EPOCH" || code === "TRANSACTIONAL_ID_FENCED"
  );
}
