// The broker's waits as an interface, so the replication simulator's virtual
// time can drive them: the replica fetcher's backoff, a fetch's long poll and
// an acks=all produce's wait for the high watermark. Production uses the
// event loop's timers.

export interface Timers {
  /** Runs `fire` once after `delayMs`; the returned function cancels it (harmless after it fired). */
  after(delayMs: number, fire: () => void): () => void;
}

export const systemTimers: Timers = {
  after(delayMs, fire) {
    const timer = setTimeout(fire, delayMs);
    return () => clearTimeout(timer);
  },
};
