// The tail of the log the core has accepted but the driver has not yet
// persisted: new entries, or a snapshot received from the leader. It moves to
// stable storage when the driver acknowledges a Ready with advance().

import { assert } from "./assert.js";
import type { Entry, Snapshot } from "./types.js";

export class Unstable {
  snapshot: Snapshot | undefined;
  /** Unstable entries; `entries[0]` sits at `offset`. */
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** The first index the unstable snapshot makes available, if there is one. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot?.metadata.index === index ? this.snapshot.metadata.term : undefined;
    }
    return this.entries[index - this.offset]?.term;
  }

  /** The driver persisted entries up to `index`; drop them unless they were replaced meanwhile. */
  stableTo(index: number, term: number): void {
    if (index < this.offset || this.maybeTerm(index) !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot?.metadata.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  /** Appends entries, first cutting off whatever they replace. */
  truncateAndAppend(entries: readonly Entry[]): void {
    assert(entries.length > 0, "appending no entries");
    const first = entries[0].index;
    if (first === this.offset + this.entries.length) {
      for (const entry of entries) this.entries.push(entry);
    } else if (first <= this.offset) {
      // Replaces everything unstable, and (once persisted) part of stable storage too.
      this.offset = first;
      this.entries = [...entries];
    } else {
      this.entries = this.entries.slice(0, first - this.offset).concat(entries);
    }
  }

  /** Entries [low, high), all of which must be unstable. */
  slice(low: number, high: number): Entry[] {
    assert(
      low >= this.offset && high <= this.offset + this.entries.length,
      `unstable slice [${low}, ${high})`,
    );
    return this.entries.slice(low - this.offset, high - this.offset);
  }
}
