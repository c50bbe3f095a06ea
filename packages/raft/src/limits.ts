// Every limit and default of the Raft core, defined once, unit last.

/** Ticks a follower waits without hearing from a leader before it campaigns (randomized up to twice this). */
export const electionTicksDefault = 10;
/** Ticks between a leader's heartbeats. */
export const heartbeatTicksDefault = 1;
/** Largest append message the leader builds (it always carries at least one entry). */
export const maxMsgBytesDefault = 1024 * 1024;
/** Append messages in flight to one follower in the replicate state before the leader waits for acks. */
export const maxInflightMsgsDefault = 256;
/** Bytes of proposals the leader accepts beyond its commit index before it refuses new ones. */
export const uncommittedBytesMaxDefault = 64 * 1024 * 1024;
/** Committed entries handed out in one Ready (at least one entry). */
export const readyCommittedBytesMax = 8 * 1024 * 1024;
/** Read-index requests a leader holds while it waits for quorum confirmation or its first commit. */
export const readIndexPendingMax = 4096;
/** Per-entry overhead counted on top of the payload when sizing messages (term, index, type). */
export const entryOverheadBytes = 24;
/**
 * Ticks a follower may stay in the snapshot state without the leader hearing that the
 * snapshot arrived; then the leader probes again (and resends the snapshot if still needed).
 * Large so a slow transfer is not restarted; the driver can report failures sooner.
 */
export const snapshotStallTicksMax = 100;
