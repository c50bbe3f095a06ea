// The one place where Raft messages cross between the core's types and the
// wire form of proto/raft.proto: field mapping, validation of what a peer
// sent, and the chunking of snapshots too large for one gRPC message.

import {
  BrookError,
  type RaftEntry__Output,
  type RaftMessage__Output,
  type RaftStepBatch,
} from "@brook/protocol";
import type {
  Entry,
  EntryType,
  Membership,
  Message,
  MessageType,
  NodeId,
  Snapshot,
  SnapshotMetadata,
} from "../types.js";

// ---- wire shapes -------------------------------------------------------------
// What @grpc/proto-loader hands out for proto/raft.proto with @brook/protocol's
// loader options (longs as numbers, enums as strings, defaults filled in).
// Spelled out rather than taken from the generated types because those type
// bytes as Buffer, and the core's entries are plain Uint8Arrays: converting
// every entry both ways would cost work on the hot path for nothing. The
// check after these types keeps them from drifting from the proto.

type WireMessageType = RaftMessage__Output["type"];
type WireEntryType = RaftEntry__Output["type"];

export interface WireEntry {
  term: number;
  index: number;
  type: WireEntryType;
  data: Uint8Array;
}

interface WireMembership {
  voters: number[];
  learners: number[];
}

interface WireSnapshotMetadata {
  index: number;
  term: number;
  membership: WireMembership | null;
}

export interface WireSnapshotChunk {
  metadata: WireSnapshotMetadata | null;
  totalBytes: number;
  offset: number;
  data: Uint8Array;
  last: boolean;
}

export interface WireMessage {
  type: WireMessageType;
  from: number;
  to: number;
  term: number;
  logTerm: number;
  index: number;
  entries: WireEntry[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  rejectHintTerm?: number;
  snapshot: WireSnapshotChunk | null;
  context?: Uint8Array;
}

export interface WireStepBatch {
  messages: WireMessage[];
}

/** Compile-time only: what we send must be a valid StepBatch of the generated contract. */
export const sendableAsGenerated = (batch: WireStepBatch): RaftStepBatch => batch;

// ---- limits ------------------------------------------------------------------

/**
 * A snapshot travels in chunks of this size: small enough to stay far below
 * grpcMessageBytesMax and to interleave with heartbeats on the same stream,
 * large enough that per-message cost is noise (PERFORMANCE.md: ~1 MiB messages
 * stream at 300 MB/s).
 */
export const snapshotChunkBytes = 1024 * 1024;

/**
 * The largest snapshot a node accepts from a peer. The metadata image of a
 * large cluster is tens of MiB; a peer announcing more is refused before any
 * buffer is allocated for it.
 */
export const snapshotBytesMax = 1024 * 1024 * 1024;

// ---- type tables -------------------------------------------------------------

const wireMessageTypes: Readonly<Record<MessageType, WireMessageType>> = {
  app: "MESSAGE_TYPE_APP",
  "app-resp": "MESSAGE_TYPE_APP_RESP",
  vote: "MESSAGE_TYPE_VOTE",
  "vote-resp": "MESSAGE_TYPE_VOTE_RESP",
  "pre-vote": "MESSAGE_TYPE_PRE_VOTE",
  "pre-vote-resp": "MESSAGE_TYPE_PRE_VOTE_RESP",
  heartbeat: "MESSAGE_TYPE_HEARTBEAT",
  "heartbeat-resp": "MESSAGE_TYPE_HEARTBEAT_RESP",
  snap: "MESSAGE_TYPE_SNAP",
  "timeout-now": "MESSAGE_TYPE_TIMEOUT_NOW",
  prop: "MESSAGE_TYPE_PROP",
  "read-index": "MESSAGE_TYPE_READ_INDEX",
  "read-index-resp": "MESSAGE_TYPE_READ_INDEX_RESP",
};
const messageTypes = new Map<string, MessageType>(
  Object.entries(wireMessageTypes).map(([core, wire]) => [wire, core as MessageType]),
);

const wireEntryTypes: Readonly<Record<EntryType, WireEntryType>> = {
  normal: "ENTRY_TYPE_NORMAL",
  "conf-change": "ENTRY_TYPE_CONF_CHANGE",
};
const entryTypes = new Map<string, EntryType>(
  Object.entries(wireEntryTypes).map(([core, wire]) => [wire, core as EntryType]),
);

// ---- core → wire -------------------------------------------------------------

/** The wire messages for `message`: one, or one per chunk when it carries a large snapshot. */
export function toWireMessages(message: Message, chunkBytes = snapshotChunkBytes): WireMessage[] {
  const base: WireMessage = {
    type: wireMessageTypes[message.type],
    from: message.from,
    to: message.to,
    term: message.term,
    logTerm: message.logTerm,
    index: message.index,
    entries: message.entries.map(toWireEntry),
    commit: message.commit,
    reject: message.reject,
    rejectHint: message.rejectHint,
    snapshot: null,
  };
  if (message.rejectHintTerm !== undefined) base.rejectHintTerm = message.rejectHintTerm;
  if (message.context !== undefined) base.context = message.context;
  if (message.snapshot === undefined) return [base];
  return snapshotChunks(message.snapshot, chunkBytes).map((snapshot) => ({ ...base, snapshot }));
}

function snapshotChunks(snapshot: Snapshot, chunkBytes: number): WireSnapshotChunk[] {
  const metadata = toWireSnapshotMetadata(snapshot.metadata);
  const totalBytes = snapshot.data.length;
  const chunks: WireSnapshotChunk[] = [];
  for (let offset = 0; offset === 0 || offset < totalBytes; offset += chunkBytes) {
    const data = snapshot.data.subarray(offset, offset + chunkBytes);
    chunks.push({ metadata, totalBytes, offset, data, last: offset + chunkBytes >= totalBytes });
  }
  return chunks;
}

function toWireEntry(entry: Entry): WireEntry {
  return { term: entry.term, index: entry.index, type: wireEntryTypes[entry.type], data: entry.data };
}

function toWireSnapshotMetadata(metadata: SnapshotMetadata): WireSnapshotMetadata {
  const { voters, learners } = metadata.membership;
  return {
    index: metadata.index,
    term: metadata.term,
    membership: { voters: [...voters], learners: [...learners] },
  };
}

/** Rough size of a wire message, for the transport's byte limits (not exact protobuf size). */
export function wireMessageBytes(message: WireMessage): number {
  let bytes = 64 + (message.snapshot?.data.length ?? 0) + (message.context?.length ?? 0);
  for (const entry of message.entries) bytes += 24 + entry.data.length;
  return bytes;
}

// ---- wire → core -------------------------------------------------------------

interface PartialSnapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
  received: number;
}

/**
 * Turns wire batches back into core messages. Holds the snapshots being
 * assembled, one per sender: chunks arrive in order on one stream (or one
 * unary call at a time), so a gap means a chunk was dropped and the partial
 * snapshot is abandoned; the leader sends a new one.
 */
export class MessageDecoder {
  private readonly partialSnapshots = new Map<NodeId, PartialSnapshot>();

  constructor(private readonly snapshotBytesLimit = snapshotBytesMax) {}

  /** Core messages in `batch` (a chunk that does not complete a snapshot yields nothing). Throws INVALID_REQUEST. */
  decode(batch: WireStepBatch): Message[] {
    const messages: Message[] = [];
    for (const wire of batch.messages) {
      const message = this.decodeMessage(wire);
      if (message) messages.push(message);
    }
    return messages;
  }

  private decodeMessage(wire: WireMessage): Message | undefined {
    const type = messageTypes.get(wire.type);
    if (type === undefined) throw invalid(`unknown message type ${wire.type}`);
    for (const field of ["from", "to", "term", "logTerm", "index", "commit", "rejectHint"] as const) {
      checkCount(wire[field], field);
    }
    const message: Message = {
      type,
      from: wire.from,
      to: wire.to,
      term: wire.term,
      logTerm: wire.logTerm,
      index: wire.index,
      entries: wire.entries.map(fromWireEntry),
      commit: wire.commit,
      reject: wire.reject,
      rejectHint: wire.rejectHint,
      ...(wire.rejectHintTerm !== undefined && {
        rejectHintTerm: checkCount(wire.rejectHintTerm, "rejectHintTerm"),
      }),
      ...(wire.context !== undefined && { context: wire.context }),
    };
    if (wire.snapshot === null) return message;
    const snapshot = this.assembleSnapshot(wire.from, wire.snapshot);
    return snapshot && { ...message, snapshot };
  }

  private assembleSnapshot(from: NodeId, chunk: WireSnapshotChunk): Snapshot | undefined {
    checkCount(chunk.offset, "snapshot offset");
    if (chunk.offset === 0) this.startSnapshot(from, chunk);
    const partial = this.partialSnapshots.get(from);
    if (partial === undefined || chunk.offset !== partial.received) {
      this.partialSnapshots.delete(from);
      return undefined; // a chunk went missing; the leader will send the snapshot again
    }
    if (chunk.offset + chunk.data.length > partial.data.length) {
      this.partialSnapshots.delete(from);
      throw invalid(`snapshot chunk overruns its announced ${partial.data.length} bytes`);
    }
    partial.data.set(chunk.data, chunk.offset);
    partial.received += chunk.data.length;
    if (!chunk.last) return undefined;
    this.partialSnapshots.delete(from);
    if (partial.received !== partial.data.length) throw invalid("snapshot ended before its announced size");
    return { metadata: partial.metadata, data: partial.data };
  }

  private startSnapshot(from: NodeId, chunk: WireSnapshotChunk): void {
    checkCount(chunk.totalBytes, "snapshot totalBytes");
    if (chunk.totalBytes > this.snapshotBytesLimit) {
      throw new BrookError(
        "REQUEST_TOO_LARGE",
        `snapshot of ${chunk.totalBytes} bytes exceeds snapshotBytesMax ${this.snapshotBytesLimit}`,
      );
    }
    if (chunk.metadata === null) throw invalid("snapshot chunk without metadata");
    this.partialSnapshots.set(from, {
      metadata: fromWireSnapshotMetadata(chunk.metadata),
      data: new Uint8Array(chunk.totalBytes),
      received: 0,
    });
  }
}

function fromWireEntry(wire: WireEntry): Entry {
  const type = entryTypes.get(wire.type);
  if (type === undefined) throw invalid(`unknown entry type ${wire.type}`);
  return {
    term: checkCount(wire.term, "entry term"),
    index: checkCount(wire.index, "entry index"),
    type,
    data: wire.data,
  };
}

function fromWireSnapshotMetadata(wire: WireSnapshotMetadata): SnapshotMetadata {
  checkCount(wire.index, "snapshot index");
  checkCount(wire.term, "snapshot term");
  const membership: Membership = {
    voters: (wire.membership?.voters ?? []).map((id) => checkCount(id, "voter")),
    learners: (wire.membership?.learners ?? []).map((id) => checkCount(id, "learner")),
  };
  return { index: wire.index, term: wire.term, membership };
}

/** Terms, indexes and ids are non-negative integers a JS number holds exactly. */
function checkCount(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw invalid(`${field} ${value} is not a non-negative integer`);
  return value;
}

function invalid(detail: string): BrookError {
  return new BrookError("INVALID_REQUEST", `raft message: ${detail}`);
}
