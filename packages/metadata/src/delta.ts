// MetadataDelta collects records on top of a base image and builds the next
// image (Kafka's replay/apply pattern). Only touched topics are copied; the
// rest are shared with the base. Replaying is deterministic: the same records
// on the same image always give the same result, on controllers and brokers.

import { assert } from "@brook/protocol";
import { type BrokerImage, MetadataImage, type PartitionImage, type TopicImage } from "./image.js";
import type {
  BrokerFenceRecord,
  BrokerUnfenceRecord,
  MetadataRecord,
  PartitionChangeRecord,
  PartitionRecord,
} from "./records.js";

interface MutableTopic {
  name: string;
  topicId: string;
  partitions: PartitionImage[];
  configs: Map<string, string>;
}

export class MetadataDelta {
  private readonly brokers = new Map<number, BrokerImage>();
  private readonly changedTopics = new Map<string, MutableTopic>();
  private readonly removedTopics = new Set<string>();
  private offset: number;
  private nextProducerId: number;

  constructor(private readonly base: MetadataImage) {
    this.offset = base.offset;
    this.nextProducerId = base.nextProducerId;
  }

  replay(record: MetadataRecord, offset: number): void {
    assert(offset > this.offset, `metadata offsets must increase (${offset} after ${this.offset})`);
    this.offset = offset;
    switch (record.type) {
      case "broker-registration": {
        const { type: _, ...broker } = record;
        this.brokers.set(record.brokerId, { ...broker, fenced: true });
        return;
      }
      case "broker-fence":
      case "broker-unfence":
        this.replayFencing(record);
        return;
      case "topic":
        this.removedTopics.delete(record.topicId);
        this.changedTopics.set(record.topicId, {
          name: record.name,
          topicId: record.topicId,
          partitions: [],
          configs: new Map(),
        });
        return;
      case "partition":
        this.replayPartition(record);
        return;
      case "partition-change":
        this.replayPartitionChange(record);
        return;
      case "topic-config": {
        const topic = this.mutableTopic(record.topicId);
        if (record.value === null) topic.configs.delete(record.key);
        else topic.configs.set(record.key, record.value);
        return;
      }
      case "remove-topic":
        this.changedTopics.delete(record.topicId);
        this.removedTopics.add(record.topicId);
        return;
      case "producer-ids":
        // A block that went backwards would hand out ids twice.
        assert(
          record.nextProducerId > this.nextProducerId,
          `producer id blocks only move forward (${record.nextProducerId} after ${this.nextProducerId})`,
        );
        this.nextProducerId = record.nextProducerId;
        return;
    }
  }

  apply(): MetadataImage {
    const brokers =
      this.brokers.size === 0 ? this.base.brokers : new Map([...this.base.brokers, ...this.brokers]);
    if (this.changedTopics.size === 0 && this.removedTopics.size === 0) {
      return new MetadataImage(
        this.offset,
        brokers,
        this.base.topicsById,
        this.base.topicIdsByName,
        this.nextProducerId,
      );
    }
    const topicsById = new Map<string, TopicImage>(this.base.topicsById);
    const topicIdsByName = new Map<string, string>(this.base.topicIdsByName);
    for (const topicId of this.removedTopics) {
      const removed = topicsById.get(topicId);
      if (removed) topicIdsByName.delete(removed.name);
      topicsById.delete(topicId);
    }
    for (const topic of this.changedTopics.values()) {
      topicsById.set(topic.topicId, topic);
      topicIdsByName.set(topic.name, topic.topicId);
    }
    return new MetadataImage(this.offset, brokers, topicsById, topicIdsByName, this.nextProducerId);
  }

  private replayPartition(record: PartitionRecord): void {
    const topic = this.mutableTopic(record.topicId);
    assert(record.partition <= topic.partitions.length, "partitions are added in order");
    topic.partitions[record.partition] = {
      partition: record.partition,
      replicas: record.replicas,
      isr: record.isr,
      leader: record.leader,
      leaderEpoch: record.leaderEpoch,
      partitionEpoch: record.partitionEpoch,
    };
  }

  private replayFencing(record: BrokerFenceRecord | BrokerUnfenceRecord): void {
    const broker = this.brokers.get(record.brokerId) ?? this.base.brokers.get(record.brokerId);
    assert(broker, `${record.type} for unregistered broker ${record.brokerId}`);
    assert(
      broker.incarnationId === record.incarnationId,
      `${record.type} for incarnation ${record.incarnationId} of broker ${record.brokerId}, registered as ${broker.incarnationId}`,
    );
    this.brokers.set(record.brokerId, { ...broker, fenced: record.type === "broker-fence" });
  }

  /** Epochs are derived here, never carried: see PartitionChangeRecord. */
  private replayPartitionChange(record: PartitionChangeRecord): void {
    const topic = this.mutableTopic(record.topicId);
    const current = topic.partitions[record.partition];
    assert(current, `partition-change for unknown partition ${record.topicId}/${record.partition}`);
    const leader = record.leader ?? current.leader;
    topic.partitions[record.partition] = {
      partition: record.partition,
      replicas: record.replicas ?? current.replicas,
      isr: record.isr ?? current.isr,
      leader,
      leaderEpoch: leader === current.leader ? current.leaderEpoch : current.leaderEpoch + 1,
      partitionEpoch: current.partitionEpoch + 1,
    };
  }

  /** The topic as changed so far in this delta, copied from the base on first touch. */
  private mutableTopic(topicId: string): MutableTopic {
    let topic = this.changedTopics.get(topicId);
    if (topic) return topic;
    const base = this.removedTopics.has(topicId) ? undefined : this.base.topicsById.get(topicId);
    assert(base, `record for unknown topic id ${topicId}`);
    topic = {
      name: base.name,
      topicId: base.topicId,
      partitions: [...base.partitions],
      configs: new Map(base.configs),
    };
    this.changedTopics.set(topicId, topic);
    return topic;
  }
}

/** Applies records numbered from `firstOffset` to an image. */
export function applyRecords(
  image: MetadataImage,
  records: readonly MetadataRecord[],
  firstOffset: number,
): MetadataImage {
  if (records.length === 0) return image;
  const delta = new MetadataDelta(image);
  records.forEach((record, i) => {
    delta.replay(record, firstOffset + i);
  });
  return delta.apply();
}
