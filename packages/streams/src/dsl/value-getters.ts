// How a join reads a table's current value for a key (Kafka's KTableValueGetter): from the table's store, or,
// for a table without one of its own (filter, mapValues, an unmaterialized join), computed from the stores
// it derives from. Every table here derives from a store, so a join never needs to materialize one.

import type { ProcessorContext } from "../processor.js";
import type { KeyValueStore } from "../stores/key-value-store.js";
import type { SessionStore } from "../stores/session-store.js";
import type { WindowStore } from "../stores/window-store.js";
import type { Windowed } from "../windows.js";

/** The key's current value in a table; null: none. */
export type ValueGetter<K, V> = (key: K) => V | null;

export type StoreAccess = Pick<ProcessorContext, "getStateStore">;

export interface ValueGetterSupplier<K, V> {
  /** The stores a processor must be connected to for the getter to read them. */
  readonly storeNames: readonly string[];
  /** Called from a processor's init with its context. */
  init(context: StoreAccess): ValueGetter<K, V>;
}

export function keyValueStoreGetter<K, V>(storeName: string): ValueGetterSupplier<K, V> {
  return {
    storeNames: [storeName],
    init: (context) => {
      const store = context.getStateStore<KeyValueStore<K, V>>(storeName);
      return (key) => store.get(key);
    },
  };
}

export function windowStoreGetter<K, V>(storeName: string): ValueGetterSupplier<Windowed<K>, V> {
  return {
    storeNames: [storeName],
    init: (context) => {
      const store = context.getStateStore<WindowStore<K, V>>(storeName);
      return (windowed) => store.get(windowed.key, windowed.window.start);
    },
  };
}

export function sessionStoreGetter<K, V>(storeName: string): ValueGetterSupplier<Windowed<K>, V> {
  return {
    storeNames: [storeName],
    init: (context) => {
      const store = context.getStateStore<SessionStore<K, V>>(storeName);
      return (session) => store.get(session);
    },
  };
}

/** A table computed from its parent's values (apply returns null for a key the view leaves out). */
export function viewGetter<K, V, VR>(
  parent: ValueGetterSupplier<K, V>,
  apply: (key: K, value: V) => VR | null,
): ValueGetterSupplier<K, VR> {
  return {
    storeNames: parent.storeNames,
    init: (context) => {
      const get = parent.init(context);
      return (key) => {
        const value = get(key);
        return value === null ? null : apply(key, value);
      };
    },
  };
}

/** The value two getters give together (a table-table join's, when not materialized). */
export function combinedGetter<K, V1, V2, VR>(
  left: ValueGetterSupplier<K, V1>,
  right: ValueGetterSupplier<K, V2>,
  combine: (key: K, left: V1 | null, right: V2 | null) => VR | null,
): ValueGetterSupplier<K, VR> {
  return {
    storeNames: [...new Set([...left.storeNames, ...right.storeNames])],
    init: (context) => {
      const getLeft = left.init(context);
      const getRight = right.init(context);
      return (key) => combine(key, getLeft(key), getRight(key));
    },
  };
}
