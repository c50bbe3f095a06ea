// The active controller's memory of broker heartbeats: when each broker was
// last heard from, and from which metadata offset on each incarnation counts
// as caught up. None of it is in the metadata log (heartbeats are far too
// frequent to log), so it belongs to one term of one active controller: a
// controller that becomes active starts afresh and gives every broker a full
// session before it may be fenced, so a failover never fences the cluster.

import type { MetadataImage } from "@brook/metadata";
import type { BrokerSessions } from "./broker-decisions.js";

export class BrokerHeartbeats {
  private readonly lastHeartbeatMs = new Map<number, number>();
  /** Incarnation id → metadata offset the incarnation must have applied to count as caught up. */
  private readonly registrationOffsets = new Map<string, number>();
  private term: number | undefined;
  /** The image offset when this term's memory began: the catch-up bar for incarnations registered before. */
  private termStartOffset = -1;

  constructor(readonly sessionTimeoutMs: number) {}

  /**
   * Starts the memory of a new term when `term` is not the one it holds:
   * every broker in the image gets a session that begins now.
   */
  beginTerm(term: number, image: MetadataImage, nowMs: number): void {
    if (term === this.term) return;
    this.term = term;
    this.termStartOffset = image.offset;
    this.lastHeartbeatMs.clear();
    this.registrationOffsets.clear();
    for (const brokerId of image.brokers.keys()) this.lastHeartbeatMs.set(brokerId, nowMs);
  }

  /** A registration committed at `offset`: its session starts now. */
  registered(brokerId: number, incarnationId: string, offset: number, nowMs: number): void {
    this.registrationOffsets.set(incarnationId, offset);
    this.lastHeartbeatMs.set(brokerId, nowMs);
  }

  heartbeat(brokerId: number, nowMs: number): void {
    this.lastHeartbeatMs.set(brokerId, nowMs);
  }

  /**
   * Whether an incarnation that has applied the log up to `metadataOffset`
   * has caught up: it has seen its own registration, so it knows the
   * partitions it hosts before it may lead any. One registered before this
   * term must reach what the log held when the term began.
   */
  caughtUp(incarnationId: string, metadataOffset: number): boolean {
    return metadataOffset >= (this.registrationOffsets.get(incarnationId) ?? this.termStartOffset);
  }

  sessions(nowMs: number): BrokerSessions {
    return { lastHeartbeatMs: this.lastHeartbeatMs, nowMs, sessionTimeoutMs: this.sessionTimeoutMs };
  }
}
