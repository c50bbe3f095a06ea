// What the REST API asks of a worker group (Kafka Connect's Herder): connector configs created, changed,
// paused, restarted and deleted by writing to the configs store, which every worker follows; statuses
// read from the status store. It never touches a running task: the workers react to the records.

import { randomUUID } from "node:crypto";
import type { AnyConnector } from "../api.js";
import type { RawConfig } from "../config/config-def.js";
import { connectorStatusKey, connectorsMax, taskStatusKey, type UnitStatus } from "./connect-state.js";
import { configProblems, planConnector } from "./connector-config.js";
import type { ConnectStorage } from "./storage.js";

/** An error with the HTTP status Kafka Connect answers it with. */
export class ConnectRestError extends Error {
  override readonly name = "ConnectRestError";
  constructor(
    readonly status: 400 | 404 | 409 | 500,
    message: string,
  ) {
    super(message);
  }
}

export type ConnectorType = "source" | "sink" | "unknown";

export interface ConnectorInfo {
  name: string;
  config: RawConfig;
  tasks: { connector: string; task: number }[];
  type: ConnectorType;
}

export interface UnitStatusView {
  state: string;
  worker_id: string;
  trace?: string;
}

export interface ConnectorStatus {
  name: string;
  connector: UnitStatusView;
  tasks: (UnitStatusView & { id: number })[];
  type: ConnectorType;
}

/** The longest connector name: it goes into topic record keys, group ids and transactional ids. */
const nameLengthMax = 200;

export class Herder {
  constructor(
    private readonly storage: ConnectStorage,
    private readonly plugins: ReadonlyMap<string, AnyConnector>,
    /** The live workers now; a status written by a worker that left reads UNASSIGNED. */
    private readonly liveWorkers: () => readonly string[],
  ) {}

  connectors(): string[] {
    return [...this.storage.configs.connectors.keys()].sort();
  }

  info(name: string): ConnectorInfo {
    const entry = this.entry(name);
    const config = { ...entry.config, name };
    const { type, taskCount } = this.shape(config);
    return {
      name,
      config,
      tasks: Array.from({ length: taskCount }, (_, task) => ({ connector: name, task })),
      type,
    };
  }

  /** Creates or replaces a connector's config; `created` tells which. Refuses a config that does not parse. */
  async putConfig(name: string, config: RawConfig): Promise<{ created: boolean; info: ConnectorInfo }> {
    checkName(name);
    if (config.name !== undefined && config.name !== name) {
      throw new ConnectRestError(
        400,
        `connector name in the config ("${config.name}") differs from "${name}"`,
      );
    }
    const full = { ...stringValues(config), name };
    const problems = configProblems(full, this.plugins);
    if (problems.length > 0) {
      throw new ConnectRestError(
        400,
        `Connector configuration is invalid and contains the following ${problems.length} error(s):\n${problems.join("\n")}`,
      );
    }
    const created = !this.storage.configs.connectors.has(name);
    if (created && this.storage.configs.connectors.size >= connectorsMax) {
      throw new ConnectRestError(400, `this worker group has ${connectorsMax} connectors, the most it keeps`);
    }
    await this.storage.writeConfig(`connector-${name}`, { properties: full });
    return { created, info: this.info(name) };
  }

  async create(name: string, config: RawConfig): Promise<ConnectorInfo> {
    if (this.storage.configs.connectors.has(name)) {
      throw new ConnectRestError(409, `Connector ${name} already exists`);
    }
    return (await this.putConfig(name, config)).info;
  }

  async delete(name: string): Promise<void> {
    const { taskCount } = this.shape(this.entry(name).config);
    await this.storage.writeConfig(`connector-${name}`, null);
    await this.storage.writeConfig(`target-state-${name}`, null);
    await this.storage.writeStatus(connectorStatusKey(name), null);
    for (let task = 0; task < taskCount; task += 1)
      await this.storage.writeStatus(taskStatusKey(name, task), null);
    this.storage.statuses.forget(name);
  }

  async setTargetState(name: string, state: "STARTED" | "PAUSED"): Promise<void> {
    this.entry(name);
    await this.storage.writeConfig(`target-state-${name}`, { state });
  }

  async restart(name: string, options: { includeTasks: boolean; onlyFailed: boolean }): Promise<void> {
    this.entry(name);
    await this.storage.writeConfig(`restart-connector-${name}`, { id: randomUUID(), ...options });
  }

  async restartTask(name: string, task: number): Promise<void> {
    this.task(name, task);
    await this.storage.writeConfig(`restart-task-${name}-${task}`, { id: randomUUID() });
  }

  status(name: string): ConnectorStatus {
    const { type, taskCount } = this.shape(this.entry(name).config);
    return {
      name,
      connector: this.view(this.storage.statuses.statuses.get(connectorStatusKey(name))),
      tasks: Array.from({ length: taskCount }, (_, id) => ({
        id,
        ...this.view(this.storage.statuses.statuses.get(taskStatusKey(name, id))),
      })),
      type,
    };
  }

  taskStatus(name: string, task: number): UnitStatusView & { id: number } {
    this.task(name, task);
    return { id: task, ...this.view(this.storage.statuses.statuses.get(taskStatusKey(name, task))) };
  }

  tasks(name: string): { id: { connector: string; task: number }; config: RawConfig }[] {
    const { config, tasks } = this.info(name);
    return tasks.map((id) => ({ id, config: { ...config, "task.id": String(id.task) } }));
  }

  pluginList(): { class: string; type: "source" | "sink"; version: string; description: string }[] {
    return [...this.plugins.values()]
      .map((plugin) => ({
        class: plugin.name,
        type: plugin.kind,
        version: "0.1.0",
        description: plugin.description,
      }))
      .sort((a, b) => (a.class < b.class ? -1 : 1));
  }

  plugin(name: string): AnyConnector {
    const plugin = this.plugins.get(name);
    if (plugin === undefined) throw new ConnectRestError(404, `Unknown connector plugin ${name}`);
    return plugin;
  }

  private entry(name: string) {
    const entry = this.storage.configs.connectors.get(name);
    if (entry === undefined) throw new ConnectRestError(404, `Connector ${name} not found`);
    return entry;
  }

  private task(name: string, task: number): void {
    const { taskCount } = this.shape(this.entry(name).config);
    if (!(Number.isInteger(task) && task >= 0 && task < taskCount)) {
      throw new ConnectRestError(404, `Task ${name}-${task} not found`);
    }
  }

  private shape(config: RawConfig): { type: ConnectorType; taskCount: number } {
    try {
      const plan = planConnector(config, this.plugins);
      return { type: plan.connector.kind, taskCount: plan.taskCount };
    } catch {
      return { type: this.plugins.get(config["connector.class"] ?? "")?.kind ?? "unknown", taskCount: 0 };
    }
  }

  private view(status: UnitStatus | undefined): UnitStatusView {
    if (status === undefined || !this.liveWorkers().includes(status.worker_id)) {
      return { state: "UNASSIGNED", worker_id: status?.worker_id ?? "" };
    }
    return {
      state: status.state,
      worker_id: status.worker_id,
      ...(status.trace === undefined ? {} : { trace: status.trace }),
    };
  }
}

function checkName(name: string): void {
  if (name.length === 0 || name.length > nameLengthMax || !/^[\w.-]+$/.test(name)) {
    throw new ConnectRestError(
      400,
      `connector name "${name}": 1 to ${nameLengthMax} letters, digits, '.', '_' or '-'`,
    );
  }
}

/** Kafka Connect configs are string maps; JSON numbers and booleans are taken as their text. */
function stringValues(config: Record<string, unknown>): RawConfig {
  const out: RawConfig = {};
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
      out[key] = String(value);
    else throw new ConnectRestError(400, `config "${key}": values are strings, got ${JSON.stringify(value)}`);
  }
  return out;
}
