// The 61-byte RecordBatch v2 header: everything the broker and storage need (read, validate, walk, patch)
// without decoding a single record, because the broker never decodes records on the hot path (DESIGN §4).

import { crc32c } from "./crc32c.js";
import { assert, BrookError } from "./errors.js";

// Field offsets inside a batch, named as in Kafka's DefaultRecordBatch.
export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
/** The CRC covers everything from here to the end of the batch. */
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORD_COUNT_OFFSET = 57;
/** Header size; records start here. */
export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const LOG_OVERHEAD = 12;
export const MAGIC_V2 = 2;
/** The smallest batchLength: a header with no records. */
export const BATCH_LENGTH_MIN = BATCH_HEADER_BYTES - LOG_OVERHEAD;
/** The smallest encoded record (seven one-byte fields), used to bound recordCount by the bytes present. */
export const RECORD_BYTES_MIN = 7;

// Attribute bits.
export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_FLAG_MASK = 0x10;
export const CONTROL_FLAG_MASK = 0x20;
/** Codec ids Kafka defines (none, gzip, snappy, lz4, zstd); anything above is not a Kafka batch. */
const COMPRESSION_CODEC_ID_MAX = 4;

export type TimestampType = "CreateTime" | "LogAppendTime";

/** A batch header as read off the wire. Numbers are exact up to 2^53, which offsets and ids never reach. */
export interface BatchHeader {
  /** Where the batch starts in the buffer it was read from. */
  position: number;
  baseOffset: number;
  batchLength: number;
  /** The whole batch on the wire: batchLength + LOG_OVERHEAD. */
  sizeInBytes: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  /** Codec id from attributes bits 0-2: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
  compression: number;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  lastOffsetDelta: number;
  lastOffset: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * 0x1_0000_0000 + buf.readUInt32BE(pos + 4);
}

export function writeInt64(buf: Buffer, pos: number, value: number): void {
  assert(Number.isSafeInteger(value), `int64 fields take safe integers, got ${value}`);
  const high = Math.floor(value / 0x1_0000_0000);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * 0x1_0000_0000, pos + 4);
}

function truncatedError(position: number, neededBytes: number, presentBytes: number): BrookError {
  return new BrookError(
    "CORRUPT_BATCH",
    `the batch at position ${position} is truncated: it needs ${neededBytes} bytes, ${presentBytes} are present`,
  );
}

/** Reads the header fields only; checks nothing but that 61 bytes are present. */
export function readBatchHeader(buf: Buffer, position = 0): BatchHeader {
  assert(Number.isInteger(position) && position >= 0, "a batch position is a non-negative integer");
  const presentBytes = buf.length - position;
  if (presentBytes < BATCH_HEADER_BYTES) throw truncatedError(position, BATCH_HEADER_BYTES, presentBytes);
  const baseOffset = readInt64(buf, position + BASE_OFFSET_OFFSET);
  const batchLength = buf.readInt32BE(position + BATCH_LENGTH_OFFSET);
  const attributes = buf.readInt16BE(position + ATTRIBUTES_OFFSET);
  const lastOffsetDelta = buf.readInt32BE(position + LAST_OFFSET_DELTA_OFFSET);
  return {
    position,
    baseOffset,
    batchLength,
    sizeInBytes: batchLength + LOG_OVERHEAD,
    partitionLeaderEpoch: buf.readInt32BE(position + PARTITION_LEADER_EPOCH_OFFSET),
    magic: buf.readInt8(position + MAGIC_OFFSET),
    crc: buf.readUInt32BE(position + CRC_OFFSET),
    attributes,
    compression: attributes & COMPRESSION_CODEC_MASK,
    timestampType: attributes & TIMESTAMP_TYPE_MASK ? "LogAppendTime" : "CreateTime",
    isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
    isControl: (attributes & CONTROL_FLAG_MASK) !== 0,
    lastOffsetDelta,
    lastOffset: baseOffset + lastOffsetDelta,
    baseTimestamp: readInt64(buf, position + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64(buf, position + MAX_TIMESTAMP_OFFSET),
    producerId: readInt64(buf, position + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(position + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(position + BASE_SEQUENCE_OFFSET),
    recordCount: buf.readInt32BE(position + RECORD_COUNT_OFFSET),
  };
}

/**
 * Why a batch was refused: `torn` means the bytes end before the batch does (a crash mid-write, or a fetch
 * response cut at its size limit), `corrupt` means the bytes present are wrong.
 */
interface BatchFault {
  kind: "torn" | "corrupt";
  error: BrookError;
}

function corrupt(position: number, detail: string, code: BrookError["code"] = "CORRUPT_BATCH"): BatchFault {
  return { kind: "corrupt", error: new BrookError(code, `the batch at position ${position} ${detail}`) };
}

// Every length read off the wire is compared with the bytes present (and maxBytes) before anything uses it.
function inspectBatch(
  buf: Buffer,
  position: number,
  maxBytes: number | undefined,
  validateCrc: boolean,
  acceptCompacted: boolean,
): BatchHeader | BatchFault {
  const presentBytes = buf.length - position;
  if (presentBytes < LOG_OVERHEAD) {
    return { kind: "torn", error: truncatedError(position, BATCH_HEADER_BYTES, presentBytes) };
  }
  // Magic sits at the same offset in every Kafka message format, so an old format is named as such
  // rather than misreported by the v2 length rules below.
  if (presentBytes > MAGIC_OFFSET && buf[position + MAGIC_OFFSET] !== MAGIC_V2) {
    const magic = buf.readInt8(position + MAGIC_OFFSET);
    return corrupt(
      position,
      `has magic ${magic}; only RecordBatch v2 (magic 2) is accepted`,
      "UNSUPPORTED_BATCH",
    );
  }
  const batchLength = buf.readInt32BE(position + BATCH_LENGTH_OFFSET);
  if (batchLength < BATCH_LENGTH_MIN) {
    return corrupt(position, `declares batchLength ${batchLength}, below the minimum ${BATCH_LENGTH_MIN}`);
  }
  const sizeInBytes = batchLength + LOG_OVERHEAD;
  // A length beyond the bytes present is a torn batch (or garbage), whatever the limit says.
  if (sizeInBytes > presentBytes) {
    return { kind: "torn", error: truncatedError(position, sizeInBytes, presentBytes) };
  }
  if (maxBytes !== undefined && sizeInBytes > maxBytes) {
    return corrupt(position, `is ${sizeInBytes} bytes, above the limit of ${maxBytes}`, "RECORD_TOO_LARGE");
  }
  const header = readBatchHeader(buf, position);
  if (validateCrc) {
    const computed = crc32c(buf.subarray(position + ATTRIBUTES_OFFSET, position + sizeInBytes));
    if (computed !== header.crc) {
      return corrupt(position, `fails its CRC32C check (stored ${header.crc}, computed ${computed})`);
    }
  }
  return checkCounts(header, acceptCompacted) ?? header;
}

function checkCounts(header: BatchHeader, acceptCompacted: boolean): BatchFault | undefined {
  const { position, recordCount, lastOffsetDelta, compression } = header;
  if (compression > COMPRESSION_CODEC_ID_MAX) {
    return corrupt(
      position,
      `names compression codec ${compression}, which Kafka does not define (1 gzip to 4 zstd)`,
      "UNSUPPORTED_BATCH",
    );
  }
  if (recordCount < 0) return corrupt(position, `declares a negative recordCount (${recordCount})`);
  // A producer numbers its records 0..n-1; compaction keeps lastOffsetDelta while removing records.
  const deltaFits = acceptCompacted
    ? lastOffsetDelta >= Math.max(recordCount - 1, 0)
    : recordCount > 0
      ? lastOffsetDelta === recordCount - 1
      : lastOffsetDelta >= 0;
  if (!deltaFits) {
    return corrupt(position, `declares lastOffsetDelta ${lastOffsetDelta} for ${recordCount} records`);
  }
  const recordsBytes = header.sizeInBytes - BATCH_HEADER_BYTES;
  if (compression === 0 && recordCount * RECORD_BYTES_MIN > recordsBytes) {
    return corrupt(
      position,
      `declares ${recordCount} records but holds only ${recordsBytes} bytes of records`,
    );
  }
  return undefined;
}

function isFault(result: BatchHeader | BatchFault): result is BatchFault {
  return "kind" in result;
}

export interface BatchCountOptions {
  /**
   * Accept batches log compaction has thinned: a stored batch keeps its lastOffsetDelta while records are
   * removed from it, so it may hold fewer than lastOffsetDelta + 1 records, or none. Set it for batches
   * read from a log (recovery, follower appends, fetch responses); leave it off (the default) for batches
   * a producer sends, which must number their records 0..recordCount - 1.
   */
  acceptCompacted?: boolean;
}

/**
 * Checks one batch: at least a full header present, magic 2 (else UNSUPPORTED_BATCH), a sane batchLength
 * that fits in the bytes present (CORRUPT_BATCH) and in `maxBytes` (RECORD_TOO_LARGE), a matching CRC32C,
 * and a recordCount consistent with lastOffsetDelta. Returns the header; throws a BrookError otherwise.
 */
export function validateBatch(
  buf: Buffer,
  position = 0,
  maxBytes?: number,
  options: BatchCountOptions = {},
): BatchHeader {
  const result = inspectBatch(buf, position, maxBytes, true, options.acceptCompacted ?? false);
  if (isFault(result)) throw result.error;
  return result;
}

export interface ScanOptions extends BatchCountOptions {
  /** Storage may skip the CRC when it trusts bytes it wrote and fsynced itself; default true. */
  validateCrc?: boolean;
  /** Refuse any batch larger than this (RECORD_TOO_LARGE). */
  maxBatchBytes?: number;
}

export interface BatchScan {
  /** The whole, valid batches from the start of the buffer, in order. */
  batches: BatchHeader[];
  /** Where the last whole valid batch ends: the length to truncate a log to. */
  validBytes: number;
  /**
   * `clean`: the buffer ends exactly after the last batch. `torn`: it ends partway through a batch whose
   * bytes so far look sound (a crash mid-append, a fetch cut at its size limit, or a chunked read that
   * needs more bytes from `validBytes` on). `corrupt`: the bytes at `validBytes` are not a valid batch.
   */
  tail: "clean" | "torn" | "corrupt";
  /** Why the scan stopped, unless it was clean. */
  error?: BrookError;
}

/**
 * Walks concatenated batches from the start of `buf`, validating each, and stops at the first one that is
 * torn or corrupt. Never throws for bad bytes: storage recovery truncates to `validBytes`, a produce
 * handler refuses anything but a clean tail (see splitBatches), a fetch decoder drops a torn tail.
 */
export function scanBatches(buf: Buffer, options: ScanOptions = {}): BatchScan {
  const validateCrc = options.validateCrc ?? true;
  const acceptCompacted = options.acceptCompacted ?? false;
  const batches: BatchHeader[] = [];
  let position = 0;
  // Each pass consumes at least BATCH_HEADER_BYTES, so the loop ends within buf.length / 61 passes.
  while (position < buf.length) {
    const result = inspectBatch(buf, position, options.maxBatchBytes, validateCrc, acceptCompacted);
    if (isFault(result)) return { batches, validBytes: position, tail: result.kind, error: result.error };
    batches.push(result);
    position += result.sizeInBytes;
  }
  return { batches, validBytes: position, tail: "clean" };
}

/**
 * The batches of an append (a producer's request, or with `acceptCompacted` a follower's fetched batches):
 * every byte must belong to a whole, valid batch, else this throws.
 */
export function splitBatches(
  buf: Buffer,
  maxBatchBytes?: number,
  options: BatchCountOptions = {},
): BatchHeader[] {
  const scan = scanBatches(buf, { maxBatchBytes, acceptCompacted: options.acceptCompacted });
  if (scan.error) throw scan.error;
  return scan.batches;
}

function assertHeaderPresent(buf: Buffer, position: number): void {
  assert(
    Number.isInteger(position) && position >= 0 && position + BATCH_HEADER_BYTES <= buf.length,
    "patch only a batch that was validated first",
  );
}

/** Sets baseOffset in place; it lies outside the CRC, so the batch stays valid. */
export function patchBaseOffset(buf: Buffer, position: number, baseOffset: number): void {
  assertHeaderPresent(buf, position);
  writeInt64(buf, position + BASE_OFFSET_OFFSET, baseOffset);
}

const SEQUENCE_MAX = 0x7fff_ffff;

/**
 * `sequence + increment` for producer sequence numbers, which wrap from 2^31 - 1 to 0 (Kafka's
 * DefaultRecordBatch.incrementSequence): the next batch of a producer starts at
 * incrementSequence(baseSequence, recordCount).
 */
export function incrementSequence(sequence: number, increment: number): number {
  return sequence > SEQUENCE_MAX - increment
    ? increment - (SEQUENCE_MAX - sequence) - 1
    : sequence + increment;
}

/** The idempotent producer's fields of a batch header; -1 in all three when it is not idempotent. */
export interface ProducerStamp {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

/**
 * Sets producerId, producerEpoch and baseSequence in place and computes the CRC again (they lie inside
 * it). An idempotent producer numbers a batch when it first sends it, as Kafka's does at drain time,
 * which is after the batch was encoded; a retry resends the stamped bytes unchanged.
 */
export function stampProducer(buf: Buffer, position: number, stamp: ProducerStamp): void {
  assertHeaderPresent(buf, position);
  const sizeInBytes = buf.readInt32BE(position + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
  assert(sizeInBytes >= BATCH_HEADER_BYTES && position + sizeInBytes <= buf.length, "stamp a whole batch");
  writeInt64(buf, position + PRODUCER_ID_OFFSET, stamp.producerId);
  buf.writeInt16BE(stamp.producerEpoch, position + PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(stamp.baseSequence, position + BASE_SEQUENCE_OFFSET);
  const crc = crc32c(buf.subarray(position + ATTRIBUTES_OFFSET, position + sizeInBytes));
  buf.writeUInt32BE(crc, position + CRC_OFFSET);
}

/** Sets partitionLeaderEpoch in place; it lies outside the CRC, so the batch stays valid. */
export function patchPartitionLeaderEpoch(buf: Buffer, position: number, partitionLeaderEpoch: number): void {
  assertHeaderPresent(buf, position);
  buf.writeInt32BE(partitionLeaderEpoch, position + PARTITION_LEADER_EPOCH_OFFSET);
}
