// The values a drill or chaos load writes: `<prefix>p<producer>-<seq>`, unique per run, so a value read
// back names the send it came from, and a value no producer ever sent is recognisable as such.

export interface RecordId {
  producer: number;
  seq: number;
}

export function recordValue(prefix: string, { producer, seq }: RecordId): string {
  return `${prefix}p${producer}-${seq}`;
}

const idPattern = /^p(\d+)-(\d+)$/;

/**
 * The producer and sequence number of a value written with `prefix`; undefined for a value that does
 * not start with the prefix (another writer's record), null for one that starts with it but is not
 * shaped like ours (it was never sent by this run).
 */
export function parseRecordValue(prefix: string, value: string): RecordId | null | undefined {
  if (!value.startsWith(prefix)) return undefined;
  const match = idPattern.exec(value.slice(prefix.length));
  if (match === null) return null;
  return { producer: Number(match[1]), seq: Number(match[2]) };
}

/** Where an acknowledged record was put, per the producer's answer. */
export interface Placement {
  partition: number;
  offset: number;
}
