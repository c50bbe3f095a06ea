// What a leader knows about one follower's log, and how fast it may send to it.
//
//   probe      — we do not know where the follower's log matches ours: send one
//                append, then wait for its answer (or the next heartbeat answer).
//   replicate  — the follower is caught up to `match`: stream appends
//                optimistically, at most `maxInflightMsgs` unacknowledged.
//   snapshot   — the follower needs compacted entries: a snapshot is on its way,
//                send nothing until it arrives (or stalls; see snapshotStallTicksMax).

import { assert } from "./assert.js";

export type ProgressState = "probe" | "replicate" | "snapshot";

/** A bounded window of the last indexes of append messages not yet acknowledged. */
export class Inflights {
  private readonly lastIndexes: number[] = [];
  readonly capacity: number;

  constructor(capacity: number) {
    assert(capacity > 0, "the in-flight window holds at least one message");
    this.capacity = capacity;
  }

  add(lastIndex: number): void {
    assert(!this.full(), "adding to a full in-flight window");
    this.lastIndexes.push(lastIndex);
  }

  /** The follower acknowledged everything up to `index`. */
  freeLE(index: number): void {
    let freed = 0;
    while (freed < this.lastIndexes.length && this.lastIndexes[freed] <= index) freed++;
    this.lastIndexes.splice(0, freed);
  }

  freeFirstOne(): void {
    this.lastIndexes.shift();
  }

  full(): boolean {
    return this.lastIndexes.length >= this.capacity;
  }

  count(): number {
    return this.lastIndexes.length;
  }

  reset(): void {
    this.lastIndexes.length = 0;
  }
}

export class Progress {
  /** Highest index known to match the leader's log. */
  match = 0;
  /** Next index to send. Invariant: match < next. */
  next: number;
  state: ProgressState = "probe";
  /** In the snapshot state: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Leader ticks spent in the snapshot state. */
  snapshotTicks = 0;
  /** Highest commit index sent in an append (so a commit broadcast skips followers that know it). */
  sentCommit = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** In the probe state: an append is out, wait for its answer before sending another. */
  probeSent = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightMsgs: number, isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs);
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, the follower has at least the snapshot: probe from just past it.
    const floor = this.state === "snapshot" ? this.pendingSnapshot + 1 : 0;
    this.resetState("probe");
    this.next = Math.max(this.match + 1, floor);
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
  }

  /** An append with `count` entries ending at `lastIndex` went out. */
  sentEntries(count: number, lastIndex: number): void {
    if (this.state === "replicate") {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else {
      this.probeSent = true;
    }
  }

  /** The follower acknowledged `index`; false if that is old news. */
  maybeUpdate(index: number): boolean {
    if (index <= this.match) return false;
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    this.probeSent = false;
    return true;
  }

  /**
   * The follower rejected the append after `rejected`; `matchHint` is where logs may match.
   * False if the rejection is stale (out of order or duplicated).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }
}
