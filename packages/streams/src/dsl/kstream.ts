// KStream: a stream of records, each independent of the others. Stateless operators add one processor
// each; a key-changing one (map, flatMap, selectKey, groupBy) marks the stream for repartitioning, which
// the next grouping does through an internal topic, as Kafka Streams does.

import { TopologyError } from "../errors.js";
import {
  type ProcessorContext,
  type ProcessorSupplier,
  processorOf,
  type StreamRecord,
} from "../processor.js";
import { type InternalBuilder, type KnownSerdes, untyped } from "./internal-builder.js";
import { KGroupedStream } from "./kgrouped-stream.js";
import { KTable } from "./ktable.js";
import type { Grouped, Materialized, Produced } from "./options.js";
import { tableSource } from "./stateful-processors.js";

export type Predicate<K, V> = (key: K, value: V) => boolean;

export class KStream<K, V> {
  /** Made by StreamsBuilder and by other streams' operators, not by applications. */
  constructor(
    private readonly builder: InternalBuilder,
    /** The topology node whose output this stream is. */
    readonly nodeName: string,
    private readonly serdes: KnownSerdes<K, V>,
    private readonly repartitionRequired = false,
  ) {}

  filter(predicate: Predicate<K, V>): KStream<K, V> {
    return this.add("KSTREAM-FILTER-", (record, context) => {
      if (predicate(record.key, record.value)) context.forward(record);
    });
  }

  filterNot(predicate: Predicate<K, V>): KStream<K, V> {
    return this.add("KSTREAM-FILTER-", (record, context) => {
      if (!predicate(record.key, record.value)) context.forward(record);
    });
  }

  map<KR, VR>(mapper: (key: K, value: V) => [KR, VR]): KStream<KR, VR> {
    return this.add<KR, VR>(
      "KSTREAM-MAP-",
      (record, context) => {
        const [key, value] = mapper(record.key, record.value);
        context.forward({ ...record, key, value });
      },
      {},
      true,
    );
  }

  mapValues<VR>(mapper: (value: V, key: K) => VR): KStream<K, VR> {
    return this.add<K, VR>(
      "KSTREAM-MAPVALUES-",
      (record, context) => context.forward({ ...record, value: mapper(record.value, record.key) }),
      { keySerde: this.serdes.keySerde },
    );
  }

  flatMap<KR, VR>(mapper: (key: K, value: V) => Iterable<[KR, VR]>): KStream<KR, VR> {
    return this.add<KR, VR>(
      "KSTREAM-FLATMAP-",
      (record, context) => {
        for (const [key, value] of mapper(record.key, record.value))
          context.forward({ ...record, key, value });
      },
      {},
      true,
    );
  }

  flatMapValues<VR>(mapper: (value: V, key: K) => Iterable<VR>): KStream<K, VR> {
    return this.add<K, VR>(
      "KSTREAM-FLATMAPVALUES-",
      (record, context) => {
        for (const value of mapper(record.value, record.key)) context.forward({ ...record, value });
      },
      { keySerde: this.serdes.keySerde },
    );
  }

  peek(action: (key: K, value: V) => void): KStream<K, V> {
    return this.add("KSTREAM-PEEK-", (record, context) => {
      action(record.key, record.value);
      context.forward(record);
    });
  }

  selectKey<KR>(selector: (key: K, value: V) => KR): KStream<KR, V> {
    return this.add<KR, V>(
      "KSTREAM-KEY-SELECT-",
      (record, context) => context.forward({ ...record, key: selector(record.key, record.value) }),
      { valueSerde: this.serdes.valueSerde },
      true,
    );
  }

  /** One stream of both streams' records, in the order they arrive. */
  merge(other: KStream<K, V>): KStream<K, V> {
    const name = this.builder.nextName("KSTREAM-MERGE-");
    const forward = processorOf<K, V, K, V>((record, context) => context.forward(record));
    this.builder.topology.addProcessor(name, forward, [this.nodeName, other.nodeName]);
    // A serde is known after the merge only when both sides agree on it.
    const serdes: KnownSerdes<K, V> = {
      keySerde: this.serdes.keySerde === other.serdes.keySerde ? this.serdes.keySerde : undefined,
      valueSerde: this.serdes.valueSerde === other.serdes.valueSerde ? this.serdes.valueSerde : undefined,
    };
    return new KStream(this.builder, name, serdes, this.repartitionRequired || other.repartitionRequired);
  }

  /** Routes each record to the first branch whose predicate it passes (Kafka's split()). */
  split(named: { name?: string } = {}): BranchedKStream<K, V> {
    const name = this.builder.nextName("KSTREAM-BRANCH-");
    const routes: Route<K, V>[] = [];
    const route = processorOf<K, V, K, V>((record, context) => {
      const match = routes.find(({ predicate }) => predicate(record.key, record.value));
      if (match) context.forward(record, match.child);
    });
    this.builder.topology.addProcessor(name, route, [this.nodeName]);
    return new BranchedKStream(named.name ?? `${name}-`, routes, (child) => this.branchChild(name, child));
  }

  /** The older branch(): one stream per predicate; a record that passes none is dropped. */
  branch(...predicates: Predicate<K, V>[]): KStream<K, V>[] {
    const split = this.split();
    for (const predicate of predicates) split.branch(predicate);
    return Object.values(split.noDefaultBranch());
  }

  to(topic: string, produced: Produced<K, V> = {}): void {
    const name = this.builder.nextName("KSTREAM-SINK-");
    this.builder.topology.addSink(name, topic, [this.nodeName], {
      keySerde: untyped(produced.keySerde ?? this.serdes.keySerde),
      valueSerde: untyped(produced.valueSerde ?? this.serdes.valueSerde),
    });
  }

  groupByKey(grouped: Grouped<K, V> = {}): KGroupedStream<K, V> {
    return new KGroupedStream(
      this.builder,
      this.nodeName,
      this.groupedSerdes(grouped),
      this.repartitionRequired,
    );
  }

  /** Groups by a new key; on a cluster through a repartition topic, so each key's records meet in one task. */
  groupBy<KR>(selector: (key: K, value: V) => KR, grouped: Grouped<KR, V> = {}): KGroupedStream<KR, V> {
    return this.selectKey(selector).groupByKey(grouped);
  }

  /** A table of each key's latest value (a null value deletes the key). */
  toTable(materialized?: Materialized<K, V>): KTable<K, V> {
    const storeName = this.builder.storeName(materialized?.storeName, "KSTREAM-TOTABLE-");
    const keySerde = materialized?.keySerde ?? this.serdes.keySerde;
    const valueSerde = materialized?.valueSerde ?? this.serdes.valueSerde;
    const name = this.builder.nextName("KSTREAM-TOTABLE-");
    const topology = this.builder.topology;
    topology.addStateStore({
      kind: "keyValue",
      name: storeName,
      keySerde: untyped(keySerde),
      valueSerde: untyped(valueSerde),
    });
    topology.addProcessor(name, tableSource<K, V>(storeName), [this.nodeName], [storeName]);
    return new KTable(this.builder, name, { keySerde, valueSerde }, storeName);
  }

  /** A processor of your own (Processor API), connected to the stores named (StreamsBuilder.addStateStore). */
  process<KR, VR>(supplier: ProcessorSupplier<K, V, KR, VR>, ...storeNames: string[]): KStream<KR, VR> {
    const name = this.builder.nextName("KSTREAM-PROCESSOR-");
    this.builder.topology.addProcessor(name, supplier, [this.nodeName], storeNames);
    return new KStream<KR, VR>(this.builder, name, {}, this.repartitionRequired);
  }

  private groupedSerdes<KG>(grouped: Grouped<KG, V>): Grouped<KG, V> {
    return {
      keySerde: grouped.keySerde ?? (this.serdes.keySerde as unknown as Grouped<KG, V>["keySerde"]),
      valueSerde: grouped.valueSerde ?? this.serdes.valueSerde,
      name: grouped.name,
    };
  }

  private branchChild(branchNode: string, child: string): KStream<K, V> {
    const forward = processorOf<K, V, K, V>((record, context) => context.forward(record));
    this.builder.topology.addProcessor(child, forward, [branchNode]);
    return new KStream(this.builder, child, this.serdes, this.repartitionRequired);
  }

  private add<KR = K, VR = V>(
    prefix: string,
    process: (record: StreamRecord<K, V>, context: ProcessorContext<KR, VR>) => void,
    serdes: KnownSerdes<KR, VR> = this.serdes as unknown as KnownSerdes<KR, VR>,
    changesKey = false,
  ): KStream<KR, VR> {
    const name = this.builder.nextName(prefix);
    this.builder.topology.addProcessor(name, processorOf(process), [this.nodeName]);
    return new KStream(this.builder, name, serdes, this.repartitionRequired || changesKey);
  }
}

interface Route<K, V> {
  predicate: Predicate<K, V>;
  child: string;
}

/** The branches of split(): each branch() adds a route; defaultBranch() or noDefaultBranch() ends it. */
export class BranchedKStream<K, V> {
  private readonly branches: Record<string, KStream<K, V>> = {};
  private ended = false;

  constructor(
    private readonly prefix: string,
    private readonly routes: Route<K, V>[],
    private readonly addChild: (child: string) => KStream<K, V>,
  ) {}

  /** Records passing predicate (and no earlier branch's) go to the branch `<prefix><name or position>`. */
  branch(predicate: Predicate<K, V>, branched: { name?: string } = {}): this {
    const key = `${this.prefix}${branched.name ?? this.routes.length + 1}`;
    this.addBranch(key, predicate);
    return this;
  }

  /** Everything no branch took, as the branch `<prefix><name or 0>`; returns every branch by name. */
  defaultBranch(branched: { name?: string } = {}): Record<string, KStream<K, V>> {
    this.addBranch(`${this.prefix}${branched.name ?? 0}`, () => true);
    return this.noDefaultBranch();
  }

  noDefaultBranch(): Record<string, KStream<K, V>> {
    this.ended = true;
    return { ...this.branches };
  }

  private addBranch(key: string, predicate: Predicate<K, V>): void {
    if (this.ended)
      throw new TopologyError("split() has ended: branch after defaultBranch or noDefaultBranch");
    if (key in this.branches) throw new TopologyError(`two branches named ${key}`);
    const stream = this.addChild(key);
    this.routes.push({ predicate, child: stream.nodeName });
    this.branches[key] = stream;
  }
}
