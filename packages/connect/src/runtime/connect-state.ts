// The records Connect keeps in its internal topics, and the tables they fold into. Keys and shapes follow
// Kafka Connect's, so anyone who has read a connect-configs or connect-status topic recognises them:
// __connect-configs: `connector-<name>` → { properties } (null: deleted), `target-state-<name>` →
// { state }, and Brook's restart requests `restart-connector-<name>` → { id, includeTasks, onlyFailed } and
// `restart-task-<name>-<n>` → { id }. __connect-status: `status-connector-<name>` and
// `status-task-<name>-<n>` → { state, trace, worker_id, generation }. __connect-offsets: key
// `["<connector>", {source partition}]` → {source offset}, both as canonical JSON.

import type { SourceOffset, SourcePartition } from "../api.js";
import type { RawConfig } from "../config/config-def.js";

export type TargetState = "STARTED" | "PAUSED";
export type UnitState = "UNASSIGNED" | "RUNNING" | "PAUSED" | "FAILED";

export interface RestartRequest {
  id: string;
  includeTasks: boolean;
  onlyFailed: boolean;
}

export interface ConnectorEntry {
  config: RawConfig;
  targetState: TargetState;
  restart?: RestartRequest;
  /** Restart request ids by task number. */
  taskRestarts: Map<number, string>;
}

export interface UnitStatus {
  state: UnitState;
  trace?: string;
  worker_id: string;
  generation: number;
}

/** The most connectors one worker group keeps: a bound on the config table. */
export const connectorsMax = 1_000;

/** Folds __connect-configs records into the connectors table. */
export class ConfigTable {
  readonly connectors = new Map<string, ConnectorEntry>();

  apply(key: string, value: unknown): void {
    if (key.startsWith("connector-")) {
      this.applyConnector(key.slice("connector-".length), value);
      return;
    }
    if (key.startsWith("target-state-")) {
      const entry = this.connectors.get(key.slice("target-state-".length));
      const state = (value as { state?: string } | null)?.state;
      if (entry !== undefined && (state === "STARTED" || state === "PAUSED")) entry.targetState = state;
      return;
    }
    if (key.startsWith("restart-task-")) {
      this.applyTaskRestart(key.slice("restart-task-".length), value);
      return;
    }
    if (key.startsWith("restart-connector-")) {
      const entry = this.connectors.get(key.slice("restart-connector-".length));
      if (entry !== undefined && value !== null) entry.restart = value as RestartRequest;
    }
  }

  private applyConnector(name: string, value: unknown): void {
    if (value === null) {
      this.connectors.delete(name);
      return;
    }
    const config = (value as { properties?: unknown } | undefined)?.properties;
    if (!isRawConfig(config)) return;
    const entry = this.connectors.get(name);
    if (entry !== undefined) {
      entry.config = config;
      return;
    }
    if (this.connectors.size >= connectorsMax) return;
    this.connectors.set(name, { config, targetState: "STARTED", taskRestarts: new Map() });
  }

  private applyTaskRestart(rest: string, value: unknown): void {
    const dash = rest.lastIndexOf("-");
    const entry = this.connectors.get(rest.slice(0, dash));
    const task = Number(rest.slice(dash + 1));
    const id = (value as { id?: string } | null)?.id;
    if (entry !== undefined && Number.isInteger(task) && id !== undefined) entry.taskRestarts.set(task, id);
  }
}

/** A string map, as a connector config must be; anything else in the topic is ignored. */
function isRawConfig(value: unknown): value is RawConfig {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    Object.values(value).every((each) => typeof each === "string")
  );
}

/** Folds __connect-status records: the latest status of each connector and task. */
export class StatusTable {
  readonly statuses = new Map<string, UnitStatus>();

  apply(key: string, value: unknown): void {
    if (value === null) this.statuses.delete(key);
    else this.statuses.set(key, value as UnitStatus);
  }

  /** Drops a deleted connector's statuses. */
  forget(connector: string): void {
    for (const key of this.statuses.keys()) {
      const taskPrefix = `status-task-${connector}-`;
      const isTask = key.startsWith(taskPrefix) && /^\d+$/.test(key.slice(taskPrefix.length));
      if (key === connectorStatusKey(connector) || isTask) {
        this.statuses.delete(key);
      }
    }
  }
}

export function connectorStatusKey(connector: string): string {
  return `status-connector-${connector}`;
}

export function taskStatusKey(connector: string, task: number): string {
  return `status-task-${connector}-${task}`;
}

/** The __connect-offsets key of a source partition: canonical JSON, so equal partitions are one key. */
export function offsetKey(connector: string, partition: SourcePartition): string {
  return canonicalJson([connector, partition]);
}

export type OffsetTable = Map<string, SourceOffset>;

/** JSON with object keys sorted, at every depth. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, each: unknown) =>
    each !== null && typeof each === "object" && !Array.isArray(each)
      ? Object.fromEntries(Object.entries(each).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : each,
  );
}
