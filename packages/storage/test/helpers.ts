// Shared test fixtures: temp directories, record batches built with the real
// codec, and (from testkit) a file system that can fail writes and counts fsyncs.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  ATTRIBUTES_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  CRC_OFFSET,
  crc32c,
  encodeRecordBatch,
  MAX_TIMESTAMP_OFFSET,
  ManualClock,
  splitBatches,
} from "@brook/protocol";
import { type FileSystem, type LogConfig, PartitionLog } from "../src/index.js";

export { FaultyFileSystem } from "@brook/testkit";

export function tempDir(): { dir: string; cleanup: () => void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "brook-storage-"));
  return {
    dir: path.join(root, "orders-0"),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** One RecordBatch v2 of `recordCount` records with `valueBytes`-byte values, stamped `timestampMs`. */
export function makeBatch(
  recordCount: number,
  options: { valueBytes?: number; timestampMs?: number } = {},
): Buffer {
  const timestampMs = options.timestampMs ?? 1_700_000_000_000;
  const records = Array.from({ length: recordCount }, (_, i) => ({
    key: `k${i}`,
    value: Buffer.alloc(options.valueBytes ?? 10, i % 256),
    timestamp: timestampMs,
  }));
  return encodeRecordBatch(records, { nowMs: timestampMs });
}

/** A batch whose records carry no timestamp (-1, as some Kafka clients send), with its CRC redone. */
export function makeUntimestampedBatch(recordCount: number): Buffer {
  const batch = makeBatch(recordCount, { timestampMs: 0 });
  batch.writeBigInt64BE(-1n, BASE_TIMESTAMP_OFFSET);
  batch.writeBigInt64BE(-1n, MAX_TIMESTAMP_OFFSET);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return batch;
}

/** Base and last offsets of the batches in `records` (stored ones, so maybe compacted), in order. */
export function batchOffsets(records: Buffer): { baseOffset: number; lastOffset: number }[] {
  return splitBatches(records, undefined, { acceptCompacted: true }).map(({ baseOffset, lastOffset }) => ({
    baseOffset,
    lastOffset,
  }));
}

export async function openLog(
  dir: string,
  config: Partial<LogConfig> = {},
  extra: { clock?: ManualClock; fileSystem?: FileSystem } = {},
): Promise<PartitionLog> {
  return PartitionLog.open(dir, config, {
    clock: extra.clock ?? new ManualClock(),
    fileSystem: extra.fileSystem,
  });
}

/** Reads the whole log from its start, batch by batch, as a consumer would. */
export function readAll(log: PartitionLog): Buffer {
  const parts: Buffer[] = [];
  let offset = log.logStartOffset;
  // Each read returns at least one batch, so this ends within logEndOffset - logStartOffset reads.
  while (offset < log.logEndOffset) {
    const { records } = log.read(offset, 1024 * 1024);
    parts.push(records);
    offset = batchOffsets(records).at(-1)!.lastOffset + 1;
  }
  return Buffer.concat(parts);
}

export function segmentFiles(dir: string, suffix: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith(suffix))
    .sort()
    .map((name) => path.join(dir, name));
}
