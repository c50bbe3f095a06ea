// What the log says when its own bytes went bad: the typed error a read throws, and the damage a
// partition carries until it is repaired (truncated to the corruption point and fetched again).

import { BrookError } from "@brook/protocol";

/** Where a partition's log stops being trustworthy; everything below `offset` was verified. */
export interface LogDamage {
  /** The corruption point: the offset the first bad batch should start at. */
  readonly offset: number;
  /** The segment's log file that holds the bad bytes. */
  readonly file: string;
  /** The byte position of the first bad batch in that file. */
  readonly position: number;
  /** Why the batch was refused (CRC, length, offsets out of sequence). */
  readonly reason: string;
}

/**
 * A read (or cleaning pass) met stored bytes that fail verification. Nothing at or above `offset` was
 * returned; the repair is `truncateTo(offset)` and fetching the rest from a replica with a good copy.
 */
export class LogCorruptionError extends BrookError {
  readonly offset: number;
  readonly file: string;
  readonly position: number;
  readonly reason: string;

  constructor(damage: LogDamage) {
    super(
      "CORRUPT_LOG",
      `${damage.file} is corrupt from offset ${damage.offset} (byte ${damage.position}): ${damage.reason}`,
    );
    this.name = "LogCorruptionError";
    this.offset = damage.offset;
    this.file = damage.file;
    this.position = damage.position;
    this.reason = damage.reason;
  }

  get damage(): LogDamage {
    return { offset: this.offset, file: this.file, position: this.position, reason: this.reason };
  }
}
