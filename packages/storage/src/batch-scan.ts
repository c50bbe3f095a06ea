// The one walk that checks a stored log's batches from the disk: lengths, CRC32C, offsets in sequence,
// chunk by chunk so a segment is never in memory at once. Recovery plans indexes from it; `verify`
// checks indexes against it.

import {
  BATCH_LENGTH_OFFSET,
  type BatchHeader,
  BrookError,
  LOG_OVERHEAD,
  scanBatches,
} from "@brook/protocol";
import type { LogFile } from "./file-system.js";

/** Bytes read at a time while validating a segment (one batch at a time when a batch is larger). */
export const recoveryReadBytes = 1024 * 1024;

/** Batches that verified, as read in one chunk: `batch.position` is relative to `position`. */
export interface VerifiedChunk {
  position: number;
  batches: BatchHeader[];
}

/** Where a walk of verified batches stopped, and why when it stopped early. */
export interface ScanEnd {
  /** The end of the last batch that verified: where a truncation would cut. */
  endPosition: number;
  /** One past the last verified batch's last offset. */
  nextOffset: number;
  problem?: string;
  /** The problem is a batch cut short, or zeros, running to the end of what was scanned. */
  tornTail: boolean;
}

/**
 * Yields the batches of `[from, end)` that verify (length, CRC32C, base offsets continuing from
 * `expectedOffset`), one non-empty chunk at a time, and returns where and why it stopped.
 */
export function* verifiedBatches(
  log: LogFile,
  from: number,
  end: number,
  expectedOffset: number,
): Generator<VerifiedChunk, ScanEnd> {
  let position = from;
  let nextOffset = expectedOffset;
  let chunkBytes = recoveryReadBytes;
  // Each pass either moves `position` past at least one batch, grows the chunk to hold the one batch
  // that did not fit (so the next pass moves past it or stops), or stops.
  while (position < end) {
    const chunk = Buffer.allocUnsafe(Math.min(chunkBytes, end - position));
    if (log.read(chunk, position) !== chunk.length) {
      throw new BrookError("STORAGE_ERROR", "the log shrank while it was being read");
    }
    // Stored batches: compaction may have thinned them.
    const scan = scanBatches(chunk, { acceptCompacted: true });
    const inSequence = takeWhileInSequence(scan.batches, nextOffset);
    if (inSequence.length > 0) {
      yield { position, batches: inSequence };
      nextOffset = inSequence[inSequence.length - 1].lastOffset + 1;
    }
    const reachedEnd = position + chunk.length === end;
    if (inSequence.length < scan.batches.length) {
      const stray = scan.batches[inSequence.length];
      const problem = `the batch at position ${position + stray.position} has base offset ${stray.baseOffset}, expected ${nextOffset}`;
      return { endPosition: position + stray.position, nextOffset, problem, tornTail: false };
    }
    if (scan.tail === "corrupt" || (scan.tail === "torn" && reachedEnd)) {
      const at = position + scan.validBytes;
      const problem = scan.error?.message ?? `bad batch at position ${at}`;
      const tornTail = scan.tail === "torn" || onlyZerosFrom(log, at, end);
      return { endPosition: at, nextOffset, problem, tornTail };
    }
    if (scan.tail === "torn" && scan.validBytes === 0) {
      chunkBytes = chunk.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    } else {
      position += scan.validBytes;
      chunkBytes = recoveryReadBytes;
    }
  }
  return { endPosition: position, nextOffset, tornTail: false };
}

/** True when `[from, end)` of the file holds only zero bytes (a crash can leave a file longer than what reached it). */
function onlyZerosFrom(log: LogFile, from: number, end: number): boolean {
  const chunk = Buffer.allocUnsafe(Math.min(recoveryReadBytes, end - from));
  // Each pass moves `position` forward by a whole chunk, or stops.
  for (let position = from; position < end; position += chunk.length) {
    const read = log.read(chunk, position);
    const bytes = chunk.subarray(0, Math.min(read, end - position));
    if (bytes.some((byte) => byte !== 0)) return false;
    if (read === 0) break;
  }
  return true;
}

function takeWhileInSequence(batches: readonly BatchHeader[], expectedOffset: number): BatchHeader[] {
  const taken: BatchHeader[] = [];
  let next = expectedOffset;
  for (const batch of batches) {
    if (batch.baseOffset !== next) break;
    taken.push(batch);
    next = batch.lastOffset + 1;
  }
  return taken;
}
