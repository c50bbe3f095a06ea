// MetadataDelta collects records on top of a base image and builds the next
// image (Kafka's replay/apply pattern). Only touched topics are copied; the
// rest are shared with the base. Replaying is deterministic: the same records
// on the same image always give the same result, on controllers and brokers.

import { assert, unreachable } from "@brook/protocol";
import type { AclTable, ScramCredential, ScramMechanism } from "@brook/security";
import {
  type BrokerImage,
  copyAclTable,
  MetadataImage,
  type PartitionImage,
  type TopicImage,
  type UserCredentials,
} from "./image.js";
import type {
  AclRecord,
  AclRemovalRecord,
  BrokerFenceRecord,
  BrokerLogDirOfflineRecord,
  BrokerUnfenceRecord,
  MetadataRecord,
  PartitionChangeRecord,
  PartitionRecord,
  UserScramCredentialRecord,
  UserScramCredentialRemovalRecord,
} from "./records.js";
import { aclBindingOf, scramCredentialOf } from "./users-acls.js";

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
  /** Copied from the base on the first user record; each user's credentials on the first record about it. */
  private users: Map<string, UserCredentials> | undefined;
  private readonly copiedUsers = new Set<string>();
  /** Copied from the base on the first ACL record. */
  private acls: AclTable | undefined;

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
      case "broker-log-dir-offline":
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
      case "user-scram-credential":
      case "user-scram-credential-removal":
        this.replayScramCredential(record);
        return;
      case "acl":
      case "acl-removal":
        this.replayAcl(record);
        return;
      default:
        // A record type with no case here would be dropped from the image, not applied: a bug.
        unreachable(record, "metadata record type");
    }
  }

  apply(): MetadataImage {
    const brokers =
      this.brokers.size === 0 ? this.base.brokers : new Map([...this.base.brokers, ...this.brokers]);
    const users = this.users ?? this.base.users;
    const acls = this.acls ?? this.base.acls;
    if (this.changedTopics.size === 0 && this.removedTopics.size === 0) {
      return new MetadataImage(
        this.offset,
        brokers,
        this.base.topicsById,
        this.base.topicIdsByName,
        this.nextProducerId,
        users,
        acls,
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
    return new MetadataImage(
      this.offset,
      brokers,
      topicsById,
      topicIdsByName,
      this.nextProducerId,
      users,
      acls,
    );
  }

  /** An upsert per user and mechanism; a removal must find the credential, and drops a user left with none. */
  private replayScramCredential(record: UserScramCredentialRecord | UserScramCredentialRemovalRecord): void {
    this.users ??= new Map(this.base.users);
    const users = this.users;
    let credentials = users.get(record.name) as Map<ScramMechanism, ScramCredential> | undefined;
    if (!this.copiedUsers.has(record.name)) {
      credentials = new Map(credentials ?? []);
      this.copiedUsers.add(record.name);
      users.set(record.name, credentials);
    }
    assert(credentials, "a touched user has its own credentials map");
    if (record.type === "user-scram-credential") {
      credentials.set(record.mechanism, scramCredentialOf(record));
      return;
    }
    assert(
      credentials.delete(record.mechanism),
      `${record.type} for user ${record.name}, who has no ${record.mechanism} credential`,
    );
    if (credentials.size === 0) users.delete(record.name);
  }

  /** A binding is added once (the controller writes none that exists) and removed only if it exists. */
  private replayAcl(record: AclRecord | AclRemovalRecord): void {
    this.acls ??= copyAclTable(this.base.acls);
    const binding = aclBindingOf(record);
    if (record.type === "acl") {
      assert(this.acls.add(binding), `acl record for a binding that exists: ${JSON.stringify(binding)}`);
    } else {
      assert(
        this.acls.remove(binding),
        `acl-removal of a binding that does not exist: ${JSON.stringify(binding)}`,
      );
    }
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

  private replayFencing(record: BrokerFenceRecord | BrokerUnfenceRecord | BrokerLogDirOfflineRecord): void {
    const broker = this.brokers.get(record.brokerId) ?? this.base.brokers.get(record.brokerId);
    assert(broker, `${record.type} for unregistered broker ${record.brokerId}`);
    assert(
      broker.incarnationId === record.incarnationId,
      `${record.type} for incarnation ${record.incarnationId} of broker ${record.brokerId}, registered as ${broker.incarnationId}`,
    );
    if (record.type === "broker-log-dir-offline") {
      this.brokers.set(record.brokerId, { ...broker, fenced: true, logDirOffline: true });
      return;
    }
    assert(
      record.type === "broker-fence" || !broker.logDirOffline,
      `broker-unfence for broker ${record.brokerId}, whose log dir is offline`,
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
