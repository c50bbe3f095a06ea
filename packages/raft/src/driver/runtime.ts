// The only place the driver touches real time and randomness: a ticker that
// drives Raft's logical clock and a random source for election timeouts.
// Tests pass ManualTicker to step time by hand.

export interface Ticker {
  /** Calls `onTick` every `intervalMs` until the returned function is called. */
  start(intervalMs: number, onTick: () => void): () => void;
}

export const systemTicker: Ticker = {
  start(intervalMs, onTick) {
    const timer = setInterval(onTick, intervalMs);
    return () => clearInterval(timer);
  },
};

/** A ticker that only ticks when told to. */
export class ManualTicker implements Ticker {
  private readonly listeners = new Set<() => void>();

  start(_intervalMs: number, onTick: () => void): () => void {
    const listener = () => onTick();
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  tick(count = 1): void {
    for (let i = 0; i < count; i++) for (const listener of [...this.listeners]) listener();
  }
}

/** Uniform in [0, 1). */
export type Random = () => number;

export const systemRandom: Random = Math.random;
