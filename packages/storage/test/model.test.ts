// Randomised check of the log against a plain list of batches: appends (with
// rolls), truncations, restarts with lost indexes, retention and flushes in a
// seeded order, after each of which every read and timestamp lookup must
// match the list. A failure names its seed; rerun that seed to reproduce it.

import fs from "node:fs";
import { ManualClock, readBatchHeader } from "@brook/protocol";
import { expect, it } from "vitest";
import type { LogConfig, PartitionLog } from "../src/index.js";
import { makeBatch, openLog, segmentFiles, tempDir } from "./helpers.js";

interface ModelBatch {
  baseOffset: number;
  lastOffset: number;
  bytes: Buffer;
  maxTimestampMs: number;
}

const stepsPerSeed = 100;

/** A small linear congruential generator: the same seed always gives the same run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function below(random: () => number, limit: number): number {
  return Math.floor(random() * limit);
}

function modelBatches(appended: Buffer): ModelBatch[] {
  const batches: ModelBatch[] = [];
  for (let at = 0; at < appended.length; ) {
    const header = readBatchHeader(appended, at);
    batches.push({
      baseOffset: header.baseOffset,
      lastOffset: header.lastOffset,
      bytes: Buffer.from(appended.subarray(at, at + header.sizeInBytes)),
      maxTimestampMs: header.maxTimestamp,
    });
    at += header.sizeInBytes;
  }
  return batches;
}

/** What a read must return: whole batches from the one holding `offset`, within the limits. */
function expectedRead(
  model: readonly ModelBatch[],
  offset: number,
  limits: { maxBytes: number; maxOffset: number; minOneBatch: boolean },
): Buffer {
  const parts: Buffer[] = [];
  let taken = 0;
  for (const batch of model.filter((candidate) => candidate.lastOffset >= offset)) {
    if (batch.lastOffset >= limits.maxOffset) break;
    if (taken + batch.bytes.length > limits.maxBytes && !(taken === 0 && limits.minOneBatch)) break;
    parts.push(batch.bytes);
    taken += batch.bytes.length;
  }
  return Buffer.concat(parts);
}

function checkAgainstModel(
  log: PartitionLog,
  model: readonly ModelBatch[],
  random: () => number,
  at: string,
) {
  expect(log.logEndOffset, at).toBe(model.at(-1) ? model.at(-1)!.lastOffset + 1 : log.logStartOffset);
  for (const batch of model) {
    expect(log.read(batch.baseOffset, 1).records.equals(batch.bytes), `${at}: read ${batch.baseOffset}`).toBe(
      true,
    );
    expect(log.read(batch.lastOffset, 1).records.equals(batch.bytes), `${at}: read ${batch.lastOffset}`).toBe(
      true,
    );
    for (const timestampMs of [batch.maxTimestampMs - 1, batch.maxTimestampMs, batch.maxTimestampMs + 1]) {
      const expected = model.find((candidate) => candidate.maxTimestampMs >= timestampMs)?.baseOffset;
      expect(log.offsetForTimestamp(timestampMs), `${at}: timestamp ${timestampMs}`).toBe(expected);
    }
  }
  for (let i = 0; i < 10 && model.length > 0; i++) {
    const batch = model[below(random, model.length)];
    const offset = batch.baseOffset + below(random, batch.lastOffset - batch.baseOffset + 1);
    const limits = {
      maxBytes: below(random, 600),
      maxOffset: log.logStartOffset + below(random, log.logEndOffset - log.logStartOffset + 2),
      minOneBatch: random() < 0.5,
    };
    const { records } = log.read(offset, limits.maxBytes, limits);
    const expected = expectedRead(model, offset, limits);
    // A read stops at its segment's end, so it may return a prefix of what the whole log holds, but never nothing.
    expect(expected.subarray(0, records.length).equals(records), `${at}: read ${offset}`).toBe(true);
    expect(records.length > 0, `${at}: read ${offset} returned nothing`).toBe(expected.length > 0);
  }
}

it.each(Array.from({ length: 10 }, (_, i) => i + 1))("matches the model with seed=%i", async (seed) => {
  const random = seededRandom(seed);
  const { dir, cleanup } = tempDir();
  const clock = new ManualClock();
  const config: Partial<LogConfig> = {
    segmentBytes: 300 + below(random, 1_500),
    indexIntervalBytes: below(random, 400),
    segmentMs: 1 + below(random, 5_000),
  };
  let log = await openLog(dir, config, { clock });
  let model: ModelBatch[] = [];
  let timestampMs = clock.nowMs();
  try {
    for (let step = 0; step < stepsPerSeed; step++) {
      const action = random();
      if (action < 0.6) {
        const batches = Array.from({ length: 1 + below(random, 3) }, () => {
          // Mostly forward, sometimes backwards: the time index must handle both.
          timestampMs += below(random, 2_000) - 300;
          return makeBatch(1 + below(random, 5), { valueBytes: below(random, 60), timestampMs });
        });
        const appended = Buffer.concat(batches);
        log.append(appended, 0);
        model.push(...modelBatches(appended));
        clock.advance(below(random, 1_000));
      } else if (action < 0.7) {
        const offset = log.logStartOffset + below(random, log.logEndOffset - log.logStartOffset + 1);
        log.truncateTo(offset);
        model = model.filter((batch) => batch.lastOffset < offset);
      } else if (action < 0.8) {
        await log.close();
        const indexes = [...segmentFiles(dir, ".index"), ...segmentFiles(dir, ".timeindex")];
        for (const file of indexes) if (random() < 0.15) fs.rmSync(file);
        log = await openLog(dir, config, { clock });
      } else if (action < 0.85) {
        log.highWatermark = log.logEndOffset;
        clock.advance(below(random, 100_000));
        log.updateConfig({ retentionMs: below(random, 20_000) });
        log.applyRetention();
        log.updateConfig({ retentionMs: -1 });
        model = model.filter((batch) => batch.baseOffset >= log.logStartOffset);
      } else {
        await log.flush();
      }
      checkAgainstModel(log, model, random, `seed=${seed} step=${step}`);
    }
  } finally {
    await log.close();
    cleanup();
  }
});
