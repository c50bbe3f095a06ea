// Where a worker keeps connector configs, statuses and source offsets. A distributed worker keeps them in
// three compacted topics that every worker of the group reads (so any worker can pick up any task); a
// standalone worker keeps configs and statuses in memory and offsets in a local file.

import { randomUUID } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import type { Brook, ConsumedMessage, Logger } from "@brook/client";
import type { SourceOffset } from "../api.js";
import { ConfigTable, type OffsetTable, StatusTable, type UnitStatus } from "./connect-state.js";
import { TopicLog } from "./topic-log.js";

export interface ConnectStorage {
  readonly configs: ConfigTable;
  readonly statuses: StatusTable;
  readonly offsets: OffsetTable;
  /** The offsets topic when source offsets can be written in a transaction with records (exactly-once). */
  readonly offsetsTopic: string | undefined;
  start(): Promise<void>;
  /** Writes a config record and resolves once this worker's table has it. */
  writeConfig(key: string, value: unknown): Promise<void>;
  writeStatus(key: string, status: UnitStatus | null): Promise<void>;
  /** Brings the offsets table up to date with everything committed so far. */
  readOffsets(): Promise<void>;
  commitOffsets(entries: [key: string, offset: SourceOffset][]): Promise<void>;
  /** Called after each config change is applied. */
  onConfigChange(listener: () => void): void;
  stop(): Promise<void>;
}

export interface TopicNames {
  configs: string;
  offsets: string;
  status: string;
}

export const defaultTopicNames: TopicNames = {
  configs: "__connect-configs",
  offsets: "__connect-offsets",
  status: "__connect-status",
};

/** The header naming the worker group that wrote a config or status record. */
const groupHeader = "connect.group";
/** Other groups warned about, at most. */
const foreignGroupsMax = 100;

/** Partitions of the internal topics: configs needs one total order; offsets and statuses spread. */
const partitionsOf = { configs: 1, offsets: 5, status: 5 } as const;

export class TopicStorage implements ConnectStorage {
  readonly configs = new ConfigTable();
  readonly statuses = new StatusTable();
  readonly offsets: OffsetTable = new Map();
  private readonly configLog: TopicLog;
  private readonly statusLog: TopicLog;
  private readonly offsetLog: TopicLog;
  private readonly listeners: (() => void)[] = [];

  private readonly header: Record<string, string>;
  private readonly foreignGroups = new Set<string>();

  constructor(
    brook: Brook,
    private readonly topics: TopicNames,
    private readonly group: string,
    private readonly logger: Logger,
  ) {
    this.header = { [groupHeader]: group };
    this.configLog = new TopicLog(brook, {
      topic: topics.configs,
      partitions: partitionsOf.configs,
      apply: (message) => {
        const value = this.readable(message);
        if (value === undefined || !this.ours(message)) return;
        this.configs.apply(keyOf(message), value);
        for (const listener of this.listeners) listener();
      },
      logger,
    });
    this.statusLog = new TopicLog(brook, {
      topic: topics.status,
      partitions: partitionsOf.status,
      apply: (message) => {
        const value = this.readable(message);
        if (value !== undefined && this.ours(message)) this.statuses.apply(keyOf(message), value);
      },
      logger,
    });
    this.offsetLog = new TopicLog(brook, {
      topic: topics.offsets,
      partitions: partitionsOf.offsets,
      apply: (message) => {
        const value = this.readable(message);
        if (value === null) this.offsets.delete(keyOf(message));
        else if (value !== undefined) this.offsets.set(keyOf(message), value as SourceOffset);
      },
      logger,
    });
  }

  get offsetsTopic(): string {
    return this.topics.offsets;
  }

  async start(): Promise<void> {
    await Promise.all([this.configLog.start(), this.statusLog.start(), this.offsetLog.start()]);
  }

  writeConfig(key: string, value: unknown): Promise<void> {
    return this.configLog.write(key, value, this.header);
  }

  writeStatus(key: string, status: UnitStatus | null): Promise<void> {
    return this.statusLog.send(key, status, this.header);
  }

  /** A record's JSON value (null: a tombstone); undefined, with a warning, for one that is not JSON. */
  private readable(message: ConsumedMessage): unknown {
    const value = jsonValue(message);
    if (value === undefined) {
      this.logger.warn(
        { topic: message.topic, partition: message.partition, offset: message.offset },
        "skipped a record of an internal topic that is not JSON",
      );
    }
    return value;
  }

  /**
   * Whether a config or status record is this group's: another group that shares the topics (given the
   * same names) writes its own, which this one must not run. Said once per group, as a warning.
   */
  private ours(message: ConsumedMessage): boolean {
    const value = message.headers[groupHeader];
    const group = Buffer.isBuffer(value) ? value.toString("utf8") : undefined;
    if (group === undefined || group === this.group) return true;
    if (!this.foreignGroups.has(group) && this.foreignGroups.size < foreignGroupsMax) {
      this.foreignGroups.add(group);
      this.logger.warn(
        { otherGroup: group, topic: message.topic },
        "another worker group writes to this group's internal topics; its connectors are ignored here (give each group its own topics)",
      );
    }
    return false;
  }

  readOffsets(): Promise<void> {
    return this.offsetLog.readToEnd();
  }

  async commitOffsets(entries: [string, SourceOffset][]): Promise<void> {
    await Promise.all(entries.map(([key, offset]) => this.offsetLog.send(key, offset)));
  }

  onConfigChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async stop(): Promise<void> {
    await Promise.all([this.configLog.stop(), this.statusLog.stop(), this.offsetLog.stop()]);
  }
}

/** Standalone: configs and statuses live in this process, offsets in a JSON file written atomically. */
export class LocalStorage implements ConnectStorage {
  readonly configs = new ConfigTable();
  readonly statuses = new StatusTable();
  readonly offsets: OffsetTable = new Map();
  readonly offsetsTopic = undefined;
  private readonly listeners: (() => void)[] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly offsetsFile: string) {}

  async start(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.offsetsFile, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    for (const [key, offset] of Object.entries(JSON.parse(text) as Record<string, SourceOffset>)) {
      this.offsets.set(key, offset);
    }
  }

  async writeConfig(key: string, value: unknown): Promise<void> {
    this.configs.apply(key, value);
    for (const listener of this.listeners) listener();
  }

  async writeStatus(key: string, status: UnitStatus | null): Promise<void> {
    this.statuses.apply(key, status);
  }

  async readOffsets(): Promise<void> {}

  commitOffsets(entries: [string, SourceOffset][]): Promise<void> {
    for (const [key, offset] of entries) this.offsets.set(key, offset);
    const snapshot = JSON.stringify(Object.fromEntries(this.offsets));
    this.writing = this.writing.then(async () => {
      const temporary = `${this.offsetsFile}.${randomUUID()}.tmp`;
      await writeFile(temporary, snapshot, { flush: true });
      await rename(temporary, this.offsetsFile);
    });
    return this.writing;
  }

  onConfigChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async stop(): Promise<void> {
    await this.writing;
  }
}

function keyOf(message: ConsumedMessage): string {
  return message.key?.toString("utf8") ?? "";
}

/** A record's JSON value; null for a tombstone, undefined (skipped) for bytes that are not JSON. */
function jsonValue(message: ConsumedMessage): unknown {
  if (message.value === null) return null;
  try {
    return JSON.parse(message.value.toString("utf8"));
  } catch {
    return undefined;
  }
}
