// The in-memory key-value store (Kafka's InMemoryKeyValueStore with change logging): keys and values are
// held as bytes, ordered by key bytes for range() and all(), and every write goes to the changelog.

import type { Serde } from "../serdes.js";
import {
  bytesId,
  type ChangeLogger,
  type ChangelogRecord,
  type KeyValue,
  type StateStore,
} from "./state-store.js";

export interface KeyValueStore<K, V> extends StateStore {
  get(key: K): V | null;
  /** A null value deletes the key. */
  put(key: K, value: V | null): void;
  /** Deletes the key and returns what it held. */
  delete(key: K): V | null;
  /** Entries with from <= key <= to by key bytes, in key-byte order. */
  range(from: K, to: K): KeyValue<K, V>[];
  /** Every entry, in key-byte order. */
  all(): KeyValue<K, V>[];
}

interface BytesEntry {
  key: Buffer;
  value: Buffer;
}

export class InMemoryKeyValueStore<K, V> implements KeyValueStore<K, V> {
  private readonly entries = new Map<string, BytesEntry>();

  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    /** The changelog topic: where writes go, and the topic the serdes are told. */
    private readonly topic: string,
    private readonly log: ChangeLogger,
  ) {}

  get(key: K): V | null {
    const entry = this.entries.get(bytesId(this.keySerde.serialize(key, this.topic)));
    return entry === undefined ? null : this.valueSerde.deserialize(entry.value, this.topic);
  }

  put(key: K, value: V | null): void {
    const keyBytes = this.keySerde.serialize(key, this.topic);
    const valueBytes = value === null ? null : this.valueSerde.serialize(value, this.topic);
    this.write(keyBytes, valueBytes);
    this.log(keyBytes, valueBytes);
  }

  delete(key: K): V | null {
    const old = this.get(key);
    this.put(key, null);
    return old;
  }

  range(from: K, to: K): KeyValue<K, V>[] {
    const fromBytes = this.keySerde.serialize(from, this.topic);
    const toBytes = this.keySerde.serialize(to, this.topic);
    return this.sorted()
      .filter(({ key }) => Buffer.compare(key, fromBytes) >= 0 && Buffer.compare(key, toBytes) <= 0)
      .map((entry) => this.decode(entry));
  }

  all(): KeyValue<K, V>[] {
    return this.sorted().map((entry) => this.decode(entry));
  }

  approximateNumEntries(): number {
    return this.entries.size;
  }

  restore(records: Iterable<ChangelogRecord>): void {
    for (const record of records) this.write(record.key, record.value);
  }

  private write(key: Buffer, value: Buffer | null): void {
    if (value === null) this.entries.delete(bytesId(key));
    else this.entries.set(bytesId(key), { key, value });
  }

  // Sorting on each read keeps writes O(1); a sorted structure can replace it when stores grow large.
  private sorted(): BytesEntry[] {
    return [...this.entries.values()].sort((a, b) => Buffer.compare(a.key, b.key));
  }

  private decode(entry: BytesEntry): KeyValue<K, V> {
    return {
      key: this.keySerde.deserialize(entry.key, this.topic),
      value: this.valueSerde.deserialize(entry.value, this.topic),
    };
  }
}
