// The immutable metadata image: what the cluster looks like after applying
// every record up to `offset`. Readers hold an image without locks; a change
// produces a new image that shares every unchanged topic with the old one.

import { AclTable, type ScramCredential, type ScramMechanism } from "@brook/security";
import type { Endpoint } from "./records.js";

export interface BrokerImage {
  readonly brokerId: number;
  /** Which process registered: a restart registers a new incarnation under the same id. */
  readonly incarnationId: string;
  readonly host: string;
  readonly port: number;
  readonly rack?: string;
  /**
   * Where Kafka clients reach it: its Kafka listener's advertised host and
   * port (Kafka's advertised.listeners). Absent when it runs none, and for
   * registrations written before Brook had the listener.
   */
  readonly kafkaEndpoint?: Endpoint;
  /**
   * A fenced broker leads nothing and is not elected. Every registration
   * starts fenced, as in Kafka: a new process has not yet caught up with the
   * metadata log, so it must not lead until the controller unfences it.
   */
  readonly fenced: boolean;
  /**
   * Its log dir failed (broker-log-dir-offline): fenced, and kept fenced
   * until a new incarnation registers. Absent: the dir is online.
   */
  readonly logDirOffline?: boolean;
}

export interface PartitionImage {
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** Broker id of the leader, or -1 when the partition is offline. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

export interface TopicImage {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: readonly PartitionImage[];
  /** Only the keys set on the topic; defaults live in topic-config.ts. */
  readonly configs: ReadonlyMap<string, string>;
}

/** A user's SCRAM credentials by mechanism; a user is in the image while it has at least one. */
export type UserCredentials = ReadonlyMap<ScramMechanism, ScramCredential>;

/**
 * An image's ACL table has no bound of its own: replaying the log must never fail, and the bound
 * (aclBindingsMax) is the controller's to keep when it decides to add bindings.
 */
const imageAclTableOptions = { maxBindings: Number.MAX_SAFE_INTEGER };

/** The ACL table of an image that has none; never changed (a change builds a new table). */
const noAcls = new AclTable(imageAclTableOptions);

/** A new table holding `table`'s bindings, in the same order, for a delta to change. */
export function copyAclTable(table: AclTable): AclTable {
  return AclTable.from(table, imageAclTableOptions);
}

export class MetadataImage {
  static readonly empty = new MetadataImage(-1, new Map(), new Map(), new Map(), 0);

  constructor(
    /** Offset of the last record applied; -1 for the empty image. */
    readonly offset: number,
    readonly brokers: ReadonlyMap<number, BrokerImage>,
    readonly topicsById: ReadonlyMap<string, TopicImage>,
    readonly topicIdsByName: ReadonlyMap<string, string>,
    /** The first producer id not yet handed out in a block (see ProducerIdsRecord); 0 before any. */
    readonly nextProducerId: number,
    /** User name → mechanism → SCRAM credential. */
    readonly users: ReadonlyMap<string, UserCredentials> = new Map(),
    /**
     * The ACL bindings, indexed for the authorizer. Never changed once in an image: a change to the
     * ACLs builds a new table (an unchanged one is shared), so a holder may keep an Authorizer over
     * it until the image's `acls` is another object.
     */
    readonly acls: AclTable = noAcls,
  ) {}

  /** The same image as of another offset (a snapshot's): everything else is shared. */
  withOffset(offset: number): MetadataImage {
    return new MetadataImage(
      offset,
      this.brokers,
      this.topicsById,
      this.topicIdsByName,
      this.nextProducerId,
      this.users,
      this.acls,
    );
  }

  /** How many SCRAM credentials (user and mechanism pairs) there are. */
  scramCredentialCount(): number {
    let count = 0;
    for (const credentials of this.users.values()) count += credentials.size;
    return count;
  }

  topic(name: string): TopicImage | undefined {
    const id = this.topicIdsByName.get(name);
    return id === undefined ? undefined : this.topicsById.get(id);
  }

  topics(): TopicImage[] {
    return [...this.topicsById.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  partition(topic: string, partition: number): PartitionImage | undefined {
    return this.topic(topic)?.partitions[partition];
  }
}

/** The same broker ids in the same order (replica lists, ISRs). */
export function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
