// The headers of the batches a partition log holds, read through the log's
// public read API a chunk at a time: what a new leader or a restarted broker
// replays to rebuild its producer state (producer-state.ts) from the
// replicated log. Records are never decoded, except the one record of a
// control batch: a transaction marker's type (commit or abort) is in its key.

import { type BatchHeader, type ControlRecord, readControlRecord, scanBatches } from "@brook/protocol";
import { LogCorruptionError, type PartitionLog } from "@brook/storage";

/** Bytes per read while scanning: bounds the memory a scan holds, not its length. */
export const batchHeaderScanReadBytes = 1024 * 1024;

/** A batch header as the producer state reads it: a control batch with its record decoded. */
export type LogBatchHeader = BatchHeader & { readonly control?: ControlRecord };

/** `headers`, scanned from `buf`, with each control batch's record decoded (markers are tiny and rare). */
export function withControlRecords(buf: Buffer, headers: readonly BatchHeader[]): LogBatchHeader[] {
  return headers.map((header) =>
    header.isControl ? { ...header, control: readControlRecord(buf, header) } : header,
  );
}

/**
 * Every batch from the one holding `fromOffset` (or the log start, if that
 * is later) to the log end, in log order, with the offsets it has in the log
 * (`position` is within the chunk read, not the log). Lazy and synchronous,
 * as the log's reads are: consume it before the log changes. CRCs are not
 * checked again (the log checked them on append and on recovery), except a
 * marker's, whose record is decoded. Stops at a corruption point.
 */
export function* readBatchHeaders(
  log: PartitionLog,
  fromOffset: number,
  readBytes = batchHeaderScanReadBytes,
): Generator<LogBatchHeader> {
  let offset = Math.max(fromOffset, log.logStartOffset);
  // Every pass moves `offset` past at least one batch, or stops: at most one pass per batch. A damaged
  // log is read up to its corruption point: what lies beyond is fetched again (or, on the last copy, unread).
  while (offset < (log.damage?.offset ?? log.logEndOffset)) {
    let records: Buffer;
    try {
      records = log.read(offset, readBytes, { minOneBatch: true }).records;
    } catch (error) {
      if (error instanceof LogCorruptionError) return; // the damage is recorded now: stop at it
      throw error;
    }
    const batches = withControlRecords(
      records,
      scanBatches(records, { validateCrc: false, acceptCompacted: true }).batches,
    );
    if (batches.length === 0) return;
    for (const header of batches) if (header.lastOffset >= offset) yield header;
    offset = batches[batches.length - 1].lastOffset + 1;
  }
}
