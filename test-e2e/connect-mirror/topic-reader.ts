// Reads a whole topic from its beginning in the background, per partition, and says when it has read
// everything there is: its position on every partition at the end offset the consumer's isolation level
// sees (the high watermark, or under read_committed the last stable offset, past transaction markers).
import type { Brook, ConsumedMessage, Consumer } from "@brook/client";

export class TopicReader {
  /** Every record read so far, by partition, in offset order. */
  readonly records: ConsumedMessage[][];
  private readonly consumer: Consumer;
  private reading: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    brook: Brook,
    private readonly topic: string,
    partitions: number,
    isolationLevel: "read_committed" | "read_uncommitted",
  ) {
    this.records = Array.from({ length: partitions }, () => []);
    this.consumer = brook.consumer({ isolationLevel, fromBeginning: true, maxWaitMs: 100 });
  }

  async start(): Promise<this> {
    await this.consumer.assign([{ topic: this.topic, fromBeginning: true }]);
    this.reading = (async () => {
      for await (const message of this.consumer) this.records[message.partition].push(message);
    })().catch((error: unknown) => {
      this.failure = error;
    });
    return this;
  }

  /** Whether every partition has been read to its end offset as of now. */
  async atEnd(): Promise<boolean> {
    if (this.failure !== undefined) throw this.failure;
    const ends = await this.consumer.endOffsets();
    return ends.every((end) => (this.consumer.position(end) ?? 0) >= end.offset);
  }

  count(): number {
    return this.records.reduce((sum, records) => sum + records.length, 0);
  }

  async close(): Promise<void> {
    await this.consumer.stop();
    await this.reading;
    await this.consumer.close();
  }
}
