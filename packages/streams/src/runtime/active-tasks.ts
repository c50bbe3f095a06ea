// The tasks an instance runs now, one per sub-topology and partition it was assigned: created with their
// stores restored from the changelogs, routed to by the topic and partition of each consumed record, and
// closed when their partitions are revoked. One owner: the instance's stream thread.

import type { TopicPartition } from "@brook/client";
import type { Clock } from "@brook/protocol";
import type { Serde } from "../serdes.js";
import type { StateStore } from "../stores/state-store.js";
import { type OutputRecord, StreamTask } from "../task.js";
import type { Topology } from "../topology.js";
import type { Subtopology } from "./internal-topics.js";
import { subtopologyByTopic, type TaskId, taskName, tasksOf } from "./task-id.js";

export interface TaskSettings {
  applicationId: string;
  clock: Clock;
  defaultKeySerde?: Serde<unknown>;
  defaultValueSerde?: Serde<unknown>;
}

export interface ActiveTask {
  id: TaskId;
  name: string;
  task: StreamTask;
  /** False until its stores are restored: it processes nothing and answers no query before. */
  ready: boolean;
}

export class ActiveTasks {
  private readonly tasks = new Map<string, ActiveTask>();
  /** Looked up for every consumed batch, so built once. */
  private readonly subtopologyOf: Map<string, number>;

  constructor(
    private readonly topology: Topology,
    private readonly subtopologies: readonly Subtopology[],
    private readonly settings: TaskSettings,
    /** Where every task's output goes until the thread drains it. */
    private readonly outbox: OutputRecord[],
  ) {
    this.subtopologyOf = subtopologyByTopic(subtopologies);
  }

  /**
   * Creates the tasks the partitions make that do not run yet, taking over a standby copy where `adopt`
   * has one; returns them (the stores of a new one are empty, an adopted one's hold what its copy read).
   */
  add(partitions: readonly TopicPartition[], adopt: (name: string) => StreamTask | undefined): ActiveTask[] {
    const created: ActiveTask[] = [];
    for (const id of tasksOf(partitions, this.subtopologies)) {
      const name = taskName(id);
      if (this.tasks.has(name)) continue;
      const task =
        adopt(name) ??
        new StreamTask(
          this.topology,
          { ...this.settings, subtopology: id.subtopology, partition: id.partition },
          { send: (record) => this.outbox.push(record) },
        );
      const active = { id, name, task, ready: false };
      this.tasks.set(name, active);
      created.push(active);
    }
    return created;
  }

  /** Closes the tasks of the given partitions; returns them. */
  remove(partitions: readonly TopicPartition[]): ActiveTask[] {
    const removed: ActiveTask[] = [];
    for (const id of tasksOf(partitions, this.subtopologies)) {
      const active = this.tasks.get(taskName(id));
      if (!active) continue;
      active.task.close();
      this.tasks.delete(active.name);
      removed.push(active);
    }
    return removed;
  }

  /** The task that processes a record of this topic and partition. */
  taskFor(topic: string, partition: number): ActiveTask | undefined {
    const subtopology = this.subtopologyOf.get(topic);
    if (subtopology === undefined) return undefined;
    return this.tasks.get(taskName({ subtopology, partition }));
  }

  all(): ActiveTask[] {
    return [...this.tasks.values()];
  }

  /** The named store of every ready task that has it, and whether a task that has it is restoring. */
  stores(name: string): { stores: StateStore[]; restoring: boolean } {
    const holders = this.all().filter(({ task }) => task.storeNames().includes(name));
    return {
      stores: holders.filter((each) => each.ready).map(({ task }) => task.store(name)),
      restoring: holders.some((each) => !each.ready),
    };
  }

  closeAll(): void {
    for (const { task } of this.tasks.values()) task.close();
    this.tasks.clear();
  }
}
