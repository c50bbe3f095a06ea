// The workload that runs while the fuzzer does: acks=all produces of numbered records to a topic of its
// own, one at a time, and a reader fetching them back. The node keeps serving when every acknowledged
// record is read back at its offset and no acknowledgement waited longer than a bound.
import {
  decodeRecordBatches,
  encodeRecordBatch,
  type FetchResponse__Output,
  type ProduceResponse__Output,
} from "@brook/protocol";
import { rawBroker } from "../grpc.js";

/** A produce (or a reader's fetch) answered later than this counts as the node not serving. */
export const answerWaitMsMax = 5_000;

export interface WorkloadResult {
  /** Records acknowledged, by offset. */
  readonly acked: Map<number, string>;
  /** Records read back, by offset. */
  readonly read: Map<number, string>;
  /** The longest wait for a produce's acknowledgement. */
  readonly longestAckWaitMs: number;
  /** Produces answered with an error (each was sent again). */
  readonly produceErrors: string[];
}

export class Workload {
  private readonly client;
  private readonly acked = new Map<number, string>();
  private readonly read = new Map<number, string>();
  private readonly produceErrors: string[] = [];
  private longestAckWaitMs = 0;
  private stopping = false;
  private produced = false;
  private running: Promise<unknown> | undefined;

  constructor(
    address: string,
    private readonly topic: string,
  ) {
    this.client = rawBroker(address);
  }

  start(): void {
    const producing = this.produceLoop().finally(() => {
      this.produced = true;
    });
    this.running = Promise.all([producing, this.readLoop()]);
  }

  /** Stops producing, lets the reader catch up with every acknowledged record, and reports. */
  async stop(): Promise<WorkloadResult> {
    this.stopping = true;
    await this.running;
    this.client.close();
    return {
      acked: this.acked,
      read: this.read,
      longestAckWaitMs: this.longestAckWaitMs,
      produceErrors: this.produceErrors,
    };
  }

  private async produceLoop(): Promise<void> {
    for (let n = 0; !this.stopping; n++) {
      const value = `record-${n}`;
      const started = Date.now();
      for (;;) {
        const answer = await this.produce(value);
        this.longestAckWaitMs = Math.max(this.longestAckWaitMs, Date.now() - started);
        if (typeof answer === "number") {
          this.acked.set(answer, value);
          break;
        }
        this.produceErrors.push(answer);
        if (this.produceErrors.length > 1000)
          throw new Error(`the workload's produces keep failing: ${answer}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /** The offset the record was acknowledged at, or the error it was answered with. */
  private async produce(value: string): Promise<number | string> {
    try {
      const response = await this.client.call<ProduceResponse__Output>("Produce", {
        acks: -1,
        timeoutMs: answerWaitMsMax,
        topics: [
          { topic: this.topic, partitions: [{ partition: 0, records: encodeRecordBatch([{ value }]) }] },
        ],
      });
      const partition = response.topics[0].partitions[0];
      return partition.error?.code ? partition.error.code : partition.baseOffset;
    } catch (error) {
      return String(error);
    }
  }

  /** Reads from offset 0 until stopped and caught up with every acknowledged record. */
  private async readLoop(): Promise<void> {
    let offset = 0;
    for (;;) {
      if (this.produced && [...this.acked.keys()].every((acked) => acked < offset)) return;
      const response = await this.client.call<FetchResponse__Output>("Fetch", {
        maxBytes: 1 << 20,
        minBytes: 1,
        maxWaitMs: 100,
        topics: [
          {
            topic: this.topic,
            partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20 }],
          },
        ],
      });
      const partition = response.topics[0].partitions[0];
      if (partition.error?.code) throw new Error(`the workload's fetch failed: ${partition.error.message}`);
      for (const batch of decodeRecordBatches(partition.records)) {
        if (batch.header.isControl) continue;
        for (const record of batch.records) {
          if (record.offset >= offset) this.read.set(record.offset, record.value?.toString() ?? "");
        }
        offset = Math.max(offset, batch.header.lastOffset + 1);
      }
    }
  }
}
