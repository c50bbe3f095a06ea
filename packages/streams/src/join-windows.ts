// JoinWindows, after Kafka Streams': how far apart in event time two records of the same key may be to join
// in a stream-stream join. A left record at t joins right records in [t - before, t + after]; a right record
// at t joins left records in [t - after, t + before]. Grace admits records that arrive out of order.

import { TopologyError } from "./errors.js";

function assertInteger(ms: number, what: string): void {
  if (!Number.isSafeInteger(ms)) throw new TopologyError(`${what} must be an integer of ms, got ${ms}`);
}

export class JoinWindows {
  private constructor(
    /** How much earlier than a left record a right record may be. */
    readonly beforeMs: number,
    /** How much later than a left record a right record may be. */
    readonly afterMs: number,
    readonly graceMs: number,
  ) {
    assertInteger(beforeMs, "before");
    assertInteger(afterMs, "after");
    if (beforeMs + afterMs < 0) {
      throw new TopologyError(`a join window must not be negative: before ${beforeMs} + after ${afterMs} ms`);
    }
  }

  /** Records of a key join when their timestamps differ by at most timeDifferenceMs, either way. */
  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): JoinWindows {
    return JoinWindows.ofTimeDifferenceAndGrace(timeDifferenceMs, 0);
  }

  /** As ofTimeDifferenceWithNoGrace, and records are accepted until graceMs after their window's end. */
  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): JoinWindows {
    assertInteger(timeDifferenceMs, "time difference");
    assertInteger(graceMs, "grace period");
    if (timeDifferenceMs < 0 || graceMs < 0) {
      throw new TopologyError(
        `time difference and grace must not be negative, got ${timeDifferenceMs} and ${graceMs} ms`,
      );
    }
    return new JoinWindows(timeDifferenceMs, timeDifferenceMs, graceMs);
  }

  /** Right records may be up to beforeMs earlier than the left one (negative: must be that much later). */
  before(beforeMs: number): JoinWindows {
    return new JoinWindows(beforeMs, this.afterMs, this.graceMs);
  }

  /** Right records may be up to afterMs later than the left one (negative: must be that much earlier). */
  after(afterMs: number): JoinWindows {
    return new JoinWindows(this.beforeMs, afterMs, this.graceMs);
  }

  /** before + after, as Kafka's size(): the span of one record's window. */
  get sizeMs(): number {
    return this.beforeMs + this.afterMs;
  }
}
