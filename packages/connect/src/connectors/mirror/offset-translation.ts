// Translating a source group's committed offset to the target, from offset syncs (MirrorMaker 2's
// OffsetSyncStore). A committed offset C is the next record the group reads, so C - 1 is the last it
// consumed; with the latest sync at or before it, the target offset is that sync's downstream plus the
// distance, plus one. Between two syncs that were consecutive when written, offsets map one to one (a
// sync is written whenever the distance changes), so the result is exact, but never past the next sync's
// downstream (a gap in the source). Across syncs thinned out of the bounded history, or past the latest
// sync, nothing is known: the result stays at the sync's downstream + 1, or (a group ahead of the mirror)
// there is none yet. A translation may re-deliver records to the group; it never skips one. Pure.

import { mirrorLimits } from "./config.js";
import type { OffsetSync } from "./offset-syncs.js";

interface HistoryEntry {
  upstream: number;
  downstream: number;
  /** Whether this sync and the next were consecutive syncs as written (none thinned out between). */
  exactToNext: boolean;
}

/** The syncs of one partition, oldest first, strictly increasing on both sides, at most `max`. */
export class SyncHistory {
  private readonly entries: HistoryEntry[] = [];
  /** Whether the first entry is the first record mirrored; false once a rewind dropped what was before. */
  private firstIsFirstMirrored = true;

  constructor(private readonly max: number = mirrorLimits.syncHistoryMax) {
    if (max < 2) throw new RangeError("a sync history holds at least 2 syncs");
  }

  get size(): number {
    return this.entries.length;
  }

  add({ upstream, downstream }: Pick<OffsetSync, "upstream" | "downstream">): void {
    // A mirror that restarted from an earlier source offset mirrors records again: what the syncs after
    // it said no longer describes the newest copies, so they go.
    let kept = this.entries.length;
    while (
      kept > 0 &&
      (this.entries[kept - 1].upstream >= upstream || this.entries[kept - 1].downstream >= downstream)
    ) {
      kept--;
    }
    const dropped = this.entries.splice(kept);
    if (dropped.length > 0 && kept === 0) this.firstIsFirstMirrored = false;
    if (dropped.some((entry) => entry.upstream < upstream) && kept > 0)
      this.entries[kept - 1].exactToNext = false;
    this.entries.push({ upstream, downstream, exactToNext: true });
    if (this.entries.length > this.max) this.thin();
  }

  /**
   * The target offset for a source group's committed offset (the next offset it reads, >= 0); undefined
   * when the syncs do not tell yet (none, or the group is past the last one).
   */
  translate(committed: number): number | undefined {
    const first = this.entries[0];
    if (first === undefined) return undefined;
    const lastConsumed = committed - 1;
    if (lastConsumed < first.upstream) return this.firstIsFirstMirrored ? first.downstream : undefined;
    const index = this.lastAtOrBefore(lastConsumed);
    const sync = this.entries[index];
    const next = this.entries[index + 1];
    if (next === undefined) return lastConsumed === sync.upstream ? sync.downstream + 1 : undefined;
    if (!sync.exactToNext) return sync.downstream + 1;
    return Math.min(sync.downstream + (lastConsumed - sync.upstream) + 1, next.downstream);
  }

  /** The index of the last entry whose upstream is <= offset (there is one: the first is). */
  private lastAtOrBefore(offset: number): number {
    let low = 0;
    let high = this.entries.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (this.entries[middle].upstream <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  /**
   * Drops the interior sync whose neighbours are closest (the oldest among equals): the first sync (the
   * floor of every translation) and the latest (the most precise) always stay, recent ones stay dense.
   */
  private thin(): void {
    let chosen = 1;
    let narrowest = Number.POSITIVE_INFINITY;
    for (let index = 1; index < this.entries.length - 1; index++) {
      const span = this.entries[index + 1].upstream - this.entries[index - 1].upstream;
      if (span < narrowest) {
        narrowest = span;
        chosen = index;
      }
    }
    this.entries.splice(chosen, 1);
    this.entries[chosen - 1].exactToNext = false;
  }
}

/**
 * Every mirrored partition's sync history, by source topic-partition: one entry per partition the
 * offset-syncs topic names for this mirror's alias.
 */
export class OffsetTranslator {
  private readonly histories = new Map<string, SyncHistory>();

  constructor(private readonly historyMax: number = mirrorLimits.syncHistoryMax) {}

  add(sync: OffsetSync): void {
    const key = `${sync.topic}:${sync.partition}`;
    let history = this.histories.get(key);
    if (history === undefined) {
      history = new SyncHistory(this.historyMax);
      this.histories.set(key, history);
    }
    history.add(sync);
  }

  translate(topic: string, partition: number, committed: number): number | undefined {
    return this.histories.get(`${topic}:${partition}`)?.translate(committed);
  }
}
