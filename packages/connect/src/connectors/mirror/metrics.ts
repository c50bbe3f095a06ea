// The mirror's metrics in the worker's registry (served at /metrics). Every task of every mirror connector
// shares one instance of each metric: the first task registers it, the others find it by name.

import { Counter, Gauge, Histogram, type Registry } from "prom-client";

const latencyBucketsSeconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface MirrorMetrics {
  /** Records the target acknowledged, by target topic. */
  records: Counter<"connector" | "topic">;
  /** Source end offset - next offset to mirror, by target topic and partition. */
  lag: Gauge<"connector" | "topic" | "partition">;
  /** Now - the record's timestamp, when the target acknowledged it. */
  latency: Histogram<"connector">;
  /** Source group offsets translated (one per group and partition per checkpoint). */
  checkpoints: Counter<"connector">;
}

export function mirrorMetrics(registry: Registry): MirrorMetrics {
  const registers = [registry];
  return {
    records: reuse(registry, Counter<"connector" | "topic">, {
      name: "brook_connect_mirror_records_total",
      help: "Records brook-mirror copied into the target cluster (acknowledged), by target topic.",
      labelNames: ["connector", "topic"],
      registers,
    }),
    lag: reuse(registry, Gauge<"connector" | "topic" | "partition">, {
      name: "brook_connect_mirror_lag_records",
      help: "Records of a source partition not mirrored yet: its end offset minus the next offset to mirror.",
      labelNames: ["connector", "topic", "partition"],
      registers,
    }),
    latency: reuse(registry, Histogram<"connector">, {
      name: "brook_connect_mirror_latency_seconds",
      help: "Time from a source record's timestamp to the target's acknowledgement of its copy.",
      labelNames: ["connector"],
      buckets: latencyBucketsSeconds,
      registers,
    }),
    checkpoints: reuse(registry, Counter<"connector">, {
      name: "brook_connect_mirror_checkpoints_total",
      help: "Source consumer group offsets translated to the target (one per group and partition).",
      labelNames: ["connector"],
      registers,
    }),
  };
}

/** The metric registered under the name, or a new one. */
function reuse<M, O extends { name: string }>(
  registry: Registry,
  kind: new (options: O) => M,
  options: O,
): M {
  const existing = registry.getSingleMetric(options.name);
  if (existing instanceof kind) return existing;
  return new kind(options);
}
