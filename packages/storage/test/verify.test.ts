// Rules: `verify` reads every batch, index and checkpoint of a log directory and changes nothing; it calls
// damaged exactly what this copy cannot serve or would answer wrongly, and harmless what opening the log
// rebuilds, cuts or ignores.

import fs from "node:fs";
import path from "node:path";
import { ATTRIBUTES_OFFSET, ManualClock } from "@brook/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LogConfig, nodeFileSystem, PartitionLog, verifyLogDir } from "../src/index.js";
import { batchOffsets, makeBatch, segmentFiles, tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => void;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});

afterEach(() => cleanup());

const config: Partial<LogConfig> = { segmentBytes: 400, indexIntervalBytes: 100 };

async function writeLog(batchCount: number): Promise<void> {
  const log = await PartitionLog.open(dir, config, { clock: new ManualClock() });
  for (let i = 0; i < batchCount; i++) log.append(makeBatch(3, { valueBytes: 20 }), i < 4 ? 0 : 2);
  log.highWatermark = log.logEndOffset;
  await log.close();
}

function flip(file: string, byte: number, mask = 0x10): void {
  const bytes = fs.readFileSync(file);
  bytes[byte] ^= mask;
  fs.writeFileSync(file, bytes);
}

function snapshot(): Record<string, string> {
  return Object.fromEntries(
    fs.readdirSync(dir).map((name) => [name, fs.readFileSync(path.join(dir, name)).toString("hex")]),
  );
}

describe("verifyLogDir", () => {
  it("finds nothing in a healthy log, and counts what it read", async () => {
    await writeLog(9);
    const report = verifyLogDir(nodeFileSystem, dir);
    expect(report).toMatchObject({ segments: 5, batches: 9, logEndOffset: 27, findings: [] });
  });

  it("a corrupt batch in a sealed segment is damage at its offset; the files stay as they were", async () => {
    await writeLog(9);
    const file = segmentFiles(dir, ".log")[1];
    flip(file, ATTRIBUTES_OFFSET + 30);
    const before = snapshot();
    const { findings } = verifyLogDir(nodeFileSystem, dir);
    expect(findings).toEqual([expect.objectContaining({ kind: "batch", file, offset: 6, damaged: true })]);
    expect(findings[0].detail).toMatch(/CRC32C/);
    expect(snapshot()).toEqual(before);
  });

  it("a torn tail of the last segment is what a crash leaves: reported, not damage", async () => {
    await writeLog(9);
    const file = segmentFiles(dir, ".log").at(-1)!;
    fs.truncateSync(file, fs.statSync(file).size - 5);
    const { findings } = verifyLogDir(nodeFileSystem, dir);
    expect(findings).toEqual([expect.objectContaining({ kind: "batch", offset: 24, damaged: false })]);
  });

  it("an index entry that points inside a batch is reported as rebuildable", async () => {
    await writeLog(9);
    const index = segmentFiles(dir, ".index")[0];
    flip(index, 7, 0x01);
    const { findings } = verifyLogDir(nodeFileSystem, dir);
    expect(findings).toEqual([
      expect.objectContaining({ kind: "offset-index", file: index, damaged: false }),
    ]);
  });

  it("a batch's leader epoch (outside the CRC) that disagrees with the checkpoint is damage", async () => {
    await writeLog(9);
    const file = segmentFiles(dir, ".log")[2];
    flip(file, 15, 0x01);
    const { findings } = verifyLogDir(nodeFileSystem, dir);
    expect(findings).toEqual([expect.objectContaining({ kind: "checkpoint", offset: 12, damaged: true })]);
  });

  it("an unreadable or out-of-range checkpoint is reported as one the log ignores or clamps", async () => {
    await writeLog(9);
    fs.writeFileSync(path.join(dir, "high-watermark"), "0\n1\n99\n");
    fs.writeFileSync(path.join(dir, "log-start-offset"), "0\n1\n3\n");
    fs.writeFileSync(path.join(dir, "leader-epoch-checkpoint"), "0\n2\nzz\n");
    fs.writeFileSync(path.join(dir, "recovery-point"), "zz");
    const { findings } = verifyLogDir(nodeFileSystem, dir);
    expect(findings.map(({ kind, file, damaged }) => ({ kind, name: path.basename(file), damaged }))).toEqual(
      [
        { kind: "checkpoint", name: "log-start-offset", damaged: false },
        { kind: "checkpoint", name: "high-watermark", damaged: false },
        { kind: "checkpoint", name: "recovery-point", damaged: false },
        { kind: "checkpoint", name: "leader-epoch-checkpoint", damaged: false },
      ],
    );
    const log = await PartitionLog.open(dir, config, { clock: new ManualClock() });
    expect([log.logStartOffset, log.highWatermark, log.logEndOffset]).toEqual([0, 27, 27]);
    await log.close();
  });

  it("PartitionLog.verify records the damage it finds, as a read would", async () => {
    await writeLog(9);
    const file = segmentFiles(dir, ".log")[1];
    flip(file, ATTRIBUTES_OFFSET + 30);
    const found: number[] = [];
    const log = await PartitionLog.open(dir, config, {
      clock: new ManualClock(),
      onCorruption: (error) => found.push(error.offset),
    });
    expect(log.damage).toBeUndefined();
    expect(log.verify().findings).toHaveLength(1);
    expect(log.damage).toMatchObject({ offset: 6, file });
    expect(found).toEqual([6]);
    expect(batchOffsets(log.read(0, 10_000).records).map((batch) => batch.baseOffset)).toEqual([0, 3]);
    await log.close();
  });
});
