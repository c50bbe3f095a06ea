// The metadata log's vocabulary. Every change to cluster metadata is one of
// these records; replaying them in order rebuilds the image. Records are
// versioned JSON so the log stays readable in `level` and over the wire, and
// new fields can be added without breaking old logs (unknown fields are kept
// out of the image, missing optional fields take defaults).

import type { AclBinding, ScramMechanism } from "@brook/security";
import {
  checkAclRecord,
  checkScramCredentialRecord,
  checkScramCredentialRemovalRecord,
} from "./users-acls.js";

export interface BrokerRegistrationRecord {
  readonly type: "broker-registration";
  readonly brokerId: number;
  readonly incarnationId: string;
  readonly host: string;
  readonly port: number;
  readonly rack?: string;
  /** Its Kafka listener as advertised; absent when it has none (and in records older than the listener). */
  readonly kafkaEndpoint?: Endpoint;
}

/** A host and port a client dials. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * Takes a broker out of service: it may lead nothing. The incarnation names
 * which registration is fenced, so a record meant for an old process can
 * never fence its successor (replay asserts they match).
 */
export interface BrokerFenceRecord {
  readonly type: "broker-fence";
  readonly brokerId: number;
  readonly incarnationId: string;
}

/** Returns a caught-up broker to service: it may be elected leader again. */
export interface BrokerUnfenceRecord {
  readonly type: "broker-unfence";
  readonly brokerId: number;
  readonly incarnationId: string;
}

/**
 * The broker's log dir failed (Kafka's offline log dir; Brook has one per
 * broker): it holds no replica it can serve. It fences the broker as
 * broker-fence does, and the broker stays fenced, whatever its heartbeats
 * say, until a new incarnation registers (a restart tries the disk again).
 */
export interface BrokerLogDirOfflineRecord {
  readonly type: "broker-log-dir-offline";
  readonly brokerId: number;
  readonly incarnationId: string;
}

export interface TopicRecord {
  readonly type: "topic";
  readonly name: string;
  readonly topicId: string;
}

/**
 * One partition of a topic with its replicas and first leader. A new topic's
 * come right after its topic record; CreatePartitions appends more to an
 * existing topic, numbered on from its current count.
 */
export interface PartitionRecord {
  readonly type: "partition";
  readonly topicId: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

/**
 * Changes one partition's leader, ISR or replicas; absent fields stay as they
 * are. Like Kafka's PartitionChangeRecord it carries no epochs: replay
 * derives them (leaderEpoch + 1 when the leader changes, partitionEpoch + 1
 * on every change). The epochs are then a function of the log alone, so a
 * record can never disagree with the image it lands on, and the rule lives in
 * one place (delta.ts) shared by controllers and brokers.
 */
export interface PartitionChangeRecord {
  readonly type: "partition-change";
  readonly topicId: string;
  readonly partition: number;
  /** Broker id of the new leader, or -1 to take the partition offline. */
  readonly leader?: number;
  readonly isr?: readonly number[];
  readonly replicas?: readonly number[];
}

export interface TopicConfigRecord {
  readonly type: "topic-config";
  readonly topicId: string;
  readonly key: string;
  /** `null` removes the override, so the default applies again. */
  readonly value: string | null;
}

export interface RemoveTopicRecord {
  readonly type: "remove-topic";
  readonly topicId: string;
}

/**
 * A block of producer ids handed to a broker for its InitProducerId answers
 * (Kafka's ProducerIdsRecord, KIP-730): the block is every id from the
 * image's nextProducerId up to, not including, this record's. Committing
 * the record before the broker hears of the block is what keeps any two
 * blocks apart, whichever controller is active. `brokerId` says who got it
 * (-1 in a snapshot, as in Kafka); nothing is decided by it.
 */
export interface ProducerIdsRecord {
  readonly type: "producer-ids";
  readonly brokerId: number;
  /** The first id of the next block; only ever grows. */
  readonly nextProducerId: number;
}

/**
 * A user's SCRAM credential for one mechanism (Kafka's UserScramCredentialRecord): created, or
 * replaced when the user has one for the mechanism already. It holds what a server needs to check a
 * SCRAM proof (RFC 5802), never the password: the salt and the two keys, in base64.
 */
export interface UserScramCredentialRecord {
  readonly type: "user-scram-credential";
  readonly name: string;
  readonly mechanism: ScramMechanism;
  readonly iterations: number;
  readonly salt: string;
  readonly storedKey: string;
  readonly serverKey: string;
}

/** Removes a user's credential for one mechanism; a user without credentials is gone. */
export interface UserScramCredentialRemovalRecord {
  readonly type: "user-scram-credential-removal";
  readonly name: string;
  readonly mechanism: ScramMechanism;
}

/** An ACL binding (Kafka's AccessControlEntryRecord), its fields as @brook/security names them. */
export interface AclRecord extends AclBinding {
  readonly type: "acl";
}

/** Removes the ACL binding equal to this one (hosts compared as addresses). */
export interface AclRemovalRecord extends AclBinding {
  readonly type: "acl-removal";
}

export type MetadataRecord =
  | BrokerRegistrationRecord
  | BrokerFenceRecord
  | BrokerUnfenceRecord
  | BrokerLogDirOfflineRecord
  | TopicRecord
  | PartitionRecord
  | PartitionChangeRecord
  | TopicConfigRecord
  | RemoveTopicRecord
  | ProducerIdsRecord
  | UserScramCredentialRecord
  | UserScramCredentialRemovalRecord
  | AclRecord
  | AclRemovalRecord;

export function encodeMetadataRecord(record: MetadataRecord): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, ...record }));
}

export function decodeMetadataRecord(bytes: Uint8Array): MetadataRecord {
  const parsed = JSON.parse(Buffer.from(bytes).toString("utf8")) as { v?: number } & MetadataRecord;
  if (parsed.v !== 1) throw new Error(`unsupported metadata record version ${String(parsed.v)}`);
  const { v: _version, ...record } = parsed;
  checkRecord(record as MetadataRecord);
  return record as MetadataRecord;
}

/**
 * Users' and ACL records are checked field by field: a bad one could lock users out or let them in. A
 * type this version does not know (a newer node's record, or damage) is refused, never skipped: the image
 * would silently go without it.
 */
function checkRecord(record: MetadataRecord): void {
  switch (record.type) {
    case "user-scram-credential":
      checkScramCredentialRecord(record);
      return;
    case "user-scram-credential-removal":
      checkScramCredentialRemovalRecord(record);
      return;
    case "acl":
    case "acl-removal":
      checkAclRecord(record);
      return;
    case "broker-registration":
    case "broker-fence":
    case "broker-unfence":
    case "broker-log-dir-offline":
    case "topic":
    case "partition":
    case "partition-change":
    case "topic-config":
    case "remove-topic":
    case "producer-ids":
      return;
    default: {
      const unknown: never = record;
      throw new Error(`unknown metadata record type ${JSON.stringify((unknown as { type?: unknown }).type)}`);
    }
  }
}
