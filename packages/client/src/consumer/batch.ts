// KafkaJS's Batch with number offsets: one partition's messages from one fetch.

import type { IsolationLevel } from "./isolation.js";
import type { Batch, ConsumedMessage } from "./types.js";

export class ConsumerBatch implements Batch {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly highWatermark: number,
    readonly lastStableOffset: number,
    /** The consumer's level: under read_committed the lag counts to the last stable offset. */
    readonly isolationLevel: IsolationLevel,
    readonly messages: ConsumedMessage[],
    /**
     * Where the next fetch of the partition started: past the last message, and past any transaction
     * markers or aborted records after it, which the application never sees.
     */
    readonly nextOffset: number,
  ) {}

  isEmpty(): boolean {
    return this.messages.length === 0;
  }

  firstOffset(): number | null {
    return this.messages.length === 0 ? null : this.messages[0].offset;
  }

  /** The last message's offset; highWatermark - 1 for an empty batch, as in KafkaJS. */
  lastOffset(): number {
    return this.messages.length === 0
      ? this.highWatermark - 1
      : this.messages[this.messages.length - 1].offset;
  }

  offsetLag(): number {
    return Math.max(0, this.readableEnd() - 1 - this.lastOffset());
  }

  offsetLagLow(): number {
    const first = this.firstOffset();
    return first === null ? 0 : Math.max(0, this.readableEnd() - first);
  }

  /** Where this consumer's reading ends for now, as Kafka counts a consumer's lag. */
  private readableEnd(): number {
    return this.isolationLevel === "read_committed" ? this.lastStableOffset : this.highWatermark;
  }
}
