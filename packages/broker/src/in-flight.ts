// What one principal has in progress on this broker, across all its connections: produce and fetch
// requests being served (a long poll, or a produce waiting for acks=all, counts until it is answered)
// and the record bytes its produce requests hold. Past either bound a new request is refused with
// RESOURCE_LIMIT_REACHED (retriable), so one principal, however many connections it opens, cannot
// hold a broker's memory. The cluster's own nodes (replication) are never counted.

import { BrookError, type Caller } from "@brook/protocol";

export interface InFlightLimits {
  /** Produce and fetch requests one principal may have in progress at once. */
  readonly requestsPerPrincipal: number;
  /** Record bytes one principal's produce requests in progress may hold. */
  readonly produceBytesPerPrincipal: number;
  /** Principals with something in progress at once. */
  readonly principalsMax: number;
}

export const defaultInFlightLimits: InFlightLimits = {
  requestsPerPrincipal: 10_000,
  produceBytesPerPrincipal: 1024 * 1024 * 1024,
  principalsMax: 100_000,
};

interface Usage {
  requests: number;
  bytes: number;
}

const nothing = () => undefined;

/** Owns the per-principal counts; a principal's entry exists only while it has something in progress. */
export class PrincipalsInFlight {
  private readonly usage = new Map<string, Usage>();

  constructor(private readonly limits: InFlightLimits = defaultInFlightLimits) {}

  /** Counts a request holding `bytes`; returns the release to call once it is answered (exactly once). */
  admit(caller: Caller, bytes: number): () => void {
    if (caller.nodeId !== undefined) return nothing;
    const usage = this.usage.get(caller.principal) ?? this.newUsage(caller.principal);
    if (usage.requests + 1 > this.limits.requestsPerPrincipal) {
      throw this.refuse(
        `${caller.principal} has ${usage.requests} requests in progress on this broker, the most one principal may`,
      );
    }
    if (usage.bytes + bytes > this.limits.produceBytesPerPrincipal && usage.requests > 0) {
      throw this.refuse(
        `${caller.principal}'s produce requests in progress hold ${usage.bytes} bytes; one more of ${bytes} would pass ${this.limits.produceBytesPerPrincipal}`,
      );
    }
    usage.requests += 1;
    usage.bytes += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      usage.requests -= 1;
      usage.bytes -= bytes;
      if (usage.requests === 0) this.usage.delete(caller.principal);
    };
  }

  /** What `principal` has in progress (for tests and metrics). */
  of(principal: string): Readonly<Usage> {
    return this.usage.get(principal) ?? { requests: 0, bytes: 0 };
  }

  private newUsage(principal: string): Usage {
    if (this.usage.size >= this.limits.principalsMax) {
      throw this.refuse(
        `${this.usage.size} principals have requests in progress on this broker, the most it tracks`,
      );
    }
    const usage = { requests: 0, bytes: 0 };
    this.usage.set(principal, usage);
    return usage;
  }

  private refuse(detail: string): BrookError {
    return new BrookError("RESOURCE_LIMIT_REACHED", `${detail}; retry once some are answered`);
  }
}
