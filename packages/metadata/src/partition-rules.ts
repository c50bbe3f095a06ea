// Leader election and ISR changes as pure functions of the image: each
// returns the partition-change records to append, or throws the typed error
// to answer. Epochs are not computed here; replay derives them. The active
// controller decides with them; the replication simulator runs the same
// functions, which is why they live here and not in @brook/controller (a
// broker may not depend on the controller).

import { BrookError } from "@brook/protocol";
import { type MetadataImage, type PartitionImage, sameIds, type TopicImage } from "./image.js";
import type { MetadataRecord, PartitionChangeRecord } from "./records.js";
import { resolveTopicConfig } from "./topic-config.js";

/** The leader of a partition with no eligible replica: it is offline. */
export const noLeader = -1;

/** Whether a broker may lead, or join an ISR: asked per broker id. */
export type Eligibility = (brokerId: number) => boolean;

/** Registered and not fenced, in this image. */
export function eligibleIn(image: MetadataImage): Eligibility {
  return (brokerId) => image.brokers.get(brokerId)?.fenced === false;
}

export interface PartitionState {
  readonly leader: number;
  readonly isr: readonly number[];
}

/**
 * A leader from the ISR, preferring replica order; with unclean election any
 * eligible replica, which then becomes the whole ISR (what it has is all
 * there is); otherwise the partition goes offline and keeps its ISR.
 */
export function electLeader(
  replicas: readonly number[],
  isr: readonly number[],
  eligible: Eligibility,
  unclean: boolean,
): PartitionState {
  const clean = replicas.find((id) => isr.includes(id) && eligible(id));
  if (clean !== undefined) return { leader: clean, isr };
  const any = unclean ? replicas.find(eligible) : undefined;
  if (any !== undefined) return { leader: any, isr: [any] };
  return { leader: noLeader, isr };
}

/**
 * The partition once `brokerId` leaves service: it leaves the ISR, and a new
 * leader is elected if it led. Without Kafka's eligible leader replicas (ELR)
 * the last ISR member stays in the ISR even when fenced: it is the only
 * replica known to hold every committed record, so keeping it lets the
 * partition come back cleanly when that broker returns, where an empty ISR
 * would leave only unclean election.
 */
export function withoutBroker(
  replicas: readonly number[],
  state: PartitionState,
  brokerId: number,
  eligible: Eligibility,
  unclean: boolean,
): PartitionState {
  const isr =
    state.isr.includes(brokerId) && state.isr.length > 1
      ? state.isr.filter((id) => id !== brokerId)
      : state.isr;
  if (state.leader !== brokerId) return { leader: state.leader, isr };
  return electLeader(replicas, isr, eligible, unclean);
}

/**
 * Brings an offline partition back when a replica became eligible, and moves
 * leadership to the preferred (first) replica when it is eligible and in the
 * ISR.
 */
export function restoreLeader(
  partition: PartitionImage,
  eligible: Eligibility,
  unclean: boolean,
): PartitionState {
  if (partition.leader === noLeader) {
    return electLeader(partition.replicas, partition.isr, eligible, unclean);
  }
  const preferred = partition.replicas[0];
  const movable = preferred !== undefined && partition.isr.includes(preferred) && eligible(preferred);
  return { leader: movable ? preferred : partition.leader, isr: partition.isr };
}

export function uncleanElectionEnabled(topic: TopicImage): boolean {
  return resolveTopicConfig(topic.configs).uncleanLeaderElection;
}

/** One partition-change per partition that `decide` changes, in topic-name then partition order. */
export function planPartitionChanges(
  image: MetadataImage,
  decide: (partition: PartitionImage, topic: TopicImage) => PartitionState,
): PartitionChangeRecord[] {
  const records: PartitionChangeRecord[] = [];
  for (const topic of image.topics()) {
    for (const partition of topic.partitions) {
      const next = decide(partition, topic);
      const leaderChanged = next.leader !== partition.leader;
      const isrChanged = !sameIds(next.isr, partition.isr);
      if (!leaderChanged && !isrChanged) continue;
      records.push({
        type: "partition-change",
        topicId: topic.topicId,
        partition: partition.partition,
        ...(leaderChanged ? { leader: next.leader } : {}),
        ...(isrChanged ? { isr: next.isr } : {}),
      });
    }
  }
  return records;
}

/** Moves leadership back to each partition's first replica where it is alive and in the ISR. */
export function planPreferredLeaderElection(image: MetadataImage): PartitionChangeRecord[] {
  const eligible = eligibleIn(image);
  return planPartitionChanges(image, (partition, topic) =>
    restoreLeader(partition, eligible, uncleanElectionEnabled(topic)),
  );
}

export interface AlterPartitionRequest {
  readonly topic: string;
  readonly partition: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly newIsr: readonly number[];
}

/**
 * A leader's request to shrink or expand its ISR. Only the current leader, at
 * the current leader epoch and partition epoch, may change it, so a stale
 * leader (or one that decided on old metadata) is refused. An unchanged ISR
 * gives no records: the caller answers with the current partition.
 */
export function planAlterPartition(image: MetadataImage, request: AlterPartitionRequest): MetadataRecord[] {
  const topic = image.topic(request.topic);
  if (!topic) throw new BrookError("UNKNOWN_TOPIC", `topic '${request.topic}' does not exist`);
  const current = topic.partitions[request.partition];
  const name = `${request.topic}-${request.partition}`;
  if (!current) throw new BrookError("UNKNOWN_PARTITION", `partition ${name} does not exist`);
  if (request.leaderEpoch !== current.leaderEpoch) {
    throw new BrookError(
      "FENCED_LEADER_EPOCH",
      `${name} is at leader epoch ${current.leaderEpoch} (leader ${current.leader}); the request has epoch ${request.leaderEpoch}`,
    );
  }
  if (request.leaderId !== current.leader) {
    throw new BrookError(
      "NOT_LEADER",
      `broker ${request.leaderId} is not the leader of ${name}; the leader is ${current.leader}`,
    );
  }
  if (request.partitionEpoch !== current.partitionEpoch) {
    throw new BrookError(
      "INVALID_PARTITION_EPOCH",
      `${name} is at partition epoch ${current.partitionEpoch}; the request has epoch ${request.partitionEpoch}`,
    );
  }
  validateIsr(name, current, request.newIsr);
  const eligible = eligibleIn(image);
  const ineligible = request.newIsr.filter((id) => !current.isr.includes(id) && !eligible(id));
  if (ineligible.length > 0) {
    throw new BrookError(
      "INELIGIBLE_REPLICA",
      `cannot add broker(s) ${ineligible.join(", ")} to the ISR of ${name}: fenced or not registered`,
    );
  }
  if (sameIds(request.newIsr, current.isr)) return [];
  return [
    { type: "partition-change", topicId: topic.topicId, partition: current.partition, isr: request.newIsr },
  ];
}

function validateIsr(name: string, current: PartitionImage, isr: readonly number[]): void {
  const problem =
    new Set(isr).size !== isr.length
      ? "lists a broker twice"
      : isr.some((id) => !current.replicas.includes(id))
        ? `is not a subset of the replicas [${current.replicas.join(", ")}]`
        : !isr.includes(current.leader)
          ? `does not contain the leader ${current.leader}`
          : undefined;
  if (problem) {
    throw new BrookError("INVALID_REQUEST", `the new ISR [${isr.join(", ")}] of ${name} ${problem}`);
  }
}
