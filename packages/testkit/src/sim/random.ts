// The simulators' and chaos tests' only source of randomness: a seeded PRNG (mulberry32), so one
// seed replays one run exactly. Math.random is never used.

export class Random {
  private state: number;

  constructor(seed: number) {
    // Fold seeds above 2^32 into the 32-bit state, then scramble so nearby seeds diverge at once.
    this.state = (seed >>> 0) ^ Math.floor(seed / 2 ** 32) ^ 0x9e3779b9;
    for (let i = 0; i < 4; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
}
