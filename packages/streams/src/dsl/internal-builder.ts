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

  /**
   * Writes the node's records to the internal topic and reads them back from it: on a cluster, each key's
   * records then meet in the task of its partition. Returns the source's name.
   */
  repartition(fromNode: string, topic: string, serdes: KnownSerdes<unknown, unknown>): string {
    const topicSerdes = { keySerde: serdes.keySerde, valueSerde: serdes.valueSerde, internal: true };
    const sink = this.nextName("KSTREAM-SINK-");
    this.topology.addSink(sink, topic, [fromNode], topicSerdes);
    const source = this.nextName("KSTREAM-SOURCE-");
    this.topology.addSource(source, topic, topicSerdes);
    return source;
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
