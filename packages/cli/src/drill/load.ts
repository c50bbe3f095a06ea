// Steady, paced producer load for a drill or a chaos run: each producer sends runs of unique values
// (`<prefix>p<n>-<seq>`) to the partitions in turn, and every acknowledgement is written down with the
// partition and offset the leader gave it, so that the read-back can hold the cluster to it. Which client
// produces (Brook's SDK or kafkajs) is the LoadClient's business (producer.ts).

import type { OffsetLedger } from "./ledger.js";
import { type LoadClient, type LoadProducer, SendFailure } from "./producer.js";
import { type Placement, recordValue } from "./records.js";
import { sleepUntil, withinMs } from "./time.js";

export const loadDefaults = {
  recordsPerSend: 10,
  /** Sends awaiting their answer, per producer; a stalled partition holds up at most this many. */
  sendsInFlightMax: 64,
  /** No load runs past this many records, whatever it was asked. */
  recordsMax: 10_000_000,
  /** After stop(), how long sends in flight get to be answered before they count as unsettled. */
  settleMsMax: 30_000,
  /** How long closing a producer may take before it is left behind. */
  closeMsMax: 5_000,
} as const;

export interface LoadOptions {
  /** Makes the load's producers: Brook's SDK or kafkajs (see loadClient). */
  client: LoadClient;
  topic: string;
  partitions: readonly number[];
  /** How many producers (each its own connections and sequence); default 1. */
  producers?: number;
  /** Across all producers. */
  recordsPerSecond: number;
  recordsPerSend?: number;
  /** Across all producers; the load ends by itself once they are all handed to send(). */
  recordsMax?: number;
  valuePrefix: string;
  ledger: OffsetLedger;
  sendsInFlightMax?: number;
}

export class Load {
  /** Every acknowledged value and where the producer was told it went. */
  readonly acked = new Map<string, Placement>();
  /** Records whose send() failed for good, by error code. */
  readonly failures = new Map<string, number>();
  /** The first message seen for each failure code, to tell a person what went wrong. */
  readonly failureMessages = new Map<string, string>();
  /** Per producer: sequence numbers handed to send() so far (0 .. n-1). */
  readonly sentPerProducer = new Map<number, number>();
  /** Records still unanswered when stop() gave up waiting. */
  unsettled = 0;
  /** Acknowledgements whose offsets did not add up to the records sent (an SDK or broker bug). */
  malformedAcks = 0;
  private sending = false;
  private closed = false;
  private workers: Promise<void> = Promise.resolve();
  private readonly producers: LoadProducer[] = [];
  private readonly inFlight = new Map<Promise<void>, number>();

  constructor(private readonly options: LoadOptions) {}

  /** Which client produces. */
  get client(): LoadClient["kind"] {
    return this.options.client.kind;
  }

  get recordsPerSecond(): number {
    return this.options.recordsPerSecond;
  }

  get sent(): number {
    return [...this.sentPerProducer.values()].reduce((sum, n) => sum + n, 0);
  }

  get failed(): number {
    return [...this.failures.values()].reduce((sum, n) => sum + n, 0);
  }

  start(): void {
    if (this.sending || this.closed) return;
    this.sending = true;
    const count = this.options.producers ?? 1;
    const recordsPerSend = this.options.recordsPerSend ?? loadDefaults.recordsPerSend;
    const recordsMax = Math.min(this.options.recordsMax ?? loadDefaults.recordsMax, loadDefaults.recordsMax);
    const sendsPerProducer = Math.ceil(recordsMax / recordsPerSend / count);
    const intervalMs = (recordsPerSend * count * 1000) / this.options.recordsPerSecond;
    const workers: Promise<void>[] = [];
    for (let index = 1; index <= count; index++) {
      const producer = this.options.client.producer();
      this.producers.push(producer);
      this.sentPerProducer.set(index, 0);
      workers.push(this.produce(index, producer, sendsPerProducer, recordsPerSend, intervalMs));
    }
    this.workers = Promise.all(workers).then(() => undefined);
  }

  /** Resolves once every producer has handed its share of recordsMax to send(), or stop() was called. */
  finished(): Promise<void> {
    return this.workers;
  }

  /**
   * Stops sending, gives the sends in flight up to `settleMsMax` to be answered (later answers are
   * ignored: the read-back may already have begun), and closes the producers.
   */
  async stop(settleMsMax: number = loadDefaults.settleMsMax): Promise<void> {
    this.sending = false;
    await this.workers;
    await withinMs(Promise.allSettled(this.inFlight.keys()), settleMsMax);
    this.closed = true;
    this.unsettled = [...this.inFlight.values()].reduce((sum, n) => sum + n, 0);
    await withinMs(Promise.allSettled(this.producers.map((p) => p.close())), loadDefaults.closeMsMax);
  }

  private async produce(
    index: number,
    producer: LoadProducer,
    sends: number,
    recordsPerSend: number,
    intervalMs: number,
  ): Promise<void> {
    const { partitions, topic, valuePrefix } = this.options;
    const inFlightMax = this.options.sendsInFlightMax ?? loadDefaults.sendsInFlightMax;
    const mine = new Set<Promise<void>>();
    let dueMs = Date.now();
    for (let n = 0; n < sends && this.sending; n++) {
      await sleepUntil(dueMs);
      // Bounded: each pass waits for one of at most inFlightMax sends, which settle within their retries.
      while (mine.size >= inFlightMax && this.sending) await Promise.race(mine);
      if (!this.sending) return;
      const partition = partitions[(index + n) % partitions.length];
      const first = this.sentPerProducer.get(index) ?? 0;
      this.sentPerProducer.set(index, first + recordsPerSend);
      const values = Array.from({ length: recordsPerSend }, (_, i) =>
        recordValue(valuePrefix, { producer: index, seq: first + i }),
      );
      const sent = producer
        .send(topic, partition, values)
        .then(
          (placements) => this.acknowledged(values, partition, placements),
          (error: unknown) => this.failedSend(values.length, error),
        )
        .finally(() => {
          this.inFlight.delete(sent);
          mine.delete(sent);
        });
      this.inFlight.set(sent, values.length);
      mine.add(sent);
      // Behind schedule (a stall): carry on at the set rate from now rather than burst to catch up.
      dueMs = Math.max(dueMs + intervalMs, Date.now() - intervalMs);
    }
  }

  /** The producer's answer: a placement per value, in the order sent. */
  private acknowledged(values: string[], partition: number, placements: readonly Placement[]): void {
    if (this.closed) return;
    placements.forEach((placement, i) => {
      if (i >= values.length) return;
      this.acked.set(values[i], placement);
      this.options.ledger.note(placement.partition, placement.offset, values[i], "ack");
    });
    const malformed =
      placements.length !== values.length ||
      placements.some((p) => p.offset < 0 || p.partition !== partition);
    if (malformed) this.malformedAcks++;
  }

  private failedSend(records: number, error: unknown): void {
    if (this.closed) return;
    const { code, message } =
      error instanceof SendFailure ? error : new SendFailure("UNKNOWN", String(error));
    this.failures.set(code, (this.failures.get(code) ?? 0) + records);
    if (!this.failureMessages.has(code)) this.failureMessages.set(code, message);
  }
}
