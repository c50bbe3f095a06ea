// A synchronous in-memory cluster for the unit and transcript tests: each node
// is a RaftCore over a MemoryLogStorage; "stabilize" plays the driver for every
// node (persist, send, apply, advance) and delivers messages until the cluster
// is quiet. Links can be cut (one way or both), nodes crashed and restarted.

import {
  type Entry,
  type Membership,
  MemoryLogStorage,
  type Message,
  type NodeId,
  type RaftConfig,
  RaftCore,
  type ReadState,
} from "../../src/index.js";

export type NodeOptions = Partial<Omit<RaftConfig, "id" | "storage">>;

export interface TestNode {
  core: RaftCore;
  readonly storage: MemoryLogStorage;
  /** Entries handed out as committed, in order (the state machine). */
  applied: Entry[];
  readStates: ReadState[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function text(data: Uint8Array): string {
  return decoder.decode(data);
}

export class TestNetwork {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages sent and not yet delivered. */
  queue: Message[] = [];
  /** Every message delivered, for assertions and transcripts. */
  delivered: Message[] = [];
  private readonly cut = new Set<string>();
  private readonly options: NodeOptions;

  constructor(membership: Membership, options: NodeOptions = {}) {
    this.options = options;
    for (const id of [...membership.voters, ...membership.learners]) this.addNode(id, membership);
  }

  /** A fresh node with `membership` as its initial view (a node joining later starts from the leader's). */
  addNode(id: NodeId, membership: Membership, options: NodeOptions = {}): TestNode {
    const storage = new MemoryLogStorage(membership);
    const node: TestNode = {
      core: this.createCore(id, storage, options),
      storage,
      applied: [],
      readStates: [],
    };
    this.nodes.set(id, node);
    return node;
  }

  private createCore(id: NodeId, storage: MemoryLogStorage, options: NodeOptions = {}): RaftCore {
    // Distinct timeouts per node (10, 11, 12, ... ticks) so elections in tests never split by accident.
    const random = () => ((id - 1) % 10) / 10;
    return new RaftCore({ id, storage, random, ...this.options, ...options });
  }

  node(id: NodeId): TestNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  core(id: NodeId): RaftCore {
    return this.node(id).core;
  }

  /** The driver's loop for one node: persist, send, apply, advance. Returns the messages it sent. */
  processReady(id: NodeId): Message[] {
    const node = this.node(id);
    if (!node.core.hasReady()) return [];
    const ready = node.core.ready();
    if (ready.snapshot) node.storage.applySnapshot(ready.snapshot);
    if (ready.entries.length > 0) node.storage.append(ready.entries);
    if (ready.hardState) node.storage.setHardState(ready.hardState);
    this.queue.push(...ready.messages);
    node.applied.push(...ready.committedEntries);
    node.readStates.push(...ready.readStates);
    node.core.advance(ready);
    return [...ready.messages];
  }

  /** Runs every node's Ready until none has one; returns the messages sent. */
  flush(): Message[] {
    const sent: Message[] = [];
    for (let round = 0; round < 100; round++) {
      let any = false;
      for (const id of this.nodes.keys()) {
        if (!this.node(id).core.hasReady()) continue;
        any = true;
        sent.push(...this.processReady(id));
      }
      if (!any) return sent;
    }
    throw new Error("nodes never stopped producing Readies");
  }

  /** Delivers the queued messages (dropping those on cut links); returns those delivered. */
  deliver(filter: (message: Message) => boolean = () => true): Message[] {
    const batch = this.queue;
    this.queue = [];
    const delivered: Message[] = [];
    for (const message of batch) {
      if (this.cut.has(`${message.from}>${message.to}`) || !filter(message)) continue;
      const target = this.nodes.get(message.to);
      if (!target) continue;
      target.core.step(message);
      delivered.push(message);
      this.delivered.push(message);
    }
    return delivered;
  }

  /** Persists, sends and delivers until nothing moves. Returns every message delivered. */
  stabilize(limitRounds = 200): Message[] {
    const delivered: Message[] = [];
    for (let round = 0; round < limitRounds; round++) {
      this.flush();
      if (this.queue.length === 0) return delivered;
      delivered.push(...this.deliver());
    }
    throw new Error(`cluster did not stabilize within ${limitRounds} rounds`);
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.core(id).tick();
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) for (const id of this.nodes.keys()) this.core(id).tick();
  }

  /** Cuts both directions between `id` and everyone else. */
  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cutLink(id, other);
      this.cutLink(other, id);
    }
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Crash and restart from storage: whatever was not persisted is lost, the state machine replays. */
  restart(id: NodeId, options: NodeOptions = {}): void {
    const node = this.node(id);
    node.core = this.createCore(id, node.storage, options);
    node.applied = [];
    node.readStates = [];
    this.queue = this.queue.filter((message) => message.from !== id && message.to !== id);
  }

  /** Gives node `id` a persisted log with these entry terms (and a term), then restarts it on it. */
  seedLog(
    id: NodeId,
    terms: readonly number[],
    hardState: { term: number; vote?: NodeId; commit?: number },
  ): void {
    const node = this.node(id);
    node.storage.append(
      terms.map((term, i) => ({ term, index: i + 1, type: "normal", data: bytes(`${term}/${i + 1}`) })),
    );
    node.storage.setHardState({
      term: hardState.term,
      vote: hardState.vote ?? 0,
      commit: hardState.commit ?? 0,
    });
    this.restart(id);
  }

  /** Campaigns on `id` and stabilizes; the node should then lead. */
  elect(id: NodeId): void {
    this.core(id).campaign();
    this.stabilize();
  }

  leaders(): NodeId[] {
    return [...this.nodes.keys()].filter((id) => this.core(id).role === "leader");
  }

  /** Proposes on `leader`, stabilizes, and returns the entry's index. */
  commit(leader: NodeId, payload: string): number {
    const index = this.core(leader).propose(bytes(payload));
    this.stabilize();
    return index;
  }
}

/** One line per message, stable across runs, for transcripts and failure messages. */
export function formatMessage(message: Message): string {
  const parts = [`${message.from}->${message.to} ${message.type} term=${message.term}`];
  if (message.type === "app" || message.type === "vote" || message.type === "pre-vote") {
    parts.push(`logTerm=${message.logTerm} index=${message.index}`);
  }
  if (message.type === "app-resp" || message.type === "read-index-resp") parts.push(`index=${message.index}`);
  if (message.type === "app" || message.type === "heartbeat") parts.push(`commit=${message.commit}`);
  if (message.entries.length > 0) {
    const entries = message.entries.map(
      (entry) => `${entry.term}/${entry.index}${entry.data.length ? ` ${text(entry.data)}` : ""}`,
    );
    parts.push(`entries=[${entries.join(", ")}]`);
  }
  if (message.reject) parts.push(`rejected (hint ${message.rejectHint}/${message.rejectHintTerm ?? 0})`);
  if (message.snapshot)
    parts.push(`snapshot=${message.snapshot.metadata.term}/${message.snapshot.metadata.index}`);
  if (message.context && message.context.length > 0) parts.push(`context=${text(message.context)}`);
  return parts.join(" ");
}
