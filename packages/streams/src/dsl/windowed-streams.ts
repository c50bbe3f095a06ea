// Windowed grouped streams: count, reduce and aggregate per key and window, into a table keyed by
// Windowed<K>. Event time is the record's timestamp; a record for a window already closed (its end plus
// the grace period is behind stream time) is dropped and counted as late.

import { TopologyError } from "../errors.js";
import type { Serde } from "../serdes.js";
import { Serdes } from "../serdes.js";
import type { SessionWindows, TimeWindows, Windowed } from "../windows.js";
import { untyped } from "./internal-builder.js";
import type { Aggregator, GroupedInput, Reducer } from "./kgrouped-stream.js";
import { KTable } from "./ktable.js";
import type { Materialized } from "./options.js";
import {
  type SessionAggregation,
  sessionAggregate,
  type Update,
  windowAggregate,
} from "./stateful-processors.js";
import { sessionStoreGetter, windowStoreGetter } from "./value-getters.js";

/** A store keeps windows at least until they close (Kafka refuses less retention than that, as here). */
function retention(
  materialized: Materialized<unknown, unknown> | undefined,
  minimumMs: number,
  storeName: string,
) {
  const retentionMs = materialized?.retentionMs ?? minimumMs;
  if (retentionMs < minimumMs) {
    throw new TopologyError(
      `store ${storeName}: retention ${retentionMs} ms is less than window size (or gap) plus grace, ${minimumMs} ms`,
    );
  }
  return retentionMs;
}

export type Merger<K, VA> = (key: K, aggregate1: VA, aggregate2: VA) => VA;

export class TimeWindowedKStream<K, V> {
  constructor(
    private readonly input: GroupedInput<K, V>,
    private readonly windows: TimeWindows,
  ) {}

  count(materialized?: Materialized<K, number>): KTable<Windowed<K>, number> {
    return this.aggregateWith(
      "KSTREAM-AGGREGATE-",
      (_key, _value, count) => (count ?? 0) + 1,
      materialized,
      Serdes.Int64(),
    );
  }

  reduce(reducer: Reducer<V>, materialized?: Materialized<K, V>): KTable<Windowed<K>, V> {
    const update: Update<K, V, V> = (_key, value, aggregate) =>
      aggregate === null ? value : reducer(aggregate, value);
    return this.aggregateWith("KSTREAM-REDUCE-", update, materialized, this.input.grouped.valueSerde);
  }

  aggregate<VA>(
    initializer: () => VA,
    aggregator: Aggregator<K, V, VA>,
    materialized?: Materialized<K, VA>,
  ): KTable<Windowed<K>, VA> {
    const update: Update<K, V, VA> = (key, value, aggregate) =>
      aggregator(key, value, aggregate ?? initializer());
    return this.aggregateWith("KSTREAM-AGGREGATE-", update, materialized, undefined);
  }

  private aggregateWith<VA>(
    prefix: string,
    update: Update<K, V, VA>,
    materialized: Materialized<K, VA> | undefined,
    defaultValueSerde: Serde<unknown> | undefined,
  ): KTable<Windowed<K>, VA> {
    const keySerde = materialized?.keySerde ?? this.input.grouped.keySerde;
    const valueSerde = materialized?.valueSerde ?? (defaultValueSerde as Serde<VA> | undefined);
    const storeName = this.input.addStore(prefix, materialized?.storeName, (name) => ({
      kind: "window",
      name,
      windowSizeMs: this.windows.sizeMs,
      retentionMs: retention(materialized, this.windows.retentionMs, name),
      keySerde: untyped(keySerde),
      valueSerde: untyped(valueSerde),
    }));
    const name = this.input.addAggregate(prefix, windowAggregate(storeName, this.windows, update), storeName);
    const getter = windowStoreGetter<K, VA>(storeName);
    return new KTable<Windowed<K>, VA>(this.input.builder, name, { valueSerde }, storeName, getter);
  }
}

export class SessionWindowedKStream<K, V> {
  constructor(
    private readonly input: GroupedInput<K, V>,
    private readonly windows: SessionWindows,
  ) {}

  count(materialized?: Materialized<K, number>): KTable<Windowed<K>, number> {
    const aggregation: SessionAggregation<K, V, number> = {
      initial: () => 0,
      update: (_key, _value, count) => (count ?? 0) + 1,
      merge: (_key, count, session) => (count ?? 0) + session,
    };
    return this.aggregateWith("KSTREAM-AGGREGATE-", aggregation, materialized, Serdes.Int64());
  }

  reduce(reducer: Reducer<V>, materialized?: Materialized<K, V>): KTable<Windowed<K>, V> {
    const aggregation: SessionAggregation<K, V, V> = {
      initial: () => null,
      update: (_key, value, aggregate) => (aggregate === null ? value : reducer(aggregate, value)),
      merge: (_key, aggregate, session) => (aggregate === null ? session : reducer(aggregate, session)),
    };
    return this.aggregateWith("KSTREAM-REDUCE-", aggregation, materialized, this.input.grouped.valueSerde);
  }

  /** As Kafka's: the merger combines two sessions' aggregates when a record bridges them. */
  aggregate<VA>(
    initializer: () => VA,
    aggregator: Aggregator<K, V, VA>,
    merger: Merger<K, VA>,
    materialized?: Materialized<K, VA>,
  ): KTable<Windowed<K>, VA> {
    const aggregation: SessionAggregation<K, V, VA> = {
      initial: initializer,
      update: (key, value, aggregate) => aggregator(key, value, aggregate ?? initializer()),
      merge: (key, aggregate, session) => merger(key, aggregate ?? initializer(), session),
    };
    return this.aggregateWith("KSTREAM-AGGREGATE-", aggregation, materialized, undefined);
  }

  private aggregateWith<VA>(
    prefix: string,
    aggregation: SessionAggregation<K, V, VA>,
    materialized: Materialized<K, VA> | undefined,
    defaultValueSerde: Serde<unknown> | undefined,
  ): KTable<Windowed<K>, VA> {
    const keySerde = materialized?.keySerde ?? this.input.grouped.keySerde;
    const valueSerde = materialized?.valueSerde ?? (defaultValueSerde as Serde<VA> | undefined);
    const storeName = this.input.addStore(prefix, materialized?.storeName, (name) => ({
      kind: "session",
      name,
      retentionMs: retention(materialized, this.windows.retentionMs, name),
      keySerde: untyped(keySerde),
      valueSerde: untyped(valueSerde),
    }));
    const name = this.input.addAggregate(
      prefix,
      sessionAggregate(storeName, this.windows, aggregation),
      storeName,
    );
    const getter = sessionStoreGetter<K, VA>(storeName);
    return new KTable<Windowed<K>, VA>(this.input.builder, name, { valueSerde }, storeName, getter);
  }
}
