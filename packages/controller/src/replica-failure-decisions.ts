// A broker giving up replicas it can no longer serve, as pure functions of
// the image: its whole log dir (Kafka's offline log dir, KIP-858; a Brook
// broker has one), or single replicas whose copy holds a corrupt batch. Each
// returns the records to append; an outdated or repeated report gives none.

import {
  type BrokerImage,
  eligibleIn,
  type MetadataImage,
  type MetadataRecord,
  type PartitionChangeRecord,
  planFencing,
  withoutBroker,
} from "@brook/metadata";

/** A replica a broker resigns, at the partition epoch it saw when it did. */
export interface ReplicaResignation {
  readonly topic: string;
  readonly partition: number;
  readonly partitionEpoch: number;
}

/**
 * The broker's log dir failed: it is fenced as a broker that left would be
 * (each leadership moves to another in-sync replica; as the last ISR member
 * it stays in the ISR and the partition goes offline rather than lose what
 * only it may hold), and the record keeps it fenced until a new incarnation
 * registers. A broker already marked changes nothing; one already fenced
 * has nothing left to move.
 */
export function planLogDirOffline(image: MetadataImage, broker: BrokerImage): MetadataRecord[] {
  if (broker.logDirOffline) return [];
  const record: MetadataRecord = {
    type: "broker-log-dir-offline",
    brokerId: broker.brokerId,
    incarnationId: broker.incarnationId,
  };
  if (broker.fenced) return [record];
  const [, ...partitionChanges] = planFencing(image, [broker]);
  return [record, ...partitionChanges];
}

/**
 * Replicas `brokerId` gives up for now (their copy is corrupt; it truncates
 * and refetches, and rejoins the ISR the usual way). Each leaves its ISR and,
 * if it led, leadership goes to another eligible ISR member. A resignation
 * changes nothing when the partition moved on since (another partition
 * epoch), when the broker is out of the ISR already, or when no other
 * eligible in-sync replica could take its place: the last in-sync copy
 * keeps serving what it can verify rather than leave the partition to nobody.
 */
export function planReplicaResignations(
  image: MetadataImage,
  brokerId: number,
  resignations: readonly ReplicaResignation[],
): PartitionChangeRecord[] {
  const registered = eligibleIn(image);
  const eligible = (id: number) => id !== brokerId && registered(id);
  const records = new Map<string, PartitionChangeRecord>();
  for (const { topic: name, partition, partitionEpoch } of resignations) {
    const topic = image.topic(name);
    const current = topic?.partitions[partition];
    if (!topic || !current || current.partitionEpoch !== partitionEpoch) continue;
    const others = current.isr.filter((id) => id !== brokerId);
    if (!current.isr.includes(brokerId) || !others.some(eligible)) continue;
    const next = withoutBroker(current.replicas, current, brokerId, eligible, false);
    records.set(`${topic.topicId}/${partition}`, {
      type: "partition-change",
      topicId: topic.topicId,
      partition,
      ...(next.leader !== current.leader ? { leader: next.leader } : {}),
      isr: next.isr,
    });
  }
  return [...records.values()];
}
