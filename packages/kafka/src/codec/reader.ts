// A bounds-checked cursor over a request or response. Every read checks the bytes left first, so a
// lying length or a truncated frame becomes a KafkaDecodeError, never a RangeError or a huge allocation.

import { KafkaDecodeError } from "./errors.js";

/** An unsigned varint holds 32 bits in at most 5 bytes of 7 bits. */
const UNSIGNED_VARINT_BYTES_MAX = 5;
/** A varlong holds 64 bits in at most 10 bytes of 7 bits. */
const VARLONG_BYTES_MAX = 10;
const UUID_BYTES = 16;

export class Reader {
  readonly buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(reason: string, offset = this.pos): KafkaDecodeError {
    return new KafkaDecodeError(reason, offset);
  }

  /** Claims `bytes` bytes and returns where they start. */
  take(bytes: number, what: string): number {
    if (bytes > this.end - this.pos) {
      throw this.fail(`${what} needs ${bytes} bytes, ${this.end - this.pos} are left`);
    }
    const start = this.pos;
    this.pos += bytes;
    return start;
  }

  int8(): number {
    return this.buf.readInt8(this.take(1, "an int8"));
  }

  int16(): number {
    return this.buf.readInt16BE(this.take(2, "an int16"));
  }

  int32(): number {
    return this.buf.readInt32BE(this.take(4, "an int32"));
  }

  int64(): bigint {
    return this.buf.readBigInt64BE(this.take(8, "an int64"));
  }

  uint16(): number {
    return this.buf.readUInt16BE(this.take(2, "a uint16"));
  }

  uint32(): number {
    return this.buf.readUInt32BE(this.take(4, "a uint32"));
  }

  float64(): number {
    return this.buf.readDoubleBE(this.take(8, "a float64"));
  }

  bool(): boolean {
    return this.buf[this.take(1, "a boolean")] !== 0;
  }

  uuid(): string {
    const start = this.take(UUID_BYTES, "a uuid");
    const hex = this.buf.toString("hex", start, start + UUID_BYTES);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** An unsigned varint (lengths, counts and tags of flexible versions), 0 to 2^32-1. */
  unsignedVarint(): number {
    const start = this.pos;
    let value = 0;
    let scale = 1;
    for (let index = 0; index < UNSIGNED_VARINT_BYTES_MAX; index++) {
      const byte = this.buf[this.take(1, "a varint")];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > 0xffff_ffff) throw this.fail("an unsigned varint exceeds 32 bits", start);
        return value;
      }
      scale *= 128;
    }
    throw this.fail(`a varint is longer than ${UNSIGNED_VARINT_BYTES_MAX} bytes`, start);
  }

  /** A zig-zag varint (int32). */
  varint(): number {
    const unsigned = this.unsignedVarint();
    return unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2;
  }

  /** A zig-zag varlong (int64). */
  varlong(): bigint {
    const start = this.pos;
    let unsigned = 0n;
    for (let index = 0; index < VARLONG_BYTES_MAX; index++) {
      const byte = this.buf[this.take(1, "a varlong")];
      unsigned |= BigInt(byte & 0x7f) << BigInt(7 * index);
      if (byte < 0x80) {
        unsigned = BigInt.asUintN(64, unsigned);
        return unsigned & 1n ? -((unsigned + 1n) >> 1n) : unsigned >> 1n;
      }
    }
    throw this.fail(`a varlong is longer than ${VARLONG_BYTES_MAX} bytes`, start);
  }

  /** `length` bytes as a view of the input: no copy, so record data stays where the socket put it. */
  view(length: number, what: string): Buffer {
    const start = this.take(length, what);
    return this.buf.subarray(start, start + length);
  }

  utf8(length: number): string {
    const start = this.take(length, "a string");
    return this.buf.toString("utf8", start, start + length);
  }

  /** Checks a count read off the wire against the bytes left before anything is allocated for it. */
  checkCount(count: number, elementBytesMin: number, what: string, offset: number): void {
    if (count * elementBytesMin > this.end - this.pos) {
      throw this.fail(
        `${what} of ${count} needs at least ${count * elementBytesMin} bytes, ${this.end - this.pos} are left`,
        offset,
      );
    }
  }
}
