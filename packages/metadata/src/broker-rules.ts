// Broker membership as pure functions of the image and the active
// controller's session state: registration, fencing on a missed session and
// unfencing. Each returns the records to append (the broker records first,
// then the partition changes they cause), or throws the typed error to answer.
// Here, beside the partition rules, so that the controller and the
// replication simulator run the same ones; BrokerHeartbeats, the session
// memory they read, too.

import { BrookError } from "@brook/protocol";
import type { BrokerImage, MetadataImage } from "./image.js";
import {
  eligibleIn,
  planPartitionChanges,
  restoreLeader,
  uncleanElectionEnabled,
  withoutBroker,
} from "./partition-rules.js";
import type { BrokerRegistrationRecord, MetadataRecord } from "./records.js";

export type BrokerRegistration = Omit<BrokerRegistrationRecord, "type">;

/**
 * The active controller's view of broker sessions. It is not in the image:
 * heartbeats are too frequent to log. A broker missing from
 * `lastHeartbeatMs` has no session; the driver seeds the map when a broker
 * registers and when a controller becomes active, so a failover does not
 * fence every broker at once.
 */
export interface BrokerSessions {
  readonly lastHeartbeatMs: ReadonlyMap<number, number>;
  readonly nowMs: number;
  readonly sessionTimeoutMs: number;
}

export function sessionAlive(sessions: BrokerSessions, brokerId: number): boolean {
  const last = sessions.lastHeartbeatMs.get(brokerId);
  return last !== undefined && sessions.nowMs - last <= sessions.sessionTimeoutMs;
}

/**
 * A retry by the same incarnation changes nothing. A new incarnation replaces
 * the old one, which is fenced first so its leaderships move; but while the
 * old one is unfenced and its session alive, the id is taken and the new
 * claimant is refused (a restarted broker retries until the old session
 * expires).
 */
export function planBrokerRegistration(
  image: MetadataImage,
  registration: BrokerRegistration,
  sessions: BrokerSessions,
): MetadataRecord[] {
  const known = image.brokers.get(registration.brokerId);
  const record: MetadataRecord = { type: "broker-registration", ...registration };
  if (!known) return [record];
  if (known.incarnationId === registration.incarnationId) {
    if (sameEndpoint(known, registration)) return [];
    throw new BrookError(
      "INVALID_REQUEST",
      `incarnation ${known.incarnationId} of broker ${known.brokerId} registered at ${describeEndpoints(known)}; a new endpoint needs a new incarnation`,
    );
  }
  if (known.fenced) return [record];
  if (sessionAlive(sessions, known.brokerId)) {
    throw new BrookError(
      "DUPLICATE_BROKER_REGISTRATION",
      `broker ${known.brokerId} is held by incarnation ${known.incarnationId} at ${known.host}:${known.port}, whose session is alive; refusing incarnation ${registration.incarnationId}`,
    );
  }
  return [...planFencing(image, [known]), record];
}

/** Fences every unfenced broker whose session expired, moving its leaderships. */
export function planFenceExpiredBrokers(
  image: MetadataImage,
  lastHeartbeatMs: ReadonlyMap<number, number>,
  nowMs: number,
  sessionTimeoutMs: number,
): MetadataRecord[] {
  const sessions = { lastHeartbeatMs, nowMs, sessionTimeoutMs };
  const expired = [...image.brokers.values()]
    .filter(
      (broker) =>
        !broker.fenced && lastHeartbeatMs.has(broker.brokerId) && !sessionAlive(sessions, broker.brokerId),
    )
    .sort((a, b) => a.brokerId - b.brokerId);
  return planFencing(image, expired);
}

/**
 * Fence records for `brokers`, then one partition change per affected
 * partition. Brokers leave one at a time in the given order (as Kafka
 * processes them), and none of them is eligible to take over from another.
 */
export function planFencing(image: MetadataImage, brokers: readonly BrokerImage[]): MetadataRecord[] {
  if (brokers.length === 0) return [];
  const leaving = new Set(brokers.map((broker) => broker.brokerId));
  const registered = eligibleIn(image);
  const eligible = (id: number) => registered(id) && !leaving.has(id);
  const changes = planPartitionChanges(image, (partition, topic) => {
    const unclean = uncleanElectionEnabled(topic);
    return brokers.reduce(
      (state, broker) => withoutBroker(partition.replicas, state, broker.brokerId, eligible, unclean),
      { leader: partition.leader, isr: partition.isr },
    );
  });
  return [
    ...brokers.map(
      ({ brokerId, incarnationId }): MetadataRecord => ({ type: "broker-fence", brokerId, incarnationId }),
    ),
    ...changes,
  ];
}

/**
 * Returns a caught-up broker to service: offline partitions it can lead come
 * back, and it retakes leadership where it is the preferred replica and in
 * the ISR; other partitions are left to `planPreferredLeaderElection`. Unfencing an unfenced broker changes nothing.
 */
export function planUnfence(image: MetadataImage, brokerId: number): MetadataRecord[] {
  const broker = image.brokers.get(brokerId);
  if (!broker) throw new BrookError("INVALID_REQUEST", `broker ${brokerId} is not registered`);
  if (!broker.fenced) return [];
  const registered = eligibleIn(image);
  const eligible = (id: number) => id === brokerId || registered(id);
  return [
    { type: "broker-unfence", brokerId, incarnationId: broker.incarnationId },
    ...planPartitionChanges(image, (partition, topic) => {
      const next = restoreLeader(partition, eligible, uncleanElectionEnabled(topic));
      return next.leader === brokerId ? next : partition;
    }),
  ];
}

/** The same addresses and rack: a retry of the same registration, not a new one. */
function sameEndpoint(known: BrokerImage, registration: BrokerRegistration): boolean {
  return (
    known.host === registration.host &&
    known.port === registration.port &&
    known.rack === registration.rack &&
    known.kafkaEndpoint?.host === registration.kafkaEndpoint?.host &&
    known.kafkaEndpoint?.port === registration.kafkaEndpoint?.port
  );
}

/** `host:port`, and the Kafka listener's when it has one. */
function describeEndpoints(broker: BrokerRegistration): string {
  const kafka = broker.kafkaEndpoint;
  return `${broker.host}:${broker.port}${kafka ? ` (Kafka ${kafka.host}:${kafka.port})` : ""}`;
}

// The active controller's memory of broker heartbeats: when each broker was
// last heard from, and from which metadata offset on each incarnation counts
// as caught up. None of it is in the metadata log (heartbeats are far too
// frequent to log), so it belongs to one term of one active controller: a
// controller that becomes active starts afresh and gives every broker a first
// session before it may be fenced. That first session is shorter than a full
// one (termStartSessionMs: a few heartbeat intervals, enough for a live broker
// to find the new controller), because a broker that died with the old
// controller, the usual reason for the new term, would otherwise keep its
// partitions leaderless for the election and then a whole session more.
export class BrokerHeartbeats {
  private readonly lastHeartbeatMs = new Map<number, number>();
  /** Incarnation id → metadata offset the incarnation must have applied to count as caught up. */
  private readonly registrationOffsets = new Map<string, number>();
  private term: number | undefined;
  /** The image offset when this term's memory began: the catch-up bar for incarnations registered before. */
  private termStartOffset = -1;

  constructor(
    readonly sessionTimeoutMs: number,
    /** A new term's first session for every broker it inherits; at most sessionTimeoutMs. */
    readonly termStartSessionMs = sessionTimeoutMs,
  ) {}

  /**
   * Starts the memory of a new term when `term` is not the one it holds:
   * every broker in the image gets a first session of termStartSessionMs from now.
   */
  beginTerm(term: number, image: MetadataImage, nowMs: number): void {
    if (term === this.term) return;
    this.term = term;
    this.termStartOffset = image.offset;
    this.lastHeartbeatMs.clear();
    this.registrationOffsets.clear();
    const firstSessionMs = Math.min(this.termStartSessionMs, this.sessionTimeoutMs);
    const heardAtMs = nowMs - (this.sessionTimeoutMs - firstSessionMs);
    for (const brokerId of image.brokers.keys()) this.lastHeartbeatMs.set(brokerId, heardAtMs);
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
