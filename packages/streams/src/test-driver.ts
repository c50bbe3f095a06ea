// TopologyTestDriver, after Kafka Streams': runs a topology in one task with no broker. Input topics
// hand it records one at a time; everything the task writes is captured per topic for output topics
// to read, and records written to a topic the topology reads (repartition topics) are processed next,
// before pipeInput returns. Wall-clock time is a manual clock. Deterministic and synchronous.

import type { MessageHeaders } from "@brook/client";
import { ManualClock } from "@brook/protocol";
import { TopologyError } from "./errors.js";
import { deserializeNullable, type Serde, serializeNullable } from "./serdes.js";
import { InMemoryKeyValueStore, type KeyValueStore } from "./stores/key-value-store.js";
import { InMemorySessionStore, type SessionStore } from "./stores/session-store.js";
import type { ChangelogRecord, KeyValue, StateStore } from "./stores/state-store.js";
import { InMemoryWindowStore, type WindowStore } from "./stores/window-store.js";
import { type OutputRecord, StreamTask, type TaskMetrics } from "./task.js";
import type { Topology } from "./topology.js";

/** Records a topology may write back to its own inputs per piped record; past it, it loops. */
export const internalRecordsPerInputMax = 1_000_000;

export interface TopologyTestDriverConfig {
  applicationId: string;
  defaultKeySerde?: Serde<unknown>;
  defaultValueSerde?: Serde<unknown>;
  /** Where the wall clock starts, ms since the epoch. Default 0. */
  initialWallClockTimeMs?: number;
  /** Per store name, changelog records to restore the store from before the first record. */
  changelogs?: ReadonlyMap<string, readonly ChangelogRecord[]>;
}

export interface TestRecord<K, V> {
  key: K;
  value: V;
  timestamp: number;
  headers: MessageHeaders;
}

export class TopologyTestDriver {
  private readonly clock: ManualClock;
  private readonly task: StreamTask;
  /** Per topic, what the task wrote and no output topic has read yet. */
  private readonly unread = new Map<string, OutputRecord[]>();
  private readonly changelogWrites = new Map<string, ChangelogRecord[]>();
  private readonly storeByChangelog: Map<string, string>;
  private readonly inputs: Set<string>;
  private readonly nextOffset = new Map<string, number>();
  private readonly feedback: OutputRecord[] = [];

  constructor(topology: Topology, config: TopologyTestDriverConfig) {
    this.clock = new ManualClock(config.initialWallClockTimeMs ?? 0);
    this.task = new StreamTask(
      topology,
      {
        applicationId: config.applicationId,
        clock: this.clock,
        defaultKeySerde: config.defaultKeySerde,
        defaultValueSerde: config.defaultValueSerde,
      },
      { send: (record) => this.capture(record) },
      config.changelogs,
    );
    this.inputs = new Set(this.task.sourceTopics());
    this.storeByChangelog = new Map([...this.task.changelogTopics()].map(([store, topic]) => [topic, store]));
  }

  createInputTopic<K, V>(
    topic: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    options: { startTimestampMs?: number; autoAdvanceMs?: number } = {},
  ): TestInputTopic<K, V> {
    if (!this.inputs.has(topic)) throw new TopologyError(`the topology reads no topic ${topic}`);
    const startTimestampMs = options.startTimestampMs ?? this.clock.nowMs();
    return new TestInputTopic(
      this,
      topic,
      keySerde,
      valueSerde,
      startTimestampMs,
      options.autoAdvanceMs ?? 0,
    );
  }

  createOutputTopic<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestOutputTopic<K, V> {
    return new TestOutputTopic(this, topic, keySerde, valueSerde);
  }

  getStateStore(name: string): StateStore {
    return this.task.store(name);
  }

  getKeyValueStore<K, V>(name: string): KeyValueStore<K, V> {
    return this.storeOfKind(name, InMemoryKeyValueStore, "key-value") as KeyValueStore<K, V>;
  }

  getWindowStore<K, V>(name: string): WindowStore<K, V> {
    return this.storeOfKind(name, InMemoryWindowStore, "window") as WindowStore<K, V>;
  }

  getSessionStore<K, V>(name: string): SessionStore<K, V> {
    return this.storeOfKind(name, InMemorySessionStore, "session") as SessionStore<K, V>;
  }

  /** Moves the wall clock and runs the wall-clock punctuations now due. */
  advanceWallClockTime(ms: number): void {
    this.clock.advance(ms);
    this.task.punctuateWallClock();
  }

  /** Every changelog record the store has written, in order (what its changelog topic would hold). */
  changelog(storeName: string): ChangelogRecord[] {
    this.task.store(storeName);
    return [...(this.changelogWrites.get(storeName) ?? [])];
  }

  /** Every store's changelog, to restore another driver's stores from (config.changelogs). */
  changelogs(): Map<string, ChangelogRecord[]> {
    return new Map([...this.storeByChangelog.values()].map((store) => [store, this.changelog(store)]));
  }

  /** Topics written so far, changelog and repartition topics included. */
  producedTopicNames(): string[] {
    return [...this.unread.keys()];
  }

  /** Records processed and dropped (late, null key, null value). */
  get metrics(): TaskMetrics {
    return structuredClone(this.task.metrics);
  }

  close(): void {
    this.task.close();
  }

  /** Used by TestInputTopic. */
  pipe(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
    headers: MessageHeaders,
  ): void {
    this.processOne(topic, key, value, timestamp, headers);
    for (let processed = 0; this.feedback.length > 0; processed++) {
      if (processed >= internalRecordsPerInputMax) {
        throw new TopologyError(`over ${internalRecordsPerInputMax} records fed back for one input: a loop?`);
      }
      const record = this.feedback.shift() as OutputRecord;
      this.processOne(record.topic, record.key, record.value, record.timestamp, record.headers);
    }
  }

  /** Used by TestOutputTopic. */
  unreadRecords(topic: string): OutputRecord[] {
    let records = this.unread.get(topic);
    if (!records) {
      records = [];
      this.unread.set(topic, records);
    }
    return records;
  }

  private processOne(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
    headers: MessageHeaders,
  ) {
    const offset = this.nextOffset.get(topic) ?? 0;
    this.nextOffset.set(topic, offset + 1);
    this.task.process({ topic, partition: 0, offset, key, value, headers, timestamp });
  }

  private capture(record: OutputRecord): void {
    this.unreadRecords(record.topic).push(record);
    const store = this.storeByChangelog.get(record.topic);
    if (store !== undefined && record.key !== null) {
      const records = this.changelogWrites.get(store) ?? [];
      records.push({
        topic: record.topic,
        key: record.key,
        value: record.value,
        timestamp: record.timestamp,
      });
      this.changelogWrites.set(store, records);
    }
    if (this.inputs.has(record.topic)) this.feedback.push(record);
  }

  private storeOfKind<S>(name: string, kind: abstract new (...args: never[]) => S, kindName: string): S {
    const store = this.task.store(name);
    if (!(store instanceof kind)) throw new TopologyError(`store ${name} is not a ${kindName} store`);
    return store;
  }
}

export class TestInputTopic<K, V> {
  constructor(
    private readonly driver: TopologyTestDriver,
    readonly topic: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private nextTimestampMs: number,
    private readonly autoAdvanceMs: number,
  ) {}

  /** Without timestampMs, the topic's current time, which then moves by autoAdvanceMs. */
  pipeInput(key: K | null, value: V | null, timestampMs?: number, headers: MessageHeaders = {}): void {
    const timestamp = timestampMs ?? this.nextTimestamp();
    const keyBytes = serializeNullable(this.keySerde, key, this.topic);
    this.driver.pipe(
      this.topic,
      keyBytes,
      serializeNullable(this.valueSerde, value, this.topic),
      timestamp,
      headers,
    );
  }

  pipeKeyValueList(records: readonly KeyValue<K | null, V | null>[]): void {
    for (const { key, value } of records) this.pipeInput(key, value);
  }

  pipeValueList(values: readonly (V | null)[]): void {
    for (const value of values) this.pipeInput(null, value);
  }

  advanceTime(ms: number): void {
    this.nextTimestampMs += ms;
  }

  private nextTimestamp(): number {
    const timestamp = this.nextTimestampMs;
    this.nextTimestampMs += this.autoAdvanceMs;
    return timestamp;
  }
}

/** Reads what the topology wrote to one topic, oldest first; each record is read once. */
export class TestOutputTopic<K, V> {
  constructor(
    private readonly driver: TopologyTestDriver,
    readonly topic: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
  ) {}

  /** The next record; a null key or value (a tombstone) reads as null. Throws when there is none. */
  readRecord(): TestRecord<K, V> {
    const record = this.driver.unreadRecords(this.topic).shift();
    if (!record) throw new TopologyError(`no record left on ${this.topic}`);
    return {
      key: deserializeNullable(this.keySerde, record.key, this.topic) as K,
      value: deserializeNullable(this.valueSerde, record.value, this.topic) as V,
      timestamp: record.timestamp,
      headers: record.headers,
    };
  }

  readKeyValue(): KeyValue<K, V> {
    const { key, value } = this.readRecord();
    return { key, value };
  }

  readValue(): V {
    return this.readRecord().value;
  }

  readRecordsToList(): TestRecord<K, V>[] {
    const records: TestRecord<K, V>[] = [];
    while (!this.isEmpty()) records.push(this.readRecord());
    return records;
  }

  readKeyValuesToList(): KeyValue<K, V>[] {
    return this.readRecordsToList().map(({ key, value }) => ({ key, value }));
  }

  readValuesToList(): V[] {
    return this.readRecordsToList().map(({ value }) => value);
  }

  /** Each key's latest value, as a compacted topic would keep it; a null value removes the key. */
  readKeyValuesToMap(): Map<K, V> {
    const latest = new Map<K, V>();
    for (const { key, value } of this.readRecordsToList()) {
      if (value === null) latest.delete(key);
      else latest.set(key, value);
    }
    return latest;
  }

  isEmpty(): boolean {
    return this.getQueueSize() === 0;
  }

  getQueueSize(): number {
    return this.driver.unreadRecords(this.topic).length;
  }
}
