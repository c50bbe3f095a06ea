// Which idempotent-producer batches a partition leader takes (Kafka's
// ProducerStateManager): per producer id, its epoch and the sequence ranges
// and offsets of its last five batches. A retried batch that is already in
// the log is recognised and answered with its offsets instead of being
// appended again; a batch that does not continue its producer's sequence is
// refused. It also keeps the partition's side of transactions
// (docs/transactions.md): each producer's open transaction (from its first
// transactional batch to its marker), the coordinator epoch of its last
// marker, the transactions whose marker the high watermark does not cover
// yet, and the aborted transactions a read_committed reader must drop; from
// these comes the last stable offset. Pure and synchronous: the Partition
// asks before it appends and records after, and a new leader or a restarted
// broker rebuilds the table from the batch headers in its log (see
// log-batch-headers.ts), which is how the state survives a leader change.
// Leader appends, follower appends and that rebuild all go through one
// function (apply), so they cannot disagree.

import {
  assert,
  type BatchHeader,
  BrookError,
  type Clock,
  type ControlRecord,
  incrementSequence,
  systemClock,
} from "@brook/protocol";

/**
 * Batches remembered per producer, as Kafka's NUM_BATCHES_TO_RETAIN: a
 * producer has at most this many batches in flight to one partition, so any
 * batch it may still retry is among them.
 */
export const producerBatchesRetained = 5;

/**
 * Idempotent producers one partition remembers at most, by default. Expiry and retention bound the
 * table over time; this bounds it at any moment, against a client that makes up producer ids. A
 * client's batch from a new producer past it is refused (RESOURCE_LIMIT_REACHED); replication and a
 * rebuild from the log never are (the log already holds those batches).
 */
export const producersPerPartitionMaxDefault = 100_000;

/**
 * Kafka's producer.id.expiration.ms default: a producer silent this long (by the broker's clock) is
 * forgotten.
 */
export const producerIdExpirationMsDefault = 24 * 60 * 60 * 1000;

/**
 * Who is appending (Kafka's AppendOrigin): a client's Produce, or the group
 * coordinator writing a transactional offset commit under the producer's id
 * and epoch with sequence -1 (no sequence check; the epoch is still checked
 * and the batch still opens the producer's transaction).
 */
export type AppendOrigin = "client" | "coordinator";

/** The header fields the rules read; a BatchHeader has them all but `control`. */
export type ProducerBatchHeader = Pick<
  BatchHeader,
  "producerId" | "producerEpoch" | "baseSequence" | "lastOffsetDelta"
> &
  Partial<Pick<BatchHeader, "isTransactional" | "isControl">> & {
    /** A control batch's one record, decoded (the rules need the marker's type); set exactly when isControl. */
    readonly control?: ControlRecord;
  };

/** A batch as it lies in the log: with the offsets it was given. */
export type StoredBatchHeader = ProducerBatchHeader & Pick<BatchHeader, "baseOffset" | "lastOffset">;

/** A transaction marker as the coordinator asks for it. */
export interface MarkerHeader {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly control: ControlRecord;
}

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
  /**
   * When this replica stored the producer's newest batch or marker, by the broker's clock (the time of
   * a rebuild for what a rebuild replays), for expiry. Never the batch's own timestamp: that is the
   * client's clock, and a client whose clock runs behind would have its state expire under it.
   */
  readonly lastWriteMs: number;
  /** The last offset of its newest batch or marker, for retention. */
  readonly lastOffset: number;
  /** The first offset of its open transaction; -1 when none is open. */
  readonly openTxnFirstOffset: number;
  /** The coordinator epoch of its newest marker; -1 before any. */
  readonly coordinatorEpoch: number;
}

/**
 * A finished transaction of one producer: its first transactional batch and
 * its marker's offset (Kafka's AbortedTxn has the same two offsets).
 */
export interface TransactionRange {
  readonly producerId: number;
  readonly firstOffset: number;
  /** The marker's offset. */
  readonly lastOffset: number;
}

/** An aborted transaction as the table keeps it, with what bounds a lookup. */
interface AbortedEntry {
  readonly txn: TransactionRange;
  /**
   * The smallest first offset of a transaction still open just after this
   * marker (the marker's offset + 1 if none): every transaction aborted
   * later started at or after it, being open then or opened after. A lookup
   * stops at the first entry whose floor reaches its range's end (Kafka's
   * AbortedTxn keeps the last stable offset for the same purpose).
   */
  readonly openFloor: number;
}

export interface ProducerStateOptions {
  /**
   * Whether abort markers add to the aborted list read_committed reads use.
   * Off for __consumer_offsets: no one reads it read_committed (its
   * coordinator settles transactional offsets from the markers), and it is
   * never deleted by retention, which is what bounds the list.
   */
  readonly abortedTransactionsKept: boolean;
  /** Producers remembered at most (producersPerPartitionMaxDefault when left out). */
  readonly producersMax?: number;
  /** The broker's clock, which stamps each producer's last write for expiry (the system clock when left out). */
  readonly clock?: Clock;
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
  /**
   * Bounded by expiry (producer.id.expiration.ms) and retention; a producer with an open transaction
   * stays. A client's new producer past producersMax is refused.
   */
  private readonly producers = new Map<number, ProducerEntry>();
  /**
   * Open transactions: producer id → first offset. A transaction opens at the
   * log end, and the rebuild replays in log order, so insertion order is
   * first-offset order and the first entry is the smallest. At most one per
   * known producer.
   */
  private readonly open = new Map<number, number>();
  /**
   * Finished transactions whose marker the high watermark does not cover
   * yet, in marker order: until it does, a new leader might not have the
   * marker, so the transaction still holds the last stable offset back
   * (Kafka's unreplicatedTxns). Bounded by the markers above the high watermark.
   */
  private unstable: TransactionRange[] = [];
  /**
   * Aborted transactions, in marker (lastOffset) order; bounded by retention:
   * forgetBefore() drops those whose marker is gone from the log. Empty when
   * the options keep none.
   */
  private aborted: AbortedEntry[] = [];
  private highWatermarkOffset = 0;
  /** The first offset of the newest transaction opened: asserts that `open` stays in offset order. */
  private newestOpenOffset = -1;

  private readonly clock: Clock;

  constructor(private readonly options: ProducerStateOptions = { abortedTransactionsKept: true }) {
    this.clock = options.clock ?? systemClock;
  }

  /** Producers known. */
  get size(): number {
    return this.producers.size;
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  /** Open transactions, by producer id: their first offsets. */
  get openTransactions(): ReadonlyMap<number, number> {
    return this.open;
  }

  /** Every aborted transaction the log still holds the marker of, in marker order. */
  get abortedTransactionList(): readonly TransactionRange[] {
    return this.aborted.map(({ txn }) => txn);
  }

  /**
   * The last stable offset: below it every transaction is decided and its
   * marker is committed (below the high watermark). The smallest first
   * offset of an open or not yet stable transaction, the high watermark if
   * none, and never above it.
   */
  get lastStableOffset(): number {
    let offset = this.highWatermarkOffset;
    for (const firstOffset of this.open.values()) {
      offset = Math.min(offset, firstOffset);
      break; // the first is the smallest (see `open`)
    }
    for (const txn of this.unstable) offset = Math.min(offset, txn.firstOffset);
    return offset;
  }

  /**
   * The high watermark moved (either way: a follower's may be clamped): the
   * transactions whose marker it now covers stop holding the last stable
   * offset back. Called before a rebuild too, so replaying a long log keeps
   * only the unstable tail.
   */
  updateHighWatermark(offset: number): void {
    this.highWatermarkOffset = offset;
    let stable = 0;
    while (stable < this.unstable.length && this.unstable[stable].lastOffset < offset) stable++;
    if (stable > 0) this.unstable = this.unstable.slice(stable);
  }

  /**
   * The aborted transactions a read of [fromOffset, toOffset) must know of:
   * those whose marker is at or after fromOffset and whose first offset is
   * before toOffset, sorted by first offset (what Kafka's readers,
   * kafkajs's among them, expect). Looks at the markers from fromOffset on
   * only until no later transaction can start before toOffset: the aborts
   * that happened while the transactions open at toOffset were open, not
   * the whole list.
   */
  abortedTransactions(fromOffset: number, toOffset: number): TransactionRange[] {
    const found: TransactionRange[] = [];
    for (let i = this.firstAbortedEndingAtOrAfter(fromOffset); i < this.aborted.length; i++) {
      const { txn, openFloor } = this.aborted[i];
      if (txn.firstOffset < toOffset) found.push(txn);
      if (openFloor >= toOffset) break;
    }
    return found.sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /**
   * The verdict on the batches of one append (one partition of one produce
   * request), in order, each checked against the state as the batches before
   * it leave it; changes nothing. As in Kafka, a duplicate is looked up in
   * the state before this append: when every batch is one, and they lie back
   * to back in the log, the append is a retry of one that succeeded. A mix
   * of appended and new batches (a client that regrouped batches on retry)
   * cannot be answered with one base offset and is refused. A coordinator's
   * append has no sequence: only its epoch is checked.
   *
   * Throws INVALID_PRODUCER_EPOCH for an epoch older than the producer's,
   * OUT_OF_ORDER_SEQUENCE_NUMBER for a gap or a new epoch not starting at 0,
   * INVALID_REQUEST for a control batch (only the broker writes markers), a
   * transactional batch without a producer id, a malformed idempotent batch
   * or a mixed retry.
   */
  check(headers: readonly ProducerBatchHeader[], origin: AppendOrigin = "client"): ProducerCheck {
    for (const header of headers) checkShape(header);
    switch (origin) {
      case "client":
        return this.checkClient(headers);
      case "coordinator":
        for (const header of headers) {
          if (isIdempotent(header)) checkEpoch(this.producers.get(header.producerId), header);
        }
        return append;
      default: {
        const unknown: never = origin;
        throw new Error(`unknown append origin ${unknown}`);
      }
    }
  }

  /**
   * Whether a marker may be appended (Kafka's ProducerAppendInfo.appendEndTxnMarker):
   * INVALID_PRODUCER_EPOCH if its epoch is older than the producer's (a
   * coordinator acting for a fenced instance); TRANSACTION_COORDINATOR_FENCED
   * if its coordinator epoch is older than one this producer's markers
   * already carried (a deposed coordinator). A newer epoch is taken: it
   * fences the producer's older in-flight batches.
   */
  checkMarker(marker: MarkerHeader): void {
    const entry = this.producers.get(marker.producerId);
    if (entry === undefined) return;
    checkEpoch(entry, marker);
    const { control } = marker;
    if (control.type !== "unknown" && control.coordinatorEpoch < entry.coordinatorEpoch) {
      throw new BrookError(
        "TRANSACTION_COORDINATOR_FENCED",
        `a marker for producer ${marker.producerId} comes from coordinator epoch ${control.coordinatorEpoch}, but this partition has seen coordinator epoch ${entry.coordinatorEpoch}`,
      );
    }
  }

  /** Records an append that check() or checkMarker() allowed: the log wrote `headers` back to back from `baseOffset`. */
  record(headers: readonly ProducerBatchHeader[], baseOffset: number): void {
    let offset = baseOffset;
    for (const header of headers) {
      const lastOffset = offset + header.lastOffsetDelta;
      this.apply(header, offset, lastOffset);
      offset = lastOffset + 1;
    }
  }

  /**
   * Replays batches as they lie in the log, in log order, without checking
   * them: a follower's appends (the leader checked), or the whole log when a
   * replica becomes leader or a broker restarts (after clear() and
   * updateHighWatermark()).
   */
  loadFromBatches(headers: Iterable<StoredBatchHeader>): void {
    for (const header of headers) this.apply(header, header.baseOffset, header.lastOffset);
  }

  /**
   * Forgets what retention deleted (the log now starts at `logStartOffset`),
   * as Kafka does: aborted transactions whose marker is gone, and producers
   * whose newest batch is gone, unless a transaction of theirs is still
   * open. (Such a transaction's first offset may then lie below the log
   * start, until the coordinator ends it, at most
   * transaction.max.timeout.ms later; the Partition clamps the last stable
   * offset to the log start meanwhile. A rebuild from the log would put it
   * at its first surviving batch instead: either way no read_committed
   * reader passes it.)
   */
  forgetBefore(logStartOffset: number): void {
    for (const [producerId, entry] of this.producers) {
      if (entry.lastOffset < logStartOffset && entry.openTxnFirstOffset < 0)
        this.producers.delete(producerId);
    }
    const kept = this.firstAbortedEndingAtOrAfter(logStartOffset);
    if (kept > 0) this.aborted = this.aborted.slice(kept);
  }

  /**
   * Forgets producers that have written nothing for `expirationMs` (Kafka's
   * producer.id.expiration.ms), except those with an open transaction: the
   * coordinator's timeout ends that, and the marker needs the entry.
   */
  expire(expirationMs = producerIdExpirationMsDefault): void {
    const nowMs = this.clock.nowMs();
    for (const [producerId, entry] of this.producers) {
      if (entry.openTxnFirstOffset < 0 && nowMs - entry.lastWriteMs >= expirationMs)
        this.producers.delete(producerId);
    }
  }

  /** Forgets everything, before a rebuild from the log. */
  clear(): void {
    this.producers.clear();
    this.open.clear();
    this.unstable = [];
    this.aborted = [];
    this.highWatermarkOffset = 0;
    this.newestOpenOffset = -1;
  }

  /** The index of the first aborted transaction whose marker is at or after `offset` (binary search: the list is in marker order). */
  private firstAbortedEndingAtOrAfter(offset: number): number {
    let low = 0;
    let high = this.aborted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.aborted[middle].txn.lastOffset < offset) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private checkClient(headers: readonly ProducerBatchHeader[]): ProducerCheck {
    const duplicates = headers.map((header) =>
      isIdempotent(header) ? duplicateOf(this.producers.get(header.producerId), header) : undefined,
    );
    const found = duplicates.filter((duplicate) => duplicate !== undefined);
    if (found.length > 0) return wholeRetry(found, headers.length);
    const pending = new Map<number, ProducerEntry | undefined>();
    const producersMax = this.options.producersMax ?? producersPerPartitionMaxDefault;
    for (const header of headers) {
      if (!isIdempotent(header)) continue;
      if (
        !pending.has(header.producerId) &&
        !this.producers.has(header.producerId) &&
        this.producers.size + newProducers(pending, this.producers) >= producersMax
      ) {
        throw new BrookError(
          "RESOURCE_LIMIT_REACHED",
          `this partition already tracks ${this.producers.size} idempotent producers, its limit (producersMax ${producersMax}); producer ${header.producerId} cannot start writing here until others expire`,
        );
      }
      const entry = pending.has(header.producerId)
        ? pending.get(header.producerId)
        : this.producers.get(header.producerId);
      checkSequence(entry, header);
      // Offsets are not known before the append, and nothing here reads them.
      pending.set(header.producerId, withBatch(entry, header, -1, -1, 0));
    }
    return append;
  }

  /** The one way a stored batch changes the table: leader appends, follower appends and rebuilds alike. */
  private apply(header: ProducerBatchHeader, baseOffset: number, lastOffset: number): void {
    if (!isIdempotent(header)) return;
    const entry = this.producers.get(header.producerId);
    const nowMs = this.clock.nowMs();
    if (header.isControl) {
      this.applyMarker(entry, header, baseOffset, nowMs);
      return;
    }
    let next =
      header.baseSequence >= 0
        ? withBatch(entry, header, baseOffset, lastOffset, nowMs)
        : { ...withEpoch(entry, header, nowMs), lastOffset };
    if (header.isTransactional && next.openTxnFirstOffset < 0) {
      // The producer's first transactional batch since its last marker opens its transaction here.
      assert(baseOffset > this.newestOpenOffset, "transactions open in log order");
      this.newestOpenOffset = baseOffset;
      next = { ...next, openTxnFirstOffset: baseOffset };
      this.open.set(header.producerId, baseOffset);
    }
    this.producers.set(header.producerId, next);
  }

  /**
   * A marker closes the producer's open transaction, if any (a marker with
   * nothing open here is a coordinator's retry or a transaction that never
   * wrote to this partition); an abort adds it to the aborted list. A newer
   * epoch is taken, fencing the producer's older batches still in flight.
   */
  private applyMarker(
    entry: ProducerEntry | undefined,
    header: ProducerBatchHeader,
    offset: number,
    nowMs: number,
  ): void {
    const control = header.control;
    assert(control !== undefined, "a control batch reaches the table with its record decoded");
    if (control.type === "unknown") return; // not a transaction marker: nothing of a producer's
    const before = withEpoch(entry, header, nowMs);
    this.producers.set(header.producerId, {
      ...before,
      lastOffset: offset,
      openTxnFirstOffset: -1,
      coordinatorEpoch: Math.max(before.coordinatorEpoch, control.coordinatorEpoch),
    });
    if (before.openTxnFirstOffset < 0) return;
    this.open.delete(header.producerId);
    const txn = { producerId: header.producerId, firstOffset: before.openTxnFirstOffset, lastOffset: offset };
    if (offset >= this.highWatermarkOffset) this.unstable.push(txn);
    switch (control.type) {
      case "abort":
        if (this.options.abortedTransactionsKept)
          this.aborted.push({ txn, openFloor: this.openFloor(offset) });
        return;
      case "commit":
        return;
      default: {
        const unknown: never = control;
        throw new Error(`unknown marker ${JSON.stringify(unknown)}`);
      }
    }
  }

  /** The smallest first offset of an open transaction, or past `markerOffset` if none is open (see AbortedEntry). */
  private openFloor(markerOffset: number): number {
    for (const firstOffset of this.open.values()) return firstOffset; // the first is the smallest
    return markerOffset + 1;
  }
}

/** What any append may not hold, whoever sends it. */
function checkShape(header: ProducerBatchHeader): void {
  if (header.isControl) {
    throw new BrookError(
      "INVALID_REQUEST",
      "control batches are written only by the broker (transaction markers, through WriteTxnMarkers); a produce may not carry one",
    );
  }
  if (header.isTransactional && (!isIdempotent(header) || header.producerEpoch < 0)) {
    throw new BrookError(
      "INVALID_REQUEST",
      `a transactional batch needs a producer id and epoch (got ${header.producerId} and ${header.producerEpoch})`,
    );
  }
}

/** Kafka's checkProducerEpoch: an older epoch is a fenced instance's. */
function checkEpoch(
  entry: ProducerEntry | undefined,
  header: Pick<ProducerBatchHeader, "producerId" | "producerEpoch">,
): void {
  if (entry === undefined || header.producerEpoch >= entry.producerEpoch) return;
  throw new BrookError(
    "INVALID_PRODUCER_EPOCH",
    `producer ${header.producerId} sent epoch ${header.producerEpoch}, but the partition has seen epoch ${entry.producerEpoch}`,
  );
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
  checkEpoch(entry, header);
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

/**
 * The entry once `header` lies at baseOffset..lastOffset, stored at nowMs: a new epoch starts a fresh
 * list; the last five are kept.
 */
function withBatch(
  entry: ProducerEntry | undefined,
  header: ProducerBatchHeader,
  baseOffset: number,
  lastOffset: number,
  nowMs: number,
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
  return { ...withEpoch(entry, header, nowMs), batches: [...kept, batch], lastOffset };
}

/**
 * The entry once a batch without a sequence (a coordinator's, or a marker)
 * of this epoch is stored at nowMs: a newer epoch replaces the older one and its
 * batches (they can no longer be retried); an older one, which only a
 * replay of a log written without checks could hold, changes nothing.
 */
function withEpoch(
  entry: ProducerEntry | undefined,
  header: ProducerBatchHeader,
  nowMs: number,
): ProducerEntry {
  const lastWriteMs = Math.max(entry?.lastWriteMs ?? -1, nowMs);
  if (entry === undefined) {
    return {
      producerEpoch: header.producerEpoch,
      batches: [],
      lastWriteMs,
      lastOffset: -1,
      openTxnFirstOffset: -1,
      coordinatorEpoch: -1,
    };
  }
  if (header.producerEpoch > entry.producerEpoch) {
    return { ...entry, producerEpoch: header.producerEpoch, batches: [], lastWriteMs };
  }
  return { ...entry, lastWriteMs };
}

/** Producers an append's check has met that the table does not know yet. */
function newProducers(pending: ReadonlyMap<number, unknown>, known: ReadonlyMap<number, unknown>): number {
  let count = 0;
  for (const producerId of pending.keys()) if (!known.has(producerId)) count++;
  return count;
}
