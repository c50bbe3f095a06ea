// The core's view of the log: stable storage (what the driver persisted) plus
// the unstable tail, and the committed and applied indexes. All log questions
// Raft asks — does this entry match, where do two logs diverge, is a
// candidate's log up to date — are answered here.

import { assert } from "./assert.js";
import { CompactedError, type LogStorage } from "./log-storage.js";
import { limitBytes } from "./size.js";
import type { Entry, Snapshot } from "./types.js";
import { Unstable } from "./unstable.js";

export class RaftLog {
  readonly storage: LogStorage;
  readonly unstable: Unstable;
  /** Highest index known to be stored on a quorum. */
  committed: number;
  /** Highest index handed to the state machine (acknowledged by advance()). */
  applied: number;

  constructor(storage: LogStorage) {
    this.storage = storage;
    const firstIndex = storage.firstIndex();
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.committed = firstIndex - 1;
    this.applied = firstIndex - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    const term = this.term(this.lastIndex());
    assert(term !== undefined, "the last entry's term is known");
    return term;
  }

  /** Term of the entry at `index`; undefined when compacted away or beyond the end of the log. */
  term(index: number): number | undefined {
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    const unstableTerm = this.unstable.maybeTerm(index);
    if (unstableTerm !== undefined) return unstableTerm;
    return this.storage.term(index);
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Election restriction: is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Index of the first entry whose term differs from ours (or that we lack); 0 if all match. */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The last index at or below `index` whose term is at most `term`: where our log
   * may still match a log whose entry at `index` has `term` (fast back-off).
   * A compacted or missing entry stops the search with term 0.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let candidate = Math.min(index, this.lastIndex()); candidate >= 0; candidate--) {
      const candidateTerm = this.term(candidate);
      if (candidateTerm === undefined) return { index: candidate, term: 0 };
      if (candidateTerm <= term) return { index: candidate, term: candidateTerm };
    }
    return { index: 0, term: 0 };
  }

  /**
   * Log-matching rule: if our entry at `index` has `logTerm`, take `entries` after it
   * (replacing a conflicting suffix) and commit up to what the leader committed.
   * Returns the last index now known to match the leader, or undefined on mismatch.
   */
  maybeAppend(
    index: number,
    logTerm: number,
    committed: number,
    entries: readonly Entry[],
  ): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNewIndex = index + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      assert(
        conflict > this.committed,
        `entry ${conflict} conflicts with committed entry (commit ${this.committed})`,
      );
      this.append(entries.slice(conflict - entries[0].index));
    }
    this.commitTo(Math.min(committed, lastNewIndex));
    return lastNewIndex;
  }

  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    assert(
      entries[0].index > this.committed,
      `appending at ${entries[0].index} below commit ${this.committed}`,
    );
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Commits `index` only if its entry is of `term` (a leader commits only through its own term). */
  maybeCommit(index: number, term: number): boolean {
    if (index <= this.committed || this.term(index) !== term) return false;
    this.commitTo(index);
    return true;
  }

  appliedTo(index: number): void {
    assert(
      index >= this.applied && index <= this.committed,
      `applied ${index} outside [${this.applied}, ${this.committed}]`,
    );
    this.applied = index;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  /** A snapshot from the leader replaces the whole log. */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }

  /** The snapshot to send a follower that needs compacted entries. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  unstableEntries(): Entry[] {
    return [...this.unstable.entries];
  }

  hasNextCommittedEntries(): boolean {
    return !this.hasPendingSnapshot() && this.committed > this.applied;
  }

  /** Committed entries not yet applied, at most `maxBytes` (at least one); none while a snapshot is pending. */
  nextCommittedEntries(maxBytes: number): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    return this.slice(this.applied + 1, this.committed + 1, maxBytes) ?? [];
  }

  /** Entries from `low` to the end, at most `maxBytes` (at least one); undefined if `low` is compacted. */
  entriesFrom(low: number, maxBytes: number): Entry[] | undefined {
    if (low > this.lastIndex()) return [];
    return this.slice(low, this.lastIndex() + 1, maxBytes);
  }

  /** Entries [low, high), at most `maxBytes` (at least one); undefined if `low` is compacted. */
  slice(low: number, high: number, maxBytes: number): Entry[] | undefined {
    assert(
      low <= high && high <= this.lastIndex() + 1,
      `slice [${low}, ${high}) of log ending at ${this.lastIndex()}`,
    );
    if (low < this.firstIndex()) return undefined;
    if (low === high) return [];
    const unstableOffset = this.unstable.offset;
    let result: Entry[] = [];
    if (low < unstableOffset) {
      try {
        result = this.storage.entries(low, Math.min(high, unstableOffset), maxBytes);
      } catch (error) {
        if (error instanceof CompactedError) return undefined;
        throw error;
      }
      if (result.length < Math.min(high, unstableOffset) - low) return result;
    }
    if (high > unstableOffset) {
      result = result.concat(this.unstable.slice(Math.max(low, unstableOffset), high));
    }
    return limitBytes(result, maxBytes);
  }

  /** Entries (applied, committed] contain a membership change not yet applied. */
  hasUnappliedConfChange(): boolean {
    if (this.committed <= this.applied) return false;
    const entries = this.slice(this.applied + 1, this.committed + 1, Number.POSITIVE_INFINITY) ?? [];
    return entries.some((entry) => entry.type === "conf-change");
  }
}
