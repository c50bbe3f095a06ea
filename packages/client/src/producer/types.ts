// The producer's public shapes, close to KafkaJS's (Message, ProducerRecord, RecordMetadata) except that
// offsets and timestamps are numbers, not strings.

import type { CompressionName, Partitioner, RecordInput } from "@brook/protocol";
import type { RetryPolicy } from "../retry/retry-policy.js";

/** One record to send. `timestamp` is ms since the epoch (a number; KafkaJS takes a string). */
export interface Message extends RecordInput {
  /** Send to this partition instead of asking the partitioner. */
  partition?: number;
}

export interface ProducerRecord {
  topic: string;
  messages: Message[];
}

export interface ProducerBatchRecord {
  topicMessages: ProducerRecord[];
}

/**
 * Where a run of a send's messages landed: one entry per partition in the usual case (more if the run was
 * split across batches). The messages of an entry have offsets baseOffset, baseOffset + 1, ... in the order
 * they were given. Failures reject send(), so errorCode is always 0; it is there for KafkaJS familiarity,
 * as is topicName. With acks=0 the broker's answer is not awaited and baseOffset is -1.
 */
export interface RecordMetadata {
  topic: string;
  topicName: string;
  partition: number;
  errorCode: 0;
  baseOffset: number;
  recordCount: number;
  /** Broker append time when the topic uses LogAppendTime, else -1. */
  logAppendTime: number;
  logStartOffset: number;
}

export type Acks = -1 | 0 | 1 | "all";

export interface ProducerOptions {
  /**
   * Retries never write a record twice (KafkaJS's `idempotent`, Kafka's enable.idempotence): the producer
   * gets a producer id and numbers its batches, and a leader answers a batch it already has with its
   * offsets. Default true, unless acks is given as 0 or 1 (then false, as in Kafka); true with acks 0 or 1
   * is refused with INVALID_CONFIG. An idempotent producer sends at most five batches of a partition per
   * request, and retries a batch on its own.
   */
  idempotent?: boolean;
  /** -1 / "all" (default): every in-sync replica has it; 1: the leader has it; 0: do not wait. */
  acks?: Acks;
  /** How long a batch waits for more records before it is sent. Default 5. */
  lingerMs?: number;
  /** A partition's batch is sent when it reaches this size. Default 16 KiB. */
  batchBytes?: number;
  /** send() waits while this many bytes are buffered and not yet acknowledged. Default 32 MiB. */
  bufferBytesMax?: number;
  /** Default "none". */
  compression?: CompressionName;
  /** Replaces the default (murmur2 of the key, sticky for keyless records). */
  partitioner?: Partitioner;
  /** Produce requests in flight per broker. Default 5. */
  maxInFlightRequests?: number;
  /** Bytes of batches in one Produce request (a larger single batch still goes, alone). Default 1 MiB. */
  requestBytesMax?: number;
  /** Deadline of each Produce call and the broker's wait for acks. Default: the client's. */
  requestTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /**
   * Makes the producer transactional (Kafka's transactional.id): it writes only inside transactions
   * (`await producer.transaction()`), whose records and offsets become visible to read_committed
   * consumers all at once, on commit(), or never. Idempotent by implication (acks must be "all"). Starting
   * a producer with the id of a running one fences the older: it fails with PRODUCER_FENCED and can only
   * be closed. See docs/transactions.md.
   */
  transactionalId?: string;
  /**
   * How long a transaction may stay open before the coordinator aborts it (and fences this producer).
   * Default 60 s, as Kafka's transaction.timeout.ms; the broker caps it (transaction.max.timeout.ms).
   */
  transactionTimeoutMs?: number;
}
