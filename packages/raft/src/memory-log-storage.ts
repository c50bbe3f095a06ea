// An in-memory LogStorage: the in-memory cache of the level-backed driver, and
// the "disk" of the core's unit tests. It holds the latest snapshot, the entries after the
// compaction point and the hard state; the driver writes it after each Ready.

import { assert } from "./assert.js";
import { CompactedError, type LogStorage } from "./log-storage.js";
import { entryBytes } from "./size.js";
import type { Entry, HardState, Membership, Snapshot } from "./types.js";

const emptyHardState: HardState = { term: 0, vote: 0, commit: 0 };

export class MemoryLogStorage implements LogStorage {
  private hardState: HardState = emptyHardState;
  private latestSnapshot: Snapshot;
  /** Index and term of the last compacted entry; `log[0]` sits at `offsetIndex + 1`. */
  private offsetIndex = 0;
  private offsetTerm = 0;
  private log: Entry[] = [];

  /** A fresh node's storage: empty log, the cluster's initial membership. */
  constructor(membership: Membership = { voters: [], learners: [] }) {
    this.latestSnapshot = { metadata: { index: 0, term: 0, membership }, data: new Uint8Array(0) };
  }

  initialState(): { hardState: HardState; membership: Membership } {
    return { hardState: this.hardState, membership: this.latestSnapshot.metadata.membership };
  }

  entries(low: number, high: number, maxBytes: number): Entry[] {
    if (low <= this.offsetIndex) throw new CompactedError(low, this.firstIndex());
    assert(high <= this.lastIndex() + 1, `entries [${low}, ${high}) beyond last index ${this.lastIndex()}`);
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = low; index < high; index++) {
      const entry = this.log[index - this.offsetIndex - 1];
      bytes += entryBytes(entry);
      if (result.length > 0 && bytes > maxBytes) break;
      result.push(entry);
    }
    return result;
  }

  term(index: number): number {
    if (index < this.offsetIndex) throw new CompactedError(index, this.firstIndex());
    if (index === this.offsetIndex) return this.offsetTerm;
    assert(index <= this.lastIndex(), `term of ${index} beyond last index ${this.lastIndex()}`);
    return this.log[index - this.offsetIndex - 1].term;
  }

  firstIndex(): number {
    return this.offsetIndex + 1;
  }

  lastIndex(): number {
    return this.offsetIndex + this.log.length;
  }

  snapshot(): Snapshot {
    return this.latestSnapshot;
  }

  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  /** Appends contiguous entries; an entry at an existing index replaces it and everything after it. */
  append(entries: readonly Entry[]): void {
    const fresh = entries.filter((entry) => entry.index > this.offsetIndex);
    if (fresh.length === 0) return;
    const first = fresh[0].index;
    assert(first <= this.lastIndex() + 1, `append at ${first} leaves a gap after ${this.lastIndex()}`);
    for (let i = 0; i < fresh.length; i++)
      assert(fresh[i].index === first + i, "appended entries are contiguous");
    this.log.length = first - this.offsetIndex - 1;
    for (const entry of fresh) this.log.push(entry);
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata;
    assert(index > this.latestSnapshot.metadata.index, `snapshot at ${index} is not newer than the one held`);
    this.latestSnapshot = snapshot;
    this.offsetIndex = index;
    this.offsetTerm = term;
    this.log = [];
  }

  /** Records the state machine's snapshot at `index` (an applied index); does not drop entries. */
  createSnapshot(index: number, data: Uint8Array, membership: Membership): Snapshot {
    assert(index > this.latestSnapshot.metadata.index, `snapshot at ${index} is not newer than the one held`);
    assert(index <= this.lastIndex(), `snapshot at ${index} beyond last index ${this.lastIndex()}`);
    this.latestSnapshot = { metadata: { index, term: this.term(index), membership }, data };
    return this.latestSnapshot;
  }

  /** Drops entries up to and including `index`, which the latest snapshot must cover. */
  compact(index: number): void {
    assert(index <= this.latestSnapshot.metadata.index, `compacting to ${index} past the latest snapshot`);
    if (index <= this.offsetIndex) return;
    this.offsetTerm = this.term(index);
    this.log = this.log.slice(index - this.offsetIndex);
    this.offsetIndex = index;
  }
}
