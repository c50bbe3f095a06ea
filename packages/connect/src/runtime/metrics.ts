// A worker's metrics, served in Prometheus format at GET /metrics on its REST port. Every series names
// its connector and task; a task's series are removed when the task stops on this worker.

import { Counter, Gauge, Histogram, Registry } from "prom-client";

const labels = ["connector", "task"] as const;

export class ConnectMetrics {
  readonly registry = new Registry();
  readonly polled = this.taskCounter(
    "brook_connect_source_records_polled_total",
    "Records a source task polled",
  );
  readonly written = this.taskCounter(
    "brook_connect_source_records_written_total",
    "Records a source task wrote to Brook (acknowledged)",
  );
  readonly read = this.taskCounter(
    "brook_connect_sink_records_read_total",
    "Records a sink task read from Brook",
  );
  readonly put = this.taskCounter(
    "brook_connect_sink_records_put_total",
    "Records a sink task handed to its connector's put()",
  );
  readonly batchSeconds = new Histogram({
    name: "brook_connect_batch_duration_seconds",
    help: "Time of one batch step: a sink's put or flush, a source's offset or transaction commit",
    labelNames: [...labels, "step"],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly sinkLag = new Gauge({
    name: "brook_connect_sink_lag_records",
    help: "Records in the sink task's partitions not yet read (at its last fetch)",
    labelNames: labels,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: "brook_connect_errors_total",
    help: "Failures by stage: convert, transform, put, flush, poll, send, commit",
    labelNames: [...labels, "stage"],
    registers: [this.registry],
  });
  readonly deadLettered = this.taskCounter(
    "brook_connect_deadletterqueue_records_total",
    "Records a sink task sent to its dead-letter topic",
  );
  readonly running = new Gauge({
    name: "brook_connect_tasks_running",
    help: "Tasks running on this worker",
    registers: [this.registry],
  });

  /** Forgets a task's series once it no longer runs here. */
  removeTask(connector: string, task: number): void {
    const values = { connector, task: String(task) };
    for (const metric of [this.polled, this.written, this.read, this.put, this.sinkLag, this.deadLettered]) {
      metric.remove(values);
    }
  }

  /** A counter per connector and task, in this worker's registry. */
  private taskCounter(name: string, help: string): Counter<"connector" | "task"> {
    return new Counter({ name, help, labelNames: labels, registers: [this.registry] });
  }
}
