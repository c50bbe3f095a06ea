// A bounded queue between a callback that produces (kafkajs's eachBatch) and an async iterator that
// consumes (the task's records()): the producer pushes only while there is room and otherwise waits for
// some, the consumer waits for items. end() ends the iteration at once; fail() makes it throw.

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";

export class BoundedQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  /** Wakes the waiting reader (there is one at most). */
  private wakeReader: (() => void) | undefined;
  /** Wakes the waiting writers: one per kafkajs fetch worker at most. */
  private readonly wakeWriters = new Set<() => void>();

  constructor(private readonly capacity: number) {
    assert(capacity > 0, "a queue holds at least one item");
  }

  get full(): boolean {
    return this.items.length >= this.capacity;
  }

  get isEnded(): boolean {
    return this.ended || this.failure !== undefined;
  }

  /** Adds an item; there must be room (wait with space() first). */
  push(item: T): void {
    assert(!this.full, "push only when the queue has room");
    if (this.isEnded) return;
    this.items.push(item);
    this.wake();
  }

  /** Resolves when there is room, the queue ended, `signal` aborted, or after waitMs, whichever is first. */
  async space(waitMs: number, signal: AbortSignal): Promise<void> {
    if (!this.full || this.isEnded || signal.aborted) return;
    let wake = () => {};
    const freed = new Promise<void>((resolve) => {
      wake = resolve;
    });
    this.wakeWriters.add(wake);
    signal.addEventListener("abort", wake, { once: true });
    try {
      await Promise.race([freed, sleep(waitMs, undefined, { ref: false })]);
    } finally {
      this.wakeWriters.delete(wake);
      signal.removeEventListener("abort", wake);
    }
  }

  /** Ends the iteration at once; what is queued is dropped. */
  end(): void {
    this.ended = true;
    this.items = [];
    this.wake();
  }

  /** The iteration throws `error` (after nothing more). */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.items = [];
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure.error;
      if (this.ended) return;
      if (this.items.length === 0) {
        await new Promise<void>((resolve) => {
          this.wakeReader = resolve;
        });
        continue;
      }
      const item = this.items.shift() as T;
      for (const wake of this.wakeWriters) wake();
      yield item;
    }
  }

  private wake(): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
    for (const each of this.wakeWriters) each();
  }
}
