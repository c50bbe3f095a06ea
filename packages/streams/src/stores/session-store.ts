// The in-memory session store: one aggregate per (key, session window), kept for the inactivity gap plus
// the grace period of stream time past the session's end, every write also a changelog record.

import type { Serde } from "../serdes.js";
import type { Windowed } from "../windows.js";
import type { ChangeLogger, ChangelogRecord, KeyValue, StateStore } from "./state-store.js";
import { WindowedBytes, type WindowedBytesEntry } from "./windowed-bytes.js";

export interface SessionStore<K, V> extends StateStore {
  /** Sessions of the key that end at or after earliestEndMs and start at or before latestStartMs. */
  findSessions(key: K, earliestEndMs: number, latestStartMs: number): KeyValue<Windowed<K>, V>[];
  /** Every live session of the key, earliest end first. */
  fetch(key: K): KeyValue<Windowed<K>, V>[];
  get(session: Windowed<K>): V | null;
  /** A null value removes the session. */
  put(session: Windowed<K>, value: V | null): void;
  remove(session: Windowed<K>): void;
  all(): KeyValue<Windowed<K>, V>[];
}

export class InMemorySessionStore<K, V> implements SessionStore<K, V> {
  private readonly bytes: WindowedBytes;

  constructor(
    readonly name: string,
    retentionMs: number,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly topic: string,
    log: ChangeLogger,
  ) {
    this.bytes = new WindowedBytes(retentionMs, (window) => window.end, topic, log);
  }

  findSessions(key: K, earliestEndMs: number, latestStartMs: number): KeyValue<Windowed<K>, V>[] {
    const keyBytes = this.keySerde.serialize(key, this.topic);
    return this.bytes
      .entries(earliestEndMs)
      .filter((entry) => entry.key.equals(keyBytes) && entry.window.start <= latestStartMs)
      .map((entry) => this.decode(entry));
  }

  fetch(key: K): KeyValue<Windowed<K>, V>[] {
    return this.findSessions(key, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
  }

  get(session: Windowed<K>): V | null {
    const value = this.bytes.get(this.keySerde.serialize(session.key, this.topic), session.window);
    return value === null ? null : this.valueSerde.deserialize(value, this.topic);
  }

  put(session: Windowed<K>, value: V | null): void {
    const valueBytes = value === null ? null : this.valueSerde.serialize(value, this.topic);
    this.bytes.put(this.keySerde.serialize(session.key, this.topic), session.window, valueBytes);
  }

  remove(session: Windowed<K>): void {
    this.put(session, null);
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

  private decode(entry: WindowedBytesEntry): KeyValue<Windowed<K>, V> {
    return {
      key: { key: this.keySerde.deserialize(entry.key, this.topic), window: entry.window },
      value: this.valueSerde.deserialize(entry.value, this.topic),
    };
  }
}
