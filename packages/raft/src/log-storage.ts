// The stable log as the core sees it: what has been persisted (the driver
// appends to it after it has written entries to disk). The core reads terms
// and entries through this interface and never writes to it.
// `MemoryLogStorage` is the in-memory cache of the level-backed driver (which
// the simulator runs over a power-loss disk) and the core's unit tests' log.

import type { Entry, HardState, Membership, Snapshot } from "./types.js";

export interface LogStorage {
  /** The persisted hard state and membership at start-up. */
  initialState(): { hardState: HardState; membership: Membership };
  /** Entries [low, high), at most maxBytes in total (but at least one). Throws CompactedError below firstIndex. */
  entries(low: number, high: number, maxBytes: number): Entry[];
  /** Term of the entry at `index`; the snapshot's term at snapshot.index. Throws CompactedError below. */
  term(index: number): number;
  /** Index of the first entry still in the log (snapshot.index + 1). */
  firstIndex(): number;
  lastIndex(): number;
  /**
   * The latest snapshot, to send to a follower that needs compacted entries. Also read once at
   * start-up: the state machine restarts from it, so its index is the core's first applied index.
   */
  snapshot(): Snapshot;
}

/** Thrown when asking for entries that were compacted into a snapshot. */
export class CompactedError extends Error {
  constructor(index: number, firstIndex: number) {
    super(`index ${index} is compacted (first index ${firstIndex})`);
    this.name = "CompactedError";
  }
}
