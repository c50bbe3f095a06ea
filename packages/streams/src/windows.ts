// Windows for grouped streams, after Kafka Streams: tumbling and hopping time windows (TimeWindows) and
// session windows (SessionWindows), each with a grace period after which a window takes no more records.

import { SerializationError, TopologyError } from "./errors.js";
import type { Serde } from "./serdes.js";

/** A window of event time. Time windows are [start, end); a session window is [start, end], both inclusive. */
export interface Window {
  start: number;
  end: number;
}

/** The key of a windowed aggregate: the grouping key and the window it belongs to. */
export interface Windowed<K> {
  key: K;
  window: Window;
}

function assertDuration(ms: number, what: string, minimumMs: number): void {
  if (!Number.isSafeInteger(ms) || ms < minimumMs) {
    throw new TopologyError(`${what} must be an integer of at least ${minimumMs} ms, got ${ms}`);
  }
}

/**
 * Fixed-size windows of event time: tumbling by default, hopping with advanceBy(). A record belongs to every
 * window that contains its timestamp; a window closes once stream time passes its end plus the grace period.
 */
export class TimeWindows {
  private constructor(
    readonly sizeMs: number,
    readonly advanceMs: number,
    readonly graceMs: number,
  ) {}

  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return TimeWindows.ofSizeAndGrace(sizeMs, 0);
  }

  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    assertDuration(sizeMs, "window size", 1);
    assertDuration(graceMs, "grace period", 0);
    return new TimeWindows(sizeMs, sizeMs, graceMs);
  }

  /** Hopping windows: a new window starts every advanceMs (0 < advanceMs <= sizeMs). */
  advanceBy(advanceMs: number): TimeWindows {
    assertDuration(advanceMs, "advance", 1);
    if (advanceMs > this.sizeMs) {
      throw new TopologyError(
        `advance (${advanceMs} ms) must not exceed the window size (${this.sizeMs} ms)`,
      );
    }
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs);
  }

  /** The windows holding timestampMs, earliest first (Kafka's TimeWindows.windowsFor). */
  windowsFor(timestampMs: number): Window[] {
    const windows: Window[] = [];
    let start =
      Math.floor(Math.max(0, timestampMs - this.sizeMs + this.advanceMs) / this.advanceMs) * this.advanceMs;
    for (; start <= timestampMs; start += this.advanceMs) windows.push({ start, end: start + this.sizeMs });
    return windows;
  }

  /** How long the store keeps a window: until it can take no more records. */
  get retentionMs(): number {
    return this.sizeMs + this.graceMs;
  }
}

/**
 * Sessions of activity per key: records closer than the inactivity gap join one session, and a record
 * that bridges two sessions merges them.
 */
export class SessionWindows {
  private constructor(
    readonly inactivityGapMs: number,
    readonly graceMs: number,
  ) {}

  static ofInactivityGapWithNoGrace(inactivityGapMs: number): SessionWindows {
    return SessionWindows.ofInactivityGapAndGrace(inactivityGapMs, 0);
  }

  static ofInactivityGapAndGrace(inactivityGapMs: number, graceMs: number): SessionWindows {
    assertDuration(inactivityGapMs, "inactivity gap", 1);
    assertDuration(graceMs, "grace period", 0);
    return new SessionWindows(inactivityGapMs, graceMs);
  }

  get retentionMs(): number {
    return this.inactivityGapMs + this.graceMs;
  }
}

const WINDOW_BOUNDS_BYTES = 16;

/**
 * Windowed keys on the wire and in changelogs: the inner key's bytes, then start and end as big-endian
 * int64. (Brook's own layout; Kafka's time- and session-windowed serdes differ from each other.)
 */
export function windowedSerde<K>(inner: Serde<K>): Serde<Windowed<K>> {
  return {
    serialize: ({ key, window }, topic) => {
      const bounds = Buffer.alloc(WINDOW_BOUNDS_BYTES);
      bounds.writeBigInt64BE(BigInt(window.start), 0);
      bounds.writeBigInt64BE(BigInt(window.end), 8);
      return Buffer.concat([inner.serialize(key, topic), bounds]);
    },
    deserialize: (bytes, topic) => {
      if (bytes.length < WINDOW_BOUNDS_BYTES) {
        throw new SerializationError(`a windowed key needs at least ${WINDOW_BOUNDS_BYTES} bytes`);
      }
      const keyEnd = bytes.length - WINDOW_BOUNDS_BYTES;
      return {
        key: inner.deserialize(bytes.subarray(0, keyEnd), topic),
        window: {
          start: Number(bytes.readBigInt64BE(keyEnd)),
          end: Number(bytes.readBigInt64BE(keyEnd + 8)),
        },
      };
    },
  };
}
