// The vocabulary of the Raft core: entries, messages, persistent state and
// the Ready batch. Plain data only, so the core stays a pure function of its
// inputs and the simulator can copy, drop, delay and reorder anything.

export type NodeId = number;
/** "No node": the vote of a node that has not voted this term, the leader when none is known. */
export const NONE: NodeId = 0;

export type EntryType = "normal" | "conf-change";

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Empty for the no-op a new leader appends; for "conf-change", an encoded ConfChange. */
  readonly data: Uint8Array;
}

/** Membership change, applied when its entry commits (one change at a time). */
export interface ConfChange {
  readonly type: "add-voter" | "add-learner" | "remove-node";
  readonly nodeId: NodeId;
}

/** What must be on stable storage before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export interface Membership {
  readonly voters: readonly NodeId[];
  /** Non-voting members (observers): they receive the committed log but never vote or count toward quorum. */
  readonly learners: readonly NodeId[];
}

export interface SnapshotMetadata {
  /** The snapshot covers every entry up to and including this index. */
  readonly index: number;
  readonly term: number;
  readonly membership: Membership;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** The state machine's own encoding of its state at `metadata.index`. */
  readonly data: Uint8Array;
}

export type MessageType =
  | "app" // leader → follower: entries after (logTerm, index); commit
  | "app-resp" // follower → leader: index = last matching index, or reject with rejectHint
  | "vote"
  | "vote-resp"
  | "pre-vote"
  | "pre-vote-resp"
  | "heartbeat" // leader → follower: commit (capped at what the follower is known to have); context for read index
  | "heartbeat-resp"
  | "snap" // leader → lagging follower: snapshot
  | "timeout-now" // leader → transfer target: campaign now, skipping pre-vote
  | "prop" // follower → leader: forwarded proposal entries
  | "read-index" // follower → leader: request a read index for context
  | "read-index-resp";

export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  /** For "app": term of the entry at `index`. For votes: the candidate's last log term. */
  readonly logTerm: number;
  /** For "app": the index just before `entries`. For votes: the candidate's last index. For responses: see type. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  /** On a rejected "app-resp": the follower's guess of where logs may match (fast back-off). */
  readonly rejectHint: number;
  /** The term of the follower's entry at rejectHint, so the leader can skip a whole conflicting term. */
  readonly rejectHintTerm?: number;
  readonly snapshot?: Snapshot;
  /** Read-index request context, echoed back. */
  readonly context?: Uint8Array;
}

/** A linearizable read is safe once the state machine has applied up to `index`. */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

export type Role = "follower" | "pre-candidate" | "candidate" | "leader" | "learner";

export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/**
 * Everything the driver must do after a step/tick/propose, in this order:
 * 1. persist `snapshot` (if any), `entries` and `hardState` (fsync when `mustSync`);
 * 2. then send `messages`;
 * 3. apply `committedEntries` to the state machine, answer `readStates` once applied;
 * 4. call `advance(ready)`.
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  /** New entries to append to stable storage (they may overwrite a conflicting suffix). */
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /**
   * Whether the persisted state must be fsynced before the messages go out: with entries, a
   * snapshot, or a new term or vote. Not for a commit index alone (it is learned again).
   */
  readonly mustSync: boolean;
}

export const emptyEntries: readonly Entry[] = [];
