// Which idempotent-producer batches a partition leader takes (Kafka's
// ProducerStateManager): per producer id, its epoch and the sequence ranges
// and offsets of its last five batches. A retried batch that is already in
// the log is recognised and answered with its offsets instead of being
// appended again; a batch that does not continue its producer's sequence is
// refused. Pure and synchronous: the Partition asks before it appends and
// records after, and a new leader or a restarted broker rebuilds the table
// from the batch headers in its log (see log-batch-headers.ts), which is how
// the state survives a leader change.

import { type BatchHeader, BrookError, incrementSequence } from "@brook/protocol";

/**
 * Batches remembered per producer, as Kafka's NUM_BATCHES_TO_RETAIN: a
 * producer has at most this many batches in flight to one partition, so any
 * batch it may still retry is among them.
 */
export const producerBatchesRetained = 5;

/** Kafka's producer.id.expiration.ms default: a producer silent this long is forgotten. */
export const producerIdExpirationMsDefault = 24 * 60 * 60 * 1000;

/** The header fields the rules read; a BatchHeader has them all. */
export type ProducerBatchHeader = Pick<
  BatchHeader,
  "producerId" | "producerEpoch" | "baseSequence" | "lastOffsetDelta" | "maxTimestamp"
>;

/** A batch as it lies in the log: with the offsets it was given. */
export type StoredBatchHeader = ProducerBatchHeader & Pick<BatchHeader, "baseOffset" | "lastOffset">;

/** One appended batch of a producer: its sequence range and where it landed. */
export interface BatchMetadata {
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
}

export interface ProducerEntry {
  readonly producerEpoch: number;
  /** Oldest first, at most producerBatchesRetained, all of producerEpoch (a new epoch starts afresh). */
  readonly batches: readonly BatchMetadata[];
  /** The newest batch's max timestamp, for expiry. */
  readonly lastTimestampMs: number;
}

/** What to do with one append's batches; anything else is refused with a thrown BrookError. */
export type ProducerCheck =
  | { readonly kind: "append" }
  /** Already in the log (a retry): answer with these offsets and append nothing. */
  | { readonly kind: "duplicate"; readonly baseOffset: number; readonly lastOffset: number };

const append: ProducerCheck = { kind: "append" };

/** Kafka's hasProducerId: producer id -1 marks a batch from a producer that is not idempotent. */
export function isIdempotent(header: Pick<BatchHeader, "producerId">): boolean {
  return header.producerId >= 0;
}

/** The sequence number of a batch's last record: one per record, as offsets are. */
export function lastSequenceOf(header: ProducerBatchHeader): number {
  return incrementSequence(header.baseSequence, header.lastOffsetDelta);
}

export class ProducerStateTable {
  private readonly producers = new Map<number, ProducerEntry>();

  /** Producers known. */
  get size(): number {
    return this.producers.size;
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  /**
   * The verdict on the batches of one append (one partition of one produce
   * request), in order, each checked against the state as the batches before
   * it leave it; changes nothing. As in Kafka, a duplicate is looked up in
   * the state before this append: when every batch is one, and they lie back
   * to back in the log, the append is a retry of one that succeeded. A mix
   * of appended and new batches (a client that regrouped batches on retry)
   * cannot be answered with one base offset and is refused.
   *
   * Throws INVALID_PRODUCER_EPOCH for an epoch older than the producer's,
   * OUT_OF_ORDER_SEQUENCE_NUMBER for a gap or a new epoch not starting at 0,
   * INVALID_REQUEST for a malformed idempotent batch or a mixed retry.
   */
  check(headers: readonly ProducerBatchHeader[]): ProducerCheck {
    const duplicates = headers.map((header) =>
      isIdempotent(header) ? duplicateOf(this.producers.get(header.producerId), header) : undefined,
    );
    const found = duplicates.filter((duplicate) => duplicate !== undefined);
    if (found.length > 0) return wholeRetry(found, headers.length);
    const pending = new Map<number, ProducerEntry>();
    for (const header of headers) {
      if (!isIdempotent(header)) continue;
      const entry = pending.get(header.producerId) ?? this.producers.get(header.producerId);
      checkSequence(entry, header);
      // Offsets are not known before the append, and nothing here reads them.
      pending.set(header.producerId, withBatch(entry, header, -1, -1));
    }
    return append;
  }

  /** Records an append that check() allowed: the log wrote `headers` back to back from `baseOffset`. */
  record(headers: readonly ProducerBatchHeader[], baseOffset: number): void {
    let offset = baseOffset;
    for (const header of headers) {
      const lastOffset = offset + header.lastOffsetDelta;
      if (isIdempotent(header)) this.put(header, offset, lastOffset);
      offset = lastOffset + 1;
    }
  }

  /**
   * Replays batches as they lie in the log, in log order, without checking
   * them: a follower's appends (the leader checked), or the whole log when a
   * replica becomes leader or a broker restarts.
   */
  loadFromBatches(headers: Iterable<StoredBatchHeader>): void {
    for (const header of headers) {
      if (isIdempotent(header) && header.baseSequence >= 0)
        this.put(header, header.baseOffset, header.lastOffset);
    }
  }

  /**
   * Forgets batches at or above `offset` (the log was truncated there). A
   * producer left with no batch is forgotten: from then on it is treated as
   * new, as after retention (its older batches, if any, were beyond the five
   * kept). For exact state, clear() and load the log again.
   */
  truncateTo(offset: number): void {
    for (const [producerId, entry] of this.producers) {
      const batches = entry.batches.filter((batch) => batch.lastOffset < offset);
      if (batches.length === entry.batches.length) continue;
      if (batches.length === 0) this.producers.delete(producerId);
      else this.producers.set(producerId, { ...entry, batches });
    }
  }

  /** Forgets producers whose newest batch lies below the log start offset (retention deleted it), as Kafka does. */
  forgetBefore(logStartOffset: number): void {
    for (const [producerId, entry] of this.producers) {
      if ((entry.batches.at(-1)?.lastOffset ?? -1) < logStartOffset) this.producers.delete(producerId);
    }
  }

  /** Forgets producers that have written nothing for `expirationMs` (Kafka's producer.id.expiration.ms). */
  expire(nowMs: number, expirationMs = producerIdExpirationMsDefault): void {
    for (const [producerId, entry] of this.producers) {
      if (nowMs - entry.lastTimestampMs >= expirationMs) this.producers.delete(producerId);
    }
  }

  clear(): void {
    this.producers.clear();
  }

  private put(header: ProducerBatchHeader, baseOffset: number, lastOffset: number): void {
    this.producers.set(
      header.producerId,
      withBatch(this.producers.get(header.producerId), header, baseOffset, lastOffset),
    );
  }
}

/** Kafka's findDuplicateBatch: the same epoch and exactly the sequence range of a remembered batch. */
function duplicateOf(
  entry: ProducerEntry | undefined,
  header: ProducerBatchHeader,
): BatchMetadata | undefined {
  if (entry === undefined || entry.producerEpoch !== header.producerEpoch) return undefined;
  const lastSequence = lastSequenceOf(header);
  return entry.batches.find(
    (batch) => batch.firstSequence === header.baseSequence && batch.lastSequence === lastSequence,
  );
}

/** Every batch of the append is a duplicate, lying back to back: the append as it was first answered. */
function wholeRetry(duplicates: readonly BatchMetadata[], batchCount: number): ProducerCheck {
  const contiguous = duplicates.every(
    (batch, i) => i === 0 || batch.baseOffset === duplicates[i - 1].lastOffset + 1,
  );
  if (duplicates.length < batchCount || !contiguous) {
    throw new BrookError(
      "INVALID_REQUEST",
      "the request repeats batches already appended together with other batches; retry exactly the batches of the request that failed (or send one batch per partition per request, as Kafka requires)",
    );
  }
  return {
    kind: "duplicate",
    baseOffset: duplicates[0].baseOffset,
    lastOffset: duplicates.at(-1)!.lastOffset,
  };
}

/**
 * Kafka's checkProducerEpoch and checkSequence for a client's batch. A
 * producer the table does not know may start anywhere (Kafka since 2.5,
 * KIP-360): its state may have gone with retention or expiry, and refusing
 * it would fail a producer that did nothing wrong.
 */
function checkSequence(entry: ProducerEntry | undefined, header: ProducerBatchHeader): void {
  const { producerId, producerEpoch, baseSequence } = header;
  if (producerEpoch < 0 || baseSequence < 0) {
    throw new BrookError(
      "INVALID_REQUEST",
      `a batch of idempotent producer ${producerId} needs a producer epoch and a base sequence of 0 or more (got ${producerEpoch} and ${baseSequence})`,
    );
  }
  if (entry === undefined) return;
  if (producerEpoch < entry.producerEpoch) {
    throw new BrookError(
      "INVALID_PRODUCER_EPOCH",
      `producer ${producerId} sent epoch ${producerEpoch}, but the partition has seen epoch ${entry.producerEpoch}`,
    );
  }
  if (producerEpoch > entry.producerEpoch) {
    if (baseSequence === 0) return;
    throw new BrookError(
      "OUT_OF_ORDER_SEQUENCE_NUMBER",
      `producer ${producerId}'s new epoch ${producerEpoch} must start at sequence 0, not ${baseSequence}`,
    );
  }
  const lastSequence = entry.batches.at(-1)?.lastSequence;
  if (lastSequence === undefined || baseSequence === incrementSequence(lastSequence, 1)) return;
  throw new BrookError(
    "OUT_OF_ORDER_SEQUENCE_NUMBER",
    `producer ${producerId} (epoch ${producerEpoch}) sent sequence ${baseSequence}; the partition expects ${incrementSequence(lastSequence, 1)}`,
  );
}

/** The entry once `header` lies at baseOffset..lastOffset: a new epoch starts a fresh list; the last five are kept. */
function withBatch(
  entry: ProducerEntry | undefined,
  header: ProducerBatchHeader,
  baseOffset: number,
  lastOffset: number,
): ProducerEntry {
  const batch = {
    firstSequence: header.baseSequence,
    lastSequence: lastSequenceOf(header),
    baseOffset,
    lastOffset,
  };
  const kept =
    entry !== undefined && entry.producerEpoch === header.producerEpoch
      ? entry.batches.slice(-(producerBatchesRetained - 1))
      : [];
  return {
    producerEpoch: header.producerEpoch,
    batches: [...kept, batch],
    lastTimestampMs: Math.max(entry?.lastTimestampMs ?? -1, header.maxTimestamp),
  };
}
