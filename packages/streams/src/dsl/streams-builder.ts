// StreamsBuilder: where a DSL topology starts. stream() and table() read topics; build() hands back the
// Topology, plain data that a task runs (the TopologyTestDriver today, the cluster runtime later).

import type { StoreSpec, Topology } from "../topology.js";
import { InternalBuilder, untyped } from "./internal-builder.js";
import { KStream } from "./kstream.js";
import type { KTable } from "./ktable.js";
import { type Consumed, Materialized } from "./options.js";

export class StreamsBuilder {
  private readonly builder = new InternalBuilder();

  stream<K, V>(topic: string, consumed: Consumed<K, V> = {}): KStream<K, V> {
    const name = this.builder.nextName("KSTREAM-SOURCE-");
    this.builder.topology.addSource(name, topic, {
      keySerde: untyped(consumed.keySerde),
      valueSerde: untyped(consumed.valueSerde),
    });
    return new KStream(this.builder, name, consumed);
  }

  /** The topic as a table: each record is its key's latest value, a null value deletes the key. */
  table<K, V>(topic: string, consumed: Consumed<K, V> = {}, materialized?: Materialized<K, V>): KTable<K, V> {
    // Named before the source, as Kafka numbers them: users-STATE-STORE-0000000000, then KSTREAM-SOURCE-0000000001.
    let named = Materialized.as<K, V>(
      materialized?.storeName ?? this.builder.nextName(`${topic}-STATE-STORE-`),
    );
    if (materialized?.keySerde) named = named.withKeySerde(materialized.keySerde);
    if (materialized?.valueSerde) named = named.withValueSerde(materialized.valueSerde);
    return this.stream(topic, consumed).toTable(named);
  }

  /** A store for processors of your own (KStream.process). */
  addStateStore(spec: StoreSpec): this {
    this.builder.topology.addStateStore(spec);
    return this;
  }

  build(): Topology {
    return this.builder.topology;
  }
}
