// KStream: a stream of records, each independent of the others. Stateless operators add one processor
// each; a key-changing one (map, flatMap, selectKey, groupBy) marks the stream for repartitioning, which
// the next grouping does through an internal topic, as Kafka Streams does.

import { TopologyError } from "../errors.js";
import { JoinWindows } from "../join-windows.js";
import {
  type ProcessorContext,
  type ProcessorSupplier,
  processorOf,
  type StreamRecord,
} from "../processor.js";
import { type InternalBuilder, type KnownSerdes, untyped } from "./internal-builder.js";
import type { JoinKind, SidedJoiner } from "./join-processors.js";
import { addStreamStreamJoin, addStreamTableJoin } from "./join-topology.js";
import { KGroupedStream } from "./kgrouped-stream.js";
import { KTable } from "./ktable.js";
import type { Grouped, Joined, Materialized, Produced, Repartitioned, StreamJoined } from "./options.js";
import { tableSource } from "./stateful-processors.js";
import { keyValueStoreGetter } from "./value-getters.js";

export type Predicate<K, V> = (key: K, value: V) => boolean;

/** Makes the joined value from this side's value, the other side's, and the key (Kafka's ValueJoinerWithKey, key last). */
export type ValueJoiner<V1, V2, VR, K = unknown> = (value: V1, otherValue: V2, key: K) => VR;

export class KStream<K, V> {
  /** Made by StreamsBuilder and by other streams' operators, not by applications. */
  constructor(
    private readonly builder: InternalBuilder,
    /** The topology node whose output this stream is. */
    readonly nodeName: string,
    private readonly serdes: KnownSerdes<K, V>,
    private readonly repartitionRequired = false,
  ) {}

  /** Repartitioned copies of this stream made for joins, by topic: joining it again reuses the topic. */
  private readonly joinRepartitions = new Map<string, KStream<K, V>>();

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

  /**
   * With a table: each record joined with the table's current value for its key; records whose key the
   * table lacks, or with a null key or value, are dropped; table updates emit nothing.
   * With a stream and JoinWindows: each pair of records of one key whose timestamps are within the windows,
   * joined when the second arrives (timestamp: the later one's).
   * The two sides must be co-partitioned; after a key-changing operator this stream is repartitioned first.
   */
  join<VO, VR>(
    table: KTable<K, VO>,
    joiner: ValueJoiner<V, VO, VR, K>,
    joined?: Joined<K, V, VO>,
  ): KStream<K, VR>;
  join<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<V, VO, VR, K>,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>;
  join<VO, VR>(
    other: KTable<K, VO> | KStream<K, VO>,
    joiner: ValueJoiner<V, VO, VR, K>,
    options?: Joined<K, V, VO> | JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR> {
    return this.joinWith(other, joiner, "inner", options, streamJoined);
  }

  /**
   * As join(), and records without a match still go downstream with null for the other side: at once with
   * a table; with a stream, once the record's window plus grace has closed (stream time passed it) with no
   * match, as Kafka 3.x does.
   */
  leftJoin<VO, VR>(
    table: KTable<K, VO>,
    joiner: ValueJoiner<V, VO | null, VR, K>,
    joined?: Joined<K, V, VO>,
  ): KStream<K, VR>;
  leftJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<V, VO | null, VR, K>,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>;
  leftJoin<VO, VR>(
    other: KTable<K, VO> | KStream<K, VO>,
    joiner: ValueJoiner<V, VO | null, VR, K>,
    options?: Joined<K, V, VO> | JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR> {
    return this.joinWith(other, joiner, "left", options, streamJoined);
  }

  /** A windowed join in which unmatched records of either side go downstream (null for the other side) once their window closes. */
  outerJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<V | null, VO | null, VR, K>,
    windows: JoinWindows,
    streamJoined: StreamJoined<K, V, VO> = {},
  ): KStream<K, VR> {
    if (!(other instanceof KStream)) throw new TopologyError("outerJoin() takes a stream (and JoinWindows)");
    return this.streamJoin(other, joiner, "outer", windows, streamJoined);
  }

  /** Through an internal topic `<applicationId>-<name>-repartition`, so that each key's records meet in one task. */
  repartition(repartitioned: Repartitioned<K, V> = {}): KStream<K, V> {
    const name = repartitioned.name ?? this.builder.nextName("KSTREAM-REPARTITION-");
    const serdes: KnownSerdes<K, V> = {
      keySerde: repartitioned.keySerde ?? this.serdes.keySerde,
      valueSerde: repartitioned.valueSerde ?? this.serdes.valueSerde,
    };
    const source = this.builder.repartition(this.nodeName, `${name}-repartition`, untypedSerdes(serdes));
    return new KStream(this.builder, source, serdes);
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
    const getter = keyValueStoreGetter<K, V>(storeName);
    return new KTable(this.builder, name, { keySerde, valueSerde }, storeName, getter);
  }

  /** A processor of your own (Processor API), connected to the stores named (StreamsBuilder.addStateStore). */
  process<KR, VR>(supplier: ProcessorSupplier<K, V, KR, VR>, ...storeNames: string[]): KStream<KR, VR> {
    const name = this.builder.nextName("KSTREAM-PROCESSOR-");
    this.builder.topology.addProcessor(name, supplier, [this.nodeName], storeNames);
    return new KStream<KR, VR>(this.builder, name, {}, this.repartitionRequired);
  }

  private joinWith<VO, VR>(
    other: KTable<K, VO> | KStream<K, VO>,
    joiner: ValueJoiner<never, never, VR, K>,
    kind: "inner" | "left",
    options: Joined<K, V, VO> | JoinWindows | undefined,
    streamJoined: StreamJoined<K, V, VO> = {},
  ): KStream<K, VR> {
    if (other instanceof KTable) {
      if (options instanceof JoinWindows) throw new TopologyError("a stream-table join takes no JoinWindows");
      return this.tableJoin(other, joiner, kind, options ?? {});
    }
    if (!(options instanceof JoinWindows)) throw new TopologyError("a stream-stream join needs JoinWindows");
    return this.streamJoin(other, joiner, kind, options, streamJoined);
  }

  private tableJoin<VO, VR>(
    table: KTable<K, VO>,
    joiner: ValueJoiner<never, never, VR, K>,
    kind: "inner" | "left",
    joined: Joined<K, V, VO>,
  ): KStream<K, VR> {
    const serdes = {
      keySerde: joined.keySerde ?? this.serdes.keySerde,
      valueSerde: joined.valueSerde ?? this.serdes.valueSerde,
    };
    const stream = this.joinInput(joined.name ?? this.nodeName, serdes);
    const typed = joiner as (value: V, other: VO | null, key: K) => VR;
    const name = addStreamTableJoin(this.builder, stream.nodeName, table.valueGetter, typed, kind);
    return new KStream<K, VR>(this.builder, name, { keySerde: serdes.keySerde });
  }

  private streamJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<never, never, VR, K>,
    kind: JoinKind,
    windows: JoinWindows,
    streamJoined: StreamJoined<K, V, VO>,
  ): KStream<K, VR> {
    const keySerde = streamJoined.keySerde ?? this.serdes.keySerde ?? other.serdes.keySerde;
    const leftValueSerde = streamJoined.valueSerde ?? this.serdes.valueSerde;
    const rightValueSerde = streamJoined.otherValueSerde ?? other.serdes.valueSerde;
    const named = (side: string, node: string) => (streamJoined.name ? `${streamJoined.name}-${side}` : node);
    const left = this.joinInput(named("left", this.nodeName), { keySerde, valueSerde: leftValueSerde });
    const right = other.joinInput(named("right", other.nodeName), { keySerde, valueSerde: rightValueSerde });
    const merge = addStreamStreamJoin(this.builder, {
      leftNode: left.nodeName,
      rightNode: right.nodeName,
      kind,
      windows,
      joiner: joiner as SidedJoiner<K, V, VO, VR>,
      serdes: { keySerde, leftValueSerde, rightValueSerde },
      storeName: streamJoined.storeName,
    });
    return new KStream<K, VR>(this.builder, merge, { keySerde });
  }

  /** This stream, or, after a key change, its copy through `<topicName>-repartition` (made once per topic). */
  private joinInput(topicName: string, serdes: KnownSerdes<K, V>): KStream<K, V> {
    if (!this.repartitionRequired) return this;
    const topic = `${topicName}-repartition`;
    const made = this.joinRepartitions.get(topic);
    if (made) return made;
    const source = this.builder.repartition(this.nodeName, topic, untypedSerdes(serdes));
    const stream = new KStream(this.builder, source, serdes);
    this.joinRepartitions.set(topic, stream);
    return stream;
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

function untypedSerdes<K, V>(serdes: KnownSerdes<K, V>): KnownSerdes<unknown, unknown> {
  return { keySerde: untyped(serdes.keySerde), valueSerde: untyped(serdes.valueSerde) };
}
