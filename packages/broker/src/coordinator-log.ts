// What the group and transaction coordinators share about the partition of
// an internal topic they just became leader of: wait until its high
// watermark covers the log (everything the previous leader acknowledged is
// in it), then hand every batch to the coordinator in log order.

import { asBrookError, type DecodedBatch, decodeRecordBatches } from "@brook/protocol";
import type { Partition } from "./partition.js";

/** Bytes read per step of a replay; the loop yields between steps so other shards' requests get through. */
const replayReadBytes = 1024 * 1024;
/** Pause between waits for the high watermark when it could not catch up (say, a follower is slow). */
const replayRetryMs = 200;

/**
 * Replays `partition` into `apply`, batch by batch, up to its log end (re-read after every step, so
 * what leaders of other partitions append meanwhile, as transaction markers, is included). Returns
 * false, having applied nothing more, once `loading()` turns false or the replica stops leading.
 */
export async function replayLeaderLog(
  partition: Partition,
  loading: () => boolean,
  writeTimeoutMs: number,
  apply: (batch: DecodedBatch) => void,
): Promise<boolean> {
  const end = partition.log.logEndOffset;
  while (loading()) {
    try {
      await partition.waitForHighWatermark(end, writeTimeoutMs);
      break;
    } catch (error) {
      if (asBrookError(error).code === "NOT_LEADER") return false;
      await new Promise((resolve) => setTimeout(resolve, replayRetryMs));
    }
  }
  let offset = partition.log.logStartOffset;
  while (loading() && offset < partition.log.logEndOffset) {
    const { records } = partition.log.read(offset, replayReadBytes, {
      maxOffset: partition.log.logEndOffset,
      minOneBatch: true,
    });
    const batches = decodeRecordBatches(records);
    if (batches.length === 0) break;
    for (const batch of batches) if (batch.header.lastOffset >= offset) apply(batch);
    offset = batches[batches.length - 1].header.lastOffset + 1;
    // Long partitions: let requests for other shards through.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return loading();
}
