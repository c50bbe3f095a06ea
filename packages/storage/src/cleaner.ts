// Log compaction's decisions, without I/O: the offset map (a key's latest offset in the dirty part of the
// log), which records of a stored batch survive, and how emptied batches become fillers so that every
// offset still belongs to exactly one batch. `PartitionLog.clean` reads segments through these and swaps
// the result in (cleaned-segment.ts). docs/compaction.md explains the whole.

import { createHash } from "node:crypto";
import {
  assert,
  type BatchHeader,
  type DecodedBatch,
  encodeEmptyBatch,
  type Record,
  readBatchHeader,
  rewriteBatch,
  TIMESTAMP_TYPE_MASK,
} from "@brook/protocol";

/** lastOffsetDelta is an int32, so one filler spans at most 2^31 offsets. */
const lastOffsetDeltaMax = 0x7fff_ffff;

/**
 * Key → latest offset, bounded to `entriesMax` keys. It stores a SHA-1 of each key (20 bytes), not the key,
 * as Kafka's SkimpyOffsetMap does, so its memory does not depend on key sizes.
 */
export class OffsetMap {
  private readonly offsets = new Map<string, number>();

  constructor(readonly entriesMax: number) {
    assert(
      Number.isSafeInteger(entriesMax) && entriesMax >= 1,
      `an offset map holds at least one key, got ${entriesMax}`,
    );
  }

  get size(): number {
    return this.offsets.size;
  }

  /** Records `offset` as the latest of `key`; false, changing nothing, when the key is new and the map is full. */
  put(key: Buffer, offset: number): boolean {
    const hash = keyHash(key);
    if (this.offsets.size >= this.entriesMax && !this.offsets.has(hash)) return false;
    this.offsets.set(hash, offset);
    return true;
  }

  get(key: Buffer): number | undefined {
    return this.offsets.get(keyHash(key));
  }
}

function keyHash(key: Buffer): string {
  return createHash("sha1").update(key).digest().toString("latin1");
}

/** Only plain batches take part in compaction: transactional and control batches are left as they are. */
export function isCompactable(header: BatchHeader): boolean {
  return !header.isTransactional && !header.isControl;
}

/**
 * Adds the keyed records of `batch` at or after `fromOffset` to `map`. Returns the offset of the first
 * record that did not fit (the map is full: everything from there on stays dirty), or undefined.
 */
export function addToOffsetMap(map: OffsetMap, batch: DecodedBatch, fromOffset: number): number | undefined {
  if (!isCompactable(batch.header)) return undefined;
  for (const record of batch.records) {
    if (record.offset < fromOffset || record.key === null) continue;
    if (!map.put(record.key, record.offset)) return record.offset;
  }
  return undefined;
}

export interface CleanRules {
  map: OffsetMap;
  /** Records at or above this were not looked at when the map was built, so they are kept as they are. */
  mapEndOffset: number;
  /** A tombstone that is the latest for its key goes once its batch's maxTimestamp is below this. */
  tombstoneHorizonMs: number;
  /** True when no later batch of the header's producer is in the log (its emptied batch is then kept). */
  isLastBatchOfProducer(header: BatchHeader): boolean;
  /**
   * Whether a tombstone past the horizon may go. Not while the log holds transactional batches: they are
   * never cleaned, so an older transactional value of the key (a transactional offset commit, say) would
   * come back once the tombstone that hides it is gone.
   */
  tombstonesMayGo(): boolean;
}

/**
 * Whether a record of a compactable batch survives: a keyless record does, a record with a later write
 * of its key (per the map) does not, and a tombstone (null value) goes once its batch is older than the
 * horizon and the log holds no transactional batch. A batch without timestamps (-1) never counts as old,
 * so its tombstones stay.
 */
export function recordSurvives(record: Record, header: BatchHeader, rules: CleanRules): boolean {
  if (record.offset >= rules.mapEndOffset || record.key === null) return true;
  const latest = rules.map.get(record.key);
  if (latest !== undefined && record.offset < latest) return false;
  if (record.value !== null || header.maxTimestamp < 0 || header.maxTimestamp >= rules.tombstoneHorizonMs) {
    return true;
  }
  return !rules.tombstonesMayGo();
}

interface Filler {
  baseOffset: number;
  lastOffset: number;
  partitionLeaderEpoch: number;
  attributes: number;
  baseTimestamp: number;
  maxTimestamp: number;
}

/**
 * Cleans one segment's batches in order and hands each output batch to `emit`. A batch keeps its offsets
 * and header fields with fewer records (rewriteBatch). A batch left with no records is kept empty only when
 * it is its producer's last batch (the producer's sequence state is rebuilt from it); otherwise it joins the
 * run of emptied batches around it, which becomes one filler batch: recordCount 0, producerId -1, spanning
 * from the first one's base offset to the last one's last offset. Runs split at a leader-epoch change (so
 * the leader-epoch cache a follower builds from batches stays right) and at 2^31 offsets.
 */
export class SegmentCleaner {
  recordsRemoved = 0;
  private filler: Filler | undefined;

  constructor(
    private readonly rules: CleanRules,
    private readonly emit: (batch: Buffer) => void,
  ) {}

  add(buf: Buffer, header: BatchHeader): void {
    const cleaned = isCompactable(header)
      ? rewriteBatch(buf, header.position, (record) => recordSurvives(record, header, this.rules))
      : buf.subarray(header.position, header.position + header.sizeInBytes);
    const recordCount = readBatchHeader(cleaned).recordCount;
    this.recordsRemoved += header.recordCount - recordCount;
    const keptEmpty = header.producerId >= 0 && this.rules.isLastBatchOfProducer(header);
    if (recordCount > 0 || keptEmpty || !isCompactable(header)) {
      this.flushFiller();
      this.emit(cleaned);
    } else {
      this.extendFiller(header);
    }
  }

  /** Emits the filler still open; call once after the segment's last batch. */
  finish(): void {
    this.flushFiller();
  }

  private extendFiller(header: BatchHeader): void {
    const filler = this.filler;
    if (
      filler &&
      filler.partitionLeaderEpoch === header.partitionLeaderEpoch &&
      header.lastOffset - filler.baseOffset <= lastOffsetDeltaMax
    ) {
      filler.lastOffset = header.lastOffset;
      filler.maxTimestamp = Math.max(filler.maxTimestamp, header.maxTimestamp);
      return;
    }
    this.flushFiller();
    this.filler = {
      baseOffset: header.baseOffset,
      lastOffset: header.lastOffset,
      partitionLeaderEpoch: header.partitionLeaderEpoch,
      attributes: header.attributes & TIMESTAMP_TYPE_MASK,
      baseTimestamp: header.baseTimestamp,
      maxTimestamp: header.maxTimestamp,
    };
  }

  private flushFiller(): void {
    const filler = this.filler;
    if (!filler) return;
    this.filler = undefined;
    this.emit(
      encodeEmptyBatch({
        baseOffset: filler.baseOffset,
        lastOffsetDelta: filler.lastOffset - filler.baseOffset,
        partitionLeaderEpoch: filler.partitionLeaderEpoch,
        attributes: filler.attributes,
        baseTimestamp: filler.baseTimestamp,
        maxTimestamp: filler.maxTimestamp,
        producerId: -1,
        producerEpoch: -1,
        baseSequence: -1,
      }),
    );
  }
}
