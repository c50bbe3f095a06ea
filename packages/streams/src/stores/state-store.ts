// What every state store shares: a name, a changelog of its writes, and restore from that changelog.
// Stores are in memory; every write is also a changelog record, so the runtime can keep each store in
// a compacted topic `<applicationId>-<store>-changelog` and rebuild it after a move or a crash.

/** One write to a store as it goes to the changelog: a null value deletes the key (a tombstone). */
export interface ChangelogRecord {
  topic: string;
  key: Buffer;
  value: Buffer | null;
  timestamp: number;
}

/** Where a store sends its writes; the task stamps them with the topic and the current record's time. */
export type ChangeLogger = (key: Buffer, value: Buffer | null) => void;

export interface KeyValue<K, V> {
  key: K;
  value: V;
}

export interface StateStore {
  readonly name: string;
  /** Applies changelog records in order, without logging them again. */
  restore(records: Iterable<ChangelogRecord>): void;
  approximateNumEntries(): number;
}

export function changelogTopic(applicationId: string, storeName: string): string {
  return `${applicationId}-${storeName}-changelog`;
}

/** Rebuilds a store from its changelog, as the runtime will on assignment; returns how many records it read. */
export function restoreFromChangelog(store: StateStore, records: readonly ChangelogRecord[]): number {
  store.restore(records);
  return records.length;
}

/** Map keys for bytes: latin1 maps each byte to one char, so equal strings are equal bytes. */
export function bytesId(bytes: Buffer): string {
  return bytes.toString("latin1");
}
