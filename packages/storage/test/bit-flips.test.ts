// Rule: a bit flipped anywhere in a log directory (a sealed or the active segment, an index, a checkpoint),
// while the log is closed or open, is either detected (a read throws LogCorruptionError, the log reports
// damage, recovery reports a cut tail, or verify reports damage) or harmless (an index or checkpoint
// rebuilt, clamped or ignored); no read ever returns a batch whose CRC fails or that differs from what was
// written without verify saying so; and no record below the corruption point is lost.
// Trials: BROOK_BIT_FLIP_TRIALS (default 120) from seed BROOK_BIT_FLIP_FIRST (default 1); a failure names its seed.

import fs from "node:fs";
import path from "node:path";
import { ManualClock, validateBatch } from "@brook/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LogConfig, LogCorruptionError, PartitionLog } from "../src/index.js";
import { makeBatch, tempDir } from "./helpers.js";

const trials = Number(process.env.BROOK_BIT_FLIP_TRIALS ?? 120);
const config: Partial<LogConfig> = { segmentBytes: 600, indexIntervalBytes: 120 };
/** The batch at each base offset as written, and the timestamps the time index is asked about. */
const written = new Map<number, Buffer>();
const timestamps = [1_000, 5_000, 9_000, 13_000];
let template: string;
let cleanup: () => void;

beforeAll(async () => {
  ({ dir: template, cleanup } = tempDir());
  const log = await PartitionLog.open(template, config, { clock: new ManualClock() });
  for (let i = 0; i < 14; i++) {
    const batch = makeBatch(1 + (i % 4), { valueBytes: 10 + 7 * i, timestampMs: 1_000 * (i + 1) });
    const { baseOffset } = log.append(batch, i < 6 ? 0 : i < 10 ? 3 : 5);
    written.set(baseOffset, Buffer.from(batch));
  }
  log.highWatermark = log.logEndOffset;
  expect(log.segmentCount).toBeGreaterThan(3);
  await log.close();
});

afterAll(() => cleanup());

/** mulberry32: a small seeded generator, so a failing trial can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Flip {
  file: string;
  byte: number;
  bit: number;
  whileOpen: boolean;
}

function pickFlip(dir: string, next: () => number): Flip {
  const files = fs.readdirSync(dir).filter((name) => fs.statSync(path.join(dir, name)).size > 0);
  const file = files[Math.floor(next() * files.length)];
  const size = fs.statSync(path.join(dir, file)).size;
  return { file, byte: Math.floor(next() * size), bit: Math.floor(next() * 8), whileOpen: next() < 0.5 };
}

function applyFlip(dir: string, flip: Flip): void {
  const file = path.join(dir, flip.file);
  const bytes = fs.readFileSync(file);
  bytes[flip.byte] ^= 1 << flip.bit;
  fs.writeFileSync(file, bytes);
}

interface ReadOutcome {
  /** Base offsets served, each batch valid. */
  served: Set<number>;
  /** A served batch differs from the one written (only fields outside the CRC can). */
  differs: boolean;
  corruptionPoint?: number;
}

/** Reads the whole log as a consumer would, with fetch sizes from `next`, checking every batch served. */
function readEverything(log: PartitionLog, next: () => number): ReadOutcome {
  const outcome: ReadOutcome = { served: new Set(), differs: false };
  let offset = log.logStartOffset;
  // Each read returns at least one batch or throws, so this ends within the log's batch count.
  while (offset < log.logEndOffset) {
    let records: Buffer;
    try {
      records = log.read(offset, 100 + Math.floor(next() * 2000)).records;
    } catch (error) {
      if (!(error instanceof LogCorruptionError)) throw error;
      outcome.corruptionPoint = error.offset;
      return outcome;
    }
    // A read below the log end that returns nothing and no error would leave a consumer stuck, unaware.
    if (records.length === 0) throw new Error(`a read at ${offset}, below the log end, returned nothing`);
    for (let position = 0; position < records.length; ) {
      const header = validateBatch(records, position, undefined, { acceptCompacted: true });
      const batch = records.subarray(position, position + header.sizeInBytes);
      outcome.served.add(header.baseOffset);
      outcome.differs ||= !written.get(header.baseOffset)?.equals(batch);
      position += header.sizeInBytes;
      offset = header.lastOffset + 1;
    }
  }
  return outcome;
}

async function trial(seed: number): Promise<void> {
  const next = random(seed);
  const dir = `${template}-flip-${seed}`;
  fs.cpSync(template, dir, { recursive: true });
  const flip = pickFlip(dir, next);
  const what = `seed=${seed} flip=${JSON.stringify(flip)}`;
  const warnings: string[] = [];
  const found: number[] = [];
  if (!flip.whileOpen) applyFlip(dir, flip);
  const log = await PartitionLog.open(dir, config, {
    clock: new ManualClock(),
    logger: { info() {}, warn: (_fields, message) => warnings.push(message) },
    onCorruption: (error) => found.push(error.offset),
  });
  try {
    if (flip.whileOpen) applyFlip(dir, flip);
    const outcome = readEverything(log, next);
    const answers = timestamps.map((timestampMs) => safely(() => log.offsetForTimestamp(timestampMs)));
    const report = log.verify();
    const damaged = report.findings.some((finding) => finding.damaged);
    const corruptionPoint = outcome.corruptionPoint ?? log.damage?.offset;
    const cutTail = warnings.some((message) => message.startsWith("recovery cut"));
    const detected = corruptionPoint !== undefined || damaged || cutTail;
    if (flip.file.endsWith(".log"))
      expect(detected, `${what}: a flip in a segment goes unnoticed`).toBe(true);
    if (outcome.differs)
      expect(damaged, `${what}: a changed batch was served and verify saw nothing`).toBe(true);
    const limit = corruptionPoint ?? (cutTail ? log.logEndOffset : Number.POSITIVE_INFINITY);
    const lost = [...written.keys()].filter((offset) => offset < limit && !outcome.served.has(offset));
    expect(lost, `${what}: records below the corruption point were lost`).toEqual([]);
    const wrongAnswers = timestamps.filter((timestampMs, i) => answers[i] !== expectedOffsetFor(timestampMs));
    if (wrongAnswers.length > 0 && corruptionPoint === undefined) {
      expect(report.findings.length, `${what}: offsetForTimestamp went wrong unnoticed`).toBeGreaterThan(0);
    }
  } finally {
    await log.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function safely<T>(action: () => T): T | "error" {
  try {
    return action();
  } catch (error) {
    if (error instanceof LogCorruptionError) return "error";
    throw error;
  }
}

/** The first written batch whose max timestamp (the batch's only timestamp here) is ≥ `timestampMs`. */
function expectedOffsetFor(timestampMs: number): number | undefined {
  let answer: number | undefined;
  for (const [offset, batch] of written) {
    const maxTimestampMs = Number(batch.readBigInt64BE(35));
    if (maxTimestampMs >= timestampMs && (answer === undefined || offset < answer)) answer = offset;
  }
  return answer;
}

describe("random bit flips in a log directory", () => {
  it(`${trials} flips: each detected or harmless, no bad batch served, nothing good lost`, async () => {
    const first = Number(process.env.BROOK_BIT_FLIP_FIRST ?? 1);
    for (let seed = first; seed < first + trials; seed++) await trial(seed);
  }, 120_000);
});
