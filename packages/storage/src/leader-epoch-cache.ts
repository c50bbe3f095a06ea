// Which leader epoch wrote which offsets: the list of (epoch, startOffset)
// pairs Kafka keeps in `leader-epoch-checkpoint`. A follower asks the leader
// for the end offset of its latest epoch and truncates to it, which is how
// replicas agree after a leader change without trusting the high watermark.
// Pure: every operation returns a new list; PartitionLog persists it.

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

export type EpochEntries = readonly EpochEntry[];

export interface EpochEndOffset {
  /** The largest known epoch ≤ the requested one. */
  leaderEpoch: number;
  /** First offset after that epoch's records: the next epoch's start, or the log end for the latest epoch. */
  endOffset: number;
}

/** Records that `epoch` starts at `startOffset`; epochs that are not new are ignored. */
export function assignEpoch(entries: EpochEntries, epoch: number, startOffset: number): EpochEntries {
  const latest = entries.at(-1);
  if (latest && epoch <= latest.epoch) return entries;
  return [...entries.filter((entry) => entry.startOffset < startOffset), { epoch, startOffset }];
}

/**
 * Recovery's rule for a batch found past the recovery point, whose header says `epoch` wrote it from
 * `baseOffset` on: the batch is the truth, the checkpoint may not be (a truncation it reflects may have
 * been undone by a power loss, or the epoch it names never reached the disk). Entries the batch
 * contradicts go: a newer epoch said to start at or before it, an older (or the same) one said to start
 * after it. Feed it the batches in offset order.
 */
export function assignRecoveredEpoch(entries: EpochEntries, epoch: number, baseOffset: number): EpochEntries {
  const before = entries.filter((entry) => entry.startOffset <= baseOffset && entry.epoch <= epoch);
  const after = entries.filter((entry) => entry.startOffset > baseOffset && entry.epoch > epoch);
  const started = before.at(-1)?.epoch === epoch ? [] : [{ epoch, startOffset: baseOffset }];
  if (started.length === 0 && before.length + after.length === entries.length) return entries;
  return [...before, ...started, ...after];
}

/** Forgets epochs that start at or after `endOffset`, after the log was truncated there. */
export function truncateEpochsFromEnd(entries: EpochEntries, endOffset: number): EpochEntries {
  const kept = entries.filter((entry) => entry.startOffset < endOffset);
  return kept.length === entries.length ? entries : kept;
}

/** Forgets offsets below `startOffset`, after retention: the epoch covering it now starts there. */
export function truncateEpochsFromStart(entries: EpochEntries, startOffset: number): EpochEntries {
  const firstKept = entries.findLastIndex((entry) => entry.startOffset <= startOffset);
  if (firstKept < 0 || entries[firstKept].startOffset === startOffset) {
    return firstKept <= 0 ? entries : entries.slice(firstKept);
  }
  return [{ epoch: entries[firstKept].epoch, startOffset }, ...entries.slice(firstKept + 1)];
}

/** Kafka's `endOffsetFor`: undefined when the epoch is newer than any known, or nothing is known. */
export function endOffsetForEpoch(
  entries: EpochEntries,
  epoch: number,
  logEndOffset: number,
): EpochEndOffset | undefined {
  const latest = entries.at(-1);
  if (!latest || epoch > latest.epoch) return undefined;
  if (epoch === latest.epoch) return { leaderEpoch: epoch, endOffset: logEndOffset };
  const higher = entries.findIndex((entry) => entry.epoch > epoch);
  const floor = entries[higher - 1];
  return { leaderEpoch: floor ? floor.epoch : epoch, endOffset: entries[higher].startOffset };
}
