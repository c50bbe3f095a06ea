// The headers of the batches a partition log holds, read through the log's
// public read API a chunk at a time: what a new leader or a restarted broker
// replays to rebuild its producer state (producer-state.ts) from the
// replicated log. Records are never decoded.

import { type BatchHeader, scanBatches } from "@brook/protocol";
import type { PartitionLog } from "@brook/storage";

/** Bytes per read while scanning: bounds the memory a scan holds, not its length. */
export const batchHeaderScanReadBytes = 1024 * 1024;

/**
 * Every batch from the one holding `fromOffset` (or the log start, if that
 * is later) to the log end, in log order, with the offsets it has in the log
 * (`position` is within the chunk read, not the log). Lazy and synchronous,
 * as the log's reads are: consume it before the log changes. CRCs are not
 * checked again; the log checked them on append and on recovery.
 */
export function* readBatchHeaders(
  log: PartitionLog,
  fromOffset: number,
  readBytes = batchHeaderScanReadBytes,
): Generator<BatchHeader> {
  let offset = Math.max(fromOffset, log.logStartOffset);
  // Every pass moves `offset` past at least one batch, or stops: at most one pass per batch.
  while (offset < log.logEndOffset) {
    const { records } = log.read(offset, readBytes, { minOneBatch: true });
    const { batches } = scanBatches(records, { validateCrc: false });
    if (batches.length === 0) return;
    for (const header of batches) if (header.lastOffset >= offset) yield header;
    offset = batches[batches.length - 1].lastOffset + 1;
  }
}
