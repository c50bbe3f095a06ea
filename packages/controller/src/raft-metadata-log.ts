// The metadata log of the controller quorum: the MetadataLog interface on a
// Raft-replicated log. One Raft entry carries one append()'s records (an
// atomic batch), and metadata offsets are numbered record by record as the
// entries are applied, so every controller gives the same record the same
// offset whatever Raft put in between (a new leader's no-op, membership
// changes) and however its log was compacted.

import {
  applyRecords,
  decodeMetadataRecord,
  encodeMetadataRecord,
  imageFromSnapshot,
  imageToRecords,
  MetadataImage,
  type MetadataRecord,
} from "@brook/metadata";
import { assert, BrookError, type DescribeQuorumResponse__Output } from "@brook/protocol";
import {
  type Entry,
  GrpcTransport,
  type GrpcTransportOptions,
  NONE,
  type NodeId,
  RaftNode,
  type RaftNodeOptions,
  type Role,
  type StateMachine,
  tickMsDefault,
} from "@brook/raft";
import { type ControllerLogger, silentControllerLogger } from "./change-log.js";
import { NotActiveControllerError } from "./errors.js";
import {
  type CommitListener,
  type ControllerQuorumMember,
  type MetadataLog,
  notifyCommit,
  notifySnapshot,
  type SnapshotListener,
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
  /**
   * How long a voter waits without hearing from the active controller before it campaigns (randomized
   * between this and twice this); rounded to whole ticks, at least two. Default: defaultElectionTimeoutMs.
   */
  readonly electionTimeoutMs?: number;
  /** Snapshot (and compact the Raft log) after this many entries; see RaftNode. */
  readonly snapshotEntries?: number;
  /** Other gRPC services to serve on the Raft transport's port (e.g. the Controller service). */
  readonly extraServices?: GrpcTransportOptions["extraServices"];
  /** TLS, node identity and who may send Raft messages (GrpcTransportOptions). */
  readonly serverCredentials?: GrpcTransportOptions["serverCredentials"];
  readonly peerSecurity?: GrpcTransportOptions["peerSecurity"];
  readonly callerNode?: GrpcTransportOptions["callerNode"];
  /** Where this member logs its Raft role and leader changes (elections). */
  readonly logger?: ControllerLogger;
  /** The member failed for good (its disk, most likely) and has stopped: see RaftNodeOptions.onFatal. */
  readonly onFatal?: RaftNodeOptions["onFatal"];
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

/**
 * The controller quorum's election timeout: a voter campaigns after this long (up to twice it) without
 * word from the active controller. Kafka's controller.quorum.election.timeout.ms is 1 s; Brook's is
 * shorter because a broker that dies with the active controller stays leaderless for the election plus a
 * first broker session (decision 66), and failover is held under 3 s. Check-quorum and pre-vote keep a
 * slow voter from deposing a live controller.
 */
export const defaultElectionTimeoutMs = 600;

function electionTicksFor(electionTimeoutMs: number | undefined, tickMs: number | undefined): number {
  return Math.max(2, Math.round((electionTimeoutMs ?? defaultElectionTimeoutMs) / (tickMs ?? tickMsDefault)));
}

/**
 * Logs this member's Raft role and known leader whenever either changes:
 * elections, and the leader they settle on. RaftNode calls it only on a
 * change, so it is quiet while the quorum is stable.
 */
function quorumStateLogger(logger: ControllerLogger) {
  return ({ role, leader, term }: { role: Role; leader: NodeId; term: number }): void => {
    const leaderId = leader === NONE ? undefined : leader;
    const message =
      role === "leader"
        ? "won the controller election: this node leads the controller quorum"
        : role === "candidate" || role === "pre-candidate"
          ? "controller election: campaigning"
          : leaderId === undefined
            ? "controller quorum: no leader known"
            : "controller quorum: following the leader";
    logger.info({ term, raftRole: role, leaderId }, message);
  };
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
      serverCredentials: options.serverCredentials,
      peerSecurity: options.peerSecurity,
      callerNode: options.callerNode,
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
        electionTicks: electionTicksFor(options.electionTimeoutMs, options.tickMs),
        snapshotEntries: options.snapshotEntries,
        onStateChange: quorumStateLogger(options.logger ?? silentControllerLogger),
        onFatal: options.onFatal,
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

  /**
   * Records from the latest snapshot's offset on; below it, OFFSET_OUT_OF_RANGE
   * (start from snapshotImage() instead).
   */
  async read(fromOffset: number, maxRecords: number): Promise<MetadataRecord[]> {
    return this.records.read(fromOffset, maxRecords);
  }

  snapshotImage(): MetadataImage | undefined {
    return this.records.snapshotImage();
  }

  image(): MetadataImage {
    return this.records.appliedImage;
  }

  onCommit(listener: CommitListener, onSnapshot?: SnapshotListener): () => void {
    this.records.listeners.add(listener);
    if (onSnapshot) this.records.snapshotListeners.add(onSnapshot);
    return () => {
      this.records.listeners.delete(listener);
      if (onSnapshot) this.records.snapshotListeners.delete(onSnapshot);
    };
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
   * Every voter, by id. This node adds its own term and commit index; the
   * leader adds every voter's match index, lag and last contact (a follower
   * knows none of them).
   */
  quorumStatus(): ControllerQuorumMember[] {
    const status = this.node.status();
    return [...status.membership.voters]
      .sort((a, b) => a - b)
      .map((id) => {
        const progress = status.progress.get(id);
        const replication = progress && {
          matchIndex: progress.match,
          lag: progress.lag,
          lastContactMs: progress.lastContactMs,
        };
        const own = id === status.id && { term: status.term, commitIndex: status.commit };
        return { id, leader: id === status.leader, ...own, ...replication };
      });
  }

  /**
   * The quorum as the leader sees it: every voter's match index, lag and
   * last contact, for DescribeQuorum. Only the leader tracks them: on a
   * follower it fails with NOT_CONTROLLER naming the leader it knows.
   */
  describeQuorum(): DescribeQuorumResponse__Output {
    const status = this.node.status();
    if (status.role !== "leader") throw new NotActiveControllerError(status.id, this.activeControllerId());
    const voters = [...status.membership.voters].sort((a, b) => a - b);
    return {
      leaderId: status.id,
      term: status.term,
      commitIndex: status.commit,
      committedOffset: this.committedOffset,
      voters: voters.map((id) => {
        const progress = status.progress.get(id);
        assert(progress !== undefined, `the leader tracks the progress of every voter, ${id} too`);
        const { match: matchIndex, lag, lastContactMs } = progress;
        return { id, leader: id === status.id, matchIndex, lag, lastContactMs };
      }),
    };
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
    this.records.snapshotListeners.clear();
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
 * The state machine: the metadata image as of the latest snapshot (`base`)
 * and the records applied since (`tail`), which read() serves. The Raft
 * snapshot is the image written as records (imageToRecords), as in Kafka's
 * KRaft, so it grows with the cluster, not with its history; taking one
 * drops the tail it covers, and restoring one replaces everything.
 * Exported for its own tests; index.ts leaves it out.
 */
export class MetadataRecords implements StateMachine {
  readonly listeners = new Set<CommitListener>();

  /** An entry every member can decode: anything else is refused when proposed, never committed. */
  isValidEntry(data: Uint8Array): boolean {
    try {
      decodeEntry(data);
      return true;
    } catch {
      return false;
    }
  }

  readonly snapshotListeners = new Set<SnapshotListener>();
  /** The image at the latest snapshot taken or restored; the records up to its offset are only in it. */
  private base: MetadataImage = MetadataImage.empty;
  /** Every record applied after `base`, the first at offset base.offset + 1. */
  private tail: MetadataRecord[] = [];
  /** `base` with `tail` applied: the state snapshot() writes (images share what did not change). */
  private image: MetadataImage = MetadataImage.empty;
  /**
   * Raft index → offset of its first record, kept only while an append()
   * waits (propose() tells it the index, not the offset), so the map stays
   * as small as the entries applied during one proposal's round trip.
   */
  private readonly firstOffsets = new Map<number, number>();
  private appendsWaiting = 0;

  get nextOffset(): number {
    return this.image.offset + 1;
  }

  /** Every applied record's image: the node's one metadata image (the Controller publishes it as is). */
  get appliedImage(): MetadataImage {
    return this.image;
  }

  apply(entries: readonly Entry[]): void {
    for (const entry of entries) {
      const batch = decodeEntry(entry.data);
      const firstOffset = this.nextOffset;
      this.image = applyRecords(this.image, batch, firstOffset);
      for (const record of batch) this.tail.push(record);
      if (this.appendsWaiting > 0) this.firstOffsets.set(entry.index, firstOffset);
      notifyCommit(this.listeners, batch, firstOffset);
    }
  }

  /**
   * The applied state, which becomes the base: RaftNode compacts its log up
   * to here, so the tail it covers is dropped (read() below it now fails).
   */
  snapshot(): Uint8Array {
    this.base = this.image;
    this.tail = [];
    return encodeSnapshot(this.image);
  }

  /**
   * Replaces the state with a snapshot's: at start-up, or when the leader
   * sends one because this node fell behind its compacted log. Committed
   * records never change, so the snapshot extends what was applied here;
   * when it goes further, snapshot listeners get its image.
   */
  restore(data: Uint8Array): void {
    const { base, tail } = decodeSnapshot(data);
    const image = applyRecords(base, tail, base.offset + 1);
    assert(image.offset >= this.image.offset, "a snapshot never takes back applied records");
    const advanced = image.offset > this.image.offset;
    this.base = base;
    this.tail = tail;
    this.image = image;
    this.firstOffsets.clear();
    if (advanced) notifySnapshot(this.snapshotListeners, image);
  }

  /** The latest snapshot's image; undefined while the tail goes back to offset 0. */
  snapshotImage(): MetadataImage | undefined {
    return this.base.offset < 0 ? undefined : this.base;
  }

  read(fromOffset: number, maxRecords: number): MetadataRecord[] {
    const tailOffset = this.base.offset + 1;
    const from = Math.max(0, fromOffset);
    if (from < tailOffset) {
      throw new BrookError(
        "OFFSET_OUT_OF_RANGE",
        `metadata before offset ${tailOffset} was compacted into a snapshot; fetch from the snapshot`,
      );
    }
    const start = from - tailOffset;
    return this.tail.slice(start, start + Math.max(0, maxRecords));
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
// An entry is [format u8 = 1][record list]; a snapshot is [format u8 = 2]
// [next offset u64][record list], the list being the image as of next offset
// - 1 written as records (imageToRecords); a record list is [count u32] then
// per record [length u32][encodeMetadataRecord bytes]. Each record keeps its
// own versioned JSON, the same bytes the test-only LevelMetadataLog stores.
// Format 1 snapshots, written before snapshots held the image, list every
// record from offset 0: they are still read (as history, which read() then
// serves) so old data dirs open.

const entryFormat = 1;
const historySnapshotFormat = 1;
const snapshotFormat = 2;
const u32Bytes = 4;

/** A decoded snapshot: an image and the records after it (only a format 1 snapshot has any). */
interface MetadataSnapshot {
  readonly base: MetadataImage;
  readonly tail: MetadataRecord[];
}

function encodeEntry(records: readonly MetadataRecord[]): Uint8Array {
  return Buffer.concat([Buffer.of(entryFormat), ...encodeRecordList(records)]);
}

function encodeSnapshot(image: MetadataImage): Uint8Array {
  const header = Buffer.alloc(1 + 8);
  header.writeUInt8(snapshotFormat, 0);
  header.writeBigUInt64BE(BigInt(image.offset + 1), 1);
  return Buffer.concat([header, ...encodeRecordList(imageToRecords(image))]);
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
  reader.format([entryFormat]);
  const records = reader.recordList();
  reader.expectEnd();
  return records;
}

function decodeSnapshot(data: Uint8Array): MetadataSnapshot {
  const reader = new ByteReader(data, "metadata snapshot");
  const format = reader.format([historySnapshotFormat, snapshotFormat]);
  const nextOffset = reader.u64();
  const records = reader.recordList();
  reader.expectEnd();
  if (format === snapshotFormat) return { base: imageFromSnapshot(records, nextOffset - 1), tail: [] };
  if (records.length !== nextOffset) reader.fail(`${records.length} records but next offset ${nextOffset}`);
  return { base: MetadataImage.empty, tail: records };
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

  /** The format byte, one of `known`. */
  format(known: readonly number[]): number {
    this.need(1);
    const found = this.bytes.readUInt8(this.at++);
    if (known.includes(found)) return found;
    return this.fail(`format ${found}, this node reads ${known.join(" or ")}; upgrade it`);
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
