// Kafka's zig-zag varints (int32) and varlongs (int64), which frame every field of a v2 record; reads are
// bounds-checked so a lying length on the wire becomes a CORRUPT_BATCH error, never an overrun.

import { BrookError } from "./errors.js";

/** A read position inside `buf` that must never pass `end`. Plain object so V8 keeps one hidden class. */
export interface Cursor {
  buf: Buffer;
  pos: number;
  end: number;
}

/** Kafka rejects varints longer than this many bytes (5 × 7 bits covers 32 bits). */
const VARINT_BYTES_MAX = 5;
/** And varlongs longer than this (10 × 7 bits covers 64 bits). */
const VARLONG_BYTES_MAX = 10;
/** Bytes whose 7-bit groups are accumulated in a plain number without losing precision (7 × 7 = 49 bits). */
const VARLONG_EXACT_NUMBER_BYTES = 7;

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

export function sizeOfVarint(value: number): number {
  let unsigned = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (unsigned >= 0x80) {
    unsigned >>>= 7;
    size++;
  }
  return size;
}

/** Writes `value` (an int32) at `pos` and returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  let unsigned = ((value << 1) ^ (value >> 31)) >>> 0;
  while (unsigned >= 0x80) {
    buf[pos++] = (unsigned & 0x7f) | 0x80;
    unsigned >>>= 7;
  }
  buf[pos++] = unsigned;
  return pos;
}

function isInt32(value: number): boolean {
  return value >= INT32_MIN && value <= INT32_MAX;
}

// Zig-zag of an int64 is wider than 2^53, so values outside int32 go through BigInt. Timestamp deltas
// inside one batch almost always fit in int32, so the hot path never reaches it.
function zigZag64(value: number): bigint {
  const big = BigInt(value);
  return big >= 0n ? big << 1n : (-big << 1n) - 1n;
}

export function sizeOfVarlong(value: number): number {
  if (isInt32(value)) return sizeOfVarint(value);
  let unsigned = zigZag64(value);
  let size = 1;
  while (unsigned >= 0x80n) {
    unsigned >>= 7n;
    size++;
  }
  return size;
}

/** Writes `value` (a safe integer) at `pos` and returns the position after it. */
export function writeVarlong(buf: Buffer, pos: number, value: number): number {
  // For int32 values the 64-bit zig-zag encoding is byte-identical to the 32-bit one.
  if (isInt32(value)) return writeVarint(buf, pos, value);
  let unsigned = zigZag64(value);
  while (unsigned >= 0x80n) {
    buf[pos++] = Number(unsigned & 0x7fn) | 0x80;
    unsigned >>= 7n;
  }
  buf[pos++] = Number(unsigned);
  return pos;
}

function truncated(what: string): BrookError {
  return new BrookError("CORRUPT_BATCH", `a ${what} runs past the end of its record`);
}

export function readVarint(cursor: Cursor): number {
  const { buf, end } = cursor;
  let pos = cursor.pos;
  let unsigned = 0;
  for (let shift = 0; shift < VARINT_BYTES_MAX * 7; shift += 7) {
    if (pos >= end) throw truncated("varint");
    const byte = buf[pos++];
    unsigned |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      cursor.pos = pos;
      return (unsigned >>> 1) ^ -(unsigned & 1);
    }
  }
  throw new BrookError("CORRUPT_BATCH", `a varint is longer than ${VARINT_BYTES_MAX} bytes`);
}

/** Reads a varlong; values beyond ±2^53 cannot be a JS number exactly, so they are refused. */
export function readVarlong(cursor: Cursor): number {
  const { buf, end } = cursor;
  let pos = cursor.pos;
  let unsigned = 0;
  let scale = 1;
  for (let index = 0; index < VARLONG_EXACT_NUMBER_BYTES; index++) {
    if (pos >= end) throw truncated("varlong");
    const byte = buf[pos++];
    unsigned += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      cursor.pos = pos;
      return unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2;
    }
    scale *= 128;
  }
  cursor.pos = pos;
  return readVarlongTail(cursor, BigInt(unsigned));
}

function readVarlongTail(cursor: Cursor, low: bigint): number {
  const { buf, end } = cursor;
  let pos = cursor.pos;
  let unsigned = low;
  for (let index = VARLONG_EXACT_NUMBER_BYTES; index < VARLONG_BYTES_MAX; index++) {
    if (pos >= end) throw truncated("varlong");
    const byte = buf[pos++];
    unsigned |= BigInt(byte & 0x7f) << BigInt(index * 7);
    if (byte < 0x80) {
      cursor.pos = pos;
      unsigned &= 0xffff_ffff_ffff_ffffn;
      const value = unsigned & 1n ? -((unsigned + 1n) >> 1n) : unsigned >> 1n;
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new BrookError(
          "CORRUPT_BATCH",
          `a varlong (${value}) is outside the range this codec represents`,
        );
      }
      return Number(value);
    }
  }
  throw new BrookError("CORRUPT_BATCH", `a varlong is longer than ${VARLONG_BYTES_MAX} bytes`);
}
