// Interactive queries: read-only views over one store name across every task running on this instance.
// A key lives in exactly one task (the one its partition maps to), so a lookup asks each local copy and
// takes the one that has it; listings concatenate. Writes stay with the processors. While a task of the
// store is restoring here, an answer could be wrong, so reads fail with InvalidStateStoreError instead.

import { InvalidStateStoreError } from "../errors.js";
import type { KeyValueStore } from "../stores/key-value-store.js";
import type { KeyValue } from "../stores/state-store.js";
import type { WindowStore } from "../stores/window-store.js";
import type { Windowed } from "../windows.js";

export interface ReadOnlyKeyValueStore<K, V> {
  /** The value on this instance, or null (not here, or no such key: ask metadataForKey() which instance). */
  get(key: K): V | null;
  range(from: K, to: K): KeyValue<K, V>[];
  all(): KeyValue<K, V>[];
  approximateNumEntries(): number;
}

export interface ReadOnlyWindowStore<K, V> {
  get(key: K, windowStartMs: number): V | null;
  fetch(key: K, fromStartMs: number, toStartMs: number): KeyValue<Windowed<K>, V>[];
  fetchAll(fromStartMs: number, toStartMs: number): KeyValue<Windowed<K>, V>[];
  all(): KeyValue<Windowed<K>, V>[];
}

/** The stores of the ready tasks, and whether another task of the store is restoring. */
type LocalStores<S> = () => { stores: S[]; restoring: boolean };

export function keyValueView<K, V>(
  name: string,
  local: LocalStores<KeyValueStore<K, V>>,
): ReadOnlyKeyValueStore<K, V> {
  const stores = () => readable(name, local);
  return {
    get: (key) => firstFound(stores(), (store) => store.get(key)),
    range: (from, to) => stores().flatMap((store) => store.range(from, to)),
    all: () => stores().flatMap((store) => store.all()),
    approximateNumEntries: () => stores().reduce((sum, store) => sum + store.approximateNumEntries(), 0),
  };
}

export function windowView<K, V>(
  name: string,
  local: LocalStores<WindowStore<K, V>>,
): ReadOnlyWindowStore<K, V> {
  const stores = () => readable(name, local);
  return {
    get: (key, windowStartMs) => firstFound(stores(), (store) => store.get(key, windowStartMs)),
    fetch: (key, from, to) => stores().flatMap((store) => store.fetch(key, from, to)),
    fetchAll: (from, to) => stores().flatMap((store) => store.fetchAll(from, to)),
    all: () => stores().flatMap((store) => store.all()),
  };
}

function firstFound<S, V>(stores: readonly S[], read: (store: S) => V | null): V | null {
  for (const store of stores) {
    const value = read(store);
    if (value !== null) return value;
  }
  return null;
}

function readable<S>(name: string, local: LocalStores<S>): S[] {
  const { stores, restoring } = local();
  if (restoring)
    throw new InvalidStateStoreError(`store ${name} is restoring on this instance; ask again shortly`);
  return stores;
}
