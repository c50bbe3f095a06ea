// Shared test fixtures: temp directories, record batches built with the real
// codec, and a file system that can fail writes and counts fsyncs.

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
  readBatchHeader,
} from "@brook/protocol";
import { type FileSystem, type LogConfig, type LogFile, nodeFileSystem, PartitionLog } from "../src/index.js";

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

/** Base offsets of the batches in `records`, in order. */
export function batchOffsets(records: Buffer): { baseOffset: number; lastOffset: number }[] {
  const offsets: { baseOffset: number; lastOffset: number }[] = [];
  for (let at = 0; at < records.length; ) {
    const header = readBatchHeader(records, at);
    offsets.push({ baseOffset: header.baseOffset, lastOffset: header.lastOffset });
    at += header.sizeInBytes;
  }
  return offsets;
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

/** The real file system, with writes that can be made to fail part way and counts of reads and fsyncs. */
export class FaultyFileSystem implements FileSystem {
  fileSyncs = 0;
  fileReads = 0;
  /**
   * When set, a write puts only `writtenBytes` on disk and then fails with `code`: the first write to a file
   * ending in `suffix` (any file when absent) after `skipWrites` such writes went through.
   */
  failNextWrite: { writtenBytes: number; code: string; suffix?: string; skipWrites?: number } | undefined;
  /** When set, every fsync fails with this code. */
  failSyncs: string | undefined;

  mkdirp = nodeFileSystem.mkdirp;
  list = nodeFileSystem.list;
  readFile = nodeFileSystem.readFile;
  writeFileAtomic = nodeFileSystem.writeFileAtomic;
  remove = nodeFileSystem.remove;
  removeDir = nodeFileSystem.removeDir;
  syncDir = nodeFileSystem.syncDir;

  open(file: string): LogFile {
    const real = nodeFileSystem.open(file);
    return {
      size: () => real.size(),
      read: (buffer, position) => {
        this.fileReads += 1;
        return real.read(buffer, position);
      },
      write: (buffer, position) => {
        const failure = this.failNextWrite;
        if (failure && file.endsWith(failure.suffix ?? "")) {
          if (failure.skipWrites) {
            failure.skipWrites -= 1;
            real.write(buffer, position);
            return;
          }
          this.failNextWrite = undefined;
          real.write(buffer.subarray(0, failure.writtenBytes), position);
          throw Object.assign(new Error(`${failure.code}: simulated`), { code: failure.code });
        }
        real.write(buffer, position);
      },
      truncate: (sizeBytes) => real.truncate(sizeBytes),
      sync: async () => {
        this.fileSyncs += 1;
        if (this.failSyncs)
          throw Object.assign(new Error(`${this.failSyncs}: simulated`), { code: this.failSyncs });
        await real.sync();
      },
      close: () => real.close(),
    };
  }
}
