// Which partition the application is handling a message of right now, so that a revocation or close()
// can wait for that handler before it commits: run()'s eachMessage/eachBatch call, or the message the
// iterator handed out, until the application asks for the next one or leaves the loop.

import { AsyncLocalStorage } from "node:async_hooks";
import { type Deferred, deferred, sleep } from "../runtime.js";
import { partitionKey } from "./member-state.js";
import type { TopicPartition } from "./types.js";

interface InFlight {
  key: string;
  /** The iterator's loop body, rather than a run() handler: a close() from inside it cannot be told apart. */
  iterator: boolean;
  done: Deferred<void>;
}

export class HandlerTracker {
  private current: InFlight | undefined;
  /** Set inside run()'s handlers, so that a close() called from one does not wait for itself. */
  private readonly insideHandler = new AsyncLocalStorage<HandlerTracker>();

  /** Calls a run() handler for a message or batch of `partition`. */
  async run<T>(partition: TopicPartition, handler: () => Promise<T>): Promise<T> {
    const end = this.begin(partition, false);
    try {
      return await this.insideHandler.run(this, handler);
    } finally {
      end();
    }
  }

  /** Marks a message of `partition` as being handled until the returned function is called. */
  begin(partition: TopicPartition, iterator: boolean): () => void {
    const inFlight = { key: partitionKey(partition), iterator, done: deferred<void>() };
    this.current = inFlight;
    return () => {
      if (this.current === inFlight) this.current = undefined;
      inFlight.done.resolve();
    };
  }

  /** Runs `fn` outside any handler's context: background work started from a handler must not inherit it. */
  outside<T>(fn: () => T): T {
    return this.insideHandler.exit(fn);
  }

  /**
   * Waits, for at most `timeoutMs`, until no handler is busy with one of `partitions` (any partition when
   * undefined). Returns at once when called from inside that handler (it would wait for itself) and, with
   * `includeIterator` false, for the iterator's loop body (close() may be called from inside it, and that
   * cannot be told; what it commits then leaves out the message being handled, so nothing is skipped).
   */
  async finished(
    partitions: readonly TopicPartition[] | undefined,
    options: { timeoutMs: number; includeIterator: boolean },
  ): Promise<void> {
    const inFlight = this.current;
    if (inFlight === undefined || this.insideHandler.getStore() === this) return;
    if (inFlight.iterator && !options.includeIterator) return;
    if (partitions !== undefined && !partitions.some((tp) => partitionKey(tp) === inFlight.key)) return;
    const timeout = new AbortController();
    await Promise.race([inFlight.done.promise, sleep(options.timeoutMs, timeout.signal)]);
    timeout.abort();
  }
}
