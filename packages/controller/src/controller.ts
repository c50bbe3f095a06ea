// The controller: the only writer of cluster metadata. On a quorum, one
// controller is active at a time: it decides (with the pure functions in
// topic-decisions.ts) and appends the resulting records to the metadata log.
// Every controller, active or not, builds its image only from the batches the
// log reports committed, so each follows the active one and can take over
// from the same image. Writes are processed one at a time so every decision
// sees the image its records will be applied to.

import { randomUUID } from "node:crypto";
import {
  type AclBindingFields,
  type AclBindingFilterFields,
  type AlterPartitionRequest,
  applyRecords,
  BrokerHeartbeats,
  type BrokerImage,
  type BrokerRegistration,
  MetadataImage,
  type MetadataRecord,
  type PartitionImage,
  planAlterPartition,
  planBrokerRegistration,
  planFenceExpiredBrokers,
  planFencing,
  planPreferredLeaderElection,
  planUnfence,
} from "@brook/metadata";
import {
  asBrookError,
  assert,
  BrookError,
  type Clock,
  type DescribeControllerResponse,
  type DescribeQuorumResponse,
  systemClock,
} from "@brook/protocol";
import { type ControllerLogger, describeCommit, silentControllerLogger } from "./change-log.js";
import { NotActiveControllerError } from "./errors.js";
import type { ControllerQuorumMember, MetadataLog } from "./metadata-log.js";
import { type ProducerIdBlock, planProducerIdBlock } from "./producer-id-decisions.js";
import {
  planLogDirOffline,
  planReplicaResignations,
  type ReplicaResignation,
} from "./replica-failure-decisions.js";
import {
  type AclCreateOutcome,
  type AclDeleteOutcome,
  type AlterUserScramCredentialsRequest,
  planAlterUserScramCredentials,
  planCreateAcls,
  planDeleteAcls,
  type UserOutcome,
} from "./security-decisions.js";
import {
  type CreatePartitionsRequest,
  type CreateTopicRequest,
  defaultTopicDefaults,
  planCreatePartitions,
  planCreateTopic,
  planDeleteTopic,
  type TopicDefaults,
} from "./topic-decisions.js";

export interface TopicOutcome {
  readonly name: string;
  readonly error?: BrookError;
}

export type ImageListener = (image: MetadataImage) => void;

export interface BrokerHeartbeat {
  readonly brokerId: number;
  readonly incarnationId: string;
  /** Offset of the last metadata record the broker has applied. */
  readonly metadataOffset: number;
  /** Controlled shutdown: fence the broker now so its leaderships move before it stops. */
  readonly wantShutDown?: boolean;
  /** Its log dir failed: it gives up every replica and stays fenced until it restarts. */
  readonly logDirOffline?: boolean;
  /** Replicas it gives up for now (a corrupt copy), each at the partition epoch it saw. */
  readonly resignedReplicas?: readonly ReplicaResignation[];
}

export interface BrokerHeartbeatReply {
  readonly fenced: boolean;
  /** The broker has applied the log up to its own registration. */
  readonly caughtUp: boolean;
}

/**
 * Broker liveness. Kafka's defaults (2 s heartbeats, 9 s session) put a
 * broker failure ~9 s from new leaders; these aim at well under 3 s while a
 * broker still misses five heartbeats before it is fenced, which rides out
 * a busy event loop (see docs/controller-quorum.md).
 */
export const defaultSessionTimeoutMs = 1_500;
export const defaultHeartbeatIntervalMs = 250;
/**
 * A controller that becomes active gives each broker this many heartbeat intervals (at most a session) to
 * find it before fencing: a live broker retries the controller search within one or two of them.
 */
export const termStartHeartbeats = 4;
/** How often the active controller looks for expired sessions and misplaced leaders. */
export const defaultSessionCheckIntervalMs = 100;

/** Records per replay read on start-up; bounds memory while loading a long log. */
const replayChunkRecords = 10_000;
/** close() lets writes under way finish for at most this long before it closes the log under them. */
const closeWritesWaitMsMax = 500;

export class Controller {
  private currentImage: MetadataImage = MetadataImage.empty;
  private writeQueue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<ImageListener>();
  private readonly stopFollowing: () => void;
  /** Until the start-up replay is done, the log may report batches the replay has yet to read. */
  private replaying = true;
  /**
   * The term in which this controller caught up as the active one. Decisions
   * are made only in that term: in a new one, it must catch up again first.
   */
  private caughtUpTerm: number | undefined;
  private readonly heartbeats: BrokerHeartbeats;
  private sessionTimer: NodeJS.Timeout | undefined;
  /** Image offset at the last preferred-leader check: an unchanged image has nothing new to move. */
  private preferredCheckedOffset = -2;

  private constructor(
    readonly nodeId: number,
    private readonly log: MetadataLog,
    private readonly newTopicId: () => string,
    private readonly clock: Clock,
    sessionTimeoutMs: number,
    heartbeatIntervalMs: number,
    private readonly logger: ControllerLogger,
    private readonly topicDefaults: TopicDefaults,
  ) {
    this.heartbeats = new BrokerHeartbeats(sessionTimeoutMs, termStartHeartbeats * heartbeatIntervalMs);
    this.stopFollowing = log.onCommit(
      (records, firstOffset) => this.applyCommitted(records, firstOffset),
      (image) => this.applySnapshot(image),
    );
  }

  /** Starts following the log and resolves once the image holds every record it had committed. */
  static async open(options: {
    nodeId: number;
    log: MetadataLog;
    newTopicId?: () => string;
    clock?: Clock;
    /** A broker not heard from for this long is fenced. */
    sessionTimeoutMs?: number;
    /** How often brokers heartbeat: a new term's first session lasts termStartHeartbeats of them. */
    heartbeatIntervalMs?: number;
    /** How often the active controller checks sessions and preferred leaders; 0: only when checkSessions() is called. */
    sessionCheckIntervalMs?: number;
    /** Where the active controller logs what its commits change (fencing, elections, ISR changes). */
    logger?: ControllerLogger;
    /** What CreateTopics' -1 means (Kafka's num.partitions and default.replication.factor). */
    topicDefaults?: TopicDefaults;
  }): Promise<Controller> {
    const controller = new Controller(
      options.nodeId,
      options.log,
      options.newTopicId ?? randomUUID,
      options.clock ?? systemClock,
      options.sessionTimeoutMs ?? defaultSessionTimeoutMs,
      options.heartbeatIntervalMs ?? defaultHeartbeatIntervalMs,
      options.logger ?? silentControllerLogger,
      options.topicDefaults ?? defaultTopicDefaults,
    );
    try {
      await controller.replayLog();
    } catch (error) {
      controller.stopFollowing();
      throw error;
    }
    const intervalMs = options.sessionCheckIntervalMs ?? defaultSessionCheckIntervalMs;
    if (intervalMs > 0) {
      controller.sessionTimer = setInterval(
        () =>
          controller
            .checkSessions()
            .catch((error: unknown) =>
              controller.logger.warn({ err: error }, "session check failed; trying again at the next one"),
            ),
        intervalMs,
      );
      controller.sessionTimer.unref();
    }
    return controller;
  }

  get image(): MetadataImage {
    return this.currentImage;
  }

  get committedOffset(): number {
    return this.log.committedOffset;
  }

  /** Whether this controller decides writes now; any other refuses them with NOT_CONTROLLER. */
  isActive(): boolean {
    return this.log.isActive?.() ?? true;
  }

  /** The active controller as this node knows it; undefined while none is known. */
  activeControllerId(): number | undefined {
    return this.log.activeControllerId ? this.log.activeControllerId() : this.nodeId;
  }

  /** Every controller of the quorum, for `brook cluster status`; a single-node log is a quorum of one. */
  quorumStatus(): ControllerQuorumMember[] {
    return (
      this.log.quorumStatus?.() ?? [
        { id: this.nodeId, leader: true, term: 0, commitIndex: this.log.committedOffset },
      ]
    );
  }

  /** This controller's own term and commit index, which only it knows; any controller answers. */
  describeSelf(): DescribeControllerResponse {
    const self = this.quorumStatus().find((member) => member.id === this.nodeId);
    return {
      nodeId: this.nodeId,
      term: self?.term ?? 0,
      commitIndex: self?.commitIndex ?? -1,
      leaderId: this.activeControllerId() ?? -1,
    };
  }

  /**
   * The quorum as the active controller sees it: only the Raft leader knows
   * how far each voter has got, so any other controller answers
   * NOT_CONTROLLER naming the active one.
   */
  describeQuorum(): DescribeQuorumResponse {
    if (!this.isActive()) throw this.notActive();
    const members = this.quorumStatus();
    const self = members.find((member) => member.id === this.nodeId);
    return {
      leaderId: this.nodeId,
      term: self?.term ?? 0,
      commitIndex: self?.commitIndex ?? -1,
      committedOffset: this.committedOffset,
      voters: members.map((member) => ({
        id: member.id,
        leader: member.leader,
        matchIndex: member.matchIndex ?? -1,
        lag: member.lag ?? -1,
        lastContactMs: member.lastContactMs ?? -1,
      })),
    };
  }

  /** Called with every new image, after the records that made it are committed; on every controller. */
  onImage(listener: ImageListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Registers one incarnation of a broker, which starts fenced (as in
   * Kafka): its heartbeats unfence it once it has caught up with the log.
   * A new incarnation replaces a fenced or expired predecessor (whose
   * leaderships move first); while the predecessor's session is alive, the
   * id is taken (DUPLICATE_BROKER_REGISTRATION). A retry by the same
   * incarnation changes nothing. Resolves with the registration's offset:
   * the broker has caught up once it has applied the log that far.
   */
  registerBroker(registration: BrokerRegistration): Promise<{ registrationOffset: number }> {
    return this.write(async () => {
      const now = this.clock.nowMs();
      const records = planBrokerRegistration(this.currentImage, registration, this.heartbeats.sessions(now));
      if (records.length === 0) {
        this.heartbeats.heartbeat(registration.brokerId, now);
        return { registrationOffset: this.currentImage.offset };
      }
      const firstOffset = await this.commit(records, "a new incarnation registered");
      // The registration is the last record: a predecessor's fencing comes first.
      const registrationOffset = firstOffset + records.length - 1;
      this.heartbeats.registered(
        registration.brokerId,
        registration.incarnationId,
        registrationOffset,
        this.clock.nowMs(),
      );
      return { registrationOffset };
    });
  }

  /**
   * Keeps a broker's session alive. A fenced broker that has caught up is
   * unfenced (and takes back what it should lead) before the reply; a
   * broker shutting down is fenced at once. Heartbeats do not queue behind
   * writes unless they cause one. Only a controller a quorum of voters still
   * follows answers (a read barrier confirms it): the broker's leadership
   * lease counts on the answer, and an active controller cut off from the
   * other voters must not keep its own node's broker leading.
   */
  async heartbeat(request: BrokerHeartbeat): Promise<BrokerHeartbeatReply> {
    await this.catchUpAsActive();
    await this.confirmActive();
    const broker = this.currentImage.brokers.get(request.brokerId);
    if (!broker || broker.incarnationId !== request.incarnationId) {
      throw new BrookError(
        "STALE_BROKER_INCARNATION",
        broker
          ? `broker ${request.brokerId} is registered as incarnation ${broker.incarnationId}, not ${request.incarnationId}`
          : `broker ${request.brokerId} is not registered`,
      );
    }
    this.heartbeats.heartbeat(request.brokerId, this.clock.nowMs());
    const caughtUp = this.heartbeats.caughtUp(request.incarnationId, request.metadataOffset);
    await this.replicaFailures(request, broker);
    if (request.wantShutDown) {
      await this.writeForIncarnation(request, "controlled shutdown", (current) =>
        current.fenced ? [] : planFencing(this.currentImage, [current]),
      );
    } else if (broker.fenced && caughtUp && !request.logDirOffline) {
      await this.writeForIncarnation(request, "caught up with the metadata log", (current) =>
        current.fenced && !current.logDirOffline ? planUnfence(this.currentImage, current.brokerId) : [],
      );
    }
    const fenced = this.currentImage.brokers.get(request.brokerId)?.fenced ?? true;
    return { fenced, caughtUp };
  }

  /** What a heartbeat reports of replicas the broker can no longer serve (KIP-858-like). */
  private async replicaFailures(request: BrokerHeartbeat, broker: BrokerImage): Promise<void> {
    if (request.logDirOffline && !broker.logDirOffline) {
      await this.writeForIncarnation(request, "its log dir is offline", (current) =>
        planLogDirOffline(this.currentImage, current),
      );
    }
    const resigned = request.resignedReplicas ?? [];
    if (resigned.length > 0 && !request.logDirOffline) {
      await this.writeForIncarnation(request, "its copy is corrupt", (current) =>
        planReplicaResignations(this.currentImage, current.brokerId, resigned),
      );
    }
  }

  /**
   * The active controller's periodic duties: fence brokers whose session
   * expired (electing new leaders for what they led), then move leadership
   * back to preferred replicas that are eligible again. Does nothing on a
   * controller that is not active. The timer calls it; tests may too.
   */
  async checkSessions(): Promise<void> {
    if (!this.isActive()) return;
    try {
      await this.write(async () => {
        const now = this.clock.nowMs();
        const { lastHeartbeatMs, sessionTimeoutMs } = this.heartbeats.sessions(now);
        const fencing = planFenceExpiredBrokers(this.currentImage, lastHeartbeatMs, now, sessionTimeoutMs);
        if (fencing.length > 0) {
          await this.commit(fencing, `no heartbeat within the ${sessionTimeoutMs} ms session`);
        }
        if (this.currentImage.offset === this.preferredCheckedOffset) return;
        const preferred = planPreferredLeaderElection(this.currentImage);
        if (preferred.length > 0) await this.commit(preferred, "preferred leader election");
        this.preferredCheckedOffset = this.currentImage.offset;
      });
    } catch (error) {
      // Losing leadership midway is normal (the new active controller carries
      // on), and so is a timeout while the quorum is unreachable: the next
      // check decides again from the image as it is then.
      if (!(error instanceof BrookError && error.retriable)) throw error;
    }
  }

  /**
   * A partition leader's ISR change, checked against the epochs it decided
   * on; resolves with the partition as committed.
   */
  alterPartition(request: AlterPartitionRequest): Promise<PartitionImage> {
    return this.write(async () => {
      const records = planAlterPartition(this.currentImage, request);
      if (records.length > 0) await this.commit(records, `AlterPartition from leader ${request.leaderId}`);
      const partition = this.currentImage.partition(request.topic, request.partition);
      assert(partition !== undefined, "an altered partition is in the image");
      return partition;
    });
  }

  /**
   * A block of producer ids for a broker's InitProducerId answers. It is
   * committed before this resolves, and decided on the image at its turn in
   * the write queue, so no two blocks overlap, whichever controller is active.
   * A block whose answer is lost (leadership moved mid-write) is never used.
   */
  allocateProducerIds(brokerId: number): Promise<ProducerIdBlock> {
    return this.write(async () => {
      const { record, block } = planProducerIdBlock(this.currentImage, brokerId);
      await this.commit([record], `producer ids for broker ${brokerId}`);
      return block;
    });
  }

  /**
   * One outcome per topic. NOT_CONTROLLER rejects the whole call when this
   * controller is not the active one; when leadership is lost midway, the
   * topics from there on report it in their outcome (the one whose append
   * was in flight may still have been created: a retry then says it exists).
   */
  createTopics(requests: readonly CreateTopicRequest[], validateOnly = false): Promise<TopicOutcome[]> {
    return this.write(async () => {
      const outcomes: TopicOutcome[] = [];
      for (const request of requests) {
        try {
          await this.catchUpAsActive();
          const records = planCreateTopic(this.currentImage, request, this.newTopicId(), this.topicDefaults);
          if (!validateOnly) await this.commit(records, "CreateTopics");
          outcomes.push({ name: request.name });
        } catch (error) {
          outcomes.push({ name: request.name, error: asBrookError(error) });
        }
      }
      return outcomes;
    });
  }

  /**
   * Grows topics to more partitions (Kafka's CreatePartitions). One outcome
   * per topic, named by the topic; NOT_CONTROLLER as for createTopics.
   */
  createPartitions(
    requests: readonly CreatePartitionsRequest[],
    validateOnly = false,
  ): Promise<TopicOutcome[]> {
    return this.write(async () => {
      const outcomes: TopicOutcome[] = [];
      for (const request of requests) {
        try {
          await this.catchUpAsActive();
          const records = planCreatePartitions(this.currentImage, request);
          if (!validateOnly) await this.commit(records, "CreatePartitions");
          outcomes.push({ name: request.topic });
        } catch (error) {
          outcomes.push({ name: request.topic, error: asBrookError(error) });
        }
      }
      return outcomes;
    });
  }

  /** One outcome per topic; NOT_CONTROLLER as for createTopics. */
  deleteTopics(names: readonly string[]): Promise<TopicOutcome[]> {
    return this.write(async () => {
      const outcomes: TopicOutcome[] = [];
      for (const name of names) {
        try {
          await this.catchUpAsActive();
          await this.commit(planDeleteTopic(this.currentImage, name), "DeleteTopics");
          outcomes.push({ name });
        } catch (error) {
          outcomes.push({ name, error: asBrookError(error) });
        }
      }
      return outcomes;
    });
  }

  /**
   * Creates, replaces and deletes users' SCRAM credentials (Kafka's AlterUserScramCredentials): one
   * outcome per user, decided on the image at its turn in the write queue and committed in one batch
   * before this resolves. NOT_CONTROLLER rejects the whole call, as a lost commit does.
   */
  alterUserScramCredentials(request: AlterUserScramCredentialsRequest): Promise<UserOutcome[]> {
    return this.write(async () => {
      const { records, results } = planAlterUserScramCredentials(this.currentImage, request);
      if (records.length > 0) await this.commit(records, "AlterUserScramCredentials");
      return results;
    });
  }

  /** Adds ACL bindings (Kafka's CreateAcls): one outcome per binding, committed in one batch. */
  createAcls(bindings: readonly AclBindingFields[]): Promise<AclCreateOutcome[]> {
    return this.write(async () => {
      const { records, results } = planCreateAcls(this.currentImage, bindings);
      if (records.length > 0) await this.commit(records, "CreateAcls");
      return results;
    });
  }

  /** Removes the ACL bindings each filter matches (Kafka's DeleteAcls), committed in one batch. */
  deleteAcls(filters: readonly AclBindingFilterFields[]): Promise<AclDeleteOutcome[]> {
    return this.write(async () => {
      const { records, results } = planDeleteAcls(this.currentImage, filters);
      if (records.length > 0) await this.commit(records, "DeleteAcls");
      return results;
    });
  }

  /** Committed records from an offset, for followers of the metadata log. */
  readRecords(fromOffset: number, maxRecords: number): Promise<MetadataRecord[]> {
    return this.log.read(fromOffset, maxRecords);
  }

  async close(): Promise<void> {
    clearInterval(this.sessionTimer);
    // A write under way usually commits in milliseconds; one waiting on a quorum that is gone (the last
    // node of a cluster being stopped) would hold the close for a proposal timeout, so closing the log
    // rejects it instead, and its caller retries elsewhere.
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise((resolve) => {
      timer = setTimeout(resolve, closeWritesWaitMsMax);
    });
    await Promise.race([this.writeQueue, waited]);
    clearTimeout(timer);
    await this.log.close();
    this.stopFollowing();
  }

  /**
   * Runs a write after the ones before it, once this controller has caught
   * up as the active one (else it fails whole with NOT_CONTROLLER). Each
   * decision inside checks again, as leadership may move during a write.
   */
  private write<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.writeQueue.then(async () => {
      await this.catchUpAsActive();
      return operation();
    });
    this.writeQueue = result.catch(() => undefined);
    return result;
  }

  /**
   * Refuses unless this controller is the active one. The first time in a
   * term, it first waits until it has applied every record committed before
   * (under the previous active controller too): deciding on an older image
   * could, say, create a topic that already exists.
   */
  /** Resolves while a quorum still follows this controller's term; NOT_CONTROLLER otherwise. */
  private async confirmActive(): Promise<void> {
    const term = this.term();
    try {
      await this.log.sync?.();
    } catch (error) {
      throw this.asNotActive(error);
    }
    if (!this.isActive() || this.term() !== term) throw this.notActive();
  }

  private async catchUpAsActive(): Promise<void> {
    const term = this.term();
    if (!this.isActive()) throw this.notActive();
    if (term === this.caughtUpTerm) return;
    try {
      await this.log.sync?.();
    } catch (error) {
      throw this.asNotActive(error);
    }
    if (!this.isActive() || this.term() !== term) throw this.notActive();
    if (this.caughtUpTerm !== term) {
      this.heartbeats.beginTerm(term, this.currentImage, this.clock.nowMs());
      this.logger.info(
        { term, metadataOffset: this.currentImage.offset, brokers: this.currentImage.brokers.size },
        "active controller: caught up with the metadata log, deciding from here on",
      );
    }
    this.caughtUpTerm = term;
  }

  /** A write about one broker incarnation, decided on the image at its turn in the queue. */
  private async writeForIncarnation(
    request: BrokerHeartbeat,
    reason: string,
    plan: (broker: BrokerImage) => MetadataRecord[],
  ): Promise<void> {
    await this.write(async () => {
      const current = this.currentImage.brokers.get(request.brokerId);
      if (current?.incarnationId !== request.incarnationId) return;
      const records = plan(current);
      if (records.length > 0) await this.commit(records, reason);
    });
  }

  /**
   * Appends a decision's records, and logs what they changed and `reason`.
   * The image is not changed here: the log reports the batch committed (to
   * applyCommitted) before append() resolves.
   */
  private async commit(records: MetadataRecord[], reason: string): Promise<number> {
    const before = this.currentImage;
    let firstOffset: number;
    try {
      firstOffset = await this.log.append(records);
    } catch (error) {
      throw this.asNotActive(error);
    }
    assert(
      this.currentImage.offset >= firstOffset + records.length - 1,
      "the metadata log reports a batch committed before its append() resolves",
    );
    for (const line of describeCommit(before, this.currentImage, records, reason)) {
      this.logger[line.level](line.fields, line.message);
    }
    return firstOffset;
  }

  /**
   * Applies a committed batch, skipping what the image already has: at
   * start-up the replay and the log's reports overlap. A batch past the
   * image's next offset is one the replay has yet to read; once it is done,
   * the log reports every batch in offset order, so a gap is a bug.
   */
  private applyCommitted(records: readonly MetadataRecord[], firstOffset: number): void {
    const nextOffset = this.currentImage.offset + 1;
    const logImage = this.log.image?.();
    if (logImage !== undefined) {
      // The log's own image already holds these records: published as it is, never applied twice.
      assert(
        logImage.offset === firstOffset + records.length - 1,
        `the metadata log's image is at offset ${logImage.offset}, not at the batch it reports (${firstOffset}..${firstOffset + records.length - 1})`,
      );
      if (logImage.offset >= nextOffset) this.publish(logImage);
      return;
    }
    if (firstOffset > nextOffset) {
      assert(this.replaying, `the metadata log skipped from offset ${nextOffset - 1} to ${firstOffset}`);
      return;
    }
    const fresh = records.slice(nextOffset - firstOffset);
    if (fresh.length > 0) this.publish(applyRecords(this.currentImage, fresh, nextOffset));
  }

  /**
   * Replaces the image with a snapshot's when that is newer: the log's state
   * was replaced by one (this node fell behind the leader's compacted log), or
   * the replay starts from one. It is never applied on top: the records it
   * holds are already in it, and those after it follow through applyCommitted.
   */
  private applySnapshot(snapshot: MetadataImage): void {
    if (snapshot.offset > this.currentImage.offset) this.publish(snapshot);
  }

  private publish(image: MetadataImage): void {
    this.currentImage = image;
    for (const listener of this.listeners) listener(image);
  }

  /**
   * Reads the log from where the image is. A log with snapshots serves only
   * the records after its latest one, so the image starts from it; it is
   * asked again before every read, as the log may take a new snapshot (and
   * drop what it covers) while a read is awaited.
   */
  private async replayLog(): Promise<void> {
    const logImage = this.log.image?.();
    if (logImage !== undefined) {
      if (logImage.offset > this.currentImage.offset) this.publish(logImage);
      this.replaying = false;
      return;
    }
    for (;;) {
      const snapshot = this.log.snapshotImage?.();
      if (snapshot) this.applySnapshot(snapshot);
      const fromOffset = this.currentImage.offset + 1;
      const records = await this.log.read(fromOffset, replayChunkRecords);
      if (records.length === 0) break;
      this.applyCommitted(records, fromOffset);
    }
    this.replaying = false;
  }

  private term(): number {
    return this.log.term?.() ?? 0;
  }

  private notActive(cause?: unknown): NotActiveControllerError {
    return new NotActiveControllerError(this.nodeId, this.activeControllerId(), { cause });
  }

  /** The log's "not the leader" as this controller's NOT_CONTROLLER; other errors as they are. */
  private asNotActive(error: unknown): unknown {
    return error instanceof BrookError && error.code === "NOT_CONTROLLER" ? this.notActive(error) : error;
  }
}
