// The processors behind joins, after Kafka Streams' (KStreamKTableJoin, KStreamJoinWindow, KStreamKStreamJoin,
// KTableKTableJoin). Stream-table: each stream record looks up the table. Stream-stream: each side keeps its
// records in a window store and looks up the other side's; unmatched records of an outer side wait in the
// shared outer join store until their window and grace have passed. Table-table: each side's update looks
// up the other table and emits the joined row's change.

import { TopologyError } from "../errors.js";
import type { JoinWindows } from "../join-windows.js";
import type { Change, ProcessorContext, ProcessorSupplier, StreamRecord } from "../processor.js";
import type { KeyValueStore } from "../stores/key-value-store.js";
import type { KeyValue } from "../stores/state-store.js";
import type { WindowStore } from "../stores/window-store.js";
import type { JoinSide, SideValue, TimestampedSideKey } from "./join-serdes.js";
import { droppedForNulls } from "./stateful-processors.js";
import type { ValueGetter, ValueGetterSupplier } from "./value-getters.js";

export type JoinKind = "inner" | "left" | "outer";

/**
 * Records of one key and timestamp a side of a stream-stream join keeps (each write rewrites the list, so
 * more would cost quadratic time); one more stops the task with a TopologyError rather than lose records.
 */
export const joinRecordsPerKeyAndTimeMax = 10_000;

/** The list with one more value, refused past joinRecordsPerKeyAndTimeMax. */
export function appended<T>(values: readonly T[] | null, value: T, storeName: string): T[] {
  const list = values ?? [];
  if (list.length >= joinRecordsPerKeyAndTimeMax) {
    throw new TopologyError(
      `store ${storeName}: over ${joinRecordsPerKeyAndTimeMax} records of one key and timestamp on one side of a join`,
    );
  }
  return [...list, value];
}

/** The joiner as processors call it: the left value, the right value, the key; null for a missing side. */
export type SidedJoiner<K, V1, V2, VR> = (left: V1 | null, right: V2 | null, key: K) => VR;

/** Whether a joined row exists when this side, or the other, has no value. */
export interface Optionality {
  thisOptional: boolean;
  otherOptional: boolean;
}

export function optionality(kind: JoinKind, side: JoinSide): Optionality {
  switch (kind) {
    case "inner":
      return { thisOptional: false, otherOptional: false };
    case "left":
      return { thisOptional: side === "right", otherOptional: side === "left" };
    case "outer":
      return { thisOptional: true, otherOptional: true };
  }
}

export function otherSide(side: JoinSide): JoinSide {
  switch (side) {
    case "left":
      return "right";
    case "right":
      return "left";
  }
}

/** Calls the joiner with this side's and the other side's values in left-right order. */
function sided<K, VThis, VOther, VR>(
  joiner: SidedJoiner<K, unknown, unknown, VR>,
  side: JoinSide,
): (thisValue: VThis | null, otherValue: VOther | null, key: K) => VR {
  switch (side) {
    case "left":
      return (thisValue, otherValue, key) => joiner(thisValue, otherValue, key);
    case "right":
      return (thisValue, otherValue, key) => joiner(otherValue, thisValue, key);
  }
}

/** The joined value of two sides' values, or null when the kind of join has no row for them. */
export function joinedRow<K, VThis, VOther, VR>(
  thisValue: VThis | null,
  otherValue: VOther | null,
  key: K,
  optional: Optionality,
  join: (thisValue: VThis | null, otherValue: VOther | null, key: K) => VR,
): VR | null {
  if (thisValue === null && otherValue === null) return null;
  if (thisValue === null && !optional.thisOptional) return null;
  if (otherValue === null && !optional.otherOptional) return null;
  return join(thisValue, otherValue, key);
}

// ---- Stream-table ----

/** Kafka's KStreamKTableJoin: table updates emit nothing; a stream record without a table value passes only in a left join. */
export function streamTableJoin<K, V, VO, VR>(
  table: ValueGetterSupplier<K, VO>,
  joiner: (value: V, other: VO | null, key: K) => VR,
  kind: "inner" | "left",
): ProcessorSupplier<K, V, K, VR> {
  const { otherOptional } = optionality(kind, "left");
  return () => {
    let context: ProcessorContext<K, VR>;
    let get: ValueGetter<K, VO>;
    return {
      init: (given) => {
        context = given;
        get = table.init(given);
      },
      process: (record) => {
        if (droppedForNulls(record, context)) return;
        const other = get(record.key);
        if (other === null && !otherOptional) return;
        context.forward({ ...record, value: joiner(record.value, other, record.key) });
      },
    };
  };
}

// ---- Stream-stream ----

export interface StreamJoinStores {
  left: string;
  right: string;
  /** The shared outer join store, for left and outer joins. */
  outer: string | undefined;
}

export interface StreamJoinSpec<K, V1, V2, VR> {
  kind: JoinKind;
  windows: JoinWindows;
  stores: StreamJoinStores;
  joiner: SidedJoiner<K, V1, V2, VR>;
}

/** How far before and after one of its records this side looks in the other side's store. */
function sideWindow(windows: JoinWindows, side: JoinSide): { lookBackMs: number; lookAheadMs: number } {
  switch (side) {
    case "left":
      return { lookBackMs: windows.beforeMs, lookAheadMs: windows.afterMs };
    case "right":
      return { lookBackMs: windows.afterMs, lookAheadMs: windows.beforeMs };
  }
}

/** A record's window has closed once stream time is past its end plus grace: it is late, or due as unmatched. */
function windowClosed(windows: JoinWindows, side: JoinSide, timestamp: number, streamTimeMs: number) {
  return timestamp + sideWindow(windows, side).lookAheadMs + windows.graceMs < streamTimeMs;
}

function storeOf(stores: StreamJoinStores, side: JoinSide): string {
  switch (side) {
    case "left":
      return stores.left;
    case "right":
      return stores.right;
  }
}

/**
 * Kafka's KStreamJoinWindow (KSTREAM-WINDOWED-): drops records with a null key or value, and late ones
 * (their window closed), and adds the rest to this side's window store, next to any of the same key and time.
 */
export function joinWindowed<K, V>(
  spec: StreamJoinSpec<K, unknown, unknown, unknown>,
  side: JoinSide,
): ProcessorSupplier<K, V, K, V> {
  return () => {
    let context: ProcessorContext<K, V>;
    let store: WindowStore<K, V[]>;
    return {
      init: (given) => {
        context = given;
        store = given.getStateStore(storeOf(spec.stores, side));
      },
      process: (record) => {
        if (droppedForNulls(record, context)) return;
        if (windowClosed(spec.windows, side, record.timestamp, context.currentStreamTimeMs())) {
          context.recordDropped("late");
          return;
        }
        const { key, value, timestamp } = record;
        store.put(key, appended(store.get(key, timestamp), value, store.name), timestamp);
        context.forward(record);
      },
    };
  };
}

type OuterStore<K> = KeyValueStore<TimestampedSideKey<K>, SideValue<unknown, unknown>[]>;
type OuterEntry<K> = KeyValue<TimestampedSideKey<K>, SideValue<unknown, unknown>[]>;

/**
 * Per shared outer join store (so per task), the earliest timestamp it may hold: both sides' processors
 * skip the scan while nothing in it can be due. Absent (after a restore): unknown, scan.
 */
const earliestOuterMs = new WeakMap<object, number>();

/** The shared outer join store: unmatched records of an outer side, until their window and grace close. */
class OuterJoinBuffer<K> {
  constructor(
    private readonly store: OuterStore<K>,
    private readonly windows: JoinWindows,
  ) {}

  add(key: TimestampedSideKey<K>, value: SideValue<unknown, unknown>): void {
    this.store.put(key, appended(this.store.get(key), value, this.store.name));
    const earliest = earliestOuterMs.get(this.store);
    if (earliest !== undefined) earliestOuterMs.set(this.store, Math.min(earliest, key.timestamp));
  }

  /** A record of the other side matched: its records of that key and time are no longer unmatched. */
  remove(key: TimestampedSideKey<K>): void {
    if (this.store.get(key) !== null) this.store.delete(key);
  }

  /** Removes and returns the entries whose window plus grace has closed, oldest first. */
  takeClosed(streamTimeMs: number): OuterEntry<K>[] {
    const earliest = earliestOuterMs.get(this.store);
    const soonestLookAheadMs = Math.min(this.windows.beforeMs, this.windows.afterMs);
    if (earliest !== undefined && earliest + soonestLookAheadMs + this.windows.graceMs >= streamTimeMs)
      return [];
    const closed: OuterEntry<K>[] = [];
    const open = new Set<JoinSide>();
    let nextEarliest = Number.POSITIVE_INFINITY;
    // Keys sort by timestamp first: once both sides have an open entry, every later one is open too.
    for (const entry of this.store.all()) {
      if (open.size === 2) break;
      const { side, timestamp } = entry.key;
      if (!windowClosed(this.windows, side, timestamp, streamTimeMs)) {
        open.add(side);
        nextEarliest = Math.min(nextEarliest, timestamp);
        continue;
      }
      closed.push(entry);
      this.store.delete(entry.key);
    }
    earliestOuterMs.set(this.store, nextEarliest);
    return closed;
  }
}

/**
 * Kafka's KStreamKStreamJoin (KSTREAM-JOINTHIS-/-JOINOTHER-, or -OUTERTHIS-/-OUTEROTHER-): first emits the
 * unmatched records whose window closed, then joins the record with every record of the other side in its
 * window (output timestamp: the later of the two). An unmatched record of an outer side waits in the shared
 * outer join store; a match removes the other side's waiting records of that key and time.
 */
export function streamJoinSide<K, VThis, VR>(
  spec: StreamJoinSpec<K, unknown, unknown, VR>,
  side: JoinSide,
): ProcessorSupplier<K, VThis, K, VR> {
  const { lookBackMs, lookAheadMs } = sideWindow(spec.windows, side);
  const { otherOptional: emitsUnmatched } = optionality(spec.kind, side);
  const join = sided<K, VThis, unknown, VR>(spec.joiner, side);
  const other = otherSide(side);
  return () => {
    let context: ProcessorContext<K, VR>;
    let otherStore: WindowStore<K, unknown[]>;
    let outer: OuterJoinBuffer<K> | undefined;
    const emitUnmatched = ({ key, value }: OuterEntry<K>) => {
      for (const entry of value) {
        context.forward({
          key: key.key,
          value: joinUnmatched(spec.joiner, entry, key.key),
          timestamp: key.timestamp,
          headers: {},
        });
      }
    };
    return {
      init: (given) => {
        context = given;
        otherStore = given.getStateStore(storeOf(spec.stores, other));
        const outerName = spec.stores.outer;
        outer =
          outerName === undefined
            ? undefined
            : new OuterJoinBuffer(given.getStateStore(outerName), spec.windows);
      },
      process: (record: StreamRecord<K, VThis>) => {
        outer?.takeClosed(context.currentStreamTimeMs()).forEach(emitUnmatched);
        const { key, value, timestamp } = record;
        const matches = otherStore.fetch(key, timestamp - lookBackMs, timestamp + lookAheadMs);
        for (const match of matches) {
          const otherTimestamp = match.key.window.start;
          outer?.remove({ timestamp: otherTimestamp, side: other, key });
          for (const otherValue of match.value) {
            const joined = join(value, otherValue, key);
            context.forward({ ...record, value: joined, timestamp: Math.max(timestamp, otherTimestamp) });
          }
        }
        if (matches.length === 0 && emitsUnmatched)
          outer?.add({ timestamp, side, key }, sideValue(side, value));
      },
    };
  };
}

function sideValue(side: JoinSide, value: unknown): SideValue<unknown, unknown> {
  return { side, value };
}

function joinUnmatched<K, VR>(
  joiner: SidedJoiner<K, unknown, unknown, VR>,
  entry: SideValue<unknown, unknown>,
  key: K,
): VR {
  switch (entry.side) {
    case "left":
      return joiner(entry.value, null, key);
    case "right":
      return joiner(null, entry.value, key);
  }
}

// ---- Table-table ----

/**
 * Kafka's KTableKTable{Inner,Left,Right,Outer}Join: an update of this table looks up the other table's
 * value and forwards the joined row's new and old value (null: no row, a tombstone downstream).
 */
export function tableJoinSide<K, VThis, VOther, VR>(
  otherTable: ValueGetterSupplier<K, VOther>,
  joiner: SidedJoiner<K, unknown, unknown, VR>,
  kind: JoinKind,
  side: JoinSide,
): ProcessorSupplier<K, Change<VThis>, K, Change<VR>> {
  const optional = optionality(kind, side);
  const join = sided<K, VThis, VOther, VR>(joiner, side);
  return () => {
    let context: ProcessorContext<K, Change<VR>>;
    let get: ValueGetter<K, VOther>;
    return {
      init: (given) => {
        context = given;
        get = otherTable.init(given);
      },
      process: (record) => {
        if (record.key === null || record.key === undefined) {
          context.recordDropped("null_key");
          return;
        }
        const otherValue = get(record.key);
        const row = (value: VThis | null) => joinedRow(value, otherValue, record.key, optional, join);
        const newValue = row(record.value.newValue);
        const oldValue = row(record.value.oldValue);
        if (newValue !== null || oldValue !== null)
          context.forward({ ...record, value: { newValue, oldValue } });
      },
    };
  };
}

/** Kafka's KTableKTableJoinMerger: both sides' changes, kept in the joined table's store when it has one. */
export function tableJoinMerge<K, V>(
  storeName: string | undefined,
): ProcessorSupplier<K, Change<V>, K, Change<V>> {
  return () => {
    let context: ProcessorContext<K, Change<V>>;
    let store: KeyValueStore<K, V> | undefined;
    return {
      init: (given) => {
        context = given;
        store = storeName === undefined ? undefined : given.getStateStore(storeName);
      },
      process: (record) => {
        if (store === undefined) {
          context.forward(record);
          return;
        }
        const oldValue = store.get(record.key);
        const { newValue } = record.value;
        if (newValue === null && oldValue === null) return;
        store.put(record.key, newValue);
        context.forward({ ...record, value: { newValue, oldValue } });
      },
    };
  };
}
