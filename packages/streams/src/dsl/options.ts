// The options of DSL operators: serdes for topics read, written and repartitioned (Kafka's Consumed,
// Produced and Grouped, as plain objects) and Materialized for the stores aggregations and tables keep.

import { TopologyError } from "../errors.js";
import type { Serde } from "../serdes.js";

export interface Consumed<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
}

export interface Produced<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
}

export interface Grouped<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  /** Names the repartition topic `<applicationId>-<name>-repartition` instead of the store's name. */
  name?: string;
}

/** Serdes and a name for a stream-table join (Kafka's Joined). */
export interface Joined<K, V, VO> {
  /** For the repartition topic, when the stream's key changed before the join. */
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  /** The table's value serde (Kafka's; the table's store has its own). */
  otherValueSerde?: Serde<VO>;
  /** Names the repartition topic `<applicationId>-<name>-repartition` instead of the stream's node name. */
  name?: string;
}

/** Serdes and names for a stream-stream join's stores and repartition topics (Kafka's StreamJoined). */
export interface StreamJoined<K, V, VO> {
  keySerde?: Serde<K>;
  /** This (left) stream's values. */
  valueSerde?: Serde<V>;
  /** The other (right) stream's values. */
  otherValueSerde?: Serde<VO>;
  /** Stores `<storeName>-this-join-store`, `<storeName>-other-join-store` (and the outer ones) instead of generated names. */
  storeName?: string;
  /** Repartition topics `<name>-left-repartition` / `<name>-right-repartition` instead of the streams' node names. */
  name?: string;
}

/** Serdes and a name for KStream.repartition() (Kafka's Repartitioned; partition counts are the runtime's). */
export interface Repartitioned<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  /** The topic `<applicationId>-<name>-repartition`; default `KSTREAM-REPARTITION-<n>`. */
  name?: string;
}

/** Store names take letters, digits, '.', '_' and '-' (they are part of changelog topic names). */
export function assertStoreName(storeName: string): void {
  if (storeName.length === 0 || !/^[a-zA-Z0-9._-]+$/.test(storeName)) {
    throw new TopologyError(
      `a store name takes letters, digits, '.', '_' and '-': ${JSON.stringify(storeName)}`,
    );
  }
}

/** Which store an aggregation or table keeps its state in, and with which serdes. */
export class Materialized<K, V> {
  private constructor(
    readonly storeName: string | undefined,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    /** For window and session stores: how long windows stay queryable; at least size (or gap) plus grace. */
    readonly retentionMs: number | undefined = undefined,
  ) {}

  /** A store of this name, which the test driver (and later interactive queries) can look up. */
  static as<K, V>(storeName: string): Materialized<K, V> {
    assertStoreName(storeName);
    return new Materialized<K, V>(storeName, undefined, undefined);
  }

  static with<K, V>(keySerde: Serde<K> | undefined, valueSerde: Serde<V> | undefined): Materialized<K, V> {
    return new Materialized(undefined, keySerde, valueSerde);
  }

  withKeySerde(keySerde: Serde<K>): Materialized<K, V> {
    return new Materialized(this.storeName, keySerde, this.valueSerde, this.retentionMs);
  }

  withValueSerde(valueSerde: Serde<V>): Materialized<K, V> {
    return new Materialized(this.storeName, this.keySerde, valueSerde, this.retentionMs);
  }

  withRetention(retentionMs: number): Materialized<K, V> {
    if (!Number.isSafeInteger(retentionMs) || retentionMs < 0) {
      throw new TopologyError(`retention must be a non-negative integer of ms, got ${retentionMs}`);
    }
    return new Materialized(this.storeName, this.keySerde, this.valueSerde, retentionMs);
  }
}
