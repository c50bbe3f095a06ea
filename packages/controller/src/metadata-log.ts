// The metadata log: an ordered, durable sequence of metadata records. The
// controller writes it and everyone follows it. The controller quorum
// replicates it with Raft (RaftMetadataLog); the unit tests also use a plain
// `level` version (test/helpers/level-metadata-log.ts) of the same interface.

import type { MetadataImage, MetadataRecord } from "@brook/metadata";

/**
 * Told of every committed batch, in offset order, with the offset of its
 * first record: this node's own appends (before their append() resolves) as
 * well as, on a quorum, batches other controllers appended. Runs inside the
 * log's apply path, so it must be quick and must not throw.
 */
export type CommitListener = (records: readonly MetadataRecord[], firstOffset: number) => void;

/**
 * Told when a snapshot replaces the log's state (a quorum member that fell
 * behind the leader's compacted log): `image` holds every record up to its
 * offset, and the batches after it follow through the CommitListener, in
 * order. A listener replaces its image with this one; it must not apply it
 * on top. Runs inside the log's apply path, as a CommitListener does.
 */
export type SnapshotListener = (image: MetadataImage) => void;

export interface MetadataLog {
  /**
   * Appends records as one atomic unit and resolves once they are committed
   * (durable), with the offset of the first one.
   */
  append(records: readonly MetadataRecord[]): Promise<number>;
  /** Committed records from `fromOffset` on, at most `maxRecords`. */
  read(fromOffset: number, maxRecords: number): Promise<MetadataRecord[]>;
  /** Offset of the last committed record; -1 when the log is empty. */
  readonly committedOffset: number;
  /**
   * Calls `listener` for every batch committed from now on, and `onSnapshot`
   * (see SnapshotListener) whenever a snapshot replaces the log's state; a
   * log without snapshots never calls it. Returns the unsubscribe.
   */
  onCommit(listener: CommitListener, onSnapshot?: SnapshotListener): () => void;
  close(): Promise<void>;
  /**
   * A log that compacts its records into snapshots of the image (as
   * RaftMetadataLog does) gives its latest one here: read() serves only the
   * offsets after it (below, it fails with OFFSET_OUT_OF_RANGE), so a reader
   * starts from this image. A read() called in the same turn as this is
   * served from its offset + 1 on. Undefined, or left out, while every
   * record from offset 0 can be read.
   */
  snapshotImage?(): MetadataImage | undefined;
  /**
   * A log that applies its records to an image of its own (RaftMetadataLog's state machine does, to
   * write snapshots) gives that image here: every record committed so far, already applied when a
   * CommitListener or SnapshotListener is called. The Controller then publishes it as it is instead of
   * applying the same records to a second image, so a node holds one. Left out by a log that keeps only
   * records.
   */
  image?(): MetadataImage;

  // A log replicated over a quorum has one writer at a time, the active
  // controller, and says who it is. A single-node log leaves all of these
  // out: its node is always the active controller, in one everlasting term.

  /** Whether append() may succeed here now. */
  isActive?(): boolean;
  /** The active controller as this node knows it; undefined while none is known. */
  activeControllerId?(): number | undefined;
  /** Grows whenever the active controller may have changed (Raft's term). */
  term?(): number;
  /** Resolves once this node has applied every record committed when it was called. */
  sync?(): Promise<void>;
  /** Every member of the quorum as this node sees it, by id. */
  quorumStatus?(): ControllerQuorumMember[];
}

/** One controller of the quorum, for `brook cluster status`. */
export interface ControllerQuorumMember {
  readonly id: number;
  /** Whether it is the active controller (the Raft leader). */
  readonly leader: boolean;
  /** Known for this node only; undefined for the others. */
  readonly term?: number;
  /** The Raft commit index; known for this node only. */
  readonly commitIndex?: number;
  /** The last Raft index known to be on it; known on the active controller only. */
  readonly matchIndex?: number;
  /** Raft entries it is behind the active controller's log (0 for that one); known there only. */
  readonly lag?: number;
  /** Milliseconds since the active controller last heard from it (0 for that one); known there only. */
  readonly lastContactMs?: number;
}

/**
 * Calls each listener with a committed batch (an empty one tells them
 * nothing, so it is not passed on). A listener that throws is a
 * bug; it is rethrown on its own (an uncaught exception) rather than into the
 * log, whose records are committed either way.
 */
export function notifyCommit(
  listeners: ReadonlySet<CommitListener>,
  records: readonly MetadataRecord[],
  firstOffset: number,
): void {
  if (records.length === 0) return;
  notifyEach(listeners, (listener) => listener(records, firstOffset));
}

/** Calls each listener with a snapshot's image; a throw is handled as in notifyCommit. */
export function notifySnapshot(listeners: ReadonlySet<SnapshotListener>, image: MetadataImage): void {
  notifyEach(listeners, (listener) => listener(image));
}

function notifyEach<L>(listeners: ReadonlySet<L>, call: (listener: L) => void): void {
  for (const listener of listeners) {
    try {
      call(listener);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
