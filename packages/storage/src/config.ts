// The knobs of one partition log, their Kafka-like defaults, and the one place
// that checks them, so a bad topic config fails at open and not mid-append.

import { BrookError } from "@brook/protocol";

export interface LogConfig {
  /** Roll to a new segment before the active one would grow past this. */
  readonly segmentBytes: number;
  /** Roll to a new segment once the active one spans more than this much time. */
  readonly segmentMs: number;
  /** Bytes of log between two entries of the sparse offset and time indexes. */
  readonly indexIntervalBytes: number;
  /** Delete segments whose newest record is older than this; -1 keeps them forever. */
  readonly retentionMs: number;
  /** Delete the oldest segments while the log is larger than this; -1 means no limit. */
  readonly retentionBytes: number;
  /** Largest record batch a producer may append. */
  readonly maxMessageBytes: number;
}

const MIB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

export const defaultLogConfig: LogConfig = {
  segmentBytes: 1024 * MIB,
  segmentMs: 7 * DAY_MS,
  indexIntervalBytes: 4096,
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  maxMessageBytes: MIB,
};

/** Index entries store file positions as uint32, and Kafka caps segments at int32 for the same reason. */
export const segmentBytesMax = 2 ** 31 - 1;
/** The smallest possible record batch is its 61-byte header; a smaller limit could never accept anything. */
const batchBytesMin = 61;

/** Fills in defaults and refuses values the log cannot work with. */
export function resolveLogConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  const config = { ...defaultLogConfig, ...overrides };
  requireRange(config, "segmentBytes", batchBytesMin, segmentBytesMax);
  requireRange(config, "segmentMs", 1, Number.MAX_SAFE_INTEGER);
  requireRange(config, "indexIntervalBytes", 0, segmentBytesMax);
  requireRange(config, "maxMessageBytes", batchBytesMin, segmentBytesMax);
  requireUnlimitedOrRange(config, "retentionMs");
  requireUnlimitedOrRange(config, "retentionBytes");
  return config;
}

function requireRange(config: LogConfig, key: keyof LogConfig, min: number, max: number): void {
  const value = config[key];
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new BrookError(
      "INVALID_CONFIG",
      `${key} must be a whole number from ${min} to ${max}, got ${value}`,
    );
  }
}

function requireUnlimitedOrRange(config: LogConfig, key: keyof LogConfig): void {
  if (config[key] !== -1) requireRange(config, key, 0, Number.MAX_SAFE_INTEGER);
}
