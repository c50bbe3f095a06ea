// The bytes layer under window and session stores: entries bucketed by one time of their window (start for
// time windows, end for sessions), so that dropping what is past retention drops whole buckets. Kafka's
// in-memory window and session stores are built the same way.

import { type Window, windowedSerde } from "../windows.js";
import { bytesId, type ChangeLogger, type ChangelogRecord } from "./state-store.js";

export interface WindowedBytesEntry {
  key: Buffer;
  window: Window;
  value: Buffer;
}

const compositeKey = windowedSerde({ serialize: (key: Buffer) => key, deserialize: (bytes) => bytes });

export class WindowedBytes {
  private readonly buckets = new Map<number, Map<string, WindowedBytesEntry>>();
  /** The largest bucket time written; buckets at or below it minus retention are gone. */
  private observedTimeMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly retentionMs: number,
    private readonly bucketTimeOf: (window: Window) => number,
    private readonly topic: string,
    private readonly log: ChangeLogger,
  ) {}

  /** False when the window is already past retention: nothing is written. */
  put(key: Buffer, window: Window, value: Buffer | null): boolean {
    if (!this.write(key, window, value)) return false;
    this.log(compositeKey.serialize({ key, window }, this.topic), value);
    return true;
  }

  get(key: Buffer, window: Window): Buffer | null {
    if (this.expired(this.bucketTimeOf(window))) return null;
    const bucket = this.buckets.get(this.bucketTimeOf(window));
    return bucket?.get(this.id(key, window))?.value ?? null;
  }

  /** Live entries whose bucket time is in [fromMs, toMs], by bucket time, then key bytes, then window. */
  entries(fromMs = Number.NEGATIVE_INFINITY, toMs = Number.POSITIVE_INFINITY): WindowedBytesEntry[] {
    const times = [...this.buckets.keys()].filter(
      (time) => time >= fromMs && time <= toMs && !this.expired(time),
    );
    return times
      .sort((a, b) => a - b)
      .flatMap((time) => [...(this.buckets.get(time)?.values() ?? [])].sort(compareEntries));
  }

  size(): number {
    let count = 0;
    for (const bucket of this.buckets.values()) count += bucket.size;
    return count;
  }

  restore(records: Iterable<ChangelogRecord>): void {
    for (const record of records) {
      const { key, window } = compositeKey.deserialize(record.key, record.topic);
      this.write(key, window, record.value);
    }
  }

  private write(key: Buffer, window: Window, value: Buffer | null): boolean {
    const time = this.bucketTimeOf(window);
    this.observedTimeMs = Math.max(this.observedTimeMs, time);
    this.dropExpired();
    if (this.expired(time)) return false;
    const id = this.id(key, window);
    if (value === null) {
      this.buckets.get(time)?.delete(id);
      return true;
    }
    let bucket = this.buckets.get(time);
    if (bucket === undefined) {
      bucket = new Map();
      this.buckets.set(time, bucket);
    }
    bucket.set(id, { key, window, value });
    return true;
  }

  private expired(time: number): boolean {
    return time <= this.observedTimeMs - this.retentionMs;
  }

  private dropExpired(): void {
    for (const time of this.buckets.keys()) if (this.expired(time)) this.buckets.delete(time);
  }

  private id(key: Buffer, window: Window): string {
    return `${window.start}:${window.end}:${bytesId(key)}`;
  }
}

function compareEntries(a: WindowedBytesEntry, b: WindowedBytesEntry): number {
  return Buffer.compare(a.key, b.key) || a.window.start - b.window.start || a.window.end - b.window.end;
}
