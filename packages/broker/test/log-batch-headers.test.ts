// Rule: a replica rebuilds its producer state from the batch headers in its
// own log, so readBatchHeaders must return every batch from an offset to the
// log end, once each, in order, with its log offsets — across segments and
// read chunks, from inside a batch, and from below the log start.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { encodeRecordBatch, ManualClock } from "@brook/protocol";
import { PartitionLog } from "@brook/storage";
import { afterEach, describe, expect, it } from "vitest";
import { readBatchHeaders } from "../src/log-batch-headers.js";
import { ProducerStateTable } from "../src/producer-state.js";

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

/** A log with small segments, holding `count` batches of producer 7 (batch i: i+1 records, sequence going on). */
async function logWithBatches(count: number): Promise<PartitionLog> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "brook-headers-"));
  roots.push(root);
  const log = await PartitionLog.open(
    path.join(root, "t-0"),
    { segmentBytes: 400 },
    { clock: new ManualClock(0) },
  );
  let sequence = 0;
  for (let i = 0; i < count; i++) {
    const records = Array.from({ length: i + 1 }, (_, r) => ({ value: `batch-${i}-record-${r}` }));
    log.append(
      encodeRecordBatch(records, { nowMs: 1, producerId: 7, producerEpoch: 0, baseSequence: sequence }),
      0,
    );
    sequence += records.length;
  }
  return log;
}

function offsetsOf(headers: Iterable<{ baseOffset: number; lastOffset: number }>): [number, number][] {
  return [...headers].map(({ baseOffset, lastOffset }) => [baseOffset, lastOffset]);
}

describe("readBatchHeaders", () => {
  it("returns every batch once, in order, across segments and read chunks", async () => {
    const log = await logWithBatches(12);
    expect(log.segmentCount).toBeGreaterThan(2);
    const expected = Array.from({ length: 12 }, (_, i): [number, number] => {
      const base = (i * (i + 1)) / 2;
      return [base, base + i];
    });
    expect(offsetsOf(readBatchHeaders(log, 0))).toEqual(expected);
    expect(offsetsOf(readBatchHeaders(log, 0, 100))).toEqual(expected); // one batch per read
    await log.close();
  });

  it("starts with the batch holding the offset, and at the log start when asked for less", async () => {
    const log = await logWithBatches(4); // batches at 0, 1-2, 3-5, 6-9
    expect(offsetsOf(readBatchHeaders(log, 4))).toEqual([
      [3, 5],
      [6, 9],
    ]);
    expect(offsetsOf(readBatchHeaders(log, log.logEndOffset))).toEqual([]);
    log.truncateFullyAndStartAt(20);
    expect(offsetsOf(readBatchHeaders(log, 0))).toEqual([]);
    await log.close();
  });

  it("rebuilds producer state that recognises the last batch as a retry", async () => {
    const log = await logWithBatches(6);
    const table = new ProducerStateTable();
    table.loadFromBatches(readBatchHeaders(log, log.logStartOffset));
    const last = table.entry(7)?.batches.at(-1);
    expect(last).toEqual({ firstSequence: 15, lastSequence: 20, baseOffset: 15, lastOffset: 20 });
    const retry = { producerId: 7, producerEpoch: 0, baseSequence: 15, lastOffsetDelta: 5, maxTimestamp: 1 };
    expect(table.check([retry])).toEqual({ kind: "duplicate", baseOffset: 15, lastOffset: 20 });
    await log.close();
  });
});
