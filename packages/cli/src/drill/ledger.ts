// Everything anyone was told about which record sits at which offset — producer acknowledgements,
// records a consumer read during the run, records read back at the end — so that an offset that ever
// held two different records (a lost acknowledged write overwritten by a later one, a follower that
// kept a divergent tail) is caught even when the final log looks tidy.

export type LedgerSource = "ack" | "tail" | "read";

export interface OffsetConflict {
  partition: number;
  offset: number;
  first: { value: string; source: LedgerSource };
  second: { value: string; source: LedgerSource };
}

/** Conflicts kept as examples; the count goes on beyond it. */
export const conflictExamplesMax = 20;

export class OffsetLedger {
  private readonly partitions = new Map<number, Map<number, { value: string; source: LedgerSource }>>();
  readonly conflictExamples: OffsetConflict[] = [];
  conflicts = 0;
  private readonly conflicting = new Set<string>();

  /** Records that `value` was seen at `partition`/`offset`; a different value there before is a conflict. */
  note(partition: number, offset: number, value: string, source: LedgerSource): void {
    let offsets = this.partitions.get(partition);
    if (offsets === undefined) {
      offsets = new Map();
      this.partitions.set(partition, offsets);
    }
    const first = offsets.get(offset);
    if (first === undefined) {
      offsets.set(offset, { value, source });
      return;
    }
    if (first.value === value) return;
    // One conflict per offset: a third value at the same place adds nothing a person needs.
    const key = `${partition}:${offset}`;
    if (this.conflicting.has(key)) return;
    this.conflicting.add(key);
    this.conflicts++;
    if (this.conflictExamples.length < conflictExamplesMax) {
      this.conflictExamples.push({ partition, offset, first, second: { value, source } });
    }
  }
}
