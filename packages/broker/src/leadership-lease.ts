// How long this broker may go on taking writes as a partition leader without hearing from the active
// controller. The controller fences a broker whose heartbeat it has not received for a session and gives
// its partitions new leaders. A broker cut off from the controller (a network split that leaves it
// reachable by clients) would otherwise go on believing it leads: it keeps taking produce requests that
// wait for followers who now fetch from someone else, until the produce timeout, and clients keep sending
// there. With the lease, it stops taking writes once a session has passed since it *sent* its last
// heartbeat that the controller answered (unfenced). That send came before the controller received it, so
// the lease ends no later than the controller may fence this broker: by the time another broker can be
// elected, this one refuses writes with NOT_LEADER, and clients go and find the new leader.
//
// Reads are not leased: a leader serves only what its high watermark covers, which is committed whoever
// leads next. Pure apart from the injected clock and timers.

import { BrookError, type Clock } from "@brook/protocol";
import { systemTimers, type Timers } from "./timers.js";

/** What produce asks of the lease: whether writes may be taken, and a call when that ends. */
export interface LeaderLease {
  /** Undefined while the lease holds; the NOT_LEADER a write is refused with once it has lapsed. */
  lapsed(): BrookError | undefined;
  /** Calls `listener` once, when the lease lapses (at once if it has); returns a cancel function. */
  onLapse(listener: () => void): () => void;
}

/** For a broker without a controller to answer to (tests, tools): the lease never lapses. */
export const unleased: LeaderLease = {
  lapsed: () => undefined,
  onLapse: () => () => undefined,
};

/** The lease of a broker that heartbeats the active controller; renewed by its answers. */
export class LeadershipLease implements LeaderLease {
  /** When writes stop unless renewed; -Infinity until the first unfenced answer. */
  private expiresAtMs = Number.NEGATIVE_INFINITY;
  private readonly listeners = new Set<() => void>();
  private cancelTimer: (() => void) | undefined;

  constructor(
    readonly sessionTimeoutMs: number,
    private readonly clock: Clock,
    private readonly timers: Timers = systemTimers,
  ) {}

  /** The controller answered, unfenced, a heartbeat sent at `sentAtMs`. */
  renew(sentAtMs: number): void {
    this.expiresAtMs = Math.max(this.expiresAtMs, sentAtMs + this.sessionTimeoutMs);
    this.arm();
  }

  /** The controller says this broker is fenced: it leads nothing. */
  revoke(): void {
    this.expiresAtMs = Number.NEGATIVE_INFINITY;
    this.fire();
  }

  lapsed(): BrookError | undefined {
    const now = this.clock.nowMs();
    if (now < this.expiresAtMs) return undefined;
    const since = Number.isFinite(this.expiresAtMs)
      ? `for ${Math.round(now - this.expiresAtMs + this.sessionTimeoutMs)} ms`
      : "since it started or was fenced";
    return new BrookError(
      "NOT_LEADER",
      `this broker has not been answered by the active controller ${since} (its ${this.sessionTimeoutMs} ms session): another broker may lead now; refresh metadata from another broker`,
    );
  }

  onLapse(listener: () => void): () => void {
    if (this.lapsed() !== undefined) {
      listener();
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Schedules the lapse check for the current expiry (one timer at a time). */
  private arm(): void {
    this.cancelTimer?.();
    const delayMs = this.expiresAtMs - this.clock.nowMs();
    if (delayMs <= 0) {
      this.fire();
      return;
    }
    this.cancelTimer = this.timers.after(delayMs, () => {
      this.cancelTimer = undefined;
      if (this.lapsed() !== undefined) this.fire();
      else this.arm();
    });
  }

  private fire(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener();
  }
}
