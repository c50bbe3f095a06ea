// Encodes and decodes the records inside a Kafka RecordBatch v2, byte for byte, so batches cross between
// Brook and any Kafka client unchanged. Producers encode once; consumers decode; the broker does neither.

import {
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  type BatchHeader,
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG_MASK,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V2,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_BYTES_MIN,
  RECORD_COUNT_OFFSET,
  scanBatches,
  TRANSACTIONAL_FLAG_MASK,
  validateBatch,
  writeInt64,
} from "./batch-header.js";
import { systemClock } from "./clock.js";
import { Compression, type CompressionName, compress, compressionCodec, decompress } from "./compression.js";
import { crc32c } from "./crc32c.js";
import { assert, BrookError } from "./errors.js";
import {
  type Cursor,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from "./varint.js";

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  /** Kafka allows repeated header keys; pass an array to send them. */
  headers?: { [key: string]: string | Buffer } | readonly RecordHeader[];
  /** Create time in ms since the epoch; defaults to `nowMs`. */
  timestamp?: number;
}

/** A decoded record. key, value and header values are views into the fetched bytes, not copies. */
export interface Record {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface EncodeBatchOptions {
  compression?: CompressionName;
  /** The broker overwrites this on append; producers leave it 0. */
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  /** Idempotent producers set these three; -1 means "not idempotent", as in Kafka. */
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  /**
   * A control batch (attribute bit 0x20): only brokers write them, for transaction markers
   * (control-batch.ts); producers never set it.
   */
  control?: boolean;
  /** Timestamp for records that carry none; read from the system clock when absent. */
  nowMs?: number;
}

export interface DecodeOptions {
  /** Refuse a compressed batch that inflates beyond this, so a small batch cannot exhaust memory. */
  decompressedBytesMax?: number;
}

export interface DecodedBatch {
  header: BatchHeader;
  records: Record[];
}

export const DECOMPRESSED_BATCH_BYTES_MAX = 64 * 1024 * 1024;
/** batchLength is an int32 on the wire. */
const BATCH_LENGTH_MAX = 0x7fffffff;
const NULL_LENGTH = -1;

/** Header as the encoder receives it: the array form already is one; the object form is spread into one. */
type HeaderList = readonly { key: string; value: Buffer | string | null }[];

const NO_HEADERS: HeaderList = [];

function headerList(headers: RecordInput["headers"]): HeaderList {
  if (headers === undefined) return NO_HEADERS;
  if (Array.isArray(headers)) return headers;
  return Object.entries(headers).map(([key, value]) => ({ key, value }));
}

function byteLength(data: Buffer | string | null | undefined): number {
  if (data == null) return NULL_LENGTH;
  return typeof data === "string" ? Buffer.byteLength(data, "utf8") : data.length;
}

function sizeOfBytesField(length: number): number {
  return length === NULL_LENGTH ? 1 : sizeOfVarint(length) + length;
}

function sizeOfHeaders(headers: HeaderList): number {
  let size = sizeOfVarint(headers.length);
  for (const header of headers) {
    size += sizeOfBytesField(Buffer.byteLength(header.key, "utf8"));
    size += sizeOfBytesField(byteLength(header.value));
  }
  return size;
}

function writeBytesField(buf: Buffer, pos: number, data: Buffer | string | null | undefined, length: number) {
  pos = writeVarint(buf, pos, length);
  if (length === NULL_LENGTH || data == null) return pos;
  if (typeof data === "string") buf.write(data, pos, "utf8");
  else buf.set(data, pos);
  return pos + length;
}

function writeHeaders(buf: Buffer, pos: number, headers: HeaderList): number {
  pos = writeVarint(buf, pos, headers.length);
  for (const header of headers) {
    pos = writeBytesField(buf, pos, header.key, Buffer.byteLength(header.key, "utf8"));
    pos = writeBytesField(buf, pos, header.value, byteLength(header.value));
  }
  return pos;
}

function recordTimestamp(record: RecordInput, nowMs: number): number {
  const timestamp = record.timestamp ?? nowMs;
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new BrookError(
      "INVALID_REQUEST",
      `record timestamps are whole ms since the epoch, got ${timestamp}`,
    );
  }
  return timestamp;
}

/** What the first pass learns so the second can write every record in place without re-measuring. */
interface RecordsLayout {
  /** Per record: body size, key length, value length (-1 for null). */
  sizes: Int32Array;
  timestamps: Float64Array;
  recordsBytes: number;
  baseTimestamp: number;
  maxTimestamp: number;
}

function measureRecords(records: readonly RecordInput[], nowMs: number): RecordsLayout {
  const count = records.length;
  const sizes = new Int32Array(count * 3);
  const timestamps = new Float64Array(count);
  // Kafka takes the first record's timestamp as the base; deltas may be negative.
  const baseTimestamp = recordTimestamp(records[0], nowMs);
  let maxTimestamp = baseTimestamp;
  let recordsBytes = 0;
  for (let index = 0; index < count; index++) {
    const record = records[index];
    const timestamp = recordTimestamp(record, nowMs);
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const keyLength = byteLength(record.key);
    const valueLength = byteLength(record.value);
    const bodySize =
      1 + // attributes
      sizeOfVarlong(timestamp - baseTimestamp) +
      sizeOfVarint(index) +
      sizeOfBytesField(keyLength) +
      sizeOfBytesField(valueLength) +
      (record.headers === undefined ? 1 : sizeOfHeaders(headerList(record.headers)));
    timestamps[index] = timestamp;
    sizes[index * 3] = bodySize;
    sizes[index * 3 + 1] = keyLength;
    sizes[index * 3 + 2] = valueLength;
    recordsBytes += sizeOfVarint(bodySize) + bodySize;
    if (recordsBytes > BATCH_LENGTH_MAX) {
      throw new BrookError("RECORD_TOO_LARGE", "the records exceed the 2 GiB a batch can hold");
    }
  }
  return { sizes, timestamps, recordsBytes, baseTimestamp, maxTimestamp };
}

function writeRecords(
  buf: Buffer,
  pos: number,
  records: readonly RecordInput[],
  layout: RecordsLayout,
): number {
  const { sizes, timestamps, baseTimestamp } = layout;
  for (let index = 0; index < records.length; index++) {
    const record = records[index];
    pos = writeVarint(buf, pos, sizes[index * 3]);
    buf[pos++] = 0; // record attributes: unused in v2
    pos = writeVarlong(buf, pos, timestamps[index] - baseTimestamp);
    pos = writeVarint(buf, pos, index);
    pos = writeBytesField(buf, pos, record.key, sizes[index * 3 + 1]);
    pos = writeBytesField(buf, pos, record.value, sizes[index * 3 + 2]);
    pos = writeHeaders(buf, pos, headerList(record.headers));
  }
  return pos;
}

/**
 * Encodes records as one RecordBatch v2. Sizes are measured first so the uncompressed batch is written in
 * place into a single buffer; offsets deltas are 0..n-1 and the base timestamp is the first record's.
 */
export function encodeRecordBatch(records: readonly RecordInput[], options: EncodeBatchOptions = {}): Buffer {
  if (records.length === 0)
    throw new BrookError("INVALID_REQUEST", "a record batch needs at least one record");
  const codec = compressionCodec(options.compression ?? "none");
  const layout = measureRecords(records, options.nowMs ?? systemClock.nowMs());
  let buf: Buffer;
  if (codec === Compression.none) {
    buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES + layout.recordsBytes);
    const end = writeRecords(buf, BATCH_HEADER_BYTES, records, layout);
    // allocUnsafe holds stale memory: every byte must have been written before the batch leaves.
    assert(end === buf.length, "record sizes were measured exactly");
  } else {
    const plain = Buffer.allocUnsafe(layout.recordsBytes);
    assert(writeRecords(plain, 0, records, layout) === plain.length, "record sizes were measured exactly");
    const compressed = compress(codec, plain);
    buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES + compressed.length);
    buf.set(compressed, BATCH_HEADER_BYTES);
  }
  if (buf.length - LOG_OVERHEAD > BATCH_LENGTH_MAX) {
    throw new BrookError("RECORD_TOO_LARGE", "the batch exceeds the 2 GiB a batch can hold");
  }
  writeHeader(buf, records.length, layout, codec, options);
  return buf;
}

function writeHeader(
  buf: Buffer,
  recordCount: number,
  layout: RecordsLayout,
  codec: number,
  options: EncodeBatchOptions,
): void {
  writeInt64(buf, 0, options.baseOffset ?? 0);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  buf.writeInt32BE(options.partitionLeaderEpoch ?? -1, PARTITION_LEADER_EPOCH_OFFSET);
  buf.writeInt8(MAGIC_V2, MAGIC_OFFSET);
  const attributes =
    codec | (options.transactional ? TRANSACTIONAL_FLAG_MASK : 0) | (options.control ? CONTROL_FLAG_MASK : 0);
  buf.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(recordCount - 1, LAST_OFFSET_DELTA_OFFSET);
  writeInt64(buf, BASE_TIMESTAMP_OFFSET, layout.baseTimestamp);
  writeInt64(buf, MAX_TIMESTAMP_OFFSET, layout.maxTimestamp);
  writeInt64(buf, PRODUCER_ID_OFFSET, options.producerId ?? -1);
  buf.writeInt16BE(options.producerEpoch ?? -1, PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(options.baseSequence ?? -1, BASE_SEQUENCE_OFFSET);
  buf.writeInt32BE(recordCount, RECORD_COUNT_OFFSET);
  // Last: the CRC covers every field from attributes on.
  buf.writeUInt32BE(crc32c(buf.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
}

function corruptRecord(header: BatchHeader, detail: string): BrookError {
  return new BrookError("CORRUPT_BATCH", `the batch at position ${header.position} ${detail}`);
}

/** Reads a varint length, then checks it against the bytes left before trusting it. */
function readLength(cursor: Cursor, header: BatchHeader, what: string): number {
  const length = readVarint(cursor);
  if (length < NULL_LENGTH || length > cursor.end - cursor.pos) {
    throw corruptRecord(
      header,
      `has a ${what} length of ${length} with ${cursor.end - cursor.pos} bytes left`,
    );
  }
  return length;
}

function readBytesField(cursor: Cursor, header: BatchHeader, what: string): Buffer | null {
  const length = readLength(cursor, header, what);
  if (length === NULL_LENGTH) return null;
  const start = cursor.pos;
  cursor.pos += length;
  return cursor.buf.subarray(start, cursor.pos);
}

function readHeaders(cursor: Cursor, header: BatchHeader): RecordHeader[] {
  const count = readVarint(cursor);
  // Each header takes at least two bytes, which bounds the loop by the bytes present.
  if (count < 0 || count * 2 > cursor.end - cursor.pos) {
    throw corruptRecord(
      header,
      `declares ${count} record headers with ${cursor.end - cursor.pos} bytes left`,
    );
  }
  const headers: RecordHeader[] = [];
  for (let index = 0; index < count; index++) {
    const keyLength = readLength(cursor, header, "header key");
    if (keyLength === NULL_LENGTH) throw corruptRecord(header, "has a record header with a null key");
    const key = cursor.buf.toString("utf8", cursor.pos, cursor.pos + keyLength);
    cursor.pos += keyLength;
    headers.push({ key, value: readBytesField(cursor, header, "header value") });
  }
  return headers;
}

function readRecord(cursor: Cursor, header: BatchHeader): Record {
  const bodySize = readLength(cursor, header, "record");
  if (bodySize < RECORD_BYTES_MIN - 1) throw corruptRecord(header, `has a record of only ${bodySize} bytes`);
  const outerEnd = cursor.end;
  const recordEnd = cursor.pos + bodySize;
  // Fields may not run past their own record, so narrow the cursor to it.
  cursor.end = recordEnd;
  cursor.pos++; // record attributes: unused in v2
  const timestampDelta = readVarlong(cursor);
  const offsetDelta = readVarint(cursor);
  const key = readBytesField(cursor, header, "key");
  const value = readBytesField(cursor, header, "value");
  const headers = readHeaders(cursor, header);
  if (cursor.pos !== recordEnd) {
    throw corruptRecord(
      header,
      `has a record whose fields end ${recordEnd - cursor.pos} bytes before its length`,
    );
  }
  cursor.end = outerEnd;
  return {
    offset: header.baseOffset + offsetDelta,
    timestamp:
      header.timestampType === "LogAppendTime" ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
    key,
    value,
    headers,
  };
}

/** The records region of a compressed batch, inflated, with a ceiling so a small batch cannot exhaust memory. */
function inflatedRecords(buf: Buffer, header: BatchHeader, options: DecodeOptions): Cursor {
  const compressed = buf.subarray(header.position + BATCH_HEADER_BYTES, header.position + header.sizeInBytes);
  const plain = decompress(
    header.compression,
    compressed,
    options.decompressedBytesMax ?? DECOMPRESSED_BATCH_BYTES_MAX,
    `the batch at position ${header.position}`,
  );
  return { buf: plain, pos: 0, end: plain.length };
}

/** The (inflated) records region of a batch whose header was already validated, checked against recordCount. */
function recordsCursor(buf: Buffer, header: BatchHeader, options: DecodeOptions): Cursor {
  const cursor: Cursor =
    header.compression === Compression.none || header.recordCount === 0
      ? { buf, pos: header.position + BATCH_HEADER_BYTES, end: header.position + header.sizeInBytes }
      : inflatedRecords(buf, header, options);
  // Bounds the array below by the bytes present, whatever recordCount claims.
  if (header.recordCount * RECORD_BYTES_MIN > cursor.end - cursor.pos) {
    throw corruptRecord(header, `declares ${header.recordCount} records in ${cursor.end - cursor.pos} bytes`);
  }
  return cursor;
}

function checkRecordsEnd(cursor: Cursor, header: BatchHeader): void {
  if (cursor.pos !== cursor.end) {
    throw corruptRecord(header, `has ${cursor.end - cursor.pos} bytes after its last record`);
  }
}

/** Decodes the records of a batch whose header was already validated. */
function decodeRecords(buf: Buffer, header: BatchHeader, options: DecodeOptions): Record[] {
  const cursor = recordsCursor(buf, header, options);
  const records = new Array<Record>(header.recordCount);
  for (let index = 0; index < header.recordCount; index++) records[index] = readRecord(cursor, header);
  checkRecordsEnd(cursor, header);
  return records;
}

/** Validates the batch at `position` (CRC included) and decodes every record; throws a BrookError if bad. */
export function decodeRecordBatch(buf: Buffer, position = 0, options: DecodeOptions = {}): DecodedBatch {
  const header = validateBatch(buf, position);
  return { header, records: decodeRecords(buf, header, options) };
}

/**
 * Decodes the batches of a fetch response. A partial batch at the end is dropped, as Kafka clients do,
 * because a fetch is cut at its byte limit; a corrupt batch anywhere throws. The batches come from a log,
 * so compacted ones are accepted: a batch may hold fewer records than its offsets span, or none, and the
 * next batch starts after its lastOffset all the same.
 */
export function decodeRecordBatches(buf: Buffer, options: DecodeOptions = {}): DecodedBatch[] {
  const scan = scanBatches(buf, { acceptCompacted: true });
  if (scan.tail === "corrupt") throw scan.error;
  return scan.batches.map((header) => ({ header, records: decodeRecords(buf, header, options) }));
}

/** The header fields of a batch holding no records: a compaction filler, or a producer's emptied last batch. */
export interface EmptyBatchFields {
  baseOffset: number;
  /** The batch still covers baseOffset..baseOffset + lastOffsetDelta, so the offsets after it stay contiguous. */
  lastOffsetDelta: number;
  partitionLeaderEpoch: number;
  /** Timestamp type, transactional and control bits; the codec bits are cleared, there is nothing to compress. */
  attributes: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

/** A RecordBatch v2 with recordCount 0 (Kafka's DefaultRecordBatch.writeEmptyHeader). */
export function encodeEmptyBatch(fields: EmptyBatchFields): Buffer {
  assert(
    Number.isInteger(fields.lastOffsetDelta) &&
      fields.lastOffsetDelta >= 0 &&
      fields.lastOffsetDelta <= 0x7fff_ffff,
    `an empty batch spans 1 to 2^31 offsets, got lastOffsetDelta ${fields.lastOffsetDelta}`,
  );
  const buf = Buffer.alloc(BATCH_HEADER_BYTES);
  writeInt64(buf, 0, fields.baseOffset);
  buf.writeInt32BE(BATCH_HEADER_BYTES - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  buf.writeInt32BE(fields.partitionLeaderEpoch, PARTITION_LEADER_EPOCH_OFFSET);
  buf.writeInt8(MAGIC_V2, MAGIC_OFFSET);
  buf.writeInt16BE(fields.attributes & ~COMPRESSION_CODEC_MASK, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(fields.lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
  writeInt64(buf, BASE_TIMESTAMP_OFFSET, fields.baseTimestamp);
  writeInt64(buf, MAX_TIMESTAMP_OFFSET, fields.maxTimestamp);
  writeInt64(buf, PRODUCER_ID_OFFSET, fields.producerId);
  buf.writeInt16BE(fields.producerEpoch, PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(fields.baseSequence, BASE_SEQUENCE_OFFSET);
  buf.writeInt32BE(0, RECORD_COUNT_OFFSET);
  buf.writeUInt32BE(crc32c(buf.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return buf;
}

/**
 * The stored batch at `position` keeping only the records `keep` accepts, for log compaction. Everything
 * else is preserved as Kafka's cleaner does: baseOffset, lastOffsetDelta, both timestamps, attributes
 * (codec, timestamp type, transactional and control bits), the producer fields and partitionLeaderEpoch;
 * each kept record keeps its bytes, so its offsetDelta and timestampDelta too. The records are compressed
 * again with the batch's codec and the CRC is computed anew. When every record is kept the result is a copy
 * of the stored bytes; when none is, it is an empty batch (recordCount 0, no codec) with the same header
 * fields, which the cleaner either keeps (a producer's last batch) or merges into a filler.
 */
export function rewriteBatch(
  buf: Buffer,
  position: number,
  keep: (record: Record, index: number) => boolean,
  options: DecodeOptions = {},
): Buffer {
  const header = validateBatch(buf, position, undefined, { acceptCompacted: true });
  const cursor = recordsCursor(buf, header, options);
  const kept: Buffer[] = [];
  for (let index = 0; index < header.recordCount; index++) {
    const start = cursor.pos;
    const record = readRecord(cursor, header);
    if (keep(record, index)) kept.push(cursor.buf.subarray(start, cursor.pos));
  }
  checkRecordsEnd(cursor, header);
  if (kept.length === header.recordCount)
    return Buffer.from(buf.subarray(position, position + header.sizeInBytes));
  if (kept.length === 0) return encodeEmptyBatch(header);
  const plain = Buffer.concat(kept);
  const records = header.compression === Compression.none ? plain : compress(header.compression, plain);
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + records.length);
  buf.copy(out, 0, position, position + BATCH_HEADER_BYTES);
  records.copy(out, BATCH_HEADER_BYTES);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  out.writeInt32BE(kept.length, RECORD_COUNT_OFFSET);
  out.writeUInt32BE(crc32c(out.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return out;
}
