// The in-memory window store: one value per (key, window start) of fixed-size windows, kept for the
// window's size plus its grace period of stream time, every write also a changelog record.

import type { Serde } from "../serdes.js";
import type { Windowed } from "../windows.js";
import type { ChangeLogger, ChangelogRecord, KeyValue, StateStore } from "./state-store.js";
import { WindowedBytes, type WindowedBytesEntry } from "./windowed-bytes.js";

export interface WindowStore<K, V> extends StateStore {
  readonly windowSizeMs: number;
  get(key: K, windowStartMs: number): V | null;
  /** A null value deletes the window. A window already past retention is not written. */
  put(key: K, value: V | null, windowStartMs: number): void;
  delete(key: K, windowStartMs: number): void;
  /** The key's windows starting in [fromStartMs, toStartMs], earliest first (Kafka's fetch). */
  fetch(key: K, fromStartMs: number, toStartMs: number): KeyValue<Windowed<K>, V>[];
  /** Every key's windows starting in [fromStartMs, toStartMs], by start, then key bytes. */
  fetchAll(fromStartMs: number, toStartMs: number): KeyValue<Windowed<K>, V>[];
  all(): KeyValue<Windowed<K>, V>[];
}

export class InMemoryWindowStore<K, V> implements WindowStore<K, V> {
  private readonly bytes: WindowedBytes;

  constructor(
    readonly name: string,
    readonly windowSizeMs: number,
    retentionMs: number,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly topic: string,
    log: ChangeLogger,
  ) {
    this.bytes = new WindowedBytes(retentionMs, (window) => window.start, topic, log);
  }

  get(key: K, windowStartMs: number): V | null {
    const value = this.bytes.get(this.keyBytes(key), this.window(windowStartMs));
    return value === null ? null : this.valueSerde.deserialize(value, this.topic);
  }

  put(key: K, value: V | null, windowStartMs: number): void {
    const valueBytes = value === null ? null : this.valueSerde.serialize(value, this.topic);
    this.bytes.put(this.keyBytes(key), this.window(windowStartMs), valueBytes);
  }

  delete(key: K, windowStartMs: number): void {
    this.put(key, null, windowStartMs);
  }

  fetch(key: K, fromStartMs: number, toStartMs: number): KeyValue<Windowed<K>, V>[] {
    const keyBytes = this.keyBytes(key);
    return this.bytes
      .entries(fromStartMs, toStartMs)
      .filter((entry) => entry.key.equals(keyBytes))
      .map((entry) => this.decode(entry));
  }

  fetchAll(fromStartMs: number, toStartMs: number): KeyValue<Windowed<K>, V>[] {
    return this.bytes.entries(fromStartMs, toStartMs).map((entry) => this.decode(entry));
  }

  all(): KeyValue<Windowed<K>, V>[] {
    return this.bytes.entries().map((entry) => this.decode(entry));
  }

  approximateNumEntries(): number {
    return this.bytes.size();
  }

  restore(records: Iterable<ChangelogRecord>): void {
    this.bytes.restore(records);
  }

  private keyBytes(key: K): Buffer {
    return this.keySerde.serialize(key, this.topic);
  }

  private window(startMs: number) {
    return { start: startMs, end: startMs + this.windowSizeMs };
  }

  private decode(entry: WindowedBytesEntry): KeyValue<Windowed<K>, V> {
    return {
      key: { key: this.keySerde.deserialize(entry.key, this.topic), window: entry.window },
      value: this.valueSerde.deserialize(entry.value, this.topic),
    };
  }
}
