// Three (or N) Raft nodes over real gRPC on 127.0.0.1 in one process, each
// with its own temp data dir, started in one line and removed in one line.
// Nodes can be killed (closed without handing over leadership) and restarted
// on the same address from what they persisted.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrookError } from "@brook/protocol";
import type { RaftDisk } from "../../src/driver/level-storage.js";
import { RaftNode, type StateMachine } from "../../src/driver/raft-node.js";
import type { Ticker } from "../../src/driver/runtime.js";
import { GrpcTransport, type StepMode } from "../../src/transport/grpc-transport.js";
import type { Entry, NodeId } from "../../src/types.js";

/** A state machine that remembers every applied entry as text. */
export class TextLog implements StateMachine {
  values: string[] = [];
  appliedIndexes: number[] = [];

  apply(entries: readonly Entry[]): void {
    for (const entry of entries) {
      this.values.push(new TextDecoder().decode(entry.data));
      this.appliedIndexes.push(entry.index);
    }
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.values));
  }
  restore(data: Uint8Array): void {
    this.values = JSON.parse(new TextDecoder().decode(data)) as string[];
    this.appliedIndexes = [];
  }
}

export const text = (value: string) => new TextEncoder().encode(value);

interface Member {
  readonly id: NodeId;
  readonly dataDir: string;
  address: string;
  node: RaftNode | undefined;
  stateMachine: TextLog;
}

export interface ClusterOptions {
  readonly nodes?: number;
  /** Short ticks keep elections in tests to a few hundred ms. */
  readonly tickMs?: number;
  readonly snapshotEntries?: number;
  readonly mode?: StepMode;
  /** Drive time by hand (ManualTicker) instead of with real timers. */
  readonly ticker?: Ticker;
  /** Each node's file system (the real one by default). */
  readonly disk?: (id: NodeId) => RaftDisk;
  readonly onFatal?: (id: NodeId, error: BrookError) => void;
}

export class RaftTestCluster {
  private constructor(
    private readonly root: string,
    private readonly members: Map<NodeId, Member>,
    private readonly options: ClusterOptions,
  ) {}

  static async start(options: ClusterOptions = {}): Promise<RaftTestCluster> {
    const root = await mkdtemp(join(tmpdir(), "brook-raft-"));
    const ids = Array.from({ length: options.nodes ?? 3 }, (_, i) => i + 1);
    const transports = await Promise.all(
      ids.map((id) => GrpcTransport.listen({ id, listen: "127.0.0.1:0", mode: options.mode })),
    );
    const members = new Map<NodeId, Member>();
    for (const transport of transports) {
      const dataDir = join(root, `node-${transport.id}`);
      members.set(transport.id, {
        id: transport.id,
        dataDir,
        address: transport.address,
        node: undefined,
        stateMachine: new TextLog(),
      });
    }
    const cluster = new RaftTestCluster(root, members, options);
    await Promise.all(transports.map((transport) => cluster.startNode(transport)));
    return cluster;
  }

  get ids(): NodeId[] {
    return [...this.members.keys()];
  }

  node(id: NodeId): RaftNode {
    const node = this.members.get(id)?.node;
    if (!node) throw new Error(`node ${id} is not running`);
    return node;
  }

  stateMachine(id: NodeId): TextLog {
    return this.members.get(id)!.stateMachine;
  }

  running(): RaftNode[] {
    return [...this.members.values()].flatMap((member) => (member.node ? [member.node] : []));
  }

  /** The one leader every running node agrees on, waiting up to `timeoutMs` for it. */
  async leader(timeoutMs = 10_000): Promise<RaftNode> {
    let leader: RaftNode | undefined;
    await waitFor(() => {
      const nodes = this.running();
      const leaders = nodes.filter((node) => node.status().role === "leader");
      const agreed = leaders.length === 1 && nodes.every((node) => node.status().leader === leaders[0].id);
      leader = agreed ? leaders[0] : undefined;
      return leader !== undefined;
    }, timeoutMs);
    return leader!;
  }

  followers(): RaftNode[] {
    return this.running().filter((node) => node.status().role !== "leader");
  }

  /** Closes node `id` without handing over leadership, as if it had died. */
  async kill(id: NodeId): Promise<void> {
    const member = this.members.get(id)!;
    await member.node?.close({ transferLeadership: false });
    member.node = undefined;
  }

  /** Starts node `id` again on its old address from its data dir, with an empty state machine. */
  async restart(id: NodeId): Promise<RaftNode> {
    const member = this.members.get(id)!;
    const transport = await GrpcTransport.listen({ id, listen: member.address, mode: this.options.mode });
    return this.startNode(transport);
  }

  async close(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.kill(id)));
    await rm(this.root, { recursive: true, force: true });
  }

  private async startNode(transport: GrpcTransport): Promise<RaftNode> {
    const member = this.members.get(transport.id)!;
    transport.setPeers(new Map([...this.members.values()].map((m) => [m.id, m.address])));
    member.stateMachine = new TextLog();
    member.node = await RaftNode.start({
      id: member.id,
      dataDir: member.dataDir,
      voters: this.ids,
      stateMachine: member.stateMachine,
      transport,
      tickMs: this.options.tickMs ?? 20,
      snapshotEntries: this.options.snapshotEntries,
      ticker: this.options.ticker,
      disk: this.options.disk?.(member.id),
      onFatal: (error) => this.options.onFatal?.(member.id, error),
    });
    return member.node;
  }
}

/** Polls `condition` every 5 ms; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
