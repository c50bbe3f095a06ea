// Rules: Brook reads snappy, lz4 and zstd batches as other Kafka implementations write them, writes the
// framing Java clients read, refuses a batch that could inflate past decompressedBytesMax before any native
// decompressor runs, and reports bad compressed bytes as a typed error, never a library's exception.
import { randomBytes } from "node:crypto";
import zstd from "@toondepauw/node-zstd";
import fc from "fast-check";
import lz4 from "lz4-napi";
import snappy from "snappy";
import { afterEach, describe, expect, it, vi } from "vitest";
import { decompress } from "../src/compression.js";
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  Compression,
  type CompressionName,
  decodeRecordBatch,
  decodeRecordBatches,
  encodeRecordBatch,
  LOG_OVERHEAD,
  type RecordInput,
} from "../src/index.js";
import { brookErrorCode, recordArbitrary, refreshCrc } from "./helpers.js";

/** The records behind every fixed vector below; their uncompressed region is the 46 bytes in RECORDS_HEX. */
const RECORDS: RecordInput[] = [
  { key: "k1", value: "hello hello hello hello", headers: { h: "x" }, timestamp: 1000 },
  { key: null, value: "v2", timestamp: 1500 },
];
const RECORDS_HEX =
  "46000000046b312e68656c6c6f2068656c6c6f2068656c6c6f2068656c6c6f02026802781200e807020104763200";

/** A batch of RECORDS whose records region is `region`, as a client that compressed it with `codec` sends it. */
function batchWith(codec: number, region: Buffer): Buffer {
  const plain = encodeRecordBatch(RECORDS, { nowMs: 1 });
  const batch = Buffer.concat([plain.subarray(0, BATCH_HEADER_BYTES), region]);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  batch.writeInt16BE(codec, ATTRIBUTES_OFFSET);
  return refreshCrc(batch);
}

function regionOf(batch: Buffer): Buffer {
  return batch.subarray(BATCH_HEADER_BYTES);
}

const valueLength = (record: { value: Buffer | null }) => record.value?.length;

/**
 * An LZ4 frame as Kafka's Java client lays it out (FLG 0x60: version 1, independent blocks; BD 0x40: 64 KiB),
 * each 64 KiB of `plain` one block, stored as is where compressing would not shrink it. The blocks come from
 * lz4-napi's block API; the framing is built here, by the layout, not by any frame encoder.
 */
function javaLz4Frame(plain: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from("04224d18604082", "hex")];
  for (let start = 0; start < plain.length; start += 64 * 1024) {
    const chunk = plain.subarray(start, start + 64 * 1024);
    const compressed = lz4.compressSync(chunk).subarray(4);
    const stored = compressed.length >= chunk.length;
    const size = Buffer.alloc(4);
    size.writeUInt32LE((stored ? chunk.length + 0x80000000 : compressed.length) >>> 0);
    parts.push(size, stored ? chunk : compressed);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

/** Counts calls into the native decompressors while `action` runs; 0 means nothing was inflated. */
function nativeInflations(action: () => unknown): number {
  const spies = [
    vi.spyOn(snappy, "uncompressSync"),
    vi.spyOn(lz4, "decompressFrameSync"),
    vi.spyOn(lz4, "uncompressSync"),
    vi.spyOn(zstd.Decoder.prototype, "decodeSync"),
  ];
  try {
    action();
  } catch {
    // The error is checked by the caller; only the calls matter here.
  }
  return spies.reduce((calls, spy) => calls + spy.mock.calls.length, 0);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("batches compressed by other implementations", () => {
  it("RECORDS_HEX is what our uncompressed encoder writes (so the vectors hold these records)", () => {
    expect(regionOf(encodeRecordBatch(RECORDS, { nowMs: 1 })).toString("hex")).toBe(RECORDS_HEX);
  });

  // Each vector is a records region compressed by something other than the library we decode with.
  it.each([
    {
      proves:
        "raw snappy as librdkafka writes it (built by hand from the snappy format: literal, overlapping copy, literal)",
      codec: Compression.snappy,
      hex: "2e3446000000046b312e68656c6c6f204206003802026802781200e807020104763200",
    },
    {
      proves:
        "a xerial stream of two chunks, laid out as snappy-java's SnappyCodec documents, the chunks summed",
      codec: Compression.snappy,
      hex:
        "82534e41505059000000000100000001" +
        "000000131f3446000000046b312e68656c6c6f20420600" +
        "000000110f3802026802781200e807020104763200",
    },
    {
      proves: "an LZ4 frame from the lz4 1.9.4 CLI: 4 MiB blocks and a content checksum",
      codec: Compression.lz4,
      hex: "04224d186440a722000000ed46000000046b312e68656c6c6f200600f00002026802781200e80702010476320000000000b024cf23",
    },
    {
      proves:
        "an LZ4 frame from the lz4 CLI with every optional field: content size, block and content checksums",
      codec: Compression.lz4,
      hex:
        "04224d187c402e00000000000000d722000000ed46000000046b312e68656c6c6f200600f00002026802781200e80702010476" +
        "32006061334000000000b024cf23",
    },
    {
      proves: "a single-segment zstd frame from the zstd 1.5.4 CLI: content size declared, checksum",
      codec: Compression.zstd,
      hex: "28b52ffd242e1d0100e846000000046b312e68656c6c6f2002026802781200e8070201047632000100998b12740cb395",
    },
    {
      proves:
        "a streamed zstd frame (stdin to the CLI): no content size, a window descriptor, as zstd-jni writes",
      codec: Compression.zstd,
      hex: "28b52ffd00581d0100e846000000046b312e68656c6c6f2002026802781200e8070201047632000100998b12",
    },
  ])("decodes $proves", ({ codec, hex }) => {
    const { header, records } = decodeRecordBatch(batchWith(codec, Buffer.from(hex, "hex")));
    expect(header.compression).toBe(codec);
    expect(records.map((record) => [record.key?.toString() ?? null, record.value?.toString()])).toEqual([
      ["k1", "hello hello hello hello"],
      [null, "v2"],
    ]);
    expect(records[0].headers).toEqual([{ key: "h", value: Buffer.from("x") }]);
  });

  it("decodes an LZ4 frame laid out as Kafka's KafkaLZ4BlockOutputStream writes it: 64 KiB blocks, one stored", () => {
    const input = [{ value: randomBytes(70_000) }, { value: "compressible ".repeat(8000) }];
    const plain = regionOf(encodeRecordBatch(input, { nowMs: 1 }));
    expect(
      decodeRecordBatch(batchWith(Compression.lz4, javaLz4Frame(plain))).records.map(valueLength),
    ).toEqual([70_000, 13 * 8000]);
  });

  it("reads snappy-java's own output for 'foobar\\n' (a published SnappyOutputStream sample)", () => {
    const sample = Buffer.from("82534e41505059000000000100000001" + "00000009" + "0718666f6f6261720a", "hex");
    expect(decompress(Compression.snappy, sample, 1024, "the sample").toString()).toBe("foobar\n");
  });
});

describe("round trips", () => {
  const CODECS = ["gzip", "snappy", "lz4", "zstd"] as const;
  /** Payloads of up to 160 KiB, random or repetitive, so xerial chunks and LZ4/zstd blocks split anywhere. */
  const payloadArbitrary = fc.oneof(
    fc.uint8Array({ maxLength: 160 * 1024 }).map((bytes) => Buffer.from(bytes)),
    fc
      .tuple(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 8000 }))
      .map(([unit, count]) => Buffer.from(unit.repeat(count))),
  );

  it.each(CODECS)("%s: arbitrary payloads come back byte for byte, whatever their size", (compression) => {
    fc.assert(
      fc.property(fc.array(payloadArbitrary, { minLength: 1, maxLength: 4 }), (payloads) => {
        const batch = encodeRecordBatch(
          payloads.map((value) => ({ value })),
          { compression, nowMs: 1 },
        );
        const decoded = decodeRecordBatch(batch).records.map((record) => record.value?.toString("hex"));
        expect(decoded).toEqual(payloads.map((payload) => payload.toString("hex")));
      }),
      { numRuns: 25 },
    );
  });

  it("decodes a fetch response whose batches use every codec in turn", () => {
    const response = Buffer.concat(
      (["none", ...CODECS] as const).map((compression, index) =>
        encodeRecordBatch([{ value: compression }], { compression, baseOffset: index, nowMs: 1 }),
      ),
    );
    const values = decodeRecordBatches(response).flatMap((batch) =>
      batch.records.map((r) => r.value?.toString()),
    );
    expect(values).toEqual(["none", ...CODECS]);
  });
});

describe("what we write", () => {
  const records = [{ value: Buffer.alloc(100_000, 7) }, { value: "tail" }];
  const region = (compression: CompressionName) =>
    regionOf(encodeRecordBatch(records, { compression, nowMs: 1 }));

  it("snappy: a xerial stream (version 1, compatible 1) whose chunks each hold at most 32 KiB", () => {
    const stream = region("snappy");
    expect(stream.subarray(0, 16).toString("hex")).toBe("82534e41505059000000000100000001");
    const chunkBytes: number[] = [];
    let pos = 16;
    while (pos < stream.length) {
      const length = stream.readInt32BE(pos);
      chunkBytes.push(snappy.uncompressSync(stream.subarray(pos + 4, pos + 4 + length)).length);
      pos += 4 + length;
    }
    expect(pos).toBe(stream.length);
    expect(chunkBytes.slice(0, 3)).toEqual([32 * 1024, 32 * 1024, 32 * 1024]);
    expect(chunkBytes).toHaveLength(4);
  });

  it("lz4: one frame, version 1, independent blocks of 64 KiB to 4 MiB, as Kafka's Java reader requires", () => {
    const frame = region("lz4");
    expect(frame.readUInt32LE(0)).toBe(0x184d2204);
    expect(frame[4] >> 6).toBe(1);
    expect(frame[4] & 0x20).toBe(0x20);
    expect((frame[5] >> 4) & 7).toBeGreaterThanOrEqual(4);
  });

  it("zstd and gzip: their standard magic", () => {
    expect(region("zstd").readUInt32LE(0)).toBe(0xfd2fb528);
    expect(region("gzip").subarray(0, 2).toString("hex")).toBe("1f8b");
  });
});

describe("compression bombs", () => {
  /** A header plus `count` copies of `block`, then `tail`: many small blocks that claim much output. */
  const repeat = (head: string, block: string, count: number, tail = "") =>
    Buffer.from(head + block.repeat(count) + tail, "hex");
  const xerialHeader = "82534e41505059000000000100000001";

  it.each([
    { what: "raw snappy declaring 4 GiB in 6 bytes", codec: 2, region: Buffer.from("ffffffff0f00", "hex") },
    {
      what: "xerial snappy whose 100 chunks declare 1 MiB each (800 bytes)",
      codec: 2,
      region: repeat(xerialHeader, "00000004808040" + "00", 100),
    },
    {
      what: "an LZ4 frame of 1100 compressed 257-byte blocks (283 KiB that could make 72 MB)",
      codec: 3,
      region: repeat("04224d18604082", `01010000${"00".repeat(257)}`, 1100, "00000000"),
    },
    {
      what: "a zstd frame of 600 RLE blocks of 128 KiB (2.4 KiB that make 75 MiB)",
      codec: 4,
      region: repeat("28b52ffd0058", "02001000", 599, "03001000"),
    },
  ])("refuses $what under the default ceiling, before any native decompressor runs", ({ codec, region }) => {
    const batch = batchWith(codec, region);
    expect(nativeInflations(() => decodeRecordBatch(batch))).toBe(0);
    expect(brookErrorCode(() => decodeRecordBatch(batch))).toBe("RECORD_TOO_LARGE");
  });

  it.each(["gzip", "snappy", "lz4", "zstd"] as const)(
    "%s: refuses real compressed zeros (8 MiB) under a 1 MiB ceiling, and decodes them under the default",
    (compression) => {
      const batch = encodeRecordBatch([{ value: Buffer.alloc(8 << 20) }], { compression, nowMs: 1 });
      const options = { decompressedBytesMax: 1 << 20 };
      if (compression !== "gzip")
        expect(nativeInflations(() => decodeRecordBatch(batch, 0, options))).toBe(0);
      expect(brookErrorCode(() => decodeRecordBatch(batch, 0, options))).toBe("RECORD_TOO_LARGE");
      // The spies do see a decompressor run (snappy: once per xerial chunk), so the 0 above means something.
      if (compression !== "gzip") expect(nativeInflations(() => decodeRecordBatch(batch))).toBeGreaterThan(0);
      expect(decodeRecordBatch(batch).records[0].value).toHaveLength(8 << 20);
    },
  );

  /** How far a codec's bound may exceed the true size: exact for gzip and snappy, one block for the others. */
  const slackBytes = (compression: CompressionName, region: Buffer) =>
    ({ none: 0, gzip: 0, snappy: 0, lz4: 1 << (2 * ((region[5] >> 4) & 7) + 8), zstd: 128 * 1024 })[
      compression
    ];

  it.each(["gzip", "snappy", "lz4", "zstd"] as const)(
    "%s: the ceiling errs by at most one block: the records' size plus that fits, one byte less does not",
    (compression) => {
      const input = Array.from({ length: 300 }, (_, index) => ({
        key: `k${index}`,
        value: `v ${index} `.repeat(40),
      }));
      const plainBytes = regionOf(encodeRecordBatch(input, { nowMs: 1 })).length;
      const batch = encodeRecordBatch(input, { compression, nowMs: 1 });
      const fits = { decompressedBytesMax: plainBytes + slackBytes(compression, regionOf(batch)) };
      expect(decodeRecordBatch(batch, 0, fits).records).toHaveLength(300);
      const short = { decompressedBytesMax: plainBytes - 1 };
      expect(brookErrorCode(() => decodeRecordBatch(batch, 0, short))).toBe("RECORD_TOO_LARGE");
    },
  );
});

describe("corrupt compressed bytes", () => {
  const vectors = {
    snappy: "2e3446000000046b312e68656c6c6f204206003802026802781200e807020104763200",
    lz4: "04224d186440a722000000ed46000000046b312e68656c6c6f200600f00002026802781200e80702010476320000000000b024cf23",
    zstd: "28b52ffd242e1d0100e846000000046b312e68656c6c6f2002026802781200e8070201047632000100998b12740cb395",
  };

  it.each(Object.entries(vectors))("%s: a cut stream is CORRUPT_BATCH", (name, hex) => {
    const region = Buffer.from(hex, "hex");
    for (const cut of [1, 5, region.length - 6]) {
      const batch = batchWith(Compression[name as CompressionName], region.subarray(0, region.length - cut));
      expect(brookErrorCode(() => decodeRecordBatch(batch))).toBe("CORRUPT_BATCH");
    }
  });

  it.each(["lz4", "zstd"] as const)("%s: a checksum that does not match is CORRUPT_BATCH", (name) => {
    const region = Buffer.from(vectors[name], "hex");
    region[region.length - 1] ^= 0xff;
    expect(brookErrorCode(() => decodeRecordBatch(batchWith(Compression[name], region)))).toBe(
      "CORRUPT_BATCH",
    );
  });

  it.each([2, 3, 4])("codec %i: bytes that are not its format are CORRUPT_BATCH", (codec) => {
    for (const region of [
      Buffer.alloc(0),
      Buffer.alloc(64, 0x41),
      Buffer.from("82534e4150505900000000", "hex"),
    ]) {
      expect(brookErrorCode(() => decodeRecordBatch(batchWith(codec, region)))).toBe("CORRUPT_BATCH");
    }
  });

  it("lz4: a block that inflates past its frame's block maximum is CORRUPT_BATCH", () => {
    const block = lz4.compressSync(Buffer.alloc(100_000)).subarray(4);
    const size = Buffer.alloc(4);
    size.writeUInt32LE(block.length);
    const frame = Buffer.concat([Buffer.from("04224d18604082", "hex"), size, block, Buffer.alloc(4)]);
    expect(brookErrorCode(() => decodeRecordBatch(batchWith(Compression.lz4, frame)))).toBe("CORRUPT_BATCH");
  });

  it("xerial: a chunk longer than the bytes that follow is CORRUPT_BATCH", () => {
    const region = Buffer.from("82534e41505059000000000100000001000000ff2e34", "hex");
    expect(brookErrorCode(() => decodeRecordBatch(batchWith(Compression.snappy, region)))).toBe(
      "CORRUPT_BATCH",
    );
  });

  it.each(["gzip", "snappy", "lz4", "zstd"] as const)(
    "%s: any mutation of a real compressed region gives records or a BrookError, never a library's exception",
    (compression) => {
      fc.assert(
        fc.property(
          fc.array(recordArbitrary, { minLength: 1, maxLength: 5 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
          (input, mutations) => {
            const batch = encodeRecordBatch(input, { compression, nowMs: 1 });
            const regionBytes = batch.length - BATCH_HEADER_BYTES;
            for (const [index, byte] of mutations) batch[BATCH_HEADER_BYTES + (index % regionBytes)] = byte;
            try {
              decodeRecordBatch(refreshCrc(batch));
            } catch (error) {
              expect(error).toMatchObject({ name: "BrookError" });
            }
          },
        ),
        { numRuns: 300 },
      );
    },
  );
});
