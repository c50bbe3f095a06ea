// The SDK's only contact with real timers; everything else receives time through these.

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** A promise with its settle functions, for code that resolves it from a callback. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export type Cancel = () => void;

/**
 * Runs `fn` after `ms`; the returned function cancels it. The timer keeps the process alive on purpose:
 * a lingering batch is work the caller awaits.
 */
export function after(ms: number, fn: () => void): Cancel {
  const timer = setTimeout(fn, Math.max(0, ms));
  return () => clearTimeout(timer);
}

/**
 * One timer for the earliest of many deadlines (lingering batches, backoffs):
 * arming an earlier deadline replaces the timer, a later one is already covered.
 */
export class DeadlineTimer {
  private dueAtMs = Number.POSITIVE_INFINITY;
  private cancel: Cancel | undefined;

  constructor(private readonly fire: () => void) {}

  /** Makes sure `fire` runs by `dueAtMs`; Infinity means nothing is due. */
  armBy(dueAtMs: number, nowMs: number): void {
    if (dueAtMs === Number.POSITIVE_INFINITY || dueAtMs >= this.dueAtMs) return;
    this.cancel?.();
    this.dueAtMs = dueAtMs;
    this.cancel = after(dueAtMs - nowMs, () => {
      this.stop();
      this.fire();
    });
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.dueAtMs = Number.POSITIVE_INFINITY;
  }
}

/** Runs `fn` once the current I/O callbacks are done, so work queued in this turn is handled together. */
export function soon(fn: () => void): void {
  setImmediate(fn);
}
