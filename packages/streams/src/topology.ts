// A topology as plain data: sources that read topics, processors that transform records, sinks that write
// topics, and the state stores processors use. The DSL builds one; a task (StreamTask) runs it record by
// record. Internal topics (repartition) are named without the application id, which the task prefixes.

import { TopologyError } from "./errors.js";
import type { ProcessorSupplier } from "./processor.js";
import type { Serde } from "./serdes.js";

export interface TopicSerdes {
  /** Missing: the task's default serde, if it has one. */
  keySerde?: Serde<unknown>;
  valueSerde?: Serde<unknown>;
}

export interface SourceNode extends TopicSerdes {
  kind: "source";
  name: string;
  topic: string;
  /** An internal topic is `<applicationId>-<topic>` on the cluster. */
  internal: boolean;
}

export interface ProcessorNode {
  kind: "processor";
  name: string;
  parents: string[];
  supplier: ProcessorSupplier<unknown, unknown>;
  stores: string[];
}

export interface SinkNode extends TopicSerdes {
  kind: "sink";
  name: string;
  parents: string[];
  topic: string;
  internal: boolean;
}

export type TopologyNode = SourceNode | ProcessorNode | SinkNode;

interface StoreSerdes {
  keySerde?: Serde<unknown>;
  valueSerde?: Serde<unknown>;
  /**
   * For stores whose serdes wrap the records' (a stream join's lists of values): called when the task
   * starts, with its default serdes; what it returns stands in for keySerde and valueSerde.
   */
  serdesFrom?: (defaults: TopicSerdes) => TopicSerdes;
}

export type StoreSpec =
  | ({ kind: "keyValue"; name: string } & StoreSerdes)
  | ({ kind: "window"; name: string; windowSizeMs: number; retentionMs: number } & StoreSerdes)
  | ({ kind: "session"; name: string; retentionMs: number } & StoreSerdes);

export class Topology {
  /** In the order they were added, which is also the order children receive a forwarded record. */
  readonly nodes = new Map<string, TopologyNode>();
  readonly stores = new Map<string, StoreSpec>();

  addSource(name: string, topic: string, options: TopicSerdes & { internal?: boolean } = {}): this {
    const taken = this.sourceFor(topic, options.internal ?? false);
    if (taken) throw new TopologyError(`topic ${topic} is already read by source ${taken.name}`);
    const { keySerde, valueSerde } = options;
    return this.add({
      kind: "source",
      name,
      topic,
      internal: options.internal ?? false,
      keySerde,
      valueSerde,
    });
  }

  addProcessor(
    name: string,
    supplier: ProcessorSupplier<never, never>,
    parents: readonly string[],
    stores: readonly string[] = [],
  ): this {
    for (const store of stores)
      if (!this.stores.has(store)) throw new TopologyError(`unknown store ${store}`);
    this.checkParents(name, parents);
    const node: ProcessorNode = {
      kind: "processor",
      name,
      parents: [...parents],
      supplier: supplier as ProcessorSupplier<unknown, unknown>,
      stores: [...stores],
    };
    return this.add(node);
  }

  addSink(
    name: string,
    topic: string,
    parents: readonly string[],
    options: TopicSerdes & { internal?: boolean } = {},
  ): this {
    this.checkParents(name, parents);
    const { keySerde, valueSerde } = options;
    const internal = options.internal ?? false;
    return this.add({ kind: "sink", name, topic, parents: [...parents], internal, keySerde, valueSerde });
  }

  addStateStore(spec: StoreSpec): this {
    if (this.stores.has(spec.name)) throw new TopologyError(`store ${spec.name} already exists`);
    this.stores.set(spec.name, spec);
    return this;
  }

  childrenOf(name: string): string[] {
    return [...this.nodes.values()]
      .filter((node) => node.kind !== "source" && node.parents.includes(name))
      .map((node) => node.name);
  }

  sourceFor(topic: string, internal: boolean): SourceNode | undefined {
    for (const node of this.nodes.values()) {
      if (node.kind === "source" && node.topic === topic && node.internal === internal) return node;
    }
    return undefined;
  }

  /**
   * Groups of nodes connected by parent links or shared stores, in node order; each is run by its own tasks
   * on a cluster (one per input partition), and they meet only through topics, as Kafka's sub-topologies.
   */
  subtopologies(): TopologyNode[][] {
    const group = new Map<string, string>();
    const find = (name: string): string => {
      const parent = group.get(name) ?? name;
      if (parent === name) return name;
      const root = find(parent);
      group.set(name, root);
      return root;
    };
    const union = (a: string, b: string) => group.set(find(a), find(b));
    const storeUser = new Map<string, string>();
    for (const node of this.nodes.values()) {
      if (node.kind !== "source") for (const parent of node.parents) union(node.name, parent);
      if (node.kind !== "processor") continue;
      for (const store of node.stores) {
        const other = storeUser.get(store);
        if (other) union(node.name, other);
        else storeUser.set(store, node.name);
      }
    }
    const groups = new Map<string, TopologyNode[]>();
    for (const node of this.nodes.values()) {
      const root = find(node.name);
      groups.set(root, [...(groups.get(root) ?? []), node]);
    }
    return [...groups.values()];
  }

  /** Kafka's TopologyDescription, as text. */
  describe(): string {
    const lines = ["Topologies:"];
    this.subtopologies().forEach((nodes, index) => {
      lines.push(`   Sub-topology: ${index}`);
      for (const node of nodes) {
        const topic =
          node.kind === "processor" ? "" : node.internal ? `${node.topic} (internal)` : node.topic;
        if (node.kind === "source") lines.push(`    Source: ${node.name} (topics: [${topic}])`);
        if (node.kind === "processor")
          lines.push(`    Processor: ${node.name} (stores: [${node.stores.join(", ")}])`);
        if (node.kind === "sink") lines.push(`    Sink: ${node.name} (topic: ${topic})`);
        const children = this.childrenOf(node.name);
        if (children.length > 0) lines.push(`      --> ${children.join(", ")}`);
        if (node.kind !== "source") lines.push(`      <-- ${node.parents.join(", ")}`);
      }
    });
    return `${lines.join("\n")}\n`;
  }

  private checkParents(name: string, parents: readonly string[]): void {
    if (parents.length === 0) throw new TopologyError(`${name} needs at least one parent`);
    for (const parent of parents) {
      const node = this.nodes.get(parent);
      if (!node) throw new TopologyError(`${name}: unknown parent ${parent}`);
      if (node.kind === "sink") throw new TopologyError(`${name}: a sink (${parent}) has no children`);
    }
  }

  private add(node: TopologyNode): this {
    if (this.nodes.has(node.name)) throw new TopologyError(`a node named ${node.name} already exists`);
    this.nodes.set(node.name, node);
    return this;
  }
}
