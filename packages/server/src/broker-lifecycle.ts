// A broker's membership in the cluster, from its side: register one
// incarnation with the active controller, heartbeat on an interval (which
// keeps the session alive and carries how far this broker has applied the
// metadata log, so the controller unfences it once it has caught up), and on
// shutdown ask to be fenced first, so its leaderships move at once instead
// of a session timeout later (Kafka's controlled shutdown).

import {
  asBrookError,
  type BrokerHeartbeatRequest__Output,
  type BrokerHeartbeatResponse,
  type Clock,
  type RegisterBrokerRequest__Output,
  type RegisterBrokerResponse,
  systemClock,
} from "@brook/protocol";
import type { Logger } from "pino";

/** The failure fields of a heartbeat. */
export type ReplicaFailures = Pick<BrokerHeartbeatRequest__Output, "logDirOffline" | "resignedReplicas">;

const noReplicaFailures: ReplicaFailures = { logDirOffline: false, resignedReplicas: [] };

/** What the lifecycle needs of the path to the active controller. */
export interface MembershipChannel {
  registerBroker(request: RegisterBrokerRequest__Output): Promise<RegisterBrokerResponse>;
  heartbeat(request: BrokerHeartbeatRequest__Output, timeoutMs: number): Promise<BrokerHeartbeatResponse>;
}

export interface BrokerLifecycleOptions {
  readonly brokerId: number;
  /** One process, one incarnation: a restart registers anew and replaces the old one. */
  readonly incarnationId: string;
  readonly host: string;
  readonly port: number;
  readonly rack?: string;
  /**
   * Where Kafka clients reach this broker, as registered with the controller
   * (Kafka's advertised.listeners); undefined: no Kafka listener.
   */
  readonly kafkaEndpoint?: { readonly host: string; readonly port: number };
  readonly heartbeatIntervalMs: number;
  /**
   * How long one heartbeat waits for its answer (default: two intervals). A late answer still renews the
   * lease from the heartbeat's send time, so on a lossy link (TCP retransmitting) a longer wait keeps the
   * lease while the controller keeps the broker. Heartbeats do not wait for each other: every interval
   * sends one while fewer than timeout / interval are unanswered (node.ts: a session).
   */
  readonly heartbeatTimeoutMs?: number;
  /** Offset of the last metadata record this broker has applied. */
  readonly metadataOffset: () => number;
  /** Called once, when the controller first reports this broker caught up with the metadata log. */
  readonly onCaughtUp: () => void;
  /**
   * What this broker can no longer serve, sent on every heartbeat (KIP-858's
   * offline log dirs, and replicas resigned for a corrupt copy). Default: nothing.
   */
  readonly replicaFailures?: () => ReplicaFailures;
  /**
   * Renewed with the send time of every heartbeat the controller answers unfenced, revoked when it says
   * fenced (the broker's LeadershipLease). Default: none.
   */
  readonly lease?: { renew(sentAtMs: number): void; revoke(): void };
  /** Default: the system clock. */
  readonly clock?: Clock;
  readonly channel: MembershipChannel;
  readonly logger: Logger;
}

/**
 * Registration is retried every heartbeat interval for as long as the
 * process runs (the quorum may still be electing, peers still starting, or
 * a predecessor's session not yet expired); a warning every this many tries.
 */
const registrationWarnEvery = 20;
/** A controlled shutdown waits this long for the controller to fence this broker. */
const shutdownHeartbeatTimeoutMs = 2_000;

export class BrokerLifecycle {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private registered = false;
  private caughtUp = false;
  private fenced = true;
  /** The registration under way; heartbeats start once it succeeds. */
  private registering: Promise<void> | undefined;
  /** Heartbeats not yet answered: at most heartbeatsInFlightMax. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Send time of the newest heartbeat whose answer was applied: an older answer arriving later is ignored. */
  private appliedSentAtMs = Number.NEGATIVE_INFINITY;
  /** A report arrived while heartbeatsInFlightMax were unanswered: send one as soon as one ends. */
  private beatAgain = false;

  constructor(private readonly options: BrokerLifecycleOptions) {}

  get incarnationId(): string {
    return this.options.incarnationId;
  }

  /** Registers (retrying in the background) and then heartbeats until stop(). */
  start(): void {
    this.timer = setInterval(() => this.beat(), this.options.heartbeatIntervalMs);
    this.timer.unref();
    this.beat();
  }

  /** Whether the active controller last said this broker is fenced. */
  /** The controller has reported this broker caught up with the metadata log. */
  get isCaughtUp(): boolean {
    return this.caughtUp;
  }

  get isFenced(): boolean {
    return this.fenced;
  }

  /** Controlled shutdown: asks to be fenced (bounded), then stops heartbeating. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.registering;
    await Promise.all(this.inFlight);
    if (!this.registered) return;
    try {
      await this.options.channel.heartbeat(this.heartbeatRequest(true), shutdownHeartbeatTimeoutMs);
      this.options.logger.info("broker fenced for shutdown");
    } catch (error) {
      this.options.logger.warn(
        { error: asBrookError(error).message },
        "controlled shutdown: the controller was not told; the session will expire instead",
      );
    }
  }

  /**
   * Tells the controller now, not at the next interval, that replicaFailures()
   * changed: failover waits on this report.
   */
  reportNow(): void {
    this.beatAgain = true;
    this.beat();
  }

  /**
   * One step per interval: register until that succeeds (one attempt at a time, none while heartbeats of
   * a replaced registration are still unanswered), then heartbeat. A heartbeat does not wait for earlier
   * ones: on a lossy link their answers come late, and the newest answered send renews the lease.
   */
  private beat(): void {
    if (this.stopped || this.registering !== undefined) return;
    if (!this.registered) {
      if (this.inFlight.size > 0) return;
      this.registering = this.register().finally(() => {
        this.registering = undefined;
        if (this.beatAgain) this.beat();
      });
      return;
    }
    if (this.inFlight.size >= this.heartbeatsInFlightMax) return;
    this.beatAgain = false;
    const beat: Promise<void> = this.heartbeat().finally(() => {
      this.inFlight.delete(beat);
      if (this.beatAgain) this.beat();
    });
    this.inFlight.add(beat);
  }

  private get heartbeatTimeoutMs(): number {
    return this.options.heartbeatTimeoutMs ?? this.options.heartbeatIntervalMs * 2;
  }

  /** As many as one heartbeat's wait spans intervals: one sent each interval while earlier ones wait. */
  private get heartbeatsInFlightMax(): number {
    return Math.max(1, Math.ceil(this.heartbeatTimeoutMs / this.options.heartbeatIntervalMs));
  }

  private registrationAttempts = 0;

  private async register(): Promise<void> {
    const { brokerId, host, port, rack, kafkaEndpoint, logger } = this.options;
    this.registrationAttempts++;
    try {
      const { registrationOffset } = await this.options.channel.registerBroker({
        brokerId,
        incarnationId: this.incarnationId,
        host,
        port,
        rack: rack ?? "",
        kafkaHost: kafkaEndpoint?.host ?? "",
        kafkaPort: kafkaEndpoint?.port ?? 0,
      });
      this.registered = true;
      logger.info(
        { attempt: this.registrationAttempts, incarnationId: this.incarnationId, registrationOffset },
        "broker registered",
      );
      await this.heartbeat();
    } catch (error) {
      const brook = asBrookError(error);
      const attempt = this.registrationAttempts;
      // A second process claiming this id is the operator's mistake: say so at once.
      if (brook.code === "DUPLICATE_BROKER_REGISTRATION" && attempt === 1) {
        logger.error({ error: brook.message }, "broker registration refused; retrying until the id is free");
      } else if (attempt === 1 || attempt % registrationWarnEvery === 0) {
        logger.warn({ attempt, error: brook.message }, "broker registration: retrying");
      }
    }
  }

  private async heartbeat(): Promise<void> {
    const { logger, lease } = this.options;
    const sentAtMs = (this.options.clock ?? systemClock).nowMs();
    try {
      const reply = await this.options.channel.heartbeat(
        this.heartbeatRequest(false),
        this.heartbeatTimeoutMs,
      );
      if (sentAtMs < this.appliedSentAtMs) return; // a newer heartbeat's answer came first
      this.appliedSentAtMs = sentAtMs;
      if (reply.fenced !== this.fenced) {
        logger.info({ fenced: reply.fenced }, reply.fenced ? "broker fenced" : "broker unfenced");
      }
      this.fenced = reply.fenced ?? true;
      if (this.fenced) lease?.revoke();
      else lease?.renew(sentAtMs);
      if (reply.caughtUp && !this.caughtUp) {
        this.caughtUp = true;
        this.options.onCaughtUp();
      }
    } catch (error) {
      const brook = asBrookError(error);
      if (brook.code === "STALE_BROKER_INCARNATION") {
        // The controller does not know this incarnation (e.g. it was replaced
        // while this process was paused): register again, which fences and
        // replaces whatever holds the id if its session has expired.
        logger.warn({ error: brook.message }, "broker heartbeat: registering again");
        this.registered = false;
        lease?.revoke();
        return;
      }
      logger.debug({ error: brook.message }, "broker heartbeat failed");
    }
  }

  private heartbeatRequest(wantShutDown: boolean): BrokerHeartbeatRequest__Output {
    return {
      brokerId: this.options.brokerId,
      incarnationId: this.incarnationId,
      metadataOffset: this.options.metadataOffset(),
      wantShutDown,
      ...(this.options.replicaFailures?.() ?? noReplicaFailures),
    };
  }
}
