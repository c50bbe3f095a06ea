// KTable: a changelog stream seen as a table, each key's latest value. Its records are Changes (new and
// old value); filter and mapValues transform both, and toStream() hands on each update's new value (null
// for a deleted key, a tombstone downstream). Joins read a table through its value getter: its store, or
// the stores it is computed from.

import { type Change, processorOf, type StreamRecord } from "../processor.js";
import type { InternalBuilder, KnownSerdes } from "./internal-builder.js";
import type { JoinKind, SidedJoiner } from "./join-processors.js";
import { addTableTableJoin } from "./join-topology.js";
import { KStream, type ValueJoiner } from "./kstream.js";
import type { Materialized } from "./options.js";
import { type ValueGetterSupplier, viewGetter } from "./value-getters.js";

export class KTable<K, V> {
  constructor(
    private readonly builder: InternalBuilder,
    readonly nodeName: string,
    private readonly serdes: KnownSerdes<K, V>,
    /** The store holding this table, when it has one (sources, toTable and aggregations). */
    readonly queryableStoreName: string | undefined,
    /** How a join reads the table's current value for a key. */
    readonly valueGetter: ValueGetterSupplier<K, V>,
  ) {}

  /**
   * The tables joined on their keys: when either side changes, the joined row's new value goes downstream;
   * a key missing on either side has no row (a tombstone when it had one). Both tables must be
   * co-partitioned (see docs/streams.md).
   */
  join<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<V, VO, VR, K>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR> {
    return this.tableJoin(other, joiner, "inner", materialized);
  }

  /** Every key of this table has a row; the other table's value is null where it has none. */
  leftJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<V, VO | null, VR, K>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR> {
    return this.tableJoin(other, joiner, "left", materialized);
  }

  /** Every key of either table has a row; the side without a value gives null. */
  outerJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<V | null, VO | null, VR, K>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR> {
    return this.tableJoin(other, joiner, "outer", materialized);
  }

  toStream(): KStream<K, V> {
    const name = this.builder.nextName("KTABLE-TOSTREAM-");
    const toStream = processorOf<K, Change<V>, K, V | null>((record, context) =>
      context.forward({ ...record, value: record.value.newValue }),
    );
    this.builder.topology.addProcessor(name, toStream, [this.nodeName]);
    return new KStream(this.builder, name, this.serdes);
  }

  /** Keys whose value fails the predicate are deleted from the result (a tombstone, if they were in it). */
  filter(predicate: (key: K, value: V) => boolean): KTable<K, V> {
    return this.transform(
      "KTABLE-FILTER-",
      (key, value) => (predicate(key, value) ? value : null),
      this.serdes,
    );
  }

  filterNot(predicate: (key: K, value: V) => boolean): KTable<K, V> {
    return this.filter((key, value) => !predicate(key, value));
  }

  mapValues<VR>(mapper: (value: V, key: K) => VR): KTable<K, VR> {
    return this.transform("KTABLE-MAPVALUES-", (key, value) => mapper(value, key), {
      keySerde: this.serdes.keySerde,
    });
  }

  /** Applies `apply` to the new and the old value; an update that is null both ways goes nowhere. */
  private transform<VR>(prefix: string, apply: (key: K, value: V) => VR | null, serdes: KnownSerdes<K, VR>) {
    const name = this.builder.nextName(prefix);
    const mapChange = (key: K, value: V | null) => (value === null ? null : apply(key, value));
    const transform = processorOf<K, Change<V>, K, Change<VR>>(
      (record: StreamRecord<K, Change<V>>, context) => {
        const newValue = mapChange(record.key, record.value.newValue);
        const oldValue = mapChange(record.key, record.value.oldValue);
        if (newValue !== null || oldValue !== null)
          context.forward({ ...record, value: { newValue, oldValue } });
      },
    );
    this.builder.topology.addProcessor(name, transform, [this.nodeName]);
    return new KTable<K, VR>(this.builder, name, serdes, undefined, viewGetter(this.valueGetter, apply));
  }

  private tableJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<never, never, VR, K>,
    kind: JoinKind,
    materialized: Materialized<K, VR> | undefined,
  ): KTable<K, VR> {
    const joined = addTableTableJoin<K, V, VO, VR>(this.builder, {
      left: this,
      right: other,
      kind,
      joiner: joiner as SidedJoiner<K, V, VO, VR>,
      materialized,
      keySerde: this.serdes.keySerde,
    });
    const { nodeName, serdes, storeName, valueGetter } = joined;
    return new KTable(this.builder, nodeName, serdes, storeName, valueGetter);
  }
}
