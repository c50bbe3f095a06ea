// The processors behind aggregations and tables. Each reads and writes its store and forwards a Change
// (new and old value) per update, so the tables downstream and toStream() see every update in order.

import type { Change, ProcessorContext, ProcessorSupplier, StreamRecord } from "../processor.js";
import type { KeyValueStore } from "../stores/key-value-store.js";
import type { SessionStore } from "../stores/session-store.js";
import type { WindowStore } from "../stores/window-store.js";
import type { SessionWindows, TimeWindows, Windowed } from "../windows.js";

/** The next aggregate from a record's value and the key's current aggregate (null: none yet). */
export type Update<K, V, VA> = (key: K, value: V, aggregate: VA | null) => VA;

/** Records without a key or value take no part in an aggregation (as in Kafka); they are counted as dropped. */
export function droppedForNulls(record: StreamRecord<unknown, unknown>, context: ProcessorContext): boolean {
  if (record.key === null || record.key === undefined) context.recordDropped("null_key");
  else if (record.value === null || record.value === undefined) context.recordDropped("null_value");
  else return false;
  return true;
}

export function streamAggregate<K, V, VA>(
  storeName: string,
  update: Update<K, V, VA>,
): ProcessorSupplier<K, V, K, Change<VA>> {
  return () => {
    let context: ProcessorContext<K, Change<VA>>;
    let store: KeyValueStore<K, VA>;
    return {
      init: (given) => {
        context = given;
        store = given.getStateStore(storeName);
      },
      process: (record) => {
        if (droppedForNulls(record, context)) return;
        const oldValue = store.get(record.key);
        const newValue = update(record.key, record.value, oldValue);
        store.put(record.key, newValue);
        context.forward({ ...record, value: { newValue, oldValue } });
      },
    };
  };
}

/** Kafka's KStreamWindowAggregate: update every window of the record still open, drop it from closed ones. */
export function windowAggregate<K, V, VA>(
  storeName: string,
  windows: TimeWindows,
  update: Update<K, V, VA>,
): ProcessorSupplier<K, V, Windowed<K>, Change<VA>> {
  return () => {
    let context: ProcessorContext<Windowed<K>, Change<VA>>;
    let store: WindowStore<K, VA>;
    let observedStreamTimeMs = -1;
    return {
      init: (given) => {
        context = given;
        store = given.getStateStore(storeName);
      },
      process: (record) => {
        if (droppedForNulls(record, context)) return;
        observedStreamTimeMs = Math.max(observedStreamTimeMs, record.timestamp);
        const closeTimeMs = observedStreamTimeMs - windows.graceMs;
        for (const window of windows.windowsFor(record.timestamp)) {
          if (window.end <= closeTimeMs) {
            context.recordDropped("late");
            continue;
          }
          const oldValue = store.get(record.key, window.start);
          const newValue = update(record.key, record.value, oldValue);
          store.put(record.key, newValue, window.start);
          context.forward({ ...record, key: { key: record.key, window }, value: { newValue, oldValue } });
        }
      },
    };
  };
}

export interface SessionAggregation<K, V, VA> {
  initial: () => VA | null;
  update: Update<K, V, VA>;
  /** Folds a session being merged away into the aggregate built so far. */
  merge: (key: K, aggregate: VA | null, session: VA) => VA | null;
}

/**
 * Kafka's KStreamSessionWindowAggregate: a record joins every session of its key within the inactivity gap;
 * those sessions are removed (a tombstone for each goes downstream) and one merged session replaces them,
 * unless the merged session would already be closed, in which case the record is dropped as late.
 */
export function sessionAggregate<K, V, VA>(
  storeName: string,
  windows: SessionWindows,
  aggregation: SessionAggregation<K, V, VA>,
): ProcessorSupplier<K, V, Windowed<K>, Change<VA>> {
  return () => {
    let context: ProcessorContext<Windowed<K>, Change<VA>>;
    let store: SessionStore<K, VA>;
    let observedStreamTimeMs = -1;
    return {
      init: (given) => {
        context = given;
        store = given.getStateStore(storeName);
      },
      process: (record) => {
        if (droppedForNulls(record, context)) return;
        observedStreamTimeMs = Math.max(observedStreamTimeMs, record.timestamp);
        const closeTimeMs = observedStreamTimeMs - windows.graceMs;
        const gapMs = windows.inactivityGapMs;
        const merged = store.findSessions(record.key, record.timestamp - gapMs, record.timestamp + gapMs);
        let aggregate = aggregation.initial();
        const window = { start: record.timestamp, end: record.timestamp };
        for (const session of merged) {
          aggregate = aggregation.merge(record.key, aggregate, session.value);
          window.start = Math.min(window.start, session.key.window.start);
          window.end = Math.max(window.end, session.key.window.end);
        }
        if (window.end < closeTimeMs) {
          context.recordDropped("late");
          return;
        }
        for (const session of merged) {
          store.remove(session.key);
          context.forward({
            ...record,
            key: session.key,
            value: { newValue: null, oldValue: session.value },
          });
        }
        const newValue = aggregation.update(record.key, record.value, aggregate);
        const key = { key: record.key, window };
        store.put(key, newValue);
        context.forward({ ...record, key, value: { newValue, oldValue: null } });
      },
    };
  };
}

/** A table from a changelog stream: each record is the key's new value, a null value deletes the key. */
export function tableSource<K, V>(storeName: string): ProcessorSupplier<K, V | null, K, Change<V>> {
  return () => {
    let context: ProcessorContext<K, Change<V>>;
    let store: KeyValueStore<K, V>;
    return {
      init: (given) => {
        context = given;
        store = given.getStateStore(storeName);
      },
      process: (record) => {
        if (record.key === null || record.key === undefined) {
          context.recordDropped("null_key");
          return;
        }
        const oldValue = store.get(record.key);
        if (oldValue === null && record.value === null) return;
        store.put(record.key, record.value);
        context.forward({ ...record, value: { newValue: record.value, oldValue } });
      },
    };
  };
}
