// Measurement for `brook bench`: an HDR latency histogram, the summary shape
// that --json prints (stable: fields are only added), and a progress bar
// that is drawn only on a terminal.

import { SingleBar } from "cli-progress";
import * as hdr from "hdr-histogram-js";

export interface BenchSummary {
  records: number;
  bytes: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  latencyMs: { p50: number; p99: number; max: number };
}

export class BenchStats {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  private readonly startNs = process.hrtime.bigint();
  records = 0;
  bytes = 0;

  /** Records one latency sample, in microseconds. */
  recordLatencyUs(us: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(us)));
  }

  summary(): BenchSummary {
    const seconds = Number(process.hrtime.bigint() - this.startNs) / 1e9;
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      records: this.records,
      bytes: this.bytes,
      seconds: Math.round(seconds * 1000) / 1000,
      recordsPerSec: Math.round(this.records / seconds),
      mbPerSec: Math.round((this.bytes / seconds / (1024 * 1024)) * 100) / 100,
      latencyMs: percentilesMs(this.histogram, ms),
    };
  }
}

/**
 * p50, p99 and max, in that order and never out of it: a percentile is reported as the top of its
 * histogram bucket, which can lie above the largest value actually recorded.
 */
function percentilesMs(histogram: hdr.Histogram, ms: (us: number) => number): BenchSummary["latencyMs"] {
  const max = histogram.maxValue;
  const p99 = Math.min(histogram.getValueAtPercentile(99), max);
  const p50 = Math.min(histogram.getValueAtPercentile(50), p99);
  return { p50: ms(p50), p99: ms(p99), max: ms(max) };
}

/** Waits until sending record number `sent` keeps the rate at or below `perSecond`. */
export function pace(sent: number, perSecond: number, startedMs: number): Promise<void> {
  const dueMs = startedMs + (sent / perSecond) * 1000;
  const waitMs = dueMs - Date.now();
  return waitMs > 0 ? new Promise((resolve) => setTimeout(resolve, waitMs)) : Promise.resolve();
}

export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface Progress {
  update(done: number): void;
  stop(): void;
}

/** Away from a terminal (a pipe, a CI log), progress is one line on stderr at most this often. */
export const progressLineIntervalMs = 5_000;

/** A bar on a terminal; elsewhere one line every progressLineIntervalMs; nothing when not `enabled`. */
export function progressBar(total: number, label: string, enabled: boolean): Progress {
  if (!enabled) return { update() {}, stop() {} };
  if (!process.stderr.isTTY) {
    return progressLines(total, label, (line) => process.stderr.write(`${line}\n`), Date.now);
  }
  const startMs = Date.now();
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total} records | {rate} rec/s | eta {eta}s`,
    stream: process.stderr,
    hideCursor: true,
  });
  bar.start(total, 0, { rate: 0 });
  return {
    update(done) {
      bar.update(done, { rate: perSecond(done, Date.now() - startMs) });
    },
    stop() {
      bar.stop();
    },
  };
}

/** Progress as plain lines: one per progressLineIntervalMs while records arrive. */
export function progressLines(
  total: number,
  label: string,
  write: (line: string) => void,
  nowMs: () => number,
): Progress {
  const startMs = nowMs();
  let lastMs = startMs;
  return {
    update(done) {
      const now = nowMs();
      if (now - lastMs < progressLineIntervalMs) return;
      lastMs = now;
      const percent = Math.floor((done / Math.max(total, 1)) * 100);
      write(
        `${label}: ${done.toLocaleString("en")}/${total.toLocaleString("en")} records (${percent}%), ` +
          `${perSecond(done, now - startMs).toLocaleString("en")} records/s`,
      );
    },
    stop() {},
  };
}

function perSecond(done: number, elapsedMs: number): number {
  return Math.round(done / Math.max(elapsedMs / 1000, 0.001));
}

export function printSummary(title: string, s: BenchSummary): void {
  process.stdout.write(
    `${title}: ${s.records.toLocaleString("en")} records, ${(s.bytes / 1024 / 1024).toFixed(1)} MiB in ${s.seconds} s\n` +
      `  ${s.recordsPerSec.toLocaleString("en")} records/s, ${s.mbPerSec} MiB/s\n` +
      `  latency ms: p50 ${s.latencyMs.p50}, p99 ${s.latencyMs.p99}, max ${s.latencyMs.max}\n`,
  );
}
