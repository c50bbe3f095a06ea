// Collects records into one open batch per topic-partition, closes (and encodes, once) a batch when it
// is full or told to, and keeps the books: bytes buffered for backpressure, the send() calls each batch
// answers, and the batches a flush() waits for. It does no I/O; the Sender moves batches to brokers.

import {
  asBrookError,
  type BrookError,
  type CompressionName,
  encodeRecordBatch,
  type ProducerStamp,
  type RecordHeader,
} from "@brook/protocol";
import { type Deferred, deferred } from "../runtime.js";
import type { Message, RecordMetadata } from "./types.js";

/** One send() call: resolved when every run of its messages is acknowledged, rejected at the first failure. */
export class PendingSend {
  /** Runs of messages not yet acknowledged. */
  outstanding = 0;
  /** Created by the first acknowledgement: most sends wait with none. */
  private results: RecordMetadata[] | undefined;
  settled = false;
  readonly promise: Promise<RecordMetadata[]>;
  // The settle functions are kept here rather than in a Deferred: one object less per send() call.
  private resolveResults!: (results: RecordMetadata[]) => void;
  private rejectResults!: (error: BrookError) => void;

  constructor() {
    this.promise = new Promise((resolve, reject) => {
      this.resolveResults = resolve;
      this.rejectResults = reject;
    });
  }

  /** Called once every message has been appended; a send with none resolves here. */
  sealed(): void {
    if (this.outstanding === 0) this.resolve();
  }

  acknowledged(metadata: RecordMetadata): void {
    if (this.settled) return;
    if (this.results === undefined) this.results = [metadata];
    else this.results.push(metadata);
    if (--this.outstanding === 0) this.resolve();
  }

  failed(error: BrookError): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectResults(error);
  }

  private resolve(): void {
    this.settled = true;
    const results = this.results ?? [];
    if (results.length > 1) results.sort((a, b) => a.partition - b.partition || a.baseOffset - b.baseOffset);
    this.resolveResults(results);
  }
}

/** Consecutive messages of one send() inside one batch. */
interface Run {
  send: PendingSend;
  firstIndex: number;
  count: number;
}

export class ProducerBatch {
  readonly records: Message[] = [];
  readonly runs: Run[] = [];
  sizeBytes = 0;
  /** Set when the batch closes; retries resend these same bytes. */
  encoded: Buffer | undefined;
  /** An idempotent producer's numbering, set at the first send (see idempotence.ts) and kept for retries. */
  stamp: ProducerStamp | undefined;
  /** Failed sends of this batch so far. */
  attempts = 0;

  constructor(
    /** Creation order, for flush(). */
    readonly sequence: number,
    readonly createdAtMs: number,
  ) {}

  add(message: Message, sizeBytes: number, send: PendingSend): void {
    const last = this.runs[this.runs.length - 1];
    if (last !== undefined && last.send === send) last.count++;
    else {
      this.runs.push({ send, firstIndex: this.records.length, count: 1 });
      send.outstanding++;
    }
    this.records.push(message);
    this.sizeBytes += sizeBytes;
  }
}

/** The batches of one topic-partition: at most one open, then closed ones in order. */
export class PartitionQueue {
  open: ProducerBatch | undefined;
  readonly ready: ProducerBatch[] = [];
  /** At most one request per partition is in flight, so a retry can never reorder batches. */
  inFlight = false;
  /** Backoff after a retriable failure: nothing is sent before this. */
  retryAtMs = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  get isEmpty(): boolean {
    return this.open === undefined && this.ready.length === 0;
  }
}

/** What the broker said about a batch that was appended. */
export interface BatchAck {
  baseOffset: number;
  logAppendTime: number;
  logStartOffset: number;
}

interface FlushWaiter {
  /** Batches created before this sequence number are the ones this flush waits for. */
  sequenceEnd: number;
  remaining: number;
  done: Deferred<void>;
}

/** Per-record framing (length, attributes, timestamp and offset deltas, key/value lengths, header count). */
const RECORD_OVERHEAD_BYTES = 12;

/** Close enough to the encoded size to fill batches and count buffered bytes; the encoder measures exactly. */
export function estimateMessageBytes(message: Message): number {
  let size = RECORD_OVERHEAD_BYTES + byteLength(message.key) + byteLength(message.value);
  const headers = message.headers;
  if (headers === undefined) return size;
  if (Array.isArray(headers)) {
    for (const header of headers as readonly RecordHeader[])
      size += 2 + header.key.length + byteLength(header.value);
  } else {
    const byKey = headers as { [key: string]: string | Buffer };
    for (const key in byKey) size += 2 + key.length + byteLength(byKey[key]);
  }
  return size;
}

function byteLength(data: Buffer | string | null | undefined): number {
  if (data == null) return 0;
  return typeof data === "string" ? Buffer.byteLength(data) : data.length;
}

export interface AccumulatorConfig {
  batchBytes: number;
  bufferBytesMax: number;
  compression: CompressionName;
  /** A transactional producer's batches carry the transactional attribute bit (it sends no others). */
  transactional: boolean;
}

export class RecordAccumulator {
  /** Queues with an open or ready batch: the ones the Sender looks at. */
  readonly active = new Set<PartitionQueue>();
  private readonly queues = new Map<string, PartitionQueue[]>();
  private bufferedBytes = 0;
  private unfinishedBatches = 0;
  private nextSequence = 0;
  private readonly roomWaiters: Deferred<void>[] = [];
  private readonly flushWaiters: FlushWaiter[] = [];

  constructor(
    private readonly config: AccumulatorConfig,
    /** Told when a partition's batch closes, so the sticky partitioner can move on. */
    private readonly onBatchClosed: (queue: PartitionQueue) => void,
  ) {}

  queue(topic: string, partition: number): PartitionQueue {
    let topicQueues = this.queues.get(topic);
    if (topicQueues === undefined) {
      topicQueues = [];
      this.queues.set(topic, topicQueues);
    }
    let queue = topicQueues[partition];
    if (queue === undefined) {
      queue = new PartitionQueue(topic, partition);
      topicQueues[partition] = queue;
    }
    return queue;
  }

  /** Adds a message to the partition's open batch, closing it first if the message would overflow it. */
  append(queue: PartitionQueue, message: Message, send: PendingSend, nowMs: number): void {
    const sizeBytes = estimateMessageBytes(message);
    let batch = queue.open;
    if (batch !== undefined && batch.sizeBytes + sizeBytes > this.config.batchBytes) {
      this.close(queue);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = new ProducerBatch(this.nextSequence++, nowMs);
      queue.open = batch;
      this.unfinishedBatches++;
      this.active.add(queue);
    }
    batch.add(message, sizeBytes, send);
    this.bufferedBytes += sizeBytes;
    // A batch that is full now need not wait for the next message to find out.
    if (batch.sizeBytes >= this.config.batchBytes) this.close(queue);
  }

  /** Encodes the open batch and moves it behind the partition's ready batches. */
  close(queue: PartitionQueue): void {
    const batch = queue.open;
    if (batch === undefined) return;
    queue.open = undefined;
    this.onBatchClosed(queue);
    try {
      batch.encoded = encodeRecordBatch(batch.records, {
        compression: this.config.compression,
        transactional: this.config.transactional,
        nowMs: batch.createdAtMs,
      });
    } catch (error) {
      this.fail(batch, asBrookError(error));
      this.retireIfEmpty(queue);
      return;
    }
    queue.ready.push(batch);
  }

  closeAll(): void {
    for (const queue of this.active) this.close(queue);
  }

  retireIfEmpty(queue: PartitionQueue): void {
    if (queue.isEmpty && !queue.inFlight) this.active.delete(queue);
  }

  hasRoom(): boolean {
    return this.bufferedBytes < this.config.bufferBytesMax && this.roomWaiters.length === 0;
  }

  /** Resolves, in arrival order, once the buffer is below its limit again. */
  waitForRoom(): Promise<void> {
    const waiter = deferred<void>();
    this.roomWaiters.push(waiter);
    return waiter.promise;
  }

  /** After a waiter has appended its messages: let the next one in if there is still room. */
  admitNext(): void {
    if (this.bufferedBytes < this.config.bufferBytesMax) this.roomWaiters.shift()?.resolve();
  }

  complete(queue: PartitionQueue, batch: ProducerBatch, ack: BatchAck): void {
    for (const run of batch.runs) {
      run.send.acknowledged({
        topic: queue.topic,
        topicName: queue.topic,
        partition: queue.partition,
        errorCode: 0,
        baseOffset: ack.baseOffset < 0 ? ack.baseOffset : ack.baseOffset + run.firstIndex,
        recordCount: run.count,
        logAppendTime: ack.logAppendTime,
        logStartOffset: ack.logStartOffset,
      });
    }
    this.finish(batch);
  }

  fail(batch: ProducerBatch, error: BrookError): void {
    for (const run of batch.runs) run.send.failed(error);
    this.finish(batch);
  }

  /** Resolves when every batch that exists now has been acknowledged or has failed. */
  flushed(): Promise<void> {
    if (this.unfinishedBatches === 0) return Promise.resolve();
    const waiter: FlushWaiter = {
      sequenceEnd: this.nextSequence,
      remaining: this.unfinishedBatches,
      done: deferred(),
    };
    this.flushWaiters.push(waiter);
    return waiter.done.promise;
  }

  get isIdle(): boolean {
    return this.unfinishedBatches === 0 && this.roomWaiters.length === 0;
  }

  private finish(batch: ProducerBatch): void {
    this.unfinishedBatches--;
    this.bufferedBytes -= batch.sizeBytes;
    batch.encoded = undefined;
    for (let index = this.flushWaiters.length - 1; index >= 0; index--) {
      const waiter = this.flushWaiters[index];
      if (batch.sequence < waiter.sequenceEnd && --waiter.remaining === 0) {
        this.flushWaiters.splice(index, 1);
        waiter.done.resolve();
      }
    }
    this.admitNext();
  }
}
