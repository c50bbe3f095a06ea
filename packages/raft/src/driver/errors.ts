// The errors a user of the driver acts on, as BrookErrors from Brook's one
// error table, and the translation of the core's RaftErrors into them. "Not
// the leader" is NOT_CONTROLLER there, because the Raft quorum is the
// controller quorum; it carries the leader to retry on.

import { BrookError } from "@brook/protocol";
import { NotLeaderError, RaftError } from "../errors.js";
import { NONE, type NodeId } from "../types.js";

export class NotControllerError extends BrookError {
  /** The leader this node knows of, or NONE (0) while there is none. */
  readonly leaderId: NodeId;

  constructor(nodeId: NodeId, leaderId: NodeId) {
    const hint = leaderId === NONE ? "no leader is known yet" : `the leader is node ${leaderId}`;
    super("NOT_CONTROLLER", `node ${nodeId} is not the Raft leader; ${hint}`);
    this.name = "NotControllerError";
    this.leaderId = leaderId;
  }
}

/** The BrookError for what the core threw; anything but a RaftError is a bug and passes through. */
export function fromCoreError(error: unknown, nodeId: NodeId): unknown {
  if (error instanceof NotLeaderError) return new NotControllerError(nodeId, error.leader);
  if (!(error instanceof RaftError)) return error;
  switch (error.code) {
    case "PROPOSAL_DROPPED": // a transfer in progress or too many uncommitted bytes: retry shortly
      return new BrookError("REQUEST_TIMED_OUT", error.message, { cause: error });
    default:
      return new BrookError("INVALID_REQUEST", error.message, { cause: error });
  }
}
