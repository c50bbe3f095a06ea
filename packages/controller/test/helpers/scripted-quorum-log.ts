// A quorum's metadata log as one controller sees it, scripted by the test:
// whether this node is active, in which term, which committed batches have
// reached it, and what happens to an append. Lets the controller's
// active-controller rules be checked one step at a time, without timing.

import type { MetadataRecord } from "@brook/metadata";
import { BrookError } from "@brook/protocol";
import type { CommitListener, MetadataLog } from "../../src/index.js";

export class ScriptedQuorumLog implements MetadataLog {
  private readonly records: MetadataRecord[] = [];
  private readonly listeners = new Set<CommitListener>();
  /** Batches the quorum committed that this node has not applied yet; sync() applies them. */
  readonly committedElsewhere: MetadataRecord[][] = [];
  syncCalls = 0;
  /** Runs inside append(), before the records commit; throw to fail the append. */
  beforeAppend: () => void = () => undefined;
  /** Runs inside read(), after the records to return are taken. */
  duringRead: (fromOffset: number) => void = () => undefined;

  constructor(
    private readonly nodeId: number,
    private active = false,
    private activeId: number | undefined = undefined,
    private currentTerm = 1,
  ) {}

  get committedOffset(): number {
    return this.records.length - 1;
  }

  async append(records: readonly MetadataRecord[]): Promise<number> {
    if (!this.active) throw new BrookError("NOT_CONTROLLER", `node ${this.nodeId} is not the leader`);
    this.beforeAppend();
    return this.commit(records);
  }

  async read(fromOffset: number, maxRecords: number): Promise<MetadataRecord[]> {
    const records = this.records.slice(fromOffset, fromOffset + maxRecords);
    this.duringRead(fromOffset);
    return records;
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {}

  isActive(): boolean {
    return this.active;
  }

  activeControllerId(): number | undefined {
    return this.activeId;
  }

  term(): number {
    return this.currentTerm;
  }

  /** Runs inside sync(), before it applies anything; throw to fail it (a read index that timed out). */
  beforeSync: () => void = () => undefined;

  async sync(): Promise<void> {
    this.syncCalls++;
    this.beforeSync();
    for (const batch of this.committedElsewhere.splice(0)) this.commit(batch);
  }

  /** A batch committed by the quorum reaches this node; returns its first offset. */
  commit(records: readonly MetadataRecord[]): number {
    const firstOffset = this.records.length;
    this.records.push(...records);
    for (const listener of this.listeners) listener(records, firstOffset);
    return firstOffset;
  }

  /** A new term in which `leaderId` leads (this node, or another). */
  elect(leaderId: number | undefined): void {
    this.currentTerm++;
    this.activeId = leaderId;
    this.active = leaderId === this.nodeId;
  }
}
