// What each join adds to the topology, named as Kafka Streams names it: KSTREAM-JOIN- / KSTREAM-LEFTJOIN- for
// stream-table; KSTREAM-WINDOWED- twice, then KSTREAM-JOINTHIS- (or -OUTERTHIS-), KSTREAM-JOINOTHER- (or
// -OUTEROTHER-) and KSTREAM-MERGE- for stream-stream, with stores `<JOINTHIS node>-store`,
// `<JOINOTHER node>-store` and KSTREAM-OUTERSHARED-<n>-store; KTABLE-MERGE-, KTABLE-JOINTHIS- and
// KTABLE-JOINOTHER- for table-table.

import type { JoinWindows } from "../join-windows.js";
import { processorOf } from "../processor.js";
import type { Serde } from "../serdes.js";
import type { StoreSpec, TopicSerdes } from "../topology.js";
import { type InternalBuilder, type KnownSerdes, untyped } from "./internal-builder.js";
import {
  type JoinKind,
  joinedRow,
  joinWindowed,
  optionality,
  type SidedJoiner,
  type StreamJoinSpec,
  type StreamJoinStores,
  streamJoinSide,
  streamTableJoin,
  tableJoinMerge,
  tableJoinSide,
} from "./join-processors.js";
import { listSerde, sideValuesSerde, timestampedSideKeySerde } from "./join-serdes.js";
import { assertStoreName, type Materialized } from "./options.js";
import { combinedGetter, keyValueStoreGetter, type ValueGetterSupplier } from "./value-getters.js";

// ---- Stream-table ----

function streamTablePrefix(kind: "inner" | "left"): string {
  switch (kind) {
    case "inner":
      return "KSTREAM-JOIN-";
    case "left":
      return "KSTREAM-LEFTJOIN-";
  }
}

/** Adds the join processor, connected to the stores the table's values come from; returns its name. */
export function addStreamTableJoin<K, V, VO, VR>(
  builder: InternalBuilder,
  streamNode: string,
  table: ValueGetterSupplier<K, VO>,
  joiner: (value: V, other: VO | null, key: K) => VR,
  kind: "inner" | "left",
): string {
  const name = builder.nextName(streamTablePrefix(kind));
  const supplier = streamTableJoin(table, joiner, kind);
  builder.topology.addProcessor(name, supplier, [streamNode], table.storeNames);
  return name;
}

// ---- Stream-stream ----

export interface StreamJoinSerdes<K, V1, V2> {
  keySerde?: Serde<K>;
  leftValueSerde?: Serde<V1>;
  rightValueSerde?: Serde<V2>;
}

export interface StreamStreamJoin<K, V1, V2, VR> {
  leftNode: string;
  rightNode: string;
  kind: JoinKind;
  windows: JoinWindows;
  joiner: SidedJoiner<K, V1, V2, VR>;
  serdes: StreamJoinSerdes<K, V1, V2>;
  /** StreamJoined's storeName: the base of the stores' names. */
  storeName: string | undefined;
}

/** Kafka's names: generated from the join nodes, or `<storeName>-<role>-store`. */
function streamJoinStoreNames(
  kind: JoinKind,
  thisNode: string,
  otherNode: string,
  base: string | undefined,
): StreamJoinStores {
  const hasOuter = kind !== "inner";
  if (base === undefined) {
    const shared = thisNode.replace(/^KSTREAM-(JOIN|OUTER)THIS-/, "KSTREAM-OUTERSHARED-");
    return {
      left: `${thisNode}-store`,
      right: `${otherNode}-store`,
      outer: hasOuter ? `${shared}-store` : undefined,
    };
  }
  assertStoreName(base);
  const outer = kind === "outer";
  return {
    left: `${base}-${outer ? "outer-this-join" : "this-join"}-store`,
    right: `${base}-${hasOuter ? "outer-other-join" : "other-join"}-store`,
    outer: hasOuter ? `${base}-${outer ? "outer-shared-join" : "left-shared-join"}-store` : undefined,
  };
}

function wrapped<T, R>(
  serde: Serde<T> | undefined,
  wrap: (inner: Serde<T>) => Serde<R>,
): Serde<unknown> | undefined {
  return serde === undefined ? undefined : untyped(wrap(serde));
}

/**
 * The stores: each side's window store holds lists of values per key and timestamp, kept for the window's
 * span plus grace plus 1 ms (a record stays while a record of the other side that matches it may still come).
 */
function streamJoinStoreSpecs<K, V1, V2>(
  stores: StreamJoinStores,
  windows: JoinWindows,
  serdes: StreamJoinSerdes<K, V1, V2>,
): StoreSpec[] {
  const withDefaults = (defaults: TopicSerdes) => ({
    key: serdes.keySerde ?? (defaults.keySerde as Serde<K> | undefined),
    left: serdes.leftValueSerde ?? (defaults.valueSerde as Serde<V1> | undefined),
    right: serdes.rightValueSerde ?? (defaults.valueSerde as Serde<V2> | undefined),
  });
  const windowStore = (name: string, side: "left" | "right"): StoreSpec => ({
    kind: "window",
    name,
    windowSizeMs: windows.sizeMs,
    retentionMs: windows.sizeMs + windows.graceMs + 1,
    serdesFrom: (defaults) => {
      const resolved = withDefaults(defaults);
      const values = resolved[side] as Serde<unknown> | undefined;
      return { keySerde: untyped(resolved.key), valueSerde: wrapped(values, listSerde) };
    },
  });
  const specs = [windowStore(stores.left, "left"), windowStore(stores.right, "right")];
  if (stores.outer === undefined) return specs;
  const outer: StoreSpec = {
    kind: "keyValue",
    name: stores.outer,
    serdesFrom: (defaults) => {
      const { key, left, right } = withDefaults(defaults);
      const values = left && right && sideValuesSerde(left, right);
      return { keySerde: wrapped(key, timestampedSideKeySerde), valueSerde: untyped(values || undefined) };
    },
  };
  return [...specs, outer];
}

/** Adds the windowed, join and merge processors and the stores; returns the merge node's name. */
export function addStreamStreamJoin<K, V1, V2, VR>(
  builder: InternalBuilder,
  join: StreamStreamJoin<K, V1, V2, VR>,
): string {
  const { kind, leftNode, rightNode } = join;
  const leftWindowed = builder.nextName("KSTREAM-WINDOWED-");
  const rightWindowed = builder.nextName("KSTREAM-WINDOWED-");
  const thisNode = builder.nextName(kind === "outer" ? "KSTREAM-OUTERTHIS-" : "KSTREAM-JOINTHIS-");
  const otherNode = builder.nextName(kind === "inner" ? "KSTREAM-JOINOTHER-" : "KSTREAM-OUTEROTHER-");
  const merge = builder.nextName("KSTREAM-MERGE-");
  const stores = streamJoinStoreNames(kind, thisNode, otherNode, join.storeName);
  const topology = builder.topology;
  for (const spec of streamJoinStoreSpecs(stores, join.windows, join.serdes)) topology.addStateStore(spec);
  const spec: StreamJoinSpec<K, unknown, unknown, VR> = {
    kind,
    windows: join.windows,
    stores,
    joiner: join.joiner as SidedJoiner<K, unknown, unknown, VR>,
  };
  const outer = stores.outer === undefined ? [] : [stores.outer];
  topology.addProcessor(leftWindowed, joinWindowed(spec, "left"), [leftNode], [stores.left]);
  topology.addProcessor(rightWindowed, joinWindowed(spec, "right"), [rightNode], [stores.right]);
  topology.addProcessor(thisNode, streamJoinSide(spec, "left"), [leftWindowed], [stores.right, ...outer]);
  topology.addProcessor(otherNode, streamJoinSide(spec, "right"), [rightWindowed], [stores.left, ...outer]);
  const forward = processorOf<K, VR, K, VR>((record, context) => context.forward(record));
  topology.addProcessor(merge, forward, [thisNode, otherNode]);
  return merge;
}

// ---- Table-table ----

export interface JoinTable<K, V> {
  nodeName: string;
  valueGetter: ValueGetterSupplier<K, V>;
}

export interface TableTableJoin<K, V1, V2, VR> {
  left: JoinTable<K, V1>;
  right: JoinTable<K, V2>;
  kind: JoinKind;
  joiner: SidedJoiner<K, V1, V2, VR>;
  materialized: Materialized<K, VR> | undefined;
  keySerde: Serde<K> | undefined;
}

export interface JoinedTable<K, VR> {
  nodeName: string;
  serdes: KnownSerdes<K, VR>;
  storeName: string | undefined;
  valueGetter: ValueGetterSupplier<K, VR>;
}

/** Adds both sides' join processors and the merge (which keeps the store, when materialized). */
export function addTableTableJoin<K, V1, V2, VR>(
  builder: InternalBuilder,
  join: TableTableJoin<K, V1, V2, VR>,
): JoinedTable<K, VR> {
  const { left, right, kind, materialized } = join;
  const joiner = join.joiner as SidedJoiner<K, unknown, unknown, VR>;
  const merge = builder.nextName("KTABLE-MERGE-");
  const thisNode = builder.nextName("KTABLE-JOINTHIS-");
  const otherNode = builder.nextName("KTABLE-JOINOTHER-");
  const serdes = { keySerde: materialized?.keySerde ?? join.keySerde, valueSerde: materialized?.valueSerde };
  const storeName = materialized && builder.storeName(materialized.storeName, "KTABLE-MERGE-");
  const topology = builder.topology;
  if (storeName !== undefined) {
    const { keySerde, valueSerde } = serdes;
    topology.addStateStore({
      kind: "keyValue",
      name: storeName,
      keySerde: untyped(keySerde),
      valueSerde: untyped(valueSerde),
    });
  }
  const leftSide = tableJoinSide<K, V1, V2, VR>(right.valueGetter, joiner, kind, "left");
  const rightSide = tableJoinSide<K, V2, V1, VR>(left.valueGetter, joiner, kind, "right");
  topology.addProcessor(thisNode, leftSide, [left.nodeName], right.valueGetter.storeNames);
  topology.addProcessor(otherNode, rightSide, [right.nodeName], left.valueGetter.storeNames);
  const mergeStores = storeName === undefined ? [] : [storeName];
  topology.addProcessor(merge, tableJoinMerge<K, VR>(storeName), [thisNode, otherNode], mergeStores);
  const optional = optionality(kind, "left");
  const valueGetter =
    storeName !== undefined
      ? keyValueStoreGetter<K, VR>(storeName)
      : combinedGetter(left.valueGetter, right.valueGetter, (key: K, l: V1 | null, r: V2 | null) =>
          joinedRow(l, r, key, optional, joiner),
        );
  return { nodeName: merge, serdes, storeName, valueGetter };
}
