// What request handlers see of the broker: a narrow view that keeps them
// independent of how the broker is started and wired.

import type { MetadataImage } from "@brook/metadata";
import type {
  AlterPartitionRequest__Output,
  AlterPartitionResponse,
  ControllerStatus,
  CreatePartitionsRequest__Output,
  CreatePartitionsResponse,
  CreateTopicsRequest__Output,
  CreateTopicsResponse,
  DeleteTopicsRequest__Output,
  DeleteTopicsResponse,
  WriteTxnMarkersRequest__Output,
  WriteTxnMarkersResponse,
} from "@brook/protocol";
import type { Logger } from "pino";
import type { AccessControl } from "./access.js";
import type { LeaderLease } from "./leadership-lease.js";
import type { ReplicaManager } from "./replica-manager.js";
import type {
  AlterUserScramCredentialsRequest__Output,
  AlterUserScramCredentialsResponse,
  CreateAclsRequest__Output,
  CreateAclsResponse,
  DeleteAclsRequest__Output,
  DeleteAclsResponse,
} from "./security-admin.js";

/** Where the broker learns the committed metadata from. */
export interface MetadataSource {
  readonly image: MetadataImage;
  onImage(listener: (image: MetadataImage) => void): () => void;
}

/** How the broker reaches the active controller: in-process in a combined node, over gRPC otherwise. */
export interface ControllerChannel {
  createTopics(request: CreateTopicsRequest__Output): Promise<CreateTopicsResponse>;
  deleteTopics(request: DeleteTopicsRequest__Output): Promise<DeleteTopicsResponse>;
  /** Grows topics' partition counts (Kafka's CreatePartitions); one result per topic. */
  createPartitions(request: CreatePartitionsRequest__Output): Promise<CreatePartitionsResponse>;
  /** A partition leader's ISR change; committed to the metadata log before it resolves. */
  alterPartition(request: AlterPartitionRequest__Output): Promise<AlterPartitionResponse>;
  /**
   * A block of producer ids (firstProducerId .. firstProducerId + count - 1)
   * for InitProducerId answers (KIP-730); committed to the metadata log
   * before it resolves, so no other broker ever gets the same ids.
   */
  allocateProducerIds(brokerId: number): Promise<{ firstProducerId: number; count: number }>;
  quorumStatus(): Promise<ControllerStatus[]>;
  /**
   * Users and ACLs (Kafka's AlterUserScramCredentials, CreateAcls, DeleteAcls): decided by the active
   * controller, one result per user, binding or filter, resolving once this node's image shows them.
   */
  alterUserScramCredentials(
    request: AlterUserScramCredentialsRequest__Output,
  ): Promise<AlterUserScramCredentialsResponse>;
  createAcls(request: CreateAclsRequest__Output): Promise<CreateAclsResponse>;
  deleteAcls(request: DeleteAclsRequest__Output): Promise<DeleteAclsResponse>;
  /** Node id of the active controller as last known; -1 when unknown. */
  activeControllerId(): number;
}

/**
 * How a transaction coordinator reaches the leaders of a transaction's partitions: WriteTxnMarkers
 * on another broker over gRPC (the server fills this in). The broker answers its own markers itself.
 */
export interface TxnMarkerChannel {
  writeTxnMarkers(
    brokerId: number,
    request: WriteTxnMarkersRequest__Output,
  ): Promise<WriteTxnMarkersResponse>;
}

export interface BrokerLimits {
  /** Cap on one fetch response, whatever the client asks for; stays below the gRPC message cap. */
  readonly fetchBytesMax: number;
  /** Cap on how long a fetch may wait for data. */
  readonly fetchWaitMsMax: number;
  /** Produce timeout when the request gives none, and its cap. */
  readonly produceTimeoutMsDefault: number;
  readonly produceTimeoutMsMax: number;
}

export const defaultBrokerLimits: BrokerLimits = {
  fetchBytesMax: 32 * 1024 * 1024,
  fetchWaitMsMax: 30_000,
  produceTimeoutMsDefault: 30_000,
  produceTimeoutMsMax: 300_000,
};

/**
 * What the data path reports for metrics. The broker keeps no metric state of
 * its own: the server turns these calls into Prometheus series.
 */
export interface BrokerObserver {
  /** A leader appended a producer's batches (a duplicate retry is not counted). */
  produced(topic: string, records: number, bytes: number): void;
  /** A consumer fetch returned records (follower fetches are replication, not counted). */
  fetched(topic: string, records: number, bytes: number): void;
  /** A request finished, by gRPC method name. */
  requestDone(method: string, seconds: number, failed: boolean): void;
  /** A produce or fetch went over its principal's quota: its answer carries (and on gRPC waits) `ms`. */
  throttled(quota: "produce" | "fetch", ms: number): void;
}

export const noBrokerObserver: BrokerObserver = {
  produced: () => undefined,
  fetched: () => undefined,
  requestDone: () => undefined,
  throttled: () => undefined,
};

export interface BrokerContext {
  readonly brokerId: number;
  readonly clusterId: string;
  readonly replicas: ReplicaManager;
  readonly metadata: MetadataSource;
  readonly controller: ControllerChannel;
  readonly limits: BrokerLimits;
  readonly logger: Logger;
  readonly observer: BrokerObserver;
  /** Who may do what (the ACLs); every request asks it before touching anything. */
  readonly access: AccessControl;
  /** Whether this broker may still take writes as a leader: it has heard from the controller lately. */
  readonly lease: LeaderLease;
  /** Resolves once local replicas reflect every metadata image seen so far. */
  awaitMetadata(): Promise<void>;
  /**
   * Told after this broker, as leader, appended a transaction marker and the
   * high watermark covers it: the group coordinator settles transactional
   * offset commits on __consumer_offsets partitions with it.
   */
  txnMarkerWritten(topic: string, partition: number, producerId: number, committed: boolean): void;
}
