// The controller as the replication simulator needs it: one always-available
// active controller (the quorum behind it is the Raft simulator's business)
// that owns the metadata image and changes it with the real records and the
// real replay (@brook/metadata applyRecords derives the epochs). The broker
// package may not import @brook/controller, so its decision rules are
// restated here, small and unclean-election-free, from
// packages/controller/src/partition-decisions.ts and broker-decisions.ts:
// - electLeader: the first replica in the ISR that is eligible, else offline
//   (-1) keeping the ISR;
// - withoutBroker: a fenced broker leaves the ISR unless it is the last
//   member, and a new leader is elected if it led;
// - restoreLeader: an offline partition comes back with an eligible ISR
//   member; the preferred (first) replica retakes leadership when eligible
//   and in the ISR;
// - planAlterPartition: only the current leader at the current leader epoch
//   and partition epoch may change the ISR; additions must be eligible;
// - registration: a new incarnation replaces a fenced or expired one
//   (fencing it first) and starts fenced; heartbeats of a caught-up broker
//   unfence it; a session not renewed for sessionTimeoutMs is fenced.
// The controller may stall (its quorum is slow, or fails over): writes then
// commit only when it resumes, possibly after the asking broker gave up.

import { applyRecords, MetadataImage, type MetadataRecord, type PartitionImage } from "@brook/metadata";
import { BrookError } from "@brook/protocol";

export interface AlterPartitionRequest {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly newIsr: readonly number[];
}

type Eligibility = (brokerId: number) => boolean;

interface PartitionState {
  readonly leader: number;
  readonly isr: readonly number[];
}

const noLeader = -1;

export function electLeader(replicas: readonly number[], isr: readonly number[], eligible: Eligibility) {
  const leader = replicas.find((id) => isr.includes(id) && eligible(id));
  return { leader: leader ?? noLeader, isr };
}

export function withoutBroker(
  replicas: readonly number[],
  state: PartitionState,
  brokerId: number,
  eligible: Eligibility,
): PartitionState {
  const isr =
    state.isr.includes(brokerId) && state.isr.length > 1
      ? state.isr.filter((id) => id !== brokerId)
      : state.isr;
  if (state.leader !== brokerId) return { leader: state.leader, isr };
  return electLeader(replicas, isr, eligible);
}

export function restoreLeader(partition: PartitionImage, eligible: Eligibility): PartitionState {
  if (partition.leader === noLeader) return electLeader(partition.replicas, partition.isr, eligible);
  const preferred = partition.replicas[0];
  const movable = partition.isr.includes(preferred) && eligible(preferred);
  return { leader: movable ? preferred : partition.leader, isr: partition.isr };
}

export class SimController {
  image: MetadataImage;
  /** Until then nothing commits (a slow quorum, a controller failover): writes wait, heartbeats fail. */
  stalledUntilMs = 0;
  private readonly lastHeartbeatMs = new Map<number, number>();
  private readonly registrationOffset = new Map<number, number>();
  private preferredCheckedOffset = -1;

  constructor(
    initial: readonly MetadataRecord[],
    private readonly topicId: string,
    private readonly sessionTimeoutMs: number,
    private readonly nowMs: () => number,
    /** Called with every new image; the simulator ships it to the brokers. */
    private readonly publish: (image: MetadataImage) => void,
  ) {
    this.image = applyRecords(MetadataImage.empty, initial, 0);
    for (const broker of this.image.brokers.values()) {
      this.lastHeartbeatMs.set(broker.brokerId, nowMs());
      this.registrationOffset.set(broker.brokerId, 0);
    }
  }

  get partition(): PartitionImage {
    return this.image.topicsById.get(this.topicId)!.partitions[0];
  }

  /** A new incarnation of a broker asks to register; throws DUPLICATE_BROKER_REGISTRATION while its predecessor lives. */
  register(brokerId: number, incarnationId: string): void {
    const known = this.image.brokers.get(brokerId);
    if (known?.incarnationId === incarnationId) {
      this.lastHeartbeatMs.set(brokerId, this.nowMs());
      return;
    }
    const record: MetadataRecord = {
      type: "broker-registration",
      brokerId,
      incarnationId,
      host: "sim",
      port: brokerId,
    };
    if (known && !known.fenced) {
      if (this.sessionAlive(brokerId)) {
        throw new BrookError(
          "DUPLICATE_BROKER_REGISTRATION",
          `broker ${brokerId} is held by incarnation ${known.incarnationId}, whose session is alive`,
        );
      }
      this.commit([...this.fencing([brokerId]), record]);
    } else {
      this.commit([record]);
    }
    this.registrationOffset.set(brokerId, this.image.offset);
    this.lastHeartbeatMs.set(brokerId, this.nowMs());
  }

  /** Renews a session; a fenced broker that has applied its own registration is unfenced. */
  heartbeat(brokerId: number, incarnationId: string, metadataOffset: number): void {
    const broker = this.image.brokers.get(brokerId);
    if (broker?.incarnationId !== incarnationId) return; // STALE_BROKER_INCARNATION: a dead process's heartbeat
    this.lastHeartbeatMs.set(brokerId, this.nowMs());
    if (!broker.fenced || metadataOffset < (this.registrationOffset.get(brokerId) ?? 0)) return;
    const eligible = (id: number) => id === brokerId || this.eligible(id);
    const next = restoreLeader(this.partition, eligible);
    this.commit([
      { type: "broker-unfence", brokerId, incarnationId },
      ...this.partitionChange(next.leader === brokerId ? next : this.partition),
    ]);
  }

  alterPartition(request: AlterPartitionRequest): PartitionImage {
    const current = this.partition;
    if (request.leaderEpoch !== current.leaderEpoch) {
      throw new BrookError(
        "FENCED_LEADER_EPOCH",
        `leader epoch is ${current.leaderEpoch}, the request has ${request.leaderEpoch}`,
      );
    }
    if (request.leaderId !== current.leader) {
      throw new BrookError(
        "NOT_LEADER",
        `broker ${request.leaderId} is not the leader (${current.leader} is)`,
      );
    }
    if (request.partitionEpoch !== current.partitionEpoch) {
      throw new BrookError(
        "INVALID_PARTITION_EPOCH",
        `partition epoch is ${current.partitionEpoch}, the request has ${request.partitionEpoch}`,
      );
    }
    const isr = request.newIsr;
    if (
      new Set(isr).size !== isr.length ||
      isr.some((id) => !current.replicas.includes(id)) ||
      !isr.includes(current.leader)
    ) {
      throw new BrookError("INVALID_REQUEST", `bad ISR [${isr.join(",")}]`);
    }
    if (isr.some((id) => !current.isr.includes(id) && !this.eligible(id))) {
      throw new BrookError("INELIGIBLE_REPLICA", `cannot add a fenced broker to the ISR [${isr.join(",")}]`);
    }
    this.commit(this.partitionChange({ leader: current.leader, isr }));
    return this.partition;
  }

  /** The periodic duties: fence expired sessions, then move leadership back to the preferred replica. */
  tick(): void {
    const expired = [...this.image.brokers.values()]
      .filter((broker) => !broker.fenced && !this.sessionAlive(broker.brokerId))
      .map((broker) => broker.brokerId)
      .sort((a, b) => a - b);
    if (expired.length > 0) this.commit(this.fencing(expired));
    if (this.image.offset === this.preferredCheckedOffset) return;
    this.commit(this.partitionChange(restoreLeader(this.partition, (id) => this.eligible(id))));
    this.preferredCheckedOffset = this.image.offset;
  }

  get stalled(): boolean {
    return this.nowMs() < this.stalledUntilMs;
  }

  /** A controller becoming active seeds every session afresh, so a failover does not fence every broker at once. */
  resume(): void {
    for (const brokerId of this.lastHeartbeatMs.keys()) this.lastHeartbeatMs.set(brokerId, this.nowMs());
  }

  eligible(brokerId: number): boolean {
    return this.image.brokers.get(brokerId)?.fenced === false;
  }

  private sessionAlive(brokerId: number): boolean {
    const last = this.lastHeartbeatMs.get(brokerId);
    return last !== undefined && this.nowMs() - last <= this.sessionTimeoutMs;
  }

  /** Fence records, then the partition change they cause; none of the leaving brokers may take over. */
  private fencing(brokerIds: readonly number[]): MetadataRecord[] {
    const eligible = (id: number) => this.eligible(id) && !brokerIds.includes(id);
    const replicas = this.partition.replicas;
    const next = brokerIds.reduce(
      (state, id) => withoutBroker(replicas, state, id, eligible),
      this.partition as PartitionState,
    );
    return [
      ...brokerIds.map(
        (brokerId): MetadataRecord => ({
          type: "broker-fence",
          brokerId,
          incarnationId: this.image.brokers.get(brokerId)!.incarnationId,
        }),
      ),
      ...this.partitionChange(next),
    ];
  }

  private partitionChange(next: PartitionState): MetadataRecord[] {
    const current = this.partition;
    const leaderChanged = next.leader !== current.leader;
    const isrChanged =
      next.isr.length !== current.isr.length || next.isr.some((id, i) => id !== current.isr[i]);
    if (!leaderChanged && !isrChanged) return [];
    return [
      {
        type: "partition-change",
        topicId: this.topicId,
        partition: 0,
        ...(leaderChanged ? { leader: next.leader } : {}),
        ...(isrChanged ? { isr: next.isr } : {}),
      },
    ];
  }

  private commit(records: readonly MetadataRecord[]): void {
    if (records.length === 0) return;
    this.image = applyRecords(this.image, records, this.image.offset + 1);
    this.publish(this.image);
  }
}
