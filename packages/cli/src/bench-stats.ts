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
      latencyMs: {
        p50: ms(this.histogram.getValueAtPercentile(50)),
        p99: ms(this.histogram.getValueAtPercentile(99)),
        max: ms(this.histogram.maxValue),
      },
    };
  }
}

export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export function progressBar(total: number, label: string, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total} records | {rate} rec/s | eta {eta}s`,
    stream: process.stderr,
    hideCursor: true,
  });
  const startMs = Date.now();
  bar.start(total, 0, { rate: 0 });
  return {
    update(done) {
      bar.update(done, { rate: Math.round(done / Math.max((Date.now() - startMs) / 1000, 0.001)) });
    },
    stop() {
      bar.stop();
    },
  };
}

export function printSummary(title: string, s: BenchSummary): void {
  process.stdout.write(
    `${title}: ${s.records.toLocaleString("en")} records, ${(s.bytes / 1024 / 1024).toFixed(1)} MiB in ${s.seconds} s\n` +
      `  ${s.recordsPerSec.toLocaleString("en")} records/s, ${s.mbPerSec} MiB/s\n` +
      `  latency ms: p50 ${s.latencyMs.p50}, p99 ${s.latencyMs.p99}, max ${s.latencyMs.max}\n`,
  );
}
