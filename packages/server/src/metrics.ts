// The node's Prometheus metrics (prom-client), one registry per node. The
// data path reports through the broker's BrokerObserver (counters and
// latency histograms); everything else is read at scrape time from what the
// broker, the controller and the metadata image already know, so nothing on
// the hot path keeps metric state beyond a counter increment.
//
// Names follow Prometheus conventions: brook_<what>_total for counters,
// _seconds and _bytes for units; docs/operations.md lists them.

import type { Broker, BrokerObserver } from "@brook/broker";
import type { MetadataImage } from "@brook/metadata";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface ControllerView {
  isActive(): boolean;
  status(): { term: number; commitIndex: number; appliedIndex: number };
  quorumStatus(): readonly { id: number; lag?: number }[];
}

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly bytesIn: Counter<"topic">;
  private readonly recordsIn: Counter<"topic">;
  private readonly bytesOut: Counter<"topic">;
  private readonly recordsOut: Counter<"topic">;
  private readonly requestSeconds: Histogram<"request" | "outcome">;
  private readonly isrShrinks: Counter;
  private readonly isrExpands: Counter;
  private readonly leaderElections: Counter;
  private readonly throttledRequests: Counter<"quota">;
  private readonly throttleSeconds: Counter<"quota">;
  private previous: MetadataImage | undefined;

  constructor(nodeId: number) {
    const registry = this.registry;
    registry.setDefaultLabels({ node: String(nodeId) });
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers: [registry] });
    this.bytesIn = counter("brook_bytes_in_total", "Record batch bytes appended by producers, by topic.", [
      "topic",
    ]);
    this.recordsIn = counter("brook_records_in_total", "Records appended by producers, by topic.", ["topic"]);
    this.bytesOut = counter("brook_bytes_out_total", "Record batch bytes sent to consumers, by topic.", [
      "topic",
    ]);
    this.recordsOut = counter("brook_records_out_total", "Records sent to consumers, by topic.", ["topic"]);
    this.requestSeconds = new Histogram({
      name: "brook_request_duration_seconds",
      help: "Broker request latency by gRPC method (Produce, Fetch, ...); _count is the request count.",
      labelNames: ["request", "outcome"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.isrShrinks = counter("brook_isr_shrinks_total", "ISR shrinks of partitions this broker leads.");
    this.isrExpands = counter("brook_isr_expands_total", "ISR expansions of partitions this broker leads.");
    this.throttledRequests = counter(
      "brook_throttled_requests_total",
      "Produce and fetch requests over their principal's quota (--quota-*-bytes-per-second), by quota.",
      ["quota"],
    );
    this.throttleSeconds = counter(
      "brook_throttle_seconds_total",
      "Throttle time given to requests over quota (their answers waited or told the client to), by quota.",
      ["quota"],
    );
    this.leaderElections = counter(
      "brook_leader_elections_total",
      "Partition leader changes seen in the metadata (the same on every node: take the max, not the sum).",
    );
  }

  /** The BrokerObserver the broker reports its data path to. */
  readonly observer: BrokerObserver = {
    produced: (topic, records, bytes) => {
      this.recordsIn.inc({ topic }, records);
      this.bytesIn.inc({ topic }, bytes);
    },
    fetched: (topic, records, bytes) => {
      this.recordsOut.inc({ topic }, records);
      this.bytesOut.inc({ topic }, bytes);
    },
    requestDone: (request, seconds, failed) => {
      this.requestSeconds.observe({ request, outcome: failed ? "error" : "ok" }, seconds);
    },
    throttled: (quota, ms) => {
      this.throttledRequests.inc({ quota });
      this.throttleSeconds.inc({ quota }, ms / 1000);
    },
  };

  /** Counts leader changes, and ISR changes of partitions `nodeId` leads, between metadata images. */
  onImage(image: MetadataImage, nodeId: number): void {
    const previous = this.previous;
    this.previous = image;
    if (previous === undefined) return;
    for (const topic of image.topics()) {
      for (const state of topic.partitions) {
        const before = previous.partition(topic.name, state.partition);
        if (before === undefined) continue;
        if (state.leaderEpoch > before.leaderEpoch && state.leader !== before.leader)
          this.leaderElections.inc();
        if (state.leader !== nodeId || before.leader !== nodeId) continue;
        if (state.isr.length < before.isr.length) this.isrShrinks.inc();
        else if (state.isr.length > before.isr.length) this.isrExpands.inc();
      }
    }
  }

  /** Gauges read at scrape time. */
  registerGauges(
    nodeId: number,
    broker: Broker,
    controller: ControllerView,
    image: () => MetadataImage,
  ): void {
    const registry = this.registry;
    const gauge = <L extends string>(
      name: string,
      help: string,
      labelNames: L[],
      collect: (g: Gauge<L>) => void,
    ) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          collect(this);
        },
      });
    gauge(
      "brook_under_replicated_partitions",
      "Partitions this broker leads whose ISR is smaller than their replica set.",
      [],
      (g) =>
        g.set(broker.metricsView().partitions.filter((p) => p.leader && p.isrSize < p.replicaCount).length),
    );
    gauge(
      "brook_offline_partitions",
      "Partitions in the cluster with no leader, as this node's metadata shows.",
      [],
      (g) => {
        let offline = 0;
        for (const topic of image().topics()) for (const p of topic.partitions) if (p.leader < 0) offline++;
        g.set(offline);
      },
    );
    gauge(
      "brook_log_dir_offline",
      "1 when this broker's log dir failed (an fsync, write or read error): it serves no replica until restarted.",
      [],
      (g) => g.set(broker.metricsView().logDirOffline ? 1 : 0),
    );
    gauge(
      "brook_damaged_partitions",
      "Local replicas whose log holds a corrupt batch (resigning, repairing, or the last in-sync copy).",
      [],
      (g) => g.set(broker.metricsView().partitions.filter((p) => p.damaged).length),
    );
    gauge("brook_leader_partitions", "Partitions this broker leads.", [], (g) =>
      g.set(broker.metricsView().partitions.filter((p) => p.leader).length),
    );
    gauge(
      "brook_log_size_bytes",
      "Bytes on disk of each local partition replica.",
      ["topic", "partition"],
      (g) => {
        for (const p of broker.metricsView().partitions)
          g.set({ topic: p.topic, partition: String(p.partition) }, p.sizeBytes);
      },
    );
    gauge(
      "brook_log_end_offset",
      "Log end offset of each local partition replica.",
      ["topic", "partition"],
      (g) => {
        for (const p of broker.metricsView().partitions) {
          g.set({ topic: p.topic, partition: String(p.partition) }, p.logEndOffset);
        }
      },
    );
    gauge(
      "brook_consumer_group_lag",
      "Records between a group's committed offset and the partition's high watermark (groups this broker coordinates).",
      ["group", "topic", "partition"],
      (g) => {
        for (const l of broker.metricsView().groupLag) {
          g.set({ group: l.group, topic: l.topic, partition: String(l.partition) }, l.lag);
        }
      },
    );
    gauge("brook_controller_active", "1 on the active controller (the Raft leader), else 0.", [], (g) =>
      g.set(controller.isActive() ? 1 : 0),
    );
    gauge("brook_raft_term", "This controller's Raft term.", [], (g) => g.set(controller.status().term));
    gauge("brook_raft_commit_index", "This controller's Raft commit index.", [], (g) =>
      g.set(controller.status().commitIndex),
    );
    gauge("brook_raft_apply_lag", "Committed Raft entries this node has not applied yet.", [], (g) => {
      const status = controller.status();
      g.set(Math.max(0, status.commitIndex - status.appliedIndex));
    });
    gauge(
      "brook_raft_voter_lag",
      "Entries each voter is behind the leader (reported by the active controller only).",
      ["voter"],
      (g) => {
        if (!controller.isActive()) return;
        for (const voter of controller.quorumStatus()) {
          if (voter.lag !== undefined && voter.id !== nodeId) g.set({ voter: String(voter.id) }, voter.lag);
        }
      },
    );
  }
}
