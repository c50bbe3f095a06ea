// An application's metrics, in a prom-client registry of its own that the application serves where it
// likes (a client library has no /metrics of its own). Per task: records processed and dropped, process
// latency per consumed batch; per instance: commit latency (one commit covers every task); per store:
// records restored and the restore rate.

import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { DropReason } from "../processor.js";

const latencyBucketsSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class StreamsMetrics {
  readonly registry = new Registry();
  readonly processed: Counter<"task">;
  readonly dropped: Counter<"task" | "reason">;
  readonly processLatency: Histogram<"task">;
  readonly commitLatency: Histogram;
  readonly restored: Counter<"store">;
  readonly restoreRate: Gauge<"store">;
  readonly threadRestarts: Counter;
  readonly activeTasks: Gauge;
  readonly standbyTasks: Gauge;

  constructor(applicationId: string) {
    this.registry.setDefaultLabels({ application_id: applicationId });
    const registers = [this.registry];
    this.processed = new Counter({
      name: "brook_streams_records_processed_total",
      help: "Records a task took from its source topics.",
      labelNames: ["task"],
      registers,
    });
    this.dropped = new Counter({
      name: "brook_streams_records_dropped_total",
      help: "Records dropped: late for their window, or a null key or value where one is needed.",
      labelNames: ["task", "reason"],
      registers,
    });
    this.processLatency = new Histogram({
      name: "brook_streams_process_latency_seconds",
      help: "Time a task takes to process one consumed batch, its output handed to the producer.",
      labelNames: ["task"],
      buckets: latencyBucketsSeconds,
      registers,
    });
    this.commitLatency = new Histogram({
      name: "brook_streams_commit_latency_seconds",
      help: "Time to commit: output flushed and offsets committed (one transaction, exactly once).",
      buckets: latencyBucketsSeconds,
      registers,
    });
    this.restored = new Counter({
      name: "brook_streams_restore_records_total",
      help: "Changelog records applied to stores while restoring them.",
      labelNames: ["store"],
      registers,
    });
    this.restoreRate = new Gauge({
      name: "brook_streams_restore_records_per_second",
      help: "Records per second of the last restore of a store.",
      labelNames: ["store"],
      registers,
    });
    this.threadRestarts = new Counter({
      name: "brook_streams_thread_restarts_total",
      help: "Times the instance replaced its consumer and producer after a failure (tasks restored anew).",
      registers,
    });
    this.activeTasks = new Gauge({ name: "brook_streams_active_tasks", help: "Tasks run here.", registers });
    this.standbyTasks = new Gauge({
      name: "brook_streams_standby_tasks",
      help: "Tasks this instance keeps a warm copy of.",
      registers,
    });
  }

  /** Adds what a task counted since the last call (the task keeps running totals). */
  recordTask(task: string, processed: number, dropped: Record<DropReason, number>): void {
    if (processed > 0) this.processed.inc({ task }, processed);
    for (const [reason, count] of Object.entries(dropped)) {
      if (count > 0) this.dropped.inc({ task, reason }, count);
    }
  }
}
