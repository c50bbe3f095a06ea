// A consumer that follows the partitions while a drill or chaos run goes on, as an application would:
// every record it is handed goes into the ledger (so an offset that later holds something else is
// caught) and the high watermark its fetches report goes to the high-watermark check, sampled every
// few milliseconds (a consumer at the end gets empty fetches, which carry it too, but hand out no batch).

import type { Brook, Consumer } from "@brook/client";
import type { HighWatermarkCheck } from "./health.js";
import type { OffsetLedger } from "./ledger.js";

/** How often the consumer's latest high watermark per partition is sampled. */
const highWatermarkSampleMs = 20;

export interface TailOptions {
  brook: Brook;
  topic: string;
  /** Where to start in each partition. */
  starts: readonly { partition: number; offset: number }[];
  ledger: OffsetLedger;
  highWatermarks: HighWatermarkCheck;
}

export class Tail {
  /** Records handed to the tail so far (re-reads after a reset count again). */
  records = 0;
  /** Why the consumer stopped, if it failed for good. */
  failure: Error | undefined;
  private consumer: Consumer | undefined;
  private running: Promise<void> | undefined;
  private sampler: NodeJS.Timeout | undefined;

  constructor(private readonly options: TailOptions) {}

  async start(): Promise<void> {
    const { brook, topic, starts, ledger, highWatermarks } = this.options;
    // fromBeginning: an offset that disappears under the tail (a truncated log) restarts it at the earliest.
    const consumer = brook.consumer({ fromBeginning: true, maxWaitMs: 200 });
    this.consumer = consumer;
    await consumer.assign(starts.map(({ partition, offset }) => ({ topic, partition, offset })));
    this.running = consumer
      .run({
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            ledger.note(batch.partition, message.offset, message.value?.toString("utf8") ?? "", "tail");
          }
          this.records += batch.messages.length;
        },
      })
      .catch((error: unknown) => {
        this.failure = error instanceof Error ? error : new Error(String(error));
      });
    // Not batch.highWatermark: a buffered batch carries an older fetch's, and would look like a step back
    // after a sample of the newer one. The consumer's own value follows its fetches of a partition in order.
    this.sampler = setInterval(() => {
      for (const { partition } of starts) {
        const highWatermark = consumer.highWatermark({ topic, partition });
        if (highWatermark !== undefined)
          highWatermarks.observe(partition, highWatermark, "consumer", Date.now());
      }
    }, highWatermarkSampleMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler);
    await this.consumer?.close();
    await this.running;
  }
}
