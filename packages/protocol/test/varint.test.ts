// Varints are the framing of every record field: they must match Kafka's bytes and refuse truncated input.
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Cursor,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from "../src/varint.js";

const require = createRequire(import.meta.url);
const KafkajsEncoder = require("kafkajs/src/protocol/encoder");
const KafkajsDecoder = require("kafkajs/src/protocol/decoder");

function encode(write: (buf: Buffer, pos: number, value: number) => number, value: number): Buffer {
  const buf = Buffer.alloc(10);
  return buf.subarray(0, write(buf, 0, value));
}

function cursorOver(bytes: Buffer): Cursor {
  return { buf: bytes, pos: 0, end: bytes.length };
}

function expectCorrupt(read: () => unknown): void {
  expect(read).toThrow(expect.objectContaining({ name: "BrookError", code: "CORRUPT_BATCH" }));
}

describe("varint", () => {
  // Vectors from Kafka's ByteUtilsTest.testVarintSerde.
  const kafkaVectors: [number, number[]][] = [
    [0, [0x00]],
    [-1, [0x01]],
    [1, [0x02]],
    [63, [0x7e]],
    [-64, [0x7f]],
    [64, [0x80, 0x01]],
    [-65, [0x81, 0x01]],
    [8191, [0xfe, 0x7f]],
    [-8192, [0xff, 0x7f]],
    [8192, [0x80, 0x80, 0x01]],
    [-8193, [0x81, 0x80, 0x01]],
    [1048575, [0xfe, 0xff, 0x7f]],
    [-1048576, [0xff, 0xff, 0x7f]],
    [1048576, [0x80, 0x80, 0x80, 0x01]],
    [-1048577, [0x81, 0x80, 0x80, 0x01]],
    [134217727, [0xfe, 0xff, 0xff, 0x7f]],
    [-134217728, [0xff, 0xff, 0xff, 0x7f]],
    [134217728, [0x80, 0x80, 0x80, 0x80, 0x01]],
    [-134217729, [0x81, 0x80, 0x80, 0x80, 0x01]],
    [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
    [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ];

  it.each(kafkaVectors)("encodes %i as Kafka does", (value, bytes) => {
    expect([...encode(writeVarint, value)]).toEqual(bytes);
    expect(sizeOfVarint(value)).toBe(bytes.length);
    expect(readVarint(cursorOver(Buffer.from(bytes)))).toBe(value);
    // A varlong of an int32 value is the same bytes.
    expect([...encode(writeVarlong, value)]).toEqual(bytes);
  });

  it("round-trips every int32 and agrees with kafkajs", () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), (value) => {
        const bytes = encode(writeVarint, value);
        expect(bytes.equals(new KafkajsEncoder().writeVarInt(value).buffer)).toBe(true);
        const cursor = cursorOver(bytes);
        expect(readVarint(cursor)).toBe(value);
        expect(cursor.pos).toBe(bytes.length);
      }),
    );
  });

  it("refuses a varint longer than five bytes", () => {
    expectCorrupt(() => readVarint(cursorOver(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]))));
  });
});

describe("varlong", () => {
  it("round-trips every safe integer and agrees with kafkajs both ways", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.constantFrom(2 ** 53 - 1, -(2 ** 53 - 1))),
        (value) => {
          const bytes = encode(writeVarlong, value);
          expect(sizeOfVarlong(value)).toBe(bytes.length);
          expect(bytes.equals(new KafkajsEncoder().writeVarLong(value).buffer)).toBe(true);
          expect(new KafkajsDecoder(bytes).readVarLong().toString()).toBe(String(value));
          const cursor = cursorOver(bytes);
          expect(readVarlong(cursor)).toBe(value);
          expect(cursor.pos).toBe(bytes.length);
        },
      ),
    );
  });

  it("refuses a varlong beyond ±2^53, which a JS number cannot hold exactly", () => {
    const beyond = new KafkajsEncoder().writeVarLong(2 ** 53 + 2).buffer as Buffer;
    expectCorrupt(() => readVarlong(cursorOver(beyond)));
  });

  it("refuses a varlong longer than ten bytes", () => {
    expectCorrupt(() => readVarlong(cursorOver(Buffer.from([...Array(10).fill(0x80), 0x01]))));
  });
});

describe("bounds", () => {
  it("throws CORRUPT_BATCH, never reads past `end`, for every truncation of a varint or varlong", () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (value) => {
        const bytes = encode(writeVarlong, value);
        for (let cut = 0; cut < bytes.length; cut++) {
          // The bytes beyond `end` are present in the buffer but must not be used.
          const cursor: Cursor = { buf: bytes, pos: 0, end: cut };
          expectCorrupt(() => readVarlong(cursor));
          if (bytes.length <= 5) expectCorrupt(() => readVarint({ buf: bytes, pos: 0, end: cut }));
        }
      }),
    );
  });
});
