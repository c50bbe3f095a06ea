// Rule: the frame splitter returns exactly the frames of the stream, however the socket cuts it, and
// refuses a negative or oversized frame as soon as its size arrives, before buffering any of it.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameSplitter, KafkaFrameError } from "../src/index.js";

function framed(payloads: Buffer[]): Buffer {
  return Buffer.concat(
    payloads.flatMap((payload) => {
      const size = Buffer.alloc(4);
      size.writeInt32BE(payload.length);
      return [size, payload];
    }),
  );
}

/** Cuts `stream` at the given positions (sorted, deduplicated by the caller). */
function cut(stream: Buffer, positions: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let start = 0;
  for (const position of [...positions, stream.length]) {
    pieces.push(stream.subarray(start, position));
    start = position;
  }
  return pieces;
}

describe("frame splitter", () => {
  it("returns every frame whatever the chunk boundaries (every single cut point)", () => {
    const payloads = [Buffer.from("first"), Buffer.alloc(0), Buffer.from("the third frame")];
    const stream = framed(payloads);
    for (let position = 0; position <= stream.length; position++) {
      const splitter = new FrameSplitter(1024);
      const frames = cut(stream, [position]).flatMap((piece) => splitter.push(piece));
      expect(frames).toEqual(payloads);
      expect(splitter.bufferedBytes).toBe(0);
    }
  });

  it("returns every frame whatever the chunk boundaries (random cuts)", () => {
    const payload = fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes));
    fc.assert(
      fc.property(
        fc.array(payload, { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (payloads, cuts) => {
          const stream = framed(payloads);
          const positions = [...new Set(cuts.map((value) => value % (stream.length + 1)))].sort(
            (a, b) => a - b,
          );
          const splitter = new FrameSplitter(1024);
          const frames = cut(stream, positions).flatMap((piece) => splitter.push(piece));
          expect(frames).toEqual(payloads);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("hands out a frame inside one chunk as a view of it, without copying", () => {
    const stream = framed([Buffer.from("abc")]);
    const [frame] = new FrameSplitter(1024).push(stream);
    expect(frame.buffer).toBe(stream.buffer);
    expect(frame.byteOffset).toBe(stream.byteOffset + 4);
  });

  it("keeps a partial frame until the rest arrives", () => {
    const splitter = new FrameSplitter(1024);
    const stream = framed([Buffer.from("0123456789")]);
    expect(splitter.push(stream.subarray(0, 9))).toEqual([]);
    expect(splitter.bufferedBytes).toBe(5);
    expect(splitter.push(stream.subarray(9))).toEqual([Buffer.from("0123456789")]);
  });

  it("refuses a frame larger than requestBytesMax as soon as its size is known", () => {
    const splitter = new FrameSplitter(100);
    const size = Buffer.alloc(4);
    size.writeInt32BE(101);
    expect(() => splitter.push(size.subarray(0, 2))).not.toThrow();
    expect(() => splitter.push(size.subarray(2))).toThrow(KafkaFrameError);
    expect(splitter.bufferedBytes).toBe(0);
    // The stream has lost its framing: later chunks are refused too.
    expect(() => splitter.push(Buffer.alloc(10))).toThrow(/exceeds the 100-byte limit/);
  });

  it("accepts a frame of exactly requestBytesMax", () => {
    const payload = Buffer.alloc(100, 7);
    expect(new FrameSplitter(100).push(framed([payload]))).toEqual([payload]);
  });

  it("refuses a negative size", () => {
    const error = (() => {
      try {
        new FrameSplitter(100).push(Buffer.from([0xff, 0xff, 0xff, 0xfe, 1, 2, 3]));
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(KafkaFrameError);
    expect(error).toMatchObject({ sizeBytes: -2 });
  });

  it("holds at most one frame: a 2 GiB size claim is refused, not waited for", () => {
    const splitter = new FrameSplitter();
    expect(() => splitter.push(Buffer.from([0x7f, 0xff, 0xff, 0xff]))).toThrow(/socket.request.max.bytes/);
  });

  it("takes frames one at a time, each measured against the limit given when its size is read", () => {
    const splitter = new FrameSplitter(1024);
    splitter.append(framed([Buffer.alloc(10), Buffer.alloc(200), Buffer.alloc(300)]));
    const strict = { bytesMax: 100, name: "sasl.server.max.receive.size" };
    expect(splitter.next(strict)).toEqual(Buffer.alloc(10));
    // Only now is the second frame's size read: the limit of the moment applies, not an earlier one.
    expect(splitter.next()).toEqual(Buffer.alloc(200));
    expect(() => splitter.next(strict)).toThrow(
      /300 bytes exceeds the 100-byte limit \(sasl.server.max.receive.size\)/,
    );
    expect(() => splitter.next()).toThrow(KafkaFrameError);
  });

  it("answers undefined from next() until a whole frame is there", () => {
    const splitter = new FrameSplitter(1024);
    const stream = framed([Buffer.from("abc")]);
    splitter.append(stream.subarray(0, 5));
    expect(splitter.next()).toBeUndefined();
    splitter.append(stream.subarray(5));
    expect(splitter.next()).toEqual(Buffer.from("abc"));
    expect(splitter.next()).toBeUndefined();
  });
});
