// The state a StreamsBuilder shares with every stream and table it made: the topology under construction
// and the counter that numbers node and store names as Kafka Streams does (KSTREAM-MAP-0000000003).

import type { Serde } from "../serdes.js";
import { Topology } from "../topology.js";

const NAME_INDEX_DIGITS = 10;

export class InternalBuilder {
  readonly topology = new Topology();
  private index = 0;

  nextName(prefix: string): string {
    return `${prefix}${String(this.index++).padStart(NAME_INDEX_DIGITS, "0")}`;
  }

  /** The name given (Materialized.as), or `<prefix>STATE-STORE-<index>`. */
  storeName(given: string | undefined, prefix: string): string {
    return given ?? this.nextName(`${prefix}STATE-STORE-`);
  }
}

/** What a stream or table knows about its serdes; an operator that changes keys or values forgets them. */
export interface KnownSerdes<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
}

export function untyped<T>(serde: Serde<T> | undefined): Serde<unknown> | undefined {
  return serde as Serde<unknown> | undefined;
}
