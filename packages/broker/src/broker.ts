// The broker: hosts partition replicas, follows the metadata image, serves
// the Broker gRPC service, and runs periodic retention. It never talks to
// controller code directly: only through the MetadataSource and
// ControllerChannel it is given.

import type { MetadataImage } from "@brook/metadata";
import {
  anonymousCallerOf,
  type BrokerHandlers,
  BrookError,
  type Caller,
  type CallerOf,
  type ChannelSecurity,
  type Clock,
  type CreatePartitionsRequest__Output,
  type CreatePartitionsResponse,
  type CreateTopicsRequest__Output,
  type CreateTopicsResponse,
  type DeleteTopicsRequest__Output,
  type DeleteTopicsResponse,
  type DescribeClusterResponse,
  type FetchRequest__Output,
  type FetchResponse,
  type InitProducerIdRequest__Output,
  type InitProducerIdResponse,
  type ListOffsetsRequest__Output,
  type ListOffsetsResponse,
  type OffsetForLeaderEpochRequest__Output,
  type OffsetForLeaderEpochResponse,
  type ProduceRequest__Output,
  type ProduceResponse,
  requireNode,
  type SaslAuthenticateRequest__Output,
  type SaslAuthenticateResponse,
  type SurfaceCall,
  serveCalls,
  systemClock,
  toServiceError,
  unary,
  type WriteTxnMarkersRequest__Output,
  type WriteTxnMarkersResponse,
} from "@brook/protocol";
import { CLUSTER_RESOURCE_NAME } from "@brook/security";
import type { Logger } from "pino";
import { AccessControl, type AccessPolicy, allowEverything } from "./access.js";
import {
  createPartitions,
  createTopics,
  deleteTopics,
  describeCluster,
  describeTopics,
  metadata,
} from "./admin.js";
import {
  type BrokerContext,
  type BrokerLimits,
  type BrokerObserver,
  type ControllerChannel,
  defaultBrokerLimits,
  type MetadataSource,
  noBrokerObserver,
  type TxnMarkerChannel,
} from "./context.js";
import { fetch } from "./fetch.js";
import { GroupCoordinator, type GroupCoordinatorConfig } from "./groups/coordinator.js";
import { GroupHandlers } from "./groups/handlers.js";
import { groupAndTransactionHandlers } from "./grpc-group-handlers.js";
import { defaultInFlightLimits, type InFlightLimits, PrincipalsInFlight } from "./in-flight.js";
import { type LeaderLease, unleased } from "./leadership-lease.js";
import type { LogCleanerConfig } from "./log-cleaner.js";
import { listOffsets, offsetForLeaderEpoch } from "./offsets.js";
import { produce } from "./produce.js";
import { initProducerId, nextProducerId } from "./producer-ids.js";
import { ClientQuotas, type QuotaConfig } from "./quotas.js";
import type { ReplicaFetcherOptions } from "./replica-fetcher.js";
import { type ReplicaFailures, ReplicaManager } from "./replica-manager.js";
import {
  type AlterUserScramCredentialsRequest__Output,
  type AlterUserScramCredentialsResponse,
  type CreateAclsRequest__Output,
  type CreateAclsResponse,
  type DeleteAclsRequest__Output,
  type DeleteAclsResponse,
  type DescribeAclsRequest__Output,
  type DescribeAclsResponse,
  type DescribeUserScramCredentialsRequest__Output,
  type DescribeUserScramCredentialsResponse,
  securityAdminApi,
} from "./security-admin.js";
import { TransactionCoordinator, type TransactionCoordinatorConfig } from "./transactions/coordinator.js";
import { TransactionHandlers } from "./transactions/handlers.js";
import { writeTxnMarkers } from "./txn-markers.js";

export interface BrokerOptions {
  readonly brokerId: number;
  readonly clusterId: string;
  readonly dataDir: string;
  readonly metadata: MetadataSource;
  readonly controller: ControllerChannel;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly limits?: Partial<BrokerLimits>;
  /** How often old segments are checked against retention.ms / retention.bytes. */
  readonly retentionCheckIntervalMs?: number;
  /**
   * The image may lag the metadata log at start-up (it is rebuilt from a
   * local copy): keep partition directories it does not list until
   * metadataCaughtUp() says it has caught up. Default: the image is current.
   */
  readonly startsBehindMetadata?: boolean;
  /**
   * This process's registration (incarnation id): the broker leads and
   * follows only while the image shows this incarnation registered and
   * unfenced. Unset (tests): always in service.
   */
  readonly incarnationId?: string;
  /** Kafka's replica.lag.time.max.ms: a follower not caught up for this long leaves the ISR. */
  readonly replicaLagTimeMaxMs?: number;
  readonly replicaFetcher?: ReplicaFetcherOptions;
  /** The log cleaner of compacted topics (docs/compaction.md). */
  readonly logCleaner?: Partial<LogCleanerConfig>;
  readonly groups?: Partial<GroupCoordinatorConfig>;
  readonly transactions?: Partial<TransactionCoordinatorConfig>;
  /**
   * How the transaction coordinator reaches other brokers' WriteTxnMarkers (gRPC, from the server);
   * markers for partitions this broker leads never leave it. Default (tests): this broker only.
   */
  readonly txnMarkers?: TxnMarkerChannel;
  /** Where the data path reports for metrics; default: nowhere. */
  readonly observer?: BrokerObserver;
  /** Who a gRPC call comes from (node identity, user credentials); default: everyone anonymous. */
  readonly callerOf?: CallerOf;
  /** How this broker's replica fetchers secure their channels to leaders (TLS, node identity). */
  readonly peerSecurity?: ChannelSecurity;
  /** Called when replicaFailures() changes, so the heartbeat reports it at once. */
  readonly onReplicaFailure?: () => void;
  /**
   * The lease its heartbeats to the active controller renew: once it lapses, produce is refused with
   * NOT_LEADER (leadership-lease.ts). Default: a lease that never lapses (a broker on its own, tests).
   */
  readonly lease?: LeaderLease;
  /** Who may do what (ACLs); default: everyone everything. */
  readonly access?: AccessPolicy;
  /** Serves SaslAuthenticate (a SCRAM exchange that ends in a token); undefined: SASL is off. */
  readonly sasl?: SaslService;
  /** Produce and fetch bytes per second per principal (Kafka's user quotas); default: none. */
  readonly quotas?: QuotaConfig;
  /** What one principal may have in progress at once, across its connections (in-flight.ts). */
  readonly inFlight?: Partial<InFlightLimits>;
}

/** The gRPC SCRAM exchange, which the node provides (it holds the cluster secret that signs tokens). */
export interface SaslService {
  authenticate(request: SaslAuthenticateRequest__Output, caller: Caller): Promise<SaslAuthenticateResponse>;
}

/** What a front end (gRPC, Kafka) may ask of the broker; see Broker.api. */
export interface BrokerApi {
  readonly brokerId: number;
  readonly clusterId: string;
  /** The committed metadata as this broker has applied it. */
  readonly metadata: MetadataSource;
  readonly limits: BrokerLimits;
  readonly observer: BrokerObserver;
  /** The active controller as last known; -1 when none is. */
  activeControllerId(): number;
  /**
   * throttle_time_ms in the answer: how long the caller should wait, being over its produce quota. The
   * answer is not delayed here: the gRPC service delays it, the Kafka listener tells the client.
   */
  produce(request: ProduceRequest__Output, caller: Caller): Promise<ProduceResponse>;
  /** A replica fetch (replica_id > 0) only from the node it names. throttle_time_ms as for produce. */
  fetch(request: FetchRequest__Output, caller: Caller): Promise<FetchResponse>;
  listOffsets(request: ListOffsetsRequest__Output, caller: Caller): ListOffsetsResponse;
  offsetForLeaderEpoch(
    request: OffsetForLeaderEpochRequest__Output,
    caller: Caller,
  ): OffsetForLeaderEpochResponse;
  initProducerId(request: InitProducerIdRequest__Output, caller: Caller): Promise<InitProducerIdResponse>;
  createTopics(request: CreateTopicsRequest__Output, caller: Caller): Promise<CreateTopicsResponse>;
  deleteTopics(request: DeleteTopicsRequest__Output, caller: Caller): Promise<DeleteTopicsResponse>;
  createPartitions(
    request: CreatePartitionsRequest__Output,
    caller: Caller,
  ): Promise<CreatePartitionsResponse>;
  /** Who may do what: the front ends ask it for requests they answer themselves (groups, configs). */
  readonly access: AccessControl;
  describeCluster(): Promise<DescribeClusterResponse>;
  /** Broker to broker: append transaction markers on partitions this broker leads. */
  writeTxnMarkers(request: WriteTxnMarkersRequest__Output, caller: Caller): Promise<WriteTxnMarkersResponse>;
  /**
   * Creates, replaces and deletes users' SCRAM credentials (Kafka's AlterUserScramCredentials; the
   * client salts and hashes the password): forwarded to the active controller, one result per user.
   */
  alterUserScramCredentials(
    request: AlterUserScramCredentialsRequest__Output,
    caller: Caller,
  ): Promise<AlterUserScramCredentialsResponse>;
  /** Users' mechanisms and iteration counts from this broker's image, never salts or keys. */
  describeUserScramCredentials(
    request: DescribeUserScramCredentialsRequest__Output,
    caller: Caller,
  ): DescribeUserScramCredentialsResponse;
  /** Adds ACL bindings (forwarded to the active controller); one result per binding. */
  createAcls(request: CreateAclsRequest__Output, caller: Caller): Promise<CreateAclsResponse>;
  /** The bindings a filter selects, from this broker's image. */
  describeAcls(request: DescribeAclsRequest__Output, caller: Caller): DescribeAclsResponse;
  /** Removes the bindings each filter selects (forwarded to the active controller); what each removed. */
  deleteAcls(request: DeleteAclsRequest__Output, caller: Caller): Promise<DeleteAclsResponse>;
  readonly groups: GroupHandlers;
  readonly transactions: TransactionHandlers;
}

export interface BrokerMetricsView {
  readonly partitions: readonly {
    topic: string;
    partition: number;
    leader: boolean;
    isrSize: number;
    replicaCount: number;
    sizeBytes: number;
    highWatermark: number;
    logEndOffset: number;
    /** The log holds a corrupt batch (it is resigning, repairing, or the last in-sync copy). */
    damaged: boolean;
  }[];
  readonly groupLag: readonly { group: string; topic: string; partition: number; lag: number }[];
  /** The log dir failed: no replica here leads or follows until the process restarts. */
  readonly logDirOffline: boolean;
}

export class Broker {
  private readonly replicas: ReplicaManager;
  private readonly context: BrokerContext;
  private readonly unsubscribe: () => void;
  private retentionTimer: NodeJS.Timeout | undefined;
  private readonly metadataSource: MetadataSource;
  private readonly coordinator: GroupCoordinator;
  private readonly groupHandlers: GroupHandlers;
  private readonly transactionCoordinator: TransactionCoordinator;
  private readonly transactionHandlers: TransactionHandlers;
  private readonly callerOf: CallerOf;
  private readonly sasl: SaslService | undefined;
  private readonly quotas: ClientQuotas;
  private readonly inFlight: PrincipalsInFlight;
  /**
   * The broker's requests as plain calls, for each front end: the gRPC service (handlers) and the Kafka
   * listener (@brook/kafka) translate their wire formats to these, so both follow the same rules.
   */
  readonly api: BrokerApi;

  private constructor(options: BrokerOptions) {
    this.metadataSource = options.metadata;
    const logger = options.logger.child({ component: "broker" });
    const incarnationId = options.incarnationId;
    this.replicas = new ReplicaManager({
      brokerId: options.brokerId,
      dataDir: options.dataDir,
      clock: options.clock ?? systemClock,
      logger,
      imageComplete: !options.startsBehindMetadata,
      inService:
        incarnationId === undefined
          ? undefined
          : (image) => {
              const self = image.brokers.get(options.brokerId);
              return self?.incarnationId === incarnationId && !self.fenced;
            },
      alterPartition: (request) => options.controller.alterPartition(request),
      replicaLagTimeMaxMs: options.replicaLagTimeMaxMs,
      logCleaner: options.logCleaner,
      fetcher: options.replicaFetcher,
      peerSecurity: options.peerSecurity,
      onReplicaFailure: options.onReplicaFailure,
    });
    this.callerOf = options.callerOf ?? anonymousCallerOf;
    this.sasl = options.sasl;
    this.quotas = new ClientQuotas(options.quotas ?? {}, options.clock ?? systemClock);
    this.inFlight = new PrincipalsInFlight({ ...defaultInFlightLimits, ...options.inFlight });
    this.context = {
      brokerId: options.brokerId,
      clusterId: options.clusterId,
      replicas: this.replicas,
      metadata: options.metadata,
      controller: options.controller,
      limits: { ...defaultBrokerLimits, ...options.limits },
      logger,
      observer: options.observer ?? noBrokerObserver,
      access: new AccessControl(options.access ?? allowEverything, logger.child({ component: "access" })),
      lease: options.lease ?? unleased,
      awaitMetadata: () => this.replicas.applyImage(options.metadata.image),
      // Transactional offset commits on __consumer_offsets settle when their marker is durable.
      txnMarkerWritten: (topic, partition, producerId, committed) =>
        this.coordinator.onTxnMarker(topic, partition, producerId, committed),
    };
    this.coordinator = new GroupCoordinator({
      brokerId: options.brokerId,
      replicas: this.replicas,
      metadata: options.metadata,
      logger: options.logger, // it names its own component
      clock: options.clock ?? systemClock,
      config: options.groups,
    });
    this.transactionCoordinator = new TransactionCoordinator({
      brokerId: options.brokerId,
      replicas: this.replicas,
      metadata: options.metadata,
      logger: options.logger, // it names its own component
      clock: options.clock ?? systemClock,
      markers: this.markerChannel(options.brokerId, options.txnMarkers),
      nextProducerId: () => nextProducerId(this.context),
      config: options.transactions,
    });
    this.groupHandlers = new GroupHandlers(this.context, this.coordinator, {
      transactionStateTopicPartitions: this.transactionCoordinator.config.transactionStateTopicPartitions,
    });
    this.transactionHandlers = new TransactionHandlers(this.context, this.transactionCoordinator);
    this.api = this.buildApi();
    this.unsubscribe = options.metadata.onImage((image: MetadataImage) => {
      // ReplicaManager logs failures; an unhandled rejection here would kill the node.
      this.replicas
        .applyImage(image)
        .then(() => {
          this.coordinator.onImage(image);
          this.transactionCoordinator.onImage(image);
        })
        .catch(() => undefined);
    });
  }

  /** Opens (and recovers) every local replica the current image assigns here. */
  static async start(options: BrokerOptions): Promise<Broker> {
    const broker = new Broker(options);
    await broker.replicas.applyImage(options.metadata.image);
    broker.coordinator.onImage(options.metadata.image);
    broker.coordinator.start();
    broker.transactionCoordinator.onImage(options.metadata.image);
    broker.transactionCoordinator.start();
    broker.replicas.startMaintenance();
    const intervalMs = options.retentionCheckIntervalMs ?? 60_000;
    broker.retentionTimer = setInterval(() => broker.replicas.applyRetention(), intervalMs);
    broker.retentionTimer.unref();
    return broker;
  }

  /** The broker has applied the metadata log up to its registration: its image lists all it hosts. */
  metadataCaughtUp(): Promise<void> {
    return this.replicas.metadataCaughtUp(this.metadataSource.image);
  }

  /** What this broker's heartbeats report it can no longer serve (replica-manager.ts). */
  replicaFailures(): ReplicaFailures {
    return this.replicas.replicaFailures;
  }

  /** What /metrics reports of this broker: its local replicas and the lag of the groups it coordinates. */
  metricsView(): BrokerMetricsView {
    const partitions = [...this.replicas.all()].map((p) => ({
      topic: p.topic,
      partition: p.partition,
      leader: p.isLeader,
      isrSize: p.isr.length,
      replicaCount: this.metadataSource.image.partition(p.topic, p.partition)?.replicas.length ?? 0,
      sizeBytes: p.log.sizeBytes,
      highWatermark: p.highWatermark,
      logEndOffset: p.logEndOffset,
      damaged: p.log.damage !== undefined,
    }));
    const groupLag: { group: string; topic: string; partition: number; lag: number }[] = [];
    for (const group of this.coordinator.groups()) {
      for (const { topic, partition, offset } of group.committedOffsets()) {
        const local = this.replicas.local(topic, partition);
        if (local === undefined) continue; // no replica here: its high watermark is not known
        groupLag.push({
          group: group.groupId,
          topic,
          partition,
          lag: Math.max(0, local.highWatermark - offset),
        });
      }
    }
    return { partitions, groupLag, logDirOffline: this.replicas.replicaFailures.logDirOffline };
  }

  /** Partitions the image says this broker leads but it does not serve (not open, or not in service). */
  notLeading(): string[] {
    const image = this.metadataSource.image;
    const missing: string[] = [];
    for (const topic of image.topics()) {
      for (const state of topic.partitions) {
        if (state.leader !== this.context.brokerId) continue;
        if (!this.replicas.local(topic.name, state.partition)?.isLeader)
          missing.push(`${topic.name}-${state.partition}`);
      }
    }
    return missing;
  }

  /** WriteTxnMarkers to a broker: this one answers its own, the channel (if any) reaches the others. */
  private markerChannel(selfId: number, remote: TxnMarkerChannel | undefined): TxnMarkerChannel {
    return {
      writeTxnMarkers: (brokerId, request) => {
        if (brokerId === selfId) return writeTxnMarkers(this.context, request);
        if (remote === undefined) {
          return Promise.reject(
            new BrookError("BROKER_NOT_AVAILABLE", `broker ${selfId} has no channel to broker ${brokerId}`),
          );
        }
        return remote.writeTxnMarkers(brokerId, request);
      },
    };
  }

  /** Built once: the calls close over the broker's context. */
  private buildApi(): BrokerApi {
    const ctx = this.context;
    return {
      brokerId: ctx.brokerId,
      clusterId: ctx.clusterId,
      metadata: ctx.metadata,
      limits: ctx.limits,
      observer: ctx.observer,
      activeControllerId: () => ctx.controller.activeControllerId(),
      access: ctx.access,
      produce: async (request, caller) => {
        const bytes = produceBytes(request);
        const release = this.inFlight.admit(caller, bytes);
        try {
          const response = await produce(
            ctx,
            request,
            ctx.access.refusedTopics(caller, "write", topicsOf(request)),
          );
          const throttleTimeMs = this.quotas.produced(caller, () => bytes);
          if (throttleTimeMs > 0) ctx.observer.throttled("produce", throttleTimeMs);
          response.throttleTimeMs = throttleTimeMs; // a fresh object: no copy
          return response;
        } finally {
          release();
        }
      },
      fetch: async (request, caller) => {
        if (request.replicaId > 0) requireNode(caller, "a replica fetch", request.replicaId);
        const release = this.inFlight.admit(caller, 0);
        try {
          const response = await fetch(
            ctx,
            request,
            ctx.access.refusedTopics(caller, "read", topicsOf(request)),
          );
          const throttleTimeMs = this.quotas.fetched(caller, () => fetchBytes(response));
          if (throttleTimeMs > 0) ctx.observer.throttled("fetch", throttleTimeMs);
          response.throttleTimeMs = throttleTimeMs;
          return response;
        } finally {
          release();
        }
      },
      listOffsets: (request, caller) =>
        listOffsets(ctx, request, ctx.access.refusedTopics(caller, "describe", topicsOf(request))),
      offsetForLeaderEpoch: (request, caller) => {
        if (request.replicaId > 0)
          requireNode(caller, "a follower's OffsetForLeaderEpoch", request.replicaId);
        return offsetForLeaderEpoch(
          ctx,
          request,
          ctx.access.refusedTopics(caller, "describe", topicsOf(request)),
        );
      },
      initProducerId: (request, caller) => {
        requireProducerIdAccess(ctx.access, caller, request.transactionalId);
        return initProducerId(ctx, request, this.transactionCoordinator);
      },
      createTopics: (request, caller) => {
        const names = request.topics.map(({ name }) => name);
        const denied = ctx.access.allowed(caller, "create", "cluster", CLUSTER_RESOURCE_NAME)
          ? new Map()
          : ctx.access.refusedTopics(caller, "create", names);
        return createTopics(ctx, request, denied);
      },
      deleteTopics: (request, caller) =>
        deleteTopics(ctx, request, ctx.access.refusedTopics(caller, "delete", request.names)),
      createPartitions: (request, caller) =>
        createPartitions(
          ctx,
          request,
          ctx.access.refusedTopics(
            caller,
            "alter",
            request.topics.map(({ name }) => name),
          ),
        ),
      describeCluster: () => describeCluster(ctx),
      writeTxnMarkers: (request, caller) => {
        requireNode(caller, "WriteTxnMarkers");
        return writeTxnMarkers(ctx, request);
      },
      ...securityAdminApi(ctx),
      groups: this.groupHandlers,
      transactions: this.transactionHandlers,
    };
  }

  get handlers(): BrokerHandlers {
    const ctx = this.context;
    const api = this.api;
    const groups = this.groupHandlers;
    const transactions = this.transactionHandlers;
    const callerOf = this.callerOf;
    const sasl = this.sasl;
    const unaryHandlers = timed(ctx.observer, {
      Produce: unary((request, call) => afterThrottle(api.produce(request, callerOf(call)))),
      Fetch: unary((request, call) => afterThrottle(api.fetch(request, callerOf(call)))),
      ListOffsets: unary(async (request, call) => api.listOffsets(request, callerOf(call))),
      OffsetForLeaderEpoch: unary(async (request, call) => api.offsetForLeaderEpoch(request, callerOf(call))),
      InitProducerId: unary((request, call) => api.initProducerId(request, callerOf(call))),
      Metadata: unary(async (request, call) => metadata(ctx, request, callerOf(call))),
      CreateTopics: unary((request, call) => api.createTopics(request, callerOf(call))),
      DeleteTopics: unary((request, call) => api.deleteTopics(request, callerOf(call))),
      DescribeTopics: unary(async (request, call) => describeTopics(ctx, request, callerOf(call))),
      DescribeCluster: unary(() => api.describeCluster()),
      CreatePartitions: unary((request, call) => api.createPartitions(request, callerOf(call))),
      ...groupAndTransactionHandlers({ groups, transactions, access: ctx.access, callerOf }),
      WriteTxnMarkers: unary((request, call) => api.writeTxnMarkers(request, callerOf(call))),
      SaslAuthenticate: unary((request, call) => {
        if (sasl === undefined)
          throw new BrookError("UNSUPPORTED_SASL_MECHANISM", "SASL is not enabled on this cluster");
        return sasl.authenticate(request, callerOf(call));
      }),
      AlterUserScramCredentials: unary((request, call) =>
        api.alterUserScramCredentials(request, callerOf(call)),
      ),
      DescribeUserScramCredentials: unary(async (request, call) =>
        api.describeUserScramCredentials(request, callerOf(call)),
      ),
      CreateAcls: unary((request, call) => api.createAcls(request, callerOf(call))),
      DescribeAcls: unary(async (request, call) => api.describeAcls(request, callerOf(call))),
      DeleteAcls: unary((request, call) => api.deleteAcls(request, callerOf(call))),
    });
    return {
      ...authenticated(callerOf, unaryHandlers),
      // Each request on the stream is timed under the unary method it stands for.
      Calls: (call) => {
        let caller: Caller;
        try {
          caller = callerOf(call);
        } catch (error) {
          call.emit("error", toServiceError(error));
          return;
        }
        const handlers = {
          produce: (request: ProduceRequest__Output) => afterThrottle(api.produce(request, caller)),
          fetch: (request: FetchRequest__Output) => afterThrottle(api.fetch(request, caller)),
        };
        serveCalls(call, handlers, (method, seconds, failed) =>
          ctx.observer.requestDone(method, seconds, failed),
        );
      },
    };
  }

  async close(): Promise<void> {
    clearInterval(this.retentionTimer);
    this.unsubscribe();
    this.coordinator.close();
    this.transactionCoordinator.close();
    await this.replicas.close();
  }
}

/** The record bytes a produce request carries (what the produce quota counts). */
function produceBytes(request: ProduceRequest__Output): number {
  let bytes = 0;
  for (const topic of request.topics) for (const p of topic.partitions) bytes += p.records?.length ?? 0;
  return bytes;
}

/** The record bytes a fetch answers with (what the fetch quota counts). */
function fetchBytes(response: FetchResponse): number {
  let bytes = 0;
  for (const topic of response.topics ?? []) {
    for (const p of topic.partitions ?? []) bytes += (p.records as Buffer | undefined)?.length ?? 0;
  }
  return bytes;
}

/**
 * A gRPC answer over quota waits out its throttle time before it goes (Brook's clients need not know
 * quotas): the caller's next request on a Calls stream or connection waits behind it, within the
 * stream's and connection's limits, so a client that keeps asking is slowed all the same.
 */
async function afterThrottle<T extends { throttleTimeMs?: number }>(answer: Promise<T>): Promise<T> {
  const response = await answer;
  const ms = response.throttleTimeMs ?? 0;
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  return response;
}

/** The topics a request names, each once. */
function topicsOf(request: { readonly topics: readonly { readonly topic: string }[] }): string[] {
  return request.topics.map(({ topic }) => topic);
}

/**
 * InitProducerId: a transactional id needs Write on it; an idempotent producer IdempotentWrite on the
 * cluster, or Write on some topic (Kafka since KIP-679).
 */
function requireProducerIdAccess(access: AccessControl, caller: Caller, transactionalId: string): void {
  if (transactionalId) {
    access.require(caller, "write", "transactionalId", transactionalId);
    return;
  }
  if (access.allowed(caller, "idempotentWrite", "cluster", CLUSTER_RESOURCE_NAME)) return;
  if (access.allowedAny(caller, "write", "topic")) return;
  throw new BrookError("CLUSTER_AUTHORIZATION_FAILED", `${caller.principal} may not write idempotently`);
}

/** Every Broker method but the Calls stream (and without grpc's index signature, which would hide the names). */
type UnaryHandlers = {
  [M in keyof BrokerHandlers as string extends M ? never : M extends "Calls" ? never : M]: BrokerHandlers[M];
};

/**
 * Authenticates every unary call before its handler runs: a caller whose credentials are refused (a bad
 * token, none where the cluster requires them) is answered with that error, whatever it asked.
 */
function authenticated(callerOf: CallerOf, handlers: UnaryHandlers): UnaryHandlers {
  const wrapped: Record<string, unknown> = {};
  for (const [method, handler] of Object.entries(handlers)) {
    const unaryHandler = handler as (
      call: SurfaceCall,
      callback: (error: unknown, value?: unknown) => void,
    ) => void;
    wrapped[method] = (call: SurfaceCall, callback: (error: unknown, value?: unknown) => void) => {
      try {
        callerOf(call);
      } catch (error) {
        callback(toServiceError(error));
        return;
      }
      unaryHandler(call, callback);
    };
  }
  return wrapped as unknown as UnaryHandlers;
}

/** Reports every unary call's duration to the observer (the request-rate and latency metrics). */
function timed(observer: BrokerObserver, handlers: UnaryHandlers): UnaryHandlers {
  const wrapped: Record<string, unknown> = {};
  for (const [method, handler] of Object.entries(handlers)) {
    const unaryHandler = handler as (
      call: unknown,
      callback: (error: unknown, value?: unknown) => void,
    ) => void;
    wrapped[method] = (call: unknown, callback: (error: unknown, value?: unknown) => void) => {
      const started = process.hrtime.bigint();
      unaryHandler(call, (error, value) => {
        observer.requestDone(method, Number(process.hrtime.bigint() - started) / 1e9, error != null);
        callback(error, value);
      });
    };
  }
  return wrapped as unknown as UnaryHandlers;
}
