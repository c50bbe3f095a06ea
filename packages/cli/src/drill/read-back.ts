// Reads partitions from given offsets up to their high watermark as of the start of the read: what a
// consumer that starts now would find. The input of the audit.

import type { Brook } from "@brook/client";
import type { PartitionRead, ReadRecord } from "./audit.js";
import type { OffsetLedger } from "./ledger.js";

/** How often the reader checks whether every partition reached its end (a partition may get no batch). */
const endCheckIntervalMs = 50;

export interface ReadBackOptions {
  brook: Brook;
  topic: string;
  starts: readonly { partition: number; offset: number }[];
  /** The read gives up after this long; partitions it did not finish are marked incomplete. */
  timeoutMs: number;
  /** Every record read is noted here too (source "read"). */
  ledger?: OffsetLedger;
}

export async function readBack({
  brook,
  topic,
  starts,
  timeoutMs,
  ledger,
}: ReadBackOptions): Promise<PartitionRead[]> {
  const consumer = brook.consumer({ fromBeginning: true, maxWaitMs: 100 });
  const records = new Map<number, ReadRecord[]>(starts.map(({ partition }) => [partition, []]));
  try {
    await consumer.assign(starts.map(({ partition, offset }) => ({ topic, partition, offset })));
    const ends = new Map((await consumer.endOffsets()).map(({ partition, offset }) => [partition, offset]));
    const reached = (partition: number) =>
      (consumer.position({ topic, partition }) ?? -1) >= (ends.get(partition) ?? 0);
    const allReached = () => starts.every(({ partition }) => reached(partition));
    if (!allReached()) {
      const watch = setInterval(() => allReached() && void consumer.stop(), endCheckIntervalMs);
      const deadline = setTimeout(() => void consumer.stop(), timeoutMs);
      try {
        await consumer.run({
          eachBatch: async ({ batch }) => {
            const list = records.get(batch.partition);
            for (const message of batch.messages) {
              const value = message.value?.toString("utf8") ?? "";
              list?.push({ offset: message.offset, value });
              ledger?.note(batch.partition, message.offset, value, "read");
            }
          },
        });
      } finally {
        clearInterval(watch);
        clearTimeout(deadline);
      }
    }
    return starts.map(({ partition, offset }) => ({
      partition,
      startOffset: offset,
      endOffset: ends.get(partition) ?? 0,
      complete: reached(partition),
      records: records.get(partition) ?? [],
    }));
  } finally {
    await consumer.close();
  }
}
