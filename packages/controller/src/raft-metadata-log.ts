// The metadata log of the controller quorum: the MetadataLog interface on a
// Raft-replicated log. One Raft entry carries one append()'s records (an
// atomic batch), and metadata offsets are numbered record by record as the
// entries are applied, so every controller gives the same record the same
// offset whatever Raft put in between (a new leader's no-op, membership
// changes) and however its log was compacted.

import { decodeMetadataRecord, encodeMetadataRecord, type MetadataRecord } from "@brook/metadata";
import { assert, BrookError } from "@brook/protocol";
import {
  type Entry,
  GrpcTransport,
  type GrpcTransportOptions,
  NONE,
  type NodeId,
  RaftNode,
  type Role,
  type StateMachine,
} from "@brook/raft";
import {
  type CommitListener,
  type ControllerQuorumMember,
  type MetadataLog,
  notifyCommit,
} from "./metadata-log.js";

/**
 * open() waits for the entries this node already knew were committed to be
 * applied, checking once a tick, at most this many times: a restarted node
 * then reads what it read before, even while no leader is reachable.
 */
const openReplayTicksMax = 300;

export interface RaftMetadataLogOptions {
  readonly nodeId: NodeId;
  /** This node's Raft log, hard state and snapshots (a `level` database). */
  readonly dataDir: string;
  /**
   * Every voter of the quorum, this node included: node id → its Raft
   * address ("host:port"). Only read when the data dir is new; after that the
   * stored membership counts (the addresses are always used).
   */
  readonly voters: ReadonlyMap<NodeId, string>;
  /** Where this node's Raft transport listens; by default its own address in `voters`. */
  readonly listen?: string;
  readonly tickMs?: number;
  /** Snapshot (and compact the Raft log) after this many entries; see RaftNode. */
  readonly snapshotEntries?: number;
  /** Other gRPC services to serve on the Raft transport's port (e.g. the Controller service). */
  readonly extraServices?: GrpcTransportOptions["extraServices"];
}

/** One controller's view of the quorum, for `brook cluster status`. */
export interface MetadataQuorumStatus {
  readonly nodeId: NodeId;
  readonly role: Role;
  /** Undefined while no leader is known. */
  readonly leaderId: NodeId | undefined;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly snapshotIndex: number;
  /** Offset of the last metadata record applied here; -1 when none. */
  readonly committedOffset: number;
}

export class RaftMetadataLog implements MetadataLog {
  private constructor(
    private readonly node: RaftNode,
    private readonly records: MetadataRecords,
    /** The address this node's Raft transport is bound to (with the real port when asked for port 0). */
    readonly address: string,
  ) {}

  /**
   * Starts this node's member of the quorum and resolves once it has applied
   * every entry it had stored as committed (it learns of newer ones from the
   * leader afterwards, through onCommit).
   */
  static async open(options: RaftMetadataLogOptions): Promise<RaftMetadataLog> {
    const listen = options.listen ?? options.voters.get(options.nodeId);
    if (listen === undefined) {
      throw new BrookError("INVALID_CONFIG", `node ${options.nodeId} is not among the controller voters`);
    }
    const transport = await GrpcTransport.listen({
      id: options.nodeId,
      listen,
      peers: options.voters,
      extraServices: options.extraServices,
    });
    const records = new MetadataRecords();
    let node: RaftNode;
    try {
      node = await RaftNode.start({
        id: options.nodeId,
        dataDir: options.dataDir,
        voters: [...options.voters.keys()],
        stateMachine: records,
        transport,
        tickMs: options.tickMs,
        snapshotEntries: options.snapshotEntries,
      });
    } catch (error) {
      await transport.close();
      throw error;
    }
    const log = new RaftMetadataLog(node, records, transport.address);
    try {
      await log.replayStoredCommits(options.tickMs ?? 100);
    } catch (error) {
      await node.close({ transferLeadership: false });
      throw error;
    }
    return log;
  }

  get committedOffset(): number {
    return this.records.nextOffset - 1;
  }

  /**
   * Proposes the records as one entry and resolves with the offset of the
   * first once this node has applied it. On a follower it fails at once with
   * NOT_CONTROLLER (a NotControllerError whose `leaderId` says where to go).
   */
  append(records: readonly MetadataRecord[]): Promise<number> {
    return this.records.firstOffsetOf(this.node.propose(encodeEntry(records)));
  }

  async read(fromOffset: number, maxRecords: number): Promise<MetadataRecord[]> {
    return this.records.read(fromOffset, maxRecords);
  }

  onCommit(listener: CommitListener): () => void {
    this.records.listeners.add(listener);
    return () => this.records.listeners.delete(listener);
  }

  /**
   * Resolves once this node has applied every record committed when it was
   * called (a linearizable read barrier; works on followers too).
   */
  sync(): Promise<void> {
    return this.node.read();
  }

  /** Whether this node is the Raft leader, the only one whose append() can succeed. */
  isActive(): boolean {
    return this.node.status().role === "leader";
  }

  /** The leader this node knows of; undefined while there is none. */
  activeControllerId(): NodeId | undefined {
    const leader = this.node.status().leader;
    return leader === NONE ? undefined : leader;
  }

  term(): number {
    return this.node.status().term;
  }

  /**
   * Every voter, by id. Only this node's own term and commit index are
   * known here: the leader's per-follower progress is not exposed by RaftNode yet.
   */
  quorumStatus(): ControllerQuorumMember[] {
    const status = this.node.status();
    return [...status.membership.voters]
      .sort((a, b) => a - b)
      .map((id) =>
        id === status.id
          ? { id, leader: status.role === "leader", term: status.term, commitIndex: status.commit }
          : { id, leader: id === status.leader },
      );
  }

  status(): MetadataQuorumStatus {
    const status = this.node.status();
    return {
      nodeId: status.id,
      role: status.role,
      leaderId: status.leader === NONE ? undefined : status.leader,
      term: status.term,
      commitIndex: status.commit,
      appliedIndex: status.applied,
      snapshotIndex: status.snapshotIndex,
      committedOffset: this.committedOffset,
    };
  }

  /**
   * Stops this member. A leader first hands leadership to the most
   * up-to-date voter, so the quorum need not wait out an election timeout;
   * `transferLeadership: false` stops it as if it had died.
   */
  async close(options: { transferLeadership?: boolean } = {}): Promise<void> {
    await this.node.close(options);
    this.records.listeners.clear();
  }

  private async replayStoredCommits(tickMs: number): Promise<void> {
    const storedCommit = this.node.status().commit;
    for (let tick = 0; this.node.status().applied < storedCommit; tick++) {
      if (tick === openReplayTicksMax) {
        throw new BrookError(
          "REQUEST_TIMED_OUT",
          `node ${this.node.id} did not replay its stored metadata log within ${openReplayTicksMax} ticks`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
  }
}

/**
 * The state machine: every record applied so far, in offset order (a
 * record's offset is its position). Kept whole in memory because cluster
 * metadata is small (brokers, topics, partitions) and read() serves it to
 * every follower; the Raft snapshot is the same list plus the next offset,
 * so the Raft log behind it can be compacted. Once snapshots hold the
 * metadata image instead, read() will start at the snapshot's offset.
 */
class MetadataRecords implements StateMachine {
  readonly listeners = new Set<CommitListener>();
  private records: MetadataRecord[] = [];
  /**
   * Raft index → offset of its first record, kept only while an append()
   * waits (propose() tells it the index, not the offset), so the map stays
   * as small as the entries applied during one proposal's round trip.
   */
  private readonly firstOffsets = new Map<number, number>();
  private appendsWaiting = 0;

  get nextOffset(): number {
    return this.records.length;
  }

  apply(entries: readonly Entry[]): void {
    for (const entry of entries) {
      const batch = decodeEntry(entry.data);
      const firstOffset = this.records.length;
      for (const record of batch) this.records.push(record);
      if (this.appendsWaiting > 0) this.firstOffsets.set(entry.index, firstOffset);
      notifyCommit(this.listeners, batch, firstOffset);
    }
  }

  snapshot(): Uint8Array {
    return encodeSnapshot(this.records);
  }

  /**
   * Replaces the records with a snapshot's: at start-up, or when the leader
   * sends one because this node fell behind its compacted log. Committed
   * records never change, so the snapshot extends what was applied here;
   * listeners hear of the records that are new to this node.
   */
  restore(data: Uint8Array): void {
    const records = decodeSnapshot(data);
    const known = this.records.length;
    assert(records.length >= known, "a snapshot never takes back applied records");
    this.records = records;
    this.firstOffsets.clear();
    notifyCommit(this.listeners, records.slice(known), known);
  }

  read(fromOffset: number, maxRecords: number): MetadataRecord[] {
    const from = Math.max(0, fromOffset);
    return this.records.slice(from, from + Math.max(0, maxRecords));
  }

  /**
   * The offset of the first record of a proposal's entry, once it is applied.
   * Entries are applied, and so proposals resolved, in index order: what is
   * kept at or below the index is no longer needed.
   */
  async firstOffsetOf(proposal: Promise<number>): Promise<number> {
    this.appendsWaiting++;
    try {
      const index = await proposal;
      const firstOffset = this.firstOffsets.get(index);
      assert(firstOffset !== undefined, `entry ${index} was applied while no append() was waiting`);
      for (const kept of this.firstOffsets.keys()) {
        if (kept > index) break;
        this.firstOffsets.delete(kept);
      }
      return firstOffset;
    } finally {
      if (--this.appendsWaiting === 0) this.firstOffsets.clear();
    }
  }
}

// ---- encoding ------------------------------------------------------------------
//
// An entry is [format u8][record list]; a snapshot is [format u8][next offset
// u64][record list]; a record list is [count u32] then per record [length
// u32][encodeMetadataRecord bytes]. Each record keeps its own versioned JSON,
// the same bytes the test-only LevelMetadataLog stores; the leading format byte lets a later
// layout (e.g. a snapshot holding the image) be told apart.

const entryFormat = 1;
const snapshotFormat = 1;
const u32Bytes = 4;

function encodeEntry(records: readonly MetadataRecord[]): Uint8Array {
  return Buffer.concat([Buffer.of(entryFormat), ...encodeRecordList(records)]);
}

function encodeSnapshot(records: readonly MetadataRecord[]): Uint8Array {
  const header = Buffer.alloc(1 + 8);
  header.writeUInt8(snapshotFormat, 0);
  header.writeBigUInt64BE(BigInt(records.length), 1);
  return Buffer.concat([header, ...encodeRecordList(records)]);
}

function encodeRecordList(records: readonly MetadataRecord[]): Buffer[] {
  const parts = [u32(records.length)];
  for (const record of records) {
    const bytes = encodeMetadataRecord(record);
    parts.push(u32(bytes.length), bytes);
  }
  return parts;
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(u32Bytes);
  bytes.writeUInt32BE(value, 0);
  return bytes;
}

function decodeEntry(data: Uint8Array): MetadataRecord[] {
  const reader = new ByteReader(data, "metadata entry");
  reader.expectFormat(entryFormat);
  const records = reader.recordList();
  reader.expectEnd();
  return records;
}

function decodeSnapshot(data: Uint8Array): MetadataRecord[] {
  const reader = new ByteReader(data, "metadata snapshot");
  reader.expectFormat(snapshotFormat);
  const nextOffset = reader.u64();
  const records = reader.recordList();
  reader.expectEnd();
  if (records.length !== nextOffset) reader.fail(`${records.length} records but next offset ${nextOffset}`);
  return records;
}

/** Reads what this module wrote, checking every length against the bytes present first. */
class ByteReader {
  private readonly bytes: Buffer;
  private at = 0;

  constructor(
    data: Uint8Array,
    private readonly what: string,
  ) {
    this.bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }

  expectFormat(format: number): void {
    this.need(1);
    const found = this.bytes.readUInt8(this.at++);
    if (found !== format) this.fail(`format ${found}, this node reads ${format}; upgrade it`);
  }

  u64(): number {
    this.need(8);
    const value = this.bytes.readBigUInt64BE(this.at);
    this.at += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`offset ${value} beyond 2^53`);
    return Number(value);
  }

  recordList(): MetadataRecord[] {
    const count = this.u32();
    this.need(count * u32Bytes); // every record has at least its length: refuse a count the bytes cannot hold
    const records: MetadataRecord[] = [];
    for (let i = 0; i < count; i++) {
      const length = this.u32();
      this.need(length);
      records.push(decodeMetadataRecord(this.bytes.subarray(this.at, this.at + length)));
      this.at += length;
    }
    return records;
  }

  expectEnd(): void {
    if (this.at !== this.bytes.length) this.fail(`${this.bytes.length - this.at} bytes after the records`);
  }

  fail(detail: string): never {
    throw new BrookError("STORAGE_ERROR", `corrupt ${this.what}: ${detail}`);
  }

  private u32(): number {
    this.need(u32Bytes);
    const value = this.bytes.readUInt32BE(this.at);
    this.at += u32Bytes;
    return value;
  }

  private need(byteCount: number): void {
    if (this.bytes.length - this.at < byteCount) {
      this.fail(`needs ${byteCount} bytes at ${this.at}, has ${this.bytes.length - this.at}`);
    }
  }
}
