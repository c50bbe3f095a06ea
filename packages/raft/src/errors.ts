// Typed errors for the conditions a caller of the core must handle: proposing
// or reading on a node that is not the leader, or a leader that refuses a
// proposal for now. Bugs are asserts (assert.ts), never these.

import type { NodeId } from "./types.js";

export type RaftErrorCode = "NOT_LEADER" | "PROPOSAL_DROPPED" | "INVALID_CONF_CHANGE" | "INVALID_TRANSFER";

const RAFT_ERRORS: Record<RaftErrorCode, { retriable: boolean; message: string }> = {
  NOT_LEADER: { retriable: true, message: "this node is not the leader; retry on the leader" },
  PROPOSAL_DROPPED: { retriable: true, message: "the leader cannot take this proposal right now; retry" },
  INVALID_CONF_CHANGE: { retriable: false, message: "the membership change is not valid" },
  INVALID_TRANSFER: { retriable: false, message: "leadership cannot be transferred to that node" },
};

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  readonly retriable: boolean;

  constructor(code: RaftErrorCode, detail?: string) {
    super(detail ? `${code}: ${detail}` : `${code}: ${RAFT_ERRORS[code].message}`);
    this.name = "RaftError";
    this.code = code;
    this.retriable = RAFT_ERRORS[code].retriable;
  }
}

/** Thrown by propose/readIndex/... on a node that is not the leader. `leader` is NONE (0) when unknown. */
export class NotLeaderError extends RaftError {
  readonly leader: NodeId;

  constructor(leader: NodeId, term: number) {
    super(
      "NOT_LEADER",
      leader === 0 ? `no leader known in term ${term}` : `leader is node ${leader} (term ${term})`,
    );
    this.name = "NotLeaderError";
    this.leader = leader;
  }
}
