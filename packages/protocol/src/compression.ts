// Kafka's five compression codecs for the records of a RecordBatch v2, in the framing Kafka clients write,
// inflated only after the frame's own headers prove the output fits under the caller's ceiling.
//
// Framing, by Kafka's codec id (confirmed in Kafka's clients/.../common/compress, snappy-java's SnappyCodec,
// librdkafka's rdkafka_msgset_reader.c and the LZ4 and zstd frame specs):
//   1 gzip    RFC 1952 (node:zlib).
//   2 snappy  Java clients write snappy-java's "xerial" stream: magic 82 'SNAPPY' 00, int32 version 1, int32
//             compatible version 1, then chunks of [int32 BE length][raw snappy block]. librdkafka writes
//             one raw snappy block and reads both, telling them apart by the magic; so do we. We write
//             xerial with 32 KiB chunks (snappy-java's default), which every client reads.
//   3 lz4     The LZ4 frame format (magic 0x184D2204, version 1, independent blocks), as Kafka's
//             Lz4BlockOutputStream writes it for magic 2 (only magic 0 had the broken header checksum).
//             Java writes 64 KiB blocks; lz4-napi picks 64 KiB to 4 MiB by input size, all of which Java
//             reads (it refuses only dependent blocks, which we never write).
//   4 zstd    Standard zstd frames (magic 0xFD2FB528). zstd-jni and librdkafka stream them, so the frame
//             content size is usually absent.
//
// Bounded memory. gzip stops at zlib's maxOutputLength. The native snappy, lz4 and zstd decoders take no
// overall output cap, so they run only once the frame headers bound the output by decompressedBytesMax
// (RECORD_TOO_LARGE otherwise, before anything is inflated):
//   snappy  each raw block opens with its exact length (a varint); a xerial stream sums its chunks'.
//   lz4     the block headers: a stored block inflates to its size, a compressed one to at most
//           min(the frame's block maximum, 255 × its size), the most an LZ4 sequence can expand. Blocks are
//           then inflated one by one through lz4-napi's block API, whose leading capacity word is that
//           per-block bound and a hard limit (frames with dependent blocks or checksums go to its frame
//           decoder instead, which verifies them).
//   zstd    the block headers: raw and RLE blocks to their size, a compressed one to at most
//           min(window, 128 KiB), the spec's Block_Maximum_Size, which libzstd enforces.
// A declared content size is not relied on: Java clients never write one, while the block walk (one pass
// over headers, nothing inflated) bounds every frame with or without it. The bound may exceed the true
// size by up to one block (128 KiB for zstd, the frame's 64 KiB to 4 MiB for lz4), so a batch that close
// to the ceiling can be refused; the ceiling (64 MiB) is far above Kafka's default max.message.bytes
// (1 MiB). While chunks are joined, memory peaks at about twice the inflated size.
//
// Synchronous. Producers encode and consumers decode in plain function calls on their hot paths, so every
// codec here is synchronous. zstd comes from @toondepauw/node-zstd (encodeSync/decodeSync); the
// @mongodb-js/zstd 1.2.2 binding exposes only async compress/decompress, which would have made encode and
// decode, and the producer's and consumer's paths through them, async for one codec.

import { createRequire } from "node:module";
import { gunzipSync, gzipSync } from "node:zlib";
import type zstdModule from "@toondepauw/node-zstd";
import type lz4Module from "lz4-napi";
import type snappyModule from "snappy";
import { BrookError } from "./errors.js";

const require = createRequire(import.meta.url);

/** Loads a native codec on first use: a broker stores compressed batches without opening them, so it never does. */
function onFirstUse<T>(load: () => T): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= load();
    return loaded;
  };
}

const snappyLib = onFirstUse(() => require("snappy") as typeof snappyModule);
const lz4Lib = onFirstUse(() => require("lz4-napi") as typeof lz4Module);
const zstdLib = onFirstUse(() => {
  const zstd = require("@toondepauw/node-zstd") as typeof zstdModule;
  return { encoder: new zstd.Encoder(ZSTD_LEVEL), decoder: new zstd.Decoder() };
});

/** Compression codecs this codec can write and read, by Kafka's codec id. */
export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionName = keyof typeof Compression;

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic, then version 1 and compatible version 1 as int32 BE. */
const XERIAL_HEADER = Buffer.concat([XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])]);
/** Input per xerial chunk: snappy-java's default block size, so Java readers size their buffers as usual. */
const XERIAL_CHUNK_BYTES = 32 * 1024;
const INT32_BYTES = 4;
/** A raw snappy block's uncompressed length is a varint below 2^32, so it takes at most 5 bytes. */
const SNAPPY_LENGTH_VARINT_BYTES_MAX = 5;
/** Copying into a V8 buffer measured 4-5x faster than napi-rs's external buffers (no per-call mmap). */
const SNAPPY_OUTPUT = { copyOutputData: true };

/** LZ4 and zstd share skippable frames: a magic in 0x184D2A50..5F, a uint32 LE size, then that many bytes. */
const SKIPPABLE_FRAME_MAGIC = 0x184d2a50;
const SKIPPABLE_FRAME_MAGIC_MASK = 0xfffffff0;
const LZ4_FRAME_MAGIC = 0x184d2204;
const LZ4_FRAME_VERSION = 1;
/** A sequence of n input bytes yields at most 255·n output bytes: 4+15+255·k match bytes from 3+k bytes. */
const LZ4_EXPANSION_MAX = 255;
/** Block maximum by the BD byte's 3-bit code; codes 0..3 are reserved. */
const LZ4_BLOCK_BYTES_MAX: { [code: number]: number } = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };
const LZ4_STORED_BLOCK_FLAG = 0x80000000;
const LZ4_INDEPENDENT_BLOCKS_FLAG = 0x20;
const LZ4_BLOCK_CHECKSUM_FLAG = 0x10;
const LZ4_CONTENT_SIZE_FLAG = 0x08;
const LZ4_CONTENT_CHECKSUM_FLAG = 0x04;
const LZ4_DICTIONARY_ID_FLAG = 0x01;
const ZSTD_FRAME_MAGIC = 0xfd2fb528;
const ZSTD_BLOCK_BYTES_MAX = 128 * 1024;
const ZSTD_DICTIONARY_ID_BYTES = [0, 1, 2, 4];
const ZSTD_BLOCK_RLE = 1;
const ZSTD_BLOCK_COMPRESSED = 2;
const ZSTD_BLOCK_RESERVED = 3;
/** ZSTD_CLEVEL_DEFAULT, which Kafka's producer uses unless told otherwise. */
const ZSTD_LEVEL = 3;
const CHECKSUM_BYTES = 4;

/** The output would pass the ceiling; raised before the decompressor allocates. */
class OverCeiling extends Error {}

interface Codec {
  name: CompressionName;
  compress(plain: Buffer): Buffer;
  /** Throws OverCeiling before inflating when the output could pass `bytesMax`; any other throw is corruption. */
  inflate(compressed: Buffer, bytesMax: number): Buffer;
}

const gzip: Codec = {
  name: "gzip",
  compress: (plain) => gzipSync(plain),
  inflate(compressed, bytesMax) {
    try {
      return gunzipSync(compressed, { maxOutputLength: bytesMax });
    } catch (cause) {
      if ((cause as { code?: string }).code === "ERR_BUFFER_TOO_LARGE")
        throw new OverCeiling("it inflates further");
      throw cause;
    }
  },
};

const snappyCodec: Codec = {
  name: "snappy",
  compress: compressXerial,
  inflate(compressed, bytesMax) {
    const blocks = isXerial(compressed) ? xerialChunks(compressed) : [compressed];
    let declaredBytes = 0;
    for (const block of blocks) declaredBytes += snappyDeclaredBytes(block);
    if (declaredBytes > bytesMax) throw new OverCeiling(`its blocks declare ${declaredBytes} bytes`);
    const plain = blocks.map((block) => snappyLib().uncompressSync(block, SNAPPY_OUTPUT) as Buffer);
    return plain.length === 1 ? plain[0] : Buffer.concat(plain);
  },
};

const lz4Codec: Codec = {
  name: "lz4",
  compress: (plain) => lz4Lib().compressFrameSync(plain),
  inflate(compressed, bytesMax) {
    const frames = readFrames(compressed, LZ4_FRAME_MAGIC, readLz4Frame);
    checkBound(sum(frames.map((frame) => frame.bound)), bytesMax);
    // lz4-napi's frame decoder measured 4-5x slower than its block API, so frames whose blocks stand alone
    // and carry no checksum to verify (Kafka's Java clients write these) are inflated block by block.
    if (!frames.every((frame) => frame.blockwise)) return lz4Lib().decompressFrameSync(compressed);
    const plain = frames.flatMap((frame) => frame.blocks.map(inflateLz4Block));
    return plain.length === 1 ? plain[0] : Buffer.concat(plain);
  },
};

const zstdCodec: Codec = {
  name: "zstd",
  compress: (plain) => zstdLib().encoder.encodeSync(plain),
  inflate(compressed, bytesMax) {
    checkBound(sum(readFrames(compressed, ZSTD_FRAME_MAGIC, zstdFrameBound)), bytesMax);
    return zstdLib().decoder.decodeSync(compressed);
  },
};

/** By codec id; 0 (none) is not a codec. */
const CODECS: readonly (Codec | undefined)[] = [undefined, gzip, snappyCodec, lz4Codec, zstdCodec];

/** The codec id for a name a caller passed, refusing names Kafka does not define. */
export function compressionCodec(name: string): number {
  if (!Object.hasOwn(Compression, name)) {
    const names = Object.keys(Compression).join(", ");
    throw new BrookError("UNSUPPORTED_BATCH", `compression "${name}" is not supported; use one of ${names}`);
  }
  return Compression[name as CompressionName];
}

function codecFor(codec: number): Codec {
  const found = CODECS[codec];
  if (found === undefined) {
    throw new BrookError("UNSUPPORTED_BATCH", `compression codec ${codec} is not one of Kafka's (1 to 4)`);
  }
  return found;
}

export function compress(codec: number, plain: Buffer): Buffer {
  return codecFor(codec).compress(plain);
}

/**
 * Inflates the records of the batch named by `subject` (e.g. "the batch at position 0"): RECORD_TOO_LARGE
 * when they could pass `decompressedBytesMax`, CORRUPT_BATCH when the bytes do not inflate.
 */
export function decompress(
  codec: number,
  compressed: Buffer,
  decompressedBytesMax: number,
  subject: string,
): Buffer {
  const { name, inflate } = codecFor(codec);
  try {
    return inflate(compressed, decompressedBytesMax);
  } catch (cause) {
    if (cause instanceof OverCeiling) {
      throw new BrookError(
        "RECORD_TOO_LARGE",
        `${subject} inflates beyond ${decompressedBytesMax} bytes (${name}: ${cause.message})`,
        { cause },
      );
    }
    throw new BrookError(
      "CORRUPT_BATCH",
      `${subject} holds ${name} data that does not inflate (${(cause as Error).message})`,
      { cause },
    );
  }
}

function compressXerial(plain: Buffer): Buffer {
  const parts: Buffer[] = [XERIAL_HEADER];
  for (let start = 0; start < plain.length; start += XERIAL_CHUNK_BYTES) {
    const block = snappyLib().compressSync(plain.subarray(start, start + XERIAL_CHUNK_BYTES), SNAPPY_OUTPUT);
    const length = Buffer.allocUnsafe(INT32_BYTES);
    length.writeInt32BE(block.length);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

function hasXerialMagic(buf: Buffer, pos: number): boolean {
  return (
    buf.length - pos >= XERIAL_MAGIC.length &&
    XERIAL_MAGIC.equals(buf.subarray(pos, pos + XERIAL_MAGIC.length))
  );
}

function isXerial(compressed: Buffer): boolean {
  return compressed.length >= XERIAL_HEADER.length && hasXerialMagic(compressed, 0);
}

/** The raw snappy blocks of a xerial stream, each checked against the bytes present. */
function xerialChunks(compressed: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  let pos = XERIAL_HEADER.length;
  while (pos < compressed.length) {
    // snappy-java reads streams concatenated header and all; so do we.
    if (hasXerialMagic(compressed, pos)) {
      pos += XERIAL_HEADER.length;
      continue;
    }
    if (compressed.length - pos < INT32_BYTES) throw new Error(`a xerial chunk length is cut at byte ${pos}`);
    const length = compressed.readInt32BE(pos);
    const start = pos + INT32_BYTES;
    if (length < 0 || length > compressed.length - start) {
      throw new Error(
        `the xerial chunk at byte ${pos} claims ${length} bytes; ${compressed.length - start} follow`,
      );
    }
    chunks.push(compressed.subarray(start, start + length));
    pos = start + length;
  }
  return chunks;
}

/** The exact uncompressed length a raw snappy block opens with (a little-endian base-128 varint). */
function snappyDeclaredBytes(block: Buffer): number {
  let value = 0;
  for (let index = 0; index < Math.min(block.length, SNAPPY_LENGTH_VARINT_BYTES_MAX); index++) {
    value += (block[index] & 0x7f) * 2 ** (7 * index);
    if (block[index] < 0x80) return value;
  }
  throw new Error("a snappy block does not open with its length");
}

/** Reads frame headers; every read is checked against the bytes present. */
class FrameReader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  skip(bytes: number): void {
    if (bytes > this.remaining) {
      throw new Error(`the frame needs ${bytes} bytes at byte ${this.pos}; ${this.remaining} follow`);
    }
    this.pos += bytes;
  }

  uintLE(bytes: 1 | 2 | 3 | 4): number {
    const start = this.pos;
    this.skip(bytes);
    return this.buf.readUIntLE(start, bytes);
  }

  uint64LE(): number {
    const start = this.pos;
    this.skip(8);
    return Number(this.buf.readBigUInt64LE(start));
  }
}

/**
 * Reads every frame of an LZ4 or zstd stream with `readFrame`, passing over skippable frames. Each step
 * consumes input, so the walk is bounded by the bytes present.
 */
function readFrames<Frame>(
  compressed: Buffer,
  magic: number,
  readFrame: (reader: FrameReader) => Frame,
): Frame[] {
  const reader = new FrameReader(compressed);
  const frames: Frame[] = [];
  do {
    const frameMagic = reader.uintLE(4);
    if ((frameMagic & SKIPPABLE_FRAME_MAGIC_MASK) >>> 0 === SKIPPABLE_FRAME_MAGIC)
      reader.skip(reader.uintLE(4));
    else if (frameMagic === magic) frames.push(readFrame(reader));
    else throw new Error(`unknown frame magic 0x${frameMagic.toString(16)} at byte ${reader.pos - 4}`);
  } while (reader.remaining > 0);
  return frames;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function checkBound(bound: number, bytesMax: number): void {
  if (bound > bytesMax) throw new OverCeiling(`its block headers allow ${bound} bytes`);
}

interface Lz4Block {
  data: Buffer;
  /** Stored as is (the block size's high bit), not compressed. */
  stored: boolean;
  /** The most this block can inflate to; see the file comment. */
  bytesMax: number;
}

interface Lz4Frame {
  blocks: Lz4Block[];
  bound: number;
  /** Independent blocks and no checksums: each block can be inflated on its own with nothing to verify. */
  blockwise: boolean;
}

/** Reads one LZ4 frame (after its magic): its blocks and the bound on their output. */
function readLz4Frame(reader: FrameReader): Lz4Frame {
  const flags = reader.uintLE(1);
  const blockBytesMax = LZ4_BLOCK_BYTES_MAX[(reader.uintLE(1) >> 4) & 7];
  if (flags >> 6 !== LZ4_FRAME_VERSION) throw new Error(`lz4 frame version ${flags >> 6} is not 1`);
  if (blockBytesMax === undefined) throw new Error("lz4 frame names a reserved block size");
  const contentSizeBytes = flags & LZ4_CONTENT_SIZE_FLAG ? 8 : 0;
  const dictionaryIdBytes = flags & LZ4_DICTIONARY_ID_FLAG ? 4 : 0;
  reader.skip(contentSizeBytes + dictionaryIdBytes + 1); // ... and the header checksum byte
  const blockChecksumBytes = flags & LZ4_BLOCK_CHECKSUM_FLAG ? CHECKSUM_BYTES : 0;
  const blocks: Lz4Block[] = [];
  for (let word = reader.uintLE(4); word !== 0; word = reader.uintLE(4)) {
    const size = (word & ~LZ4_STORED_BLOCK_FLAG) >>> 0;
    const stored = (word & LZ4_STORED_BLOCK_FLAG) !== 0;
    if (stored && size > blockBytesMax)
      throw new Error(`lz4 stored block of ${size} bytes passes the frame's maximum`);
    const start = reader.pos;
    reader.skip(size + blockChecksumBytes);
    const bytesMax = stored ? size : Math.min(blockBytesMax, size * LZ4_EXPANSION_MAX);
    blocks.push({ data: reader.buf.subarray(start, start + size), stored, bytesMax });
  }
  reader.skip(flags & LZ4_CONTENT_CHECKSUM_FLAG ? CHECKSUM_BYTES : 0);
  const checksummed = (flags & (LZ4_BLOCK_CHECKSUM_FLAG | LZ4_CONTENT_CHECKSUM_FLAG)) !== 0;
  const independent = (flags & LZ4_INDEPENDENT_BLOCKS_FLAG) !== 0;
  return {
    blocks,
    bound: sum(blocks.map((block) => block.bytesMax)),
    blockwise: independent && !checksummed,
  };
}

/** lz4-napi's block API reads a uint32 LE output capacity first, fails past it and returns what was made. */
function inflateLz4Block(block: Lz4Block): Buffer {
  if (block.stored) return block.data;
  const sized = Buffer.allocUnsafe(INT32_BYTES + block.data.length);
  sized.writeUInt32LE(block.bytesMax, 0);
  block.data.copy(sized, INT32_BYTES);
  return lz4Lib().uncompressSync(sized);
}

/** Bounds one zstd frame (after its magic) by its block headers; see the file comment. */
function zstdFrameBound(reader: FrameReader): number {
  const descriptor = reader.uintLE(1);
  if (descriptor & 0x08) throw new Error("zstd frame header sets its reserved bit");
  const singleSegment = (descriptor & 0x20) !== 0;
  let windowBytes = singleSegment ? 0 : zstdWindowBytes(reader.uintLE(1));
  reader.skip(ZSTD_DICTIONARY_ID_BYTES[descriptor & 3]);
  const contentSize = zstdContentSize(reader, descriptor >> 6, singleSegment);
  // A single-segment frame has no window descriptor: its window is its content size.
  if (singleSegment) windowBytes = contentSize;
  const compressedBlockBytesMax = Math.min(windowBytes, ZSTD_BLOCK_BYTES_MAX);
  let bound = 0;
  let last = false;
  while (!last) {
    const header = reader.uintLE(3);
    last = (header & 1) === 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === ZSTD_BLOCK_RESERVED) throw new Error("zstd block uses the reserved block type");
    bound += type === ZSTD_BLOCK_COMPRESSED ? compressedBlockBytesMax : size;
    reader.skip(type === ZSTD_BLOCK_RLE ? 1 : size);
  }
  reader.skip(descriptor & 0x04 ? CHECKSUM_BYTES : 0);
  return bound;
}

function zstdWindowBytes(windowDescriptor: number): number {
  const base = 2 ** (10 + (windowDescriptor >> 3));
  return base + (base / 8) * (windowDescriptor & 7);
}

/** The Frame_Content_Size field, or 0 where the frame carries none. */
function zstdContentSize(reader: FrameReader, flag: number, singleSegment: boolean): number {
  if (flag === 0) return singleSegment ? reader.uintLE(1) : 0;
  if (flag === 1) return reader.uintLE(2) + 256;
  if (flag === 2) return reader.uintLE(4);
  return reader.uint64LE();
}
