// Writes a message as a list of buffers for socket.writev: the small fields go into one growing
// buffer, and every large byte field (record data above RECORDS_INLINE_BYTES_MAX) becomes a chunk of
// its own, so a multi-MiB Fetch response is sent without copying its records.

import { KafkaEncodeError } from "./errors.js";

/** Byte fields up to this size are copied inline; larger ones are passed through as their own chunk. */
export const RECORDS_INLINE_BYTES_MAX = 4 * 1024;
/** The first buffer; it doubles as needed (only the small fields ever move when it does). */
const WRITER_INITIAL_BYTES = 512;

/** The range of each integer type, so a value that does not fit is a KafkaEncodeError, not a wrapped number. */
const RANGES = {
  int8: [-0x80, 0x7f],
  int16: [-0x8000, 0x7fff],
  int32: [-0x8000_0000, 0x7fff_ffff],
  uint16: [0, 0xffff],
  uint32: [0, 0xffff_ffff],
} as const;

function checkInteger(value: number, type: keyof typeof RANGES): void {
  const [min, max] = RANGES[type];
  if (!(value >= min && value <= max && Number.isInteger(value))) {
    throw new KafkaEncodeError(`an ${type} takes a whole number from ${min} to ${max}, got ${value}`);
  }
}

function checkInt64(value: bigint): void {
  if (BigInt.asIntN(64, value) !== value) throw new KafkaEncodeError(`an int64 cannot hold ${value}`);
}

export class Writer {
  private buf: Buffer;
  private pos = 0;
  /** Start of the bytes written since the last chunk was cut. */
  private segmentStart = 0;
  private readonly chunks: Buffer[] = [];
  private chunkedBytes = 0;

  constructor(initialBytes = WRITER_INITIAL_BYTES) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get byteLength(): number {
    return this.chunkedBytes + this.pos - this.segmentStart;
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    // Only the open segment moves: cut chunks keep pointing into the old buffer, which stays valid.
    const open = this.pos - this.segmentStart;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, open + bytes));
    this.buf.copy(next, 0, this.segmentStart, this.pos);
    this.buf = next;
    this.segmentStart = 0;
    this.pos = open;
  }

  private cut(): void {
    if (this.pos === this.segmentStart) return;
    const chunk = this.buf.subarray(this.segmentStart, this.pos);
    this.chunks.push(chunk);
    this.chunkedBytes += chunk.length;
    this.segmentStart = this.pos;
  }

  int8(value: number): void {
    checkInteger(value, "int8");
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  int16(value: number): void {
    checkInteger(value, "int16");
    this.ensure(2);
    const { buf } = this;
    buf[this.pos++] = value >>> 8;
    buf[this.pos++] = value;
  }

  int32(value: number): void {
    checkInteger(value, "int32");
    this.ensure(4);
    const { buf } = this;
    buf[this.pos++] = value >>> 24;
    buf[this.pos++] = value >>> 16;
    buf[this.pos++] = value >>> 8;
    buf[this.pos++] = value;
  }

  int64(value: bigint): void {
    checkInt64(value);
    this.ensure(8);
    this.pos = this.buf.writeBigInt64BE(value, this.pos);
  }

  uint16(value: number): void {
    checkInteger(value, "uint16");
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(value, this.pos);
  }

  uint32(value: number): void {
    checkInteger(value, "uint32");
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(value, this.pos);
  }

  float64(value: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(value, this.pos);
  }

  bool(value: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = value ? 1 : 0;
  }

  /** 0 to 2^32-1, 7 bits a byte. */
  unsignedVarint(value: number): void {
    this.ensure(5);
    let rest = value;
    while (rest >= 0x80) {
      this.buf[this.pos++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 128);
    }
    this.buf[this.pos++] = rest;
  }

  varint(value: number): void {
    checkInteger(value, "int32");
    this.unsignedVarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  varlong(value: bigint): void {
    checkInt64(value);
    this.ensure(10);
    let rest = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
    while (rest >= 0x80n) {
      this.buf[this.pos++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buf[this.pos++] = Number(rest);
  }

  /** Writes `data`; a large buffer is not copied but becomes a chunk of its own. */
  bytes(data: Buffer): void {
    if (data.length > RECORDS_INLINE_BYTES_MAX) {
      this.cut();
      this.chunks.push(data);
      this.chunkedBytes += data.length;
      return;
    }
    this.ensure(data.length);
    this.pos += data.copy(this.buf, this.pos);
  }

  /** Writes a string whose UTF-8 length the caller measured (it wrote the length prefix already). */
  utf8(text: string, byteLength: number): void {
    this.ensure(byteLength);
    this.pos += this.buf.write(text, this.pos, byteLength, "utf8");
  }

  uuidBytes(hex: string): void {
    this.ensure(16);
    this.pos += this.buf.write(hex, this.pos, 16, "hex");
  }

  /** The written bytes, in order; the writer must not be used afterwards. */
  finish(): Buffer[] {
    this.cut();
    return this.chunks;
  }

  /** The written bytes as one buffer, for small encodings (tagged fields, tests). */
  toBuffer(): Buffer {
    const chunks = this.finish();
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.chunkedBytes);
  }
}
