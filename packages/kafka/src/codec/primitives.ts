// Codecs for the protocol's primitive types, strings, byte fields and arrays, in their classic form
// (int16/int32 length, -1 for null) and their flexible form (KIP-482: unsigned varint length + 1, 0 for null).

import { KafkaEncodeError, withPath } from "./errors.js";
import type { Reader } from "./reader.js";
import type { PrimitiveType } from "./schema.js";
import type { Writer } from "./writer.js";

/** Reads and writes one value; compiled once per (api, version) and reused for every message. */
export interface Codec<T = unknown> {
  read(reader: Reader): T;
  write(writer: Writer, value: T): void;
}

/** Classic strings carry an int16 length. */
const CLASSIC_STRING_BYTES_MAX = 0x7fff;
const NULL_LENGTH = -1;
export const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const fixed: Record<Exclude<PrimitiveType, "string" | "bytes" | "records">, Codec> = {
  int8: { read: (r) => r.int8(), write: (w, v) => w.int8(v as number) },
  int16: { read: (r) => r.int16(), write: (w, v) => w.int16(v as number) },
  int32: { read: (r) => r.int32(), write: (w, v) => w.int32(v as number) },
  int64: { read: (r) => r.int64(), write: (w, v) => w.int64(bigintValue(v)) },
  uint16: { read: (r) => r.uint16(), write: (w, v) => w.uint16(v as number) },
  uint32: { read: (r) => r.uint32(), write: (w, v) => w.uint32(v as number) },
  varint: { read: (r) => r.varint(), write: (w, v) => w.varint(v as number) },
  varlong: { read: (r) => r.varlong(), write: (w, v) => w.varlong(bigintValue(v)) },
  float64: { read: (r) => r.float64(), write: (w, v) => w.float64(v as number) },
  bool: { read: (r) => r.bool(), write: (w, v) => w.bool(v as boolean) },
  uuid: { read: (r) => r.uuid(), write: (w, v) => w.uuidBytes(uuidHex(v)) },
};

/** The fewest bytes one encoded value of each fixed-size type takes. */
const FIXED_BYTES: Record<keyof typeof fixed, number> = {
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint16: 2,
  uint32: 4,
  varint: 1,
  varlong: 1,
  float64: 8,
  bool: 1,
  uuid: 16,
};

function bigintValue(value: unknown): bigint {
  if (typeof value !== "bigint") throw new KafkaEncodeError(`an int64 takes a bigint, got ${typeof value}`);
  return value;
}

function uuidHex(value: unknown): string {
  if (typeof value !== "string" || !UUID_PATTERN.test(value)) {
    throw new KafkaEncodeError(`a uuid is written 8-4-4-4-12 in hex, got ${String(value)}`);
  }
  return value.replaceAll("-", "");
}

/** The fewest bytes a value of `type` takes on the wire, which bounds what an array count may claim. */
export function bytesMin(type: PrimitiveType, flexible: boolean): number {
  if (type === "string") return flexible ? 1 : 2;
  if (type === "bytes" || type === "records") return flexible ? 1 : 4;
  return FIXED_BYTES[type];
}

export function primitiveCodec(type: PrimitiveType, flexible: boolean, nullable: boolean): Codec {
  if (type === "string") return stringCodec(flexible, nullable);
  if (type === "bytes" || type === "records") return bytesCodec(flexible, nullable);
  return fixed[type];
}

/** Reads a length prefix: -1 means null; anything shorter is a decode error. */
function readLength(reader: Reader, flexible: boolean, classicWidth: 2 | 4): number {
  const offset = reader.pos;
  let length: number;
  if (flexible) length = reader.unsignedVarint() - 1;
  else length = classicWidth === 2 ? reader.int16() : reader.int32();
  if (length < NULL_LENGTH) throw reader.fail(`a length of ${length}`, offset);
  return length;
}

function readNull(reader: Reader, nullable: boolean, offset: number): null {
  if (!nullable) throw reader.fail("null where this version does not allow null", offset);
  return null;
}

function writeLength(writer: Writer, flexible: boolean, classicWidth: 2 | 4, length: number): void {
  if (flexible) writer.unsignedVarint(length + 1);
  else if (classicWidth === 2) writer.int16(length);
  else writer.int32(length);
}

function checkNull(nullable: boolean): void {
  if (!nullable) throw new KafkaEncodeError("null where this version does not allow null");
}

function stringCodec(flexible: boolean, nullable: boolean): Codec<string | null> {
  return {
    read(reader) {
      const offset = reader.pos;
      const length = readLength(reader, flexible, 2);
      return length === NULL_LENGTH ? readNull(reader, nullable, offset) : reader.utf8(length);
    },
    write(writer, value) {
      if (value === null) {
        checkNull(nullable);
        writeLength(writer, flexible, 2, NULL_LENGTH);
        return;
      }
      if (typeof value !== "string") throw new KafkaEncodeError(`a string field got ${typeof value}`);
      const length = Buffer.byteLength(value, "utf8");
      if (!flexible && length > CLASSIC_STRING_BYTES_MAX) {
        throw new KafkaEncodeError(`a string of ${length} bytes exceeds ${CLASSIC_STRING_BYTES_MAX}`);
      }
      writeLength(writer, flexible, 2, length);
      writer.utf8(value, length);
    },
  };
}

/** Byte fields decode as views of the input (no copy) and encode large buffers as their own chunk. */
function bytesCodec(flexible: boolean, nullable: boolean): Codec<Buffer | null> {
  return {
    read(reader) {
      const offset = reader.pos;
      const length = readLength(reader, flexible, 4);
      return length === NULL_LENGTH
        ? readNull(reader, nullable, offset)
        : reader.view(length, "a byte field");
    },
    write(writer, value) {
      if (value === null) {
        checkNull(nullable);
        writeLength(writer, flexible, 4, NULL_LENGTH);
        return;
      }
      if (!Buffer.isBuffer(value)) throw new KafkaEncodeError("a byte field takes a Buffer");
      writeLength(writer, flexible, 4, value.length);
      writer.bytes(value);
    },
  };
}

export function arrayCodec(
  element: Codec,
  elementBytesMin: number,
  flexible: boolean,
  nullable: boolean,
): Codec {
  return {
    read(reader) {
      const offset = reader.pos;
      const count = readLength(reader, flexible, 4);
      if (count === NULL_LENGTH) return readNull(reader, nullable, offset);
      // Checked before the allocation below: a count of 2^31 in a small frame fails here.
      reader.checkCount(count, elementBytesMin, "an array", offset);
      const items = new Array<unknown>(count);
      for (let index = 0; index < count; index++) {
        try {
          items[index] = element.read(reader);
        } catch (error) {
          throw withPath(error, `[${index}]`);
        }
      }
      return items;
    },
    write(writer, value) {
      if (value === null) {
        checkNull(nullable);
        writeLength(writer, flexible, 4, NULL_LENGTH);
        return;
      }
      if (!Array.isArray(value)) throw new KafkaEncodeError("an array field takes an array");
      writeLength(writer, flexible, 4, value.length);
      for (let index = 0; index < value.length; index++) {
        try {
          element.write(writer, value[index]);
        } catch (error) {
          throw withPath(error, `[${index}]`);
        }
      }
    },
  };
}
