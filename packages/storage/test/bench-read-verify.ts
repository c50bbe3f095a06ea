// Measures what verify-on-read costs: read throughput of a sealed segment through PartitionLog.read (1 MiB
// fetches, as a consumer or follower makes them), first right after opening the log (every batch's CRC32C
// checked) and then again within verifiedTrustMs (the CRCs the first read checked are trusted), for 100 B
// and 1 KiB records, one record a batch and 16 KiB batches. `npx tsx packages/storage/test/bench-read-verify.ts`
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { encodeRecordBatch, ManualClock, readBatchHeader } from "@brook/protocol";
import { PartitionLog } from "../src/index.js";

const SEGMENT_BYTES = 32 * 1024 * 1024;
const FETCH_BYTES = 1024 * 1024;
const RUNS = 7;

interface Shape {
  recordBytes: number;
  recordsPerBatch: number;
}

const shapes: Shape[] = [
  { recordBytes: 100, recordsPerBatch: 1 },
  { recordBytes: 100, recordsPerBatch: 160 },
  { recordBytes: 1024, recordsPerBatch: 1 },
  { recordBytes: 1024, recordsPerBatch: 16 },
];

function batchOf(shape: Shape): Buffer {
  const records = Array.from({ length: shape.recordsPerBatch }, (_, i) => ({
    value: Buffer.alloc(shape.recordBytes, i % 251),
  }));
  return encodeRecordBatch(records, { nowMs: 1_700_000_000_000 });
}

/** A log whose first segment is sealed and about SEGMENT_BYTES long. */
async function sealedLog(dir: string, shape: Shape): Promise<{ log: PartitionLog; endOffset: number }> {
  const log = await PartitionLog.open(dir, { segmentBytes: SEGMENT_BYTES }, { clock: new ManualClock() });
  const batch = batchOf(shape);
  while (log.segmentCount < 2) log.append(Buffer.from(batch), 0);
  await log.flush();
  const endOffset = log.logEndOffset - shape.recordsPerBatch;
  log.highWatermark = log.logEndOffset;
  return { log, endOffset };
}

function readSegment(log: PartitionLog, endOffset: number): number {
  let bytes = 0;
  // Each read returns at least one batch, so this ends.
  for (let offset = 0; offset < endOffset; ) {
    const { records } = log.read(offset, FETCH_BYTES, { maxOffset: endOffset });
    bytes += records.length;
    let position = 0;
    let last = offset;
    while (position < records.length) {
      const header = readBatchHeader(records, position);
      last = header.lastOffset;
      position += header.sizeInBytes;
    }
    offset = last + 1;
  }
  return bytes;
}

async function medianMbPerS(run: () => Promise<{ bytes: number; elapsedMs: number }>): Promise<number> {
  await run();
  const rates: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { bytes, elapsedMs } = await run();
    rates.push(bytes / 1e6 / (elapsedMs / 1000));
  }
  return rates.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), "brook-bench-read-"));
try {
  for (const shape of shapes) {
    const dir = path.join(root, `${shape.recordBytes}-${shape.recordsPerBatch}`);
    const { log, endOffset } = await sealedLog(dir, shape);
    await log.close();
    const verified = await medianMbPerS(async () => {
      const fresh = await PartitionLog.open(
        dir,
        { segmentBytes: SEGMENT_BYTES },
        { clock: new ManualClock() },
      );
      const start = performance.now();
      const bytes = readSegment(fresh, endOffset);
      const elapsedMs = performance.now() - start;
      await fresh.close();
      return { bytes, elapsedMs };
    });
    const cachedLog = await PartitionLog.open(
      dir,
      { segmentBytes: SEGMENT_BYTES },
      { clock: new ManualClock() },
    );
    const cached = await medianMbPerS(async () => {
      const start = performance.now();
      const bytes = readSegment(cachedLog, endOffset);
      return { bytes, elapsedMs: performance.now() - start };
    });
    console.log(
      `records ${shape.recordBytes} B x ${shape.recordsPerBatch}/batch: every CRC checked ${verified.toFixed(0)} MB/s, ` +
        `CRCs trusted from the previous read ${cached.toFixed(0)} MB/s`,
    );
    await cachedLog.close();
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
