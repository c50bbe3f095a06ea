// KGroupedStream: records grouped by key, ready to aggregate into a table, or to window first. When the
// key changed upstream, the grouping first goes through an internal repartition topic (on a cluster,
// the topic that brings each key's records to one task; in the test driver, a round trip through serdes).

import type { ProcessorSupplier } from "../processor.js";
import { type Serde, Serdes } from "../serdes.js";
import type { StoreSpec } from "../topology.js";
import { type SessionWindows, TimeWindows } from "../windows.js";
import { type InternalBuilder, untyped } from "./internal-builder.js";
import { KTable } from "./ktable.js";
import type { Grouped, Materialized } from "./options.js";
import { streamAggregate, type Update } from "./stateful-processors.js";
import { keyValueStoreGetter } from "./value-getters.js";
import { SessionWindowedKStream, TimeWindowedKStream } from "./windowed-streams.js";

export type Aggregator<K, V, VA> = (key: K, value: V, aggregate: VA) => VA;
export type Reducer<V> = (aggregate: V, value: V) => V;

export class KGroupedStream<K, V> {
  constructor(
    private readonly builder: InternalBuilder,
    private readonly nodeName: string,
    private readonly grouped: Grouped<K, V>,
    private readonly repartitionRequired: boolean,
  ) {}

  count(materialized?: Materialized<K, number>): KTable<K, number> {
    const update: Update<K, V, number> = (_key, _value, count) => (count ?? 0) + 1;
    return this.aggregateWith("KSTREAM-AGGREGATE-", update, materialized, Serdes.Int64());
  }

  reduce(reducer: Reducer<V>, materialized?: Materialized<K, V>): KTable<K, V> {
    const update: Update<K, V, V> = (_key, value, aggregate) =>
      aggregate === null ? value : reducer(aggregate, value);
    return this.aggregateWith("KSTREAM-REDUCE-", update, materialized, this.grouped.valueSerde);
  }

  aggregate<VA>(
    initializer: () => VA,
    aggregator: Aggregator<K, V, VA>,
    materialized?: Materialized<K, VA>,
  ): KTable<K, VA> {
    const update: Update<K, V, VA> = (key, value, aggregate) =>
      aggregator(key, value, aggregate ?? initializer());
    return this.aggregateWith("KSTREAM-AGGREGATE-", update, materialized, undefined);
  }

  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V>;
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>;
  windowedBy(
    windows: TimeWindows | SessionWindows,
  ): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    const grouped = new GroupedInput(this.builder, this.nodeName, this.grouped, this.repartitionRequired);
    return windows instanceof TimeWindows
      ? new TimeWindowedKStream(grouped, windows)
      : new SessionWindowedKStream(grouped, windows);
  }

  private aggregateWith<VA>(
    prefix: string,
    update: Update<K, V, VA>,
    materialized: Materialized<K, VA> | undefined,
    defaultValueSerde: Serde<unknown> | undefined,
  ): KTable<K, VA> {
    const grouped = new GroupedInput(this.builder, this.nodeName, this.grouped, this.repartitionRequired);
    const keySerde = materialized?.keySerde ?? this.grouped.keySerde;
    const valueSerde = materialized?.valueSerde ?? (defaultValueSerde as Serde<VA> | undefined);
    const storeName = grouped.addStore(prefix, materialized?.storeName, (name) => ({
      kind: "keyValue",
      name,
      keySerde: untyped(keySerde),
      valueSerde: untyped(valueSerde),
    }));
    const name = grouped.addAggregate(prefix, streamAggregate(storeName, update), storeName);
    const getter = keyValueStoreGetter<K, VA>(storeName);
    return new KTable(this.builder, name, { keySerde, valueSerde }, storeName, getter);
  }
}

/**
 * What every aggregation of a grouped stream does: name its store, repartition when the key changed (the
 * repartition topic is named after the store, or Grouped's name), then add its processor after that.
 */
export class GroupedInput<K, V> {
  constructor(
    readonly builder: InternalBuilder,
    private readonly nodeName: string,
    readonly grouped: Grouped<K, V>,
    private readonly repartitionRequired: boolean,
  ) {}

  addStore(prefix: string, givenName: string | undefined, spec: (storeName: string) => StoreSpec): string {
    const storeName = this.builder.storeName(givenName, prefix);
    this.builder.topology.addStateStore(spec(storeName));
    return storeName;
  }

  addAggregate(prefix: string, supplier: ProcessorSupplier<never, never>, storeName: string): string {
    const parent = this.repartitionRequired ? this.repartition(storeName) : this.nodeName;
    const name = this.builder.nextName(prefix);
    this.builder.topology.addProcessor(name, supplier, [parent], [storeName]);
    return name;
  }

  private repartition(storeName: string): string {
    const topic = `${this.grouped.name ?? storeName}-repartition`;
    const serdes = { keySerde: untyped(this.grouped.keySerde), valueSerde: untyped(this.grouped.valueSerde) };
    return this.builder.repartition(this.nodeName, topic, serdes);
  }
}
