// An image written out as records, for snapshots of the metadata log: as in
// Kafka's KRaft, a snapshot is the set of records that rebuilds the image on
// the empty one, so it is read with the same replay code as the log and
// grows with the cluster, not with its history.

import { applyRecords } from "./delta.js";
import { type BrokerImage, MetadataImage, type TopicImage } from "./image.js";
import type { MetadataRecord } from "./records.js";
import { scramCredentialRecord } from "./users-acls.js";

/**
 * Records that, applied to MetadataImage.empty, give an image equal to
 * `image` in everything but its offset (see imageFromSnapshot). Brokers come
 * by id, topics by id, each topic's partitions in order, then the producer id
 * block, users' credentials by user and mechanism, and the ACL bindings in the
 * table's order: the same image always gives the same records.
 */
export function imageToRecords(image: MetadataImage): MetadataRecord[] {
  const brokers = [...image.brokers.values()].sort((a, b) => a.brokerId - b.brokerId);
  const topics = [...image.topicsById.values()].sort((a, b) => compare(a.topicId, b.topicId));
  return [
    ...brokers.flatMap(brokerRecords),
    ...topics.flatMap(topicRecords),
    ...producerIdRecords(image),
    ...userRecords(image),
    ...aclRecords(image),
  ];
}

function userRecords(image: MetadataImage): MetadataRecord[] {
  return [...image.users]
    .sort(([a], [b]) => compare(a, b))
    .flatMap(([name, credentials]) =>
      [...credentials.values()]
        .sort((a, b) => compare(a.mechanism, b.mechanism))
        .map((credential) => scramCredentialRecord(name, credential)),
    );
}

/** In the table's order (the order they were added), which a table rebuilt from them keeps. */
function aclRecords(image: MetadataImage): MetadataRecord[] {
  return [...image.acls].map((binding): MetadataRecord => ({ type: "acl", ...binding }));
}

/**
 * The image a snapshot's records rebuild, as of `offset`: the last metadata
 * offset the snapshot covers, which is not the records' count (the history
 * behind an image is usually longer than the image).
 */
export function imageFromSnapshot(records: readonly MetadataRecord[], offset: number): MetadataImage {
  return applyRecords(MetadataImage.empty, records, 0).withOffset(offset);
}

/** Only where the next block starts matters; who got the last one is gone (brokerId -1, as in Kafka). */
function producerIdRecords(image: MetadataImage): MetadataRecord[] {
  if (image.nextProducerId === 0) return [];
  return [{ type: "producer-ids", brokerId: -1, nextProducerId: image.nextProducerId }];
}

/** A registration starts fenced (see BrokerImage): an unfenced broker needs its unfence too. */
function brokerRecords(broker: BrokerImage): MetadataRecord[] {
  const { fenced, logDirOffline, ...registration } = broker;
  const records: MetadataRecord[] = [{ type: "broker-registration", ...registration }];
  const { brokerId, incarnationId } = broker;
  if (logDirOffline) records.push({ type: "broker-log-dir-offline", brokerId, incarnationId });
  else if (!fenced) records.push({ type: "broker-unfence", brokerId, incarnationId });
  return records;
}

/** Partition records carry their epochs, so a snapshot keeps them as they are. */
function topicRecords(topic: TopicImage): MetadataRecord[] {
  const { topicId } = topic;
  return [
    { type: "topic", name: topic.name, topicId },
    ...topic.partitions.map((partition): MetadataRecord => ({ type: "partition", topicId, ...partition })),
    ...[...topic.configs]
      .sort(([a], [b]) => compare(a, b))
      .map(([key, value]): MetadataRecord => ({ type: "topic-config", topicId, key, value })),
  ];
}

/** Code-unit order: the same on every node, whatever its locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
