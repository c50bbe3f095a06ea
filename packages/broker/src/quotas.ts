// Client quotas per principal (Kafka's user quotas): bytes produced and fetched per second, measured over
// a sliding window of one-second samples, as Kafka does (quota.window.num 11 x quota.window.size.seconds
// 1). After each request the bytes are recorded and the answer is how long the client must wait for its
// rate to come back under the quota: Kafka's (observed - quota) / quota * window, capped. Pure: the
// clock is injected, and the table of principals is bounded (the least recently seen is dropped).

import type { Caller, Clock } from "@brook/protocol";

export interface RateQuotaOptions {
  /** One-second samples by default (Kafka's quota.window.size.seconds). */
  readonly sampleMs: number;
  /** Samples in the window, the current one included (Kafka's quota.window.num). */
  readonly samples: number;
  /** Principals remembered at once; the least recently seen is forgotten beyond this. */
  readonly principalsMax: number;
  /** The longest throttle ever answered. */
  readonly throttleMsMax: number;
}

export const defaultRateQuotaOptions: RateQuotaOptions = {
  sampleMs: 1_000,
  samples: 11,
  principalsMax: 100_000,
  throttleMsMax: 30_000,
};

interface Samples {
  /** Bytes per sample, indexed by (sample number % samples). */
  readonly bytes: number[];
  /** Which sample number (floor(now / sampleMs)) each slot holds. */
  readonly sampleOf: number[];
}

/** One quota (e.g. produce bytes per second), kept per principal. */
export class RateQuota {
  private readonly options: RateQuotaOptions;
  /** Insertion order is recency: a principal is moved to the end each time it is recorded. */
  private readonly principals = new Map<string, Samples>();

  constructor(
    readonly bytesPerSecond: number,
    private readonly clock: Clock,
    options: Partial<RateQuotaOptions> = {},
  ) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`a quota must be positive, got ${bytesPerSecond}`);
    this.options = { ...defaultRateQuotaOptions, ...options };
  }

  /** Principals currently remembered. */
  get size(): number {
    return this.principals.size;
  }

  /** Records `bytes` for `principal` now; answers the throttle time in ms (0 when within the quota). */
  record(principal: string, bytes: number): number {
    const { sampleMs, samples, principalsMax } = this.options;
    const now = this.clock.nowMs();
    const current = Math.floor(now / sampleMs);
    let entry = this.principals.get(principal);
    if (entry === undefined) {
      entry = { bytes: new Array(samples).fill(0), sampleOf: new Array(samples).fill(-Infinity) };
      if (this.principals.size >= principalsMax) {
        const oldest = this.principals.keys().next().value;
        if (oldest !== undefined) this.principals.delete(oldest);
      }
    } else {
      this.principals.delete(principal);
    }
    this.principals.set(principal, entry);

    const slot = ((current % samples) + samples) % samples;
    if (entry.sampleOf[slot] !== current) {
      entry.sampleOf[slot] = current;
      entry.bytes[slot] = 0;
    }
    entry.bytes[slot] += Math.max(0, bytes);
    let total = 0;
    for (let i = 0; i < samples; i++) {
      if (entry.sampleOf[i] > current - samples) total += entry.bytes[i];
    }
    // The window: the full samples before this one and the part of this one gone by. A principal new
    // to the table counts as having been quiet for the whole window (Kafka does the same), so a first
    // burst is not measured over a few milliseconds.
    const windowMs = (samples - 1) * sampleMs + (now - current * sampleMs);
    const observed = (total * 1000) / windowMs;
    if (observed <= this.bytesPerSecond) return 0;
    // (observed - quota) / quota * window, which is the time until total / (window + t) = quota.
    const throttleMs = (total * 1000) / this.bytesPerSecond - windowMs;
    return Math.min(Math.ceil(throttleMs), this.options.throttleMsMax);
  }
}

export interface QuotaConfig {
  /** Bytes a principal may produce per second, on this broker; undefined: no quota. */
  readonly produceBytesPerSecond?: number;
  /** Bytes a principal may fetch per second, on this broker; undefined: no quota. */
  readonly fetchBytesPerSecond?: number;
  /** Principals never throttled (Kafka's super.users); the cluster's own nodes never are either. */
  readonly superUsers?: readonly string[];
  readonly options?: Partial<RateQuotaOptions>;
}

/** The broker's produce and fetch quotas; a caller that is a node or a super user is never throttled. */
export class ClientQuotas {
  private readonly produceQuota: RateQuota | undefined;
  private readonly fetchQuota: RateQuota | undefined;
  private readonly exempt: ReadonlySet<string>;

  constructor(config: QuotaConfig, clock: Clock) {
    const quota = (bytesPerSecond: number | undefined) =>
      bytesPerSecond === undefined ? undefined : new RateQuota(bytesPerSecond, clock, config.options);
    this.produceQuota = quota(config.produceBytesPerSecond);
    this.fetchQuota = quota(config.fetchBytesPerSecond);
    this.exempt = new Set(config.superUsers ?? []);
  }

  /** Records a produce's bytes (counted only when a quota applies); the throttle time in ms. */
  produced(caller: Caller, bytes: () => number): number {
    return this.record(this.produceQuota, caller, bytes);
  }

  /** Records a fetch's bytes (counted only when a quota applies); the throttle time in ms. */
  fetched(caller: Caller, bytes: () => number): number {
    return this.record(this.fetchQuota, caller, bytes);
  }

  private record(quota: RateQuota | undefined, caller: Caller, bytes: () => number): number {
    if (quota === undefined || caller.nodeId !== undefined || this.exempt.has(caller.principal)) return 0;
    return quota.record(caller.principal, bytes());
  }
}
