// The controller as the replication simulator needs it: one always-available
// active controller (the quorum behind it is the Raft simulator's business)
// that owns the metadata image and changes it with the real records and the
// real replay (@brook/metadata applyRecords derives the epochs). It decides
// with the production rules, the same functions the controller's driver
// (packages/controller/src/controller.ts) calls: planBrokerRegistration,
// planUnfence once BrokerHeartbeats says an incarnation caught up,
// planFenceExpiredBrokers then planPreferredLeaderElection on each session
// check, planAlterPartition; a controller becoming active starts a new
// BrokerHeartbeats term. What is left here is the driver's sequencing.
// The controller may stall (its quorum is slow, or fails over): writes then
// commit only when it resumes, possibly after the asking broker gave up.

import {
  type AlterPartitionRequest,
  applyRecords,
  BrokerHeartbeats,
  MetadataImage,
  type MetadataRecord,
  type PartitionImage,
  planAlterPartition,
  planBrokerRegistration,
  planFenceExpiredBrokers,
  planPreferredLeaderElection,
  planUnfence,
} from "@brook/metadata";

export class SimController {
  image: MetadataImage;
  /** Until then nothing commits (a slow quorum, a controller failover): writes wait, heartbeats fail. */
  stalledUntilMs = 0;
  private readonly heartbeats: BrokerHeartbeats;
  /** Each resume is a new active controller's term. */
  private term = 0;
  private preferredCheckedOffset = -1;

  constructor(
    initial: readonly MetadataRecord[],
    private readonly topicId: string,
    sessionTimeoutMs: number,
    private readonly nowMs: () => number,
    /** Called with every new image; the simulator ships it to the brokers. */
    private readonly publish: (image: MetadataImage) => void,
  ) {
    this.image = applyRecords(MetadataImage.empty, initial, 0);
    this.heartbeats = new BrokerHeartbeats(sessionTimeoutMs);
    this.heartbeats.beginTerm(this.term, this.image, nowMs());
  }

  get partition(): PartitionImage {
    return this.image.topicsById.get(this.topicId)!.partitions[0];
  }

  /** A new incarnation of a broker asks to register; throws DUPLICATE_BROKER_REGISTRATION while its predecessor lives. */
  register(brokerId: number, incarnationId: string): void {
    const registration = { brokerId, incarnationId, host: "sim", port: brokerId };
    const records = planBrokerRegistration(this.image, registration, this.heartbeats.sessions(this.nowMs()));
    if (records.length === 0) {
      this.heartbeats.heartbeat(brokerId, this.nowMs());
      return;
    }
    this.commit(records);
    // The registration is the last record: a predecessor's fencing comes first.
    this.heartbeats.registered(brokerId, incarnationId, this.image.offset, this.nowMs());
  }

  /** Renews a session; a fenced broker that has applied its own registration is unfenced. */
  heartbeat(brokerId: number, incarnationId: string, metadataOffset: number): void {
    const broker = this.image.brokers.get(brokerId);
    if (broker?.incarnationId !== incarnationId) return; // STALE_BROKER_INCARNATION: a dead process's heartbeat
    this.heartbeats.heartbeat(brokerId, this.nowMs());
    if (broker.fenced && this.heartbeats.caughtUp(incarnationId, metadataOffset)) {
      this.commit(planUnfence(this.image, brokerId));
    }
  }

  alterPartition(request: Omit<AlterPartitionRequest, "topic" | "partition">): PartitionImage {
    const topic = this.image.topicsById.get(this.topicId)!.name;
    this.commit(planAlterPartition(this.image, { ...request, topic, partition: 0 }));
    return this.partition;
  }

  /** The periodic duties: fence expired sessions, then move leadership back to the preferred replica. */
  tick(): void {
    const now = this.nowMs();
    const { lastHeartbeatMs, sessionTimeoutMs } = this.heartbeats.sessions(now);
    this.commit(planFenceExpiredBrokers(this.image, lastHeartbeatMs, now, sessionTimeoutMs));
    if (this.image.offset === this.preferredCheckedOffset) return;
    this.commit(planPreferredLeaderElection(this.image));
    this.preferredCheckedOffset = this.image.offset;
  }

  get stalled(): boolean {
    return this.nowMs() < this.stalledUntilMs;
  }

  /** A controller becoming active seeds every session afresh, so a failover does not fence every broker at once. */
  resume(): void {
    this.heartbeats.beginTerm(++this.term, this.image, this.nowMs());
  }

  private commit(records: readonly MetadataRecord[]): void {
    if (records.length === 0) return;
    this.image = applyRecords(this.image, records, this.image.offset + 1);
    this.publish(this.image);
  }
}
