// Which fetched batches an application may see, as Kafka's consumer decides it (no I/O): never a control
// batch (a transaction marker), and with read_committed never the records of an aborted transaction nor
// anything at or past the last stable offset. Also how far the fetch position moves: past every batch
// looked at, markers and dropped ones included, so the consumer never fetches them again.

import { type DecodedBatch, decodeControlRecord } from "@brook/protocol";

/**
 * read_uncommitted (Kafka's default, and Brook's): every record up to the high watermark, including those
 * of transactions still open or aborted later. read_committed: only records of committed transactions
 * (and non-transactional ones), up to the last stable offset.
 */
export type IsolationLevel = "read_uncommitted" | "read_committed";

/** FetchRequest.isolation_level and ListOffsetsRequest.isolation_level on the wire. */
export function isolationLevelWire(level: IsolationLevel): number {
  switch (level) {
    case "read_uncommitted":
      return 0;
    case "read_committed":
      return 1;
  }
}

export interface AbortedRange {
  producerId: number;
  /** The first offset of the aborted transaction; it ends at that producer's abort marker. */
  firstOffset: number;
}

export interface ReadableBatches {
  /** The batches whose records the application gets, in log order. */
  batches: DecodedBatch[];
  /** The offset after the last batch looked at; undefined when there was none. */
  nextOffset: number | undefined;
}

/**
 * Kafka's algorithm (CompletedFetch): walking the batches in order, an aborted range whose first offset
 * is at or before a batch's last offset makes its producer "aborted"; that producer's transactional
 * batches are dropped until its abort marker, which ends the range. `lastStableOffset` bounds a
 * read_committed read (the broker stops there; a batch at or past it is not looked at).
 */
export function readableBatches(
  decoded: DecodedBatch[],
  isolation: IsolationLevel,
  abortedTransactions: readonly AbortedRange[],
  lastStableOffset: number,
): ReadableBatches {
  const committedOnly = isolation === "read_committed";
  const pending = committedOnly ? [...abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset) : [];
  const abortedProducers = new Set<number>();
  const batches: DecodedBatch[] = [];
  let nextOffset: number | undefined;
  for (const batch of decoded) {
    const { header } = batch;
    if (committedOnly && header.baseOffset >= lastStableOffset) break;
    nextOffset = header.lastOffset + 1;
    if (committedOnly && header.producerId >= 0) {
      while (pending.length > 0 && pending[0].firstOffset <= header.lastOffset) {
        abortedProducers.add(pending.shift()!.producerId);
      }
      if (header.isControl) {
        if (isAbortMarker(batch)) abortedProducers.delete(header.producerId);
        continue;
      }
      if (header.isTransactional && abortedProducers.has(header.producerId)) continue;
    }
    if (header.isControl) continue;
    batches.push(batch);
  }
  return { batches, nextOffset };
}

function isAbortMarker({ records }: DecodedBatch): boolean {
  return records.length === 1 && decodeControlRecord(records[0]).type === "abort";
}
