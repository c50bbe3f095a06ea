// Standby tasks: warm copies of other instances' task stores, kept by reading their changelogs as they
// grow, so that when a task moves here its restore reads only what the copy has not seen yet. A copy is
// a StreamTask that never processes a record; taking it over hands the same task (stores filled) to the
// active side. One reader (assign mode, no group) follows every standby changelog partition; it is
// replaced whenever the set of standby tasks changes.

import type { Brook, Consumer, IsolationLevel, Logger } from "@brook/client";
import { type OutputRecord, StreamTask } from "../task.js";
import type { Topology } from "../topology.js";
import type { TaskSettings } from "./active-tasks.js";
import { toChangelogRecord } from "./restorer.js";
import { Serial } from "./serial.js";
import { partitionKey, type TaskId, taskName } from "./task-id.js";

export interface StandbyTask {
  id: TaskId;
  task: StreamTask;
  /** Changelog topic → the next offset to read into the copy. */
  next: Map<string, number>;
}

export class StandbyTasks {
  private readonly tasks = new Map<string, StandbyTask>();
  private readonly serial = new Serial();
  private reader: { consumer: Consumer; running: Promise<void> } | undefined;
  private closed = false;

  constructor(
    private readonly brook: Brook,
    private readonly topology: Topology,
    private readonly settings: TaskSettings,
    private readonly isolationLevel: IsolationLevel,
    private readonly outbox: OutputRecord[],
    private readonly logger: Logger,
  ) {}

  names(): string[] {
    return [...this.tasks.keys()];
  }

  /** Keeps copies of exactly these tasks: new ones start from the changelogs' start, others are dropped. */
  update(ids: readonly TaskId[]): Promise<void> {
    const wanted = new Map(ids.map((id) => [taskName(id), id]));
    let changed = false;
    for (const name of this.tasks.keys()) {
      if (!wanted.has(name)) {
        this.tasks.get(name)?.task.close();
        this.tasks.delete(name);
        changed = true;
      }
    }
    for (const [name, id] of wanted) {
      if (this.tasks.has(name)) continue;
      const task = new StreamTask(
        this.topology,
        { ...this.settings, subtopology: id.subtopology, partition: id.partition },
        { send: (record) => this.outbox.push(record) },
      );
      this.tasks.set(name, {
        id,
        task,
        next: new Map([...task.changelogTopics().values()].map((t) => [t, 0])),
      });
      changed = true;
    }
    return changed ? this.restartReader() : Promise.resolve();
  }

  /** Hands the copy of a task over to run it here; the reader stops following it. */
  take(name: string): StandbyTask | undefined {
    const standby = this.tasks.get(name);
    if (standby === undefined) return undefined;
    this.tasks.delete(name);
    void this.restartReader();
    return standby;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.serial.run(() => this.stopReader());
    for (const { task } of this.tasks.values()) task.close();
    this.tasks.clear();
  }

  private restartReader(): Promise<void> {
    return this.serial.run(async () => {
      await this.stopReader();
      if (this.closed || this.tasks.size === 0) return;
      const consumer = this.brook.consumer({ isolationLevel: this.isolationLevel, maxWaitMs: 200 });
      const byPartition = new Map<string, { standby: StandbyTask; store: string }>();
      for (const standby of this.tasks.values()) {
        for (const [store, topic] of standby.task.changelogTopics()) {
          byPartition.set(partitionKey({ topic, partition: standby.id.partition }), { standby, store });
        }
      }
      await consumer.assign(
        [...byPartition.values()].map(({ standby, store }) => {
          const topic = standby.task.changelogTopics().get(store) as string;
          return { topic, partition: standby.id.partition, offset: standby.next.get(topic) ?? 0 };
        }),
      );
      const running = consumer.run({
        eachBatch: async ({ batch }) => {
          const target = byPartition.get(partitionKey(batch));
          // Taken over meanwhile: the active task restores the rest itself.
          if (target === undefined || this.tasks.get(taskName(target.standby.id)) !== target.standby) return;
          target.standby.task.restore(target.store, batch.messages.flatMap(toChangelogRecord));
          const last = batch.messages.at(-1);
          if (last !== undefined) target.standby.next.set(batch.topic, last.offset + 1);
        },
      });
      this.reader = {
        consumer,
        running: running.catch((error: unknown) => {
          this.logger.warn({ error: String(error) }, "standby reader stopped");
        }),
      };
    });
  }

  private async stopReader(): Promise<void> {
    const reader = this.reader;
    this.reader = undefined;
    if (reader === undefined) return;
    await reader.consumer.close();
    await reader.running;
  }
}
