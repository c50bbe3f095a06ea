// A task runs a topology (or one of its sub-topologies) for one input partition: it turns each consumed
// record into a typed record at its source, passes it depth first through the processors, and sends what
// sinks and store changelogs write to a RecordCollector, all synchronously. The test driver runs the whole
// topology in one task; the cluster runtime (runtime/) runs one task per sub-topology and partition.

import type { ConsumedMessage, MessageHeaders } from "@brook/client";
import type { Clock } from "@brook/protocol";
import { TopologyError } from "./errors.js";
import type {
  Cancellable,
  DropReason,
  Processor,
  ProcessorContext,
  PunctuationType,
  StreamRecord,
} from "./processor.js";
import { deserializeNullable, type Serde, serializeNullable } from "./serdes.js";
import { InMemoryKeyValueStore } from "./stores/key-value-store.js";
import { InMemorySessionStore } from "./stores/session-store.js";
import { type ChangelogRecord, changelogTopic, type StateStore } from "./stores/state-store.js";
import { InMemoryWindowStore } from "./stores/window-store.js";
import type { SinkNode, SourceNode, StoreSpec, Topology, TopologyNode } from "./topology.js";

/** A record a task writes: to a sink's topic or to a store's changelog topic. */
export interface OutputRecord {
  topic: string;
  /** Changelog records go to the task's own partition; sink records to the partitioner's choice. */
  partition?: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: MessageHeaders;
}

export interface RecordCollector {
  send(record: OutputRecord): void;
}

export interface TaskConfig {
  applicationId: string;
  /** Wall-clock time, for wall-clock punctuations. */
  clock: Clock;
  /** For sources, sinks and stores whose serde the topology leaves open. */
  defaultKeySerde?: Serde<unknown>;
  defaultValueSerde?: Serde<unknown>;
  /** Run only this sub-topology (an index into topology.subtopologies()); the whole topology when absent. */
  subtopology?: number;
  /** The input partition the task is for: its changelog records go to this partition. */
  partition?: number;
}

export interface TaskMetrics {
  processed: number;
  dropped: Record<DropReason, number>;
}

interface Punctuation {
  type: PunctuationType;
  intervalMs: number;
  /** Stream-time punctuations start at the first stream time seen. */
  nextMs: number | undefined;
  punctuate: (timeMs: number) => void;
  cancelled: boolean;
}

export class StreamTask {
  readonly metrics: TaskMetrics = { processed: 0, dropped: { late: 0, null_key: 0, null_value: 0 } };
  private readonly stores = new Map<string, StateStore>();
  private readonly processors = new Map<string, Processor<unknown, unknown>>();
  private readonly children = new Map<string, string[]>();
  private readonly punctuations: Punctuation[] = [];
  private readonly sources: SourceNode[];
  private streamTimeMs = -1;
  /** The time of the record (or punctuation) being processed: stamped on changelog records. */
  private recordTimestampMs = 0;

  constructor(
    private readonly topology: Topology,
    private readonly config: TaskConfig,
    private readonly collector: RecordCollector,
    /** Per store name, the changelog to restore before the first record. */
    changelogs: ReadonlyMap<string, readonly ChangelogRecord[]> = new Map(),
  ) {
    const nodes = taskNodes(topology, config.subtopology);
    for (const spec of taskStores(topology, nodes)) {
      const store = this.createStore(spec);
      store.restore(changelogs.get(spec.name) ?? []);
      this.stores.set(spec.name, store);
    }
    this.sources = nodes.filter((node): node is SourceNode => node.kind === "source");
    for (const node of nodes) {
      this.children.set(node.name, topology.childrenOf(node.name));
      if (node.kind === "processor") this.processors.set(node.name, node.supplier());
      if (node.kind === "sink") this.processors.set(node.name, this.sinkProcessor(node));
    }
    for (const [name, processor] of this.processors) processor.init?.(this.contextFor(name));
  }

  /** The topics this task reads, as named on the cluster. */
  sourceTopics(): string[] {
    return this.sources.map((node) => this.topicOf(node));
  }

  storeNames(): string[] {
    return [...this.stores.keys()];
  }

  /** Applies changelog records to a store (restore, or a standby catching up), without logging them. */
  restore(storeName: string, records: Iterable<ChangelogRecord>): void {
    this.store(storeName).restore(records);
  }

  /** The largest record timestamp processed so far, -1 before the first. */
  streamTime(): number {
    return this.streamTimeMs;
  }

  /** Store name → its changelog topic. */
  changelogTopics(): Map<string, string> {
    return new Map(
      [...this.stores.keys()].map((name) => [name, changelogTopic(this.config.applicationId, name)]),
    );
  }

  process(message: ConsumedMessage): void {
    const source = this.sources.find((node) => this.topicOf(node) === message.topic);
    if (!source) throw new TopologyError(`no source reads topic ${message.topic}`);
    const keySerde = this.serde(source.keySerde, "key", `source ${source.name}`);
    const valueSerde = this.serde(source.valueSerde, "value", `source ${source.name}`);
    const record: StreamRecord<unknown, unknown> = {
      key: deserializeNullable(keySerde, message.key, message.topic),
      value: deserializeNullable(valueSerde, message.value, message.topic),
      timestamp: message.timestamp,
      headers: message.headers,
    };
    this.streamTimeMs = Math.max(this.streamTimeMs, message.timestamp);
    this.metrics.processed++;
    this.forward(source.name, record);
    this.punctuate("stream_time", this.streamTimeMs);
  }

  /** Runs the wall-clock punctuations that are due by the clock. */
  punctuateWallClock(): void {
    this.punctuate("wall_clock_time", this.config.clock.nowMs());
  }

  store<S extends StateStore>(name: string): S {
    const store = this.stores.get(name);
    if (!store)
      throw new TopologyError(`no store ${name}; stores: ${[...this.stores.keys()].join(", ") || "none"}`);
    return store as S;
  }

  close(): void {
    for (const processor of this.processors.values()) processor.close?.();
  }

  private forward(from: string, record: StreamRecord<unknown, unknown>, childName?: string): void {
    const children = this.children.get(from) ?? [];
    if (childName !== undefined && !children.includes(childName)) {
      throw new TopologyError(`${childName} is not a child of ${from}`);
    }
    const previousTimestampMs = this.recordTimestampMs;
    this.recordTimestampMs = record.timestamp;
    for (const child of childName === undefined ? children : [childName]) {
      this.processors.get(child)?.process(record);
    }
    this.recordTimestampMs = previousTimestampMs;
  }

  private punctuate(type: PunctuationType, timeMs: number): void {
    for (const punctuation of this.punctuations) {
      if (punctuation.cancelled || punctuation.type !== type) continue;
      punctuation.nextMs ??= timeMs;
      if (timeMs < punctuation.nextMs) continue;
      // Kafka's PunctuationSchedule: fire once, then the next interval boundary after timeMs.
      punctuation.nextMs =
        timeMs - ((timeMs - punctuation.nextMs) % punctuation.intervalMs) + punctuation.intervalMs;
      this.recordTimestampMs = timeMs;
      punctuation.punctuate(timeMs);
    }
  }

  private contextFor(nodeName: string): ProcessorContext {
    const node = this.topology.nodes.get(nodeName);
    const allowedStores = node?.kind === "processor" ? node.stores : [];
    return {
      applicationId: this.config.applicationId,
      forward: (record, childName) => this.forward(nodeName, record, childName),
      getStateStore: <S>(name: string) => {
        if (!allowedStores.includes(name))
          throw new TopologyError(`${nodeName} is not connected to store ${name}`);
        return this.store(name) as S;
      },
      currentStreamTimeMs: () => this.streamTimeMs,
      currentSystemTimeMs: () => this.config.clock.nowMs(),
      schedule: (intervalMs, type, punctuate) => this.schedule(intervalMs, type, punctuate),
      recordDropped: (reason) => {
        this.metrics.dropped[reason]++;
      },
    };
  }

  private schedule(
    intervalMs: number,
    type: PunctuationType,
    punctuate: (timeMs: number) => void,
  ): Cancellable {
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) {
      throw new TopologyError(`a punctuation interval must be at least 1 ms, got ${intervalMs}`);
    }
    const nextMs = type === "wall_clock_time" ? this.config.clock.nowMs() + intervalMs : undefined;
    const punctuation: Punctuation = { type, intervalMs, nextMs, punctuate, cancelled: false };
    this.punctuations.push(punctuation);
    return {
      cancel: () => {
        punctuation.cancelled = true;
      },
    };
  }

  private sinkProcessor(node: SinkNode): Processor<unknown, unknown> {
    const topic = this.topicOf(node);
    const keySerde = this.serde(node.keySerde, "key", `sink ${node.name}`);
    const valueSerde = this.serde(node.valueSerde, "value", `sink ${node.name}`);
    return {
      process: (record) =>
        this.collector.send({
          topic,
          key: serializeNullable(keySerde, record.key, topic),
          value: serializeNullable(valueSerde, record.value, topic),
          timestamp: record.timestamp,
          headers: record.headers,
        }),
    };
  }

  private createStore(spec: StoreSpec): StateStore {
    const topic = changelogTopic(this.config.applicationId, spec.name);
    const defaults = { keySerde: this.config.defaultKeySerde, valueSerde: this.config.defaultValueSerde };
    const serdes = spec.serdesFrom?.(defaults) ?? spec;
    const keySerde = this.serde(serdes.keySerde, "key", `store ${spec.name}`);
    const valueSerde = this.serde(serdes.valueSerde, "value", `store ${spec.name}`);
    const partition = this.config.partition;
    const log = (key: Buffer, value: Buffer | null) =>
      this.collector.send({ topic, partition, key, value, timestamp: this.recordTimestampMs, headers: {} });
    switch (spec.kind) {
      case "keyValue":
        return new InMemoryKeyValueStore(spec.name, keySerde, valueSerde, topic, log);
      case "window":
        return new InMemoryWindowStore(
          spec.name,
          spec.windowSizeMs,
          spec.retentionMs,
          keySerde,
          valueSerde,
          topic,
          log,
        );
      case "session":
        return new InMemorySessionStore(spec.name, spec.retentionMs, keySerde, valueSerde, topic, log);
    }
  }

  private topicOf(node: SourceNode | SinkNode): string {
    return node.internal ? `${this.config.applicationId}-${node.topic}` : node.topic;
  }

  private serde(given: Serde<unknown> | undefined, part: "key" | "value", where: string): Serde<unknown> {
    const serde = given ?? (part === "key" ? this.config.defaultKeySerde : this.config.defaultValueSerde);
    if (!serde) {
      throw new TopologyError(
        `no ${part} serde for ${where}: give one where it is built, or default${part === "key" ? "Key" : "Value"}Serde`,
      );
    }
    return serde;
  }
}

/** The nodes of one sub-topology, or all of them. */
function taskNodes(topology: Topology, subtopology: number | undefined): TopologyNode[] {
  if (subtopology === undefined) return [...topology.nodes.values()];
  const nodes = topology.subtopologies()[subtopology];
  if (!nodes) throw new TopologyError(`the topology has no sub-topology ${subtopology}`);
  return nodes;
}

/** The stores the given nodes' processors use (every store when the nodes are the whole topology). */
function taskStores(topology: Topology, nodes: readonly TopologyNode[]): StoreSpec[] {
  if (nodes.length === topology.nodes.size) return [...topology.stores.values()];
  const used = new Set(nodes.flatMap((node) => (node.kind === "processor" ? node.stores : [])));
  return [...topology.stores.values()].filter((spec) => used.has(spec.name));
}
