// Starts one Brook node: a controller (a voter of the controller quorum, its
// metadata on a Raft log) and a broker that follows this node's own
// controller image. The Raft transport and the Controller service share the
// controller port; the broker has its own. A node is what `brook server`
// runs and what the end-to-end tests start.

import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import { TLSSocket, type Server as TlsServer } from "node:tls";
import { Broker, type BrokerObserver, type BrokerOptions, LeadershipLease } from "@brook/broker";
import { Controller, controllerHandlers, RaftMetadataLog } from "@brook/controller";
import { startKafkaListener } from "@brook/kafka";
import type { MetadataImage } from "@brook/metadata";
import {
  anonymousCaller,
  BrokerService,
  BrookError,
  type Caller,
  type ControllerHandlers,
  ControllerService,
  grpcServerOptions,
  systemClock,
  toServiceError,
} from "@brook/protocol";
import * as grpc from "@grpc/grpc-js";
import { type Logger, pino } from "pino";
import { aclPolicy } from "./access-policy.js";
import { BrokerLifecycle } from "./broker-lifecycle.js";
import { kafkaAdvertisedEndpoint, type NodeConfig } from "./config.js";
import { ForwardingControllerChannel } from "./controller-channel.js";
import { type HttpListener, type Readiness, startHttp } from "./http.js";
import { loadOrCreateMetaProperties } from "./meta-properties.js";
import { NodeMetrics } from "./metrics.js";
import { type NodeSecurity, nodeSecurity, userDirectory } from "./node-security.js";
import { followReloads, tlsPeerName } from "./tls.js";
import { GrpcTxnMarkerChannel } from "./txn-marker-channel.js";

export interface RunningNode {
  readonly config: NodeConfig;
  readonly clusterId: string;
  /** Actual ports (differ from the config when it asked for port 0). */
  readonly brokerPort: number;
  readonly controllerPort: number;
  readonly httpPort: number;
  readonly logger: Logger;
  close(): Promise<void>;
}

const shutdownGraceMs = 5_000;
export async function startNode(config: NodeConfig, logger?: Logger): Promise<RunningNode> {
  const log = (logger ?? pino({ level: config.logLevel })).child({ nodeId: config.nodeId });
  // Every line names its node, role and component (pino child bindings).
  const brokerLog = log.child({ role: "broker" });
  // The process itself (start, stop, the HTTP listener): role "node".
  const nodeLog = log.child({ role: "node" });
  const metrics = new NodeMetrics(config.nodeId);
  const { clusterId } = loadOrCreateMetaProperties(config.dataDir, config.nodeId, config.clusterId);

  // The controller (and so its image) exists only later; users are looked up in the image at call time.
  let current: Controller | undefined;
  const security = nodeSecurity(
    config,
    userDirectory(() => current?.image),
    (error) =>
      nodeLog
        .child({ component: "tls" })
        .error({ err: error }, "TLS files changed but cannot be used; keeping the old ones"),
  );
  const { metadataLog, controller, channel, controllerPort } = await startController(config, security, log);
  current = controller;

  const incarnationId = randomUUID();
  // Set once the broker lifecycle exists: until then the broker has not caught up with the metadata log.
  let caughtUp = () => false;
  // Set once the broker lifecycle exists: a replica failure is reported to the controller at once.
  let reportReplicaFailure = () => {};
  const txnMarkers = new GrpcTxnMarkerChannel(controller, security.brokerPeer);
  // Counted in the controller's session: writes stop here no later than the controller may fence this broker.
  const lease = new LeadershipLease(config.brokerSessionTimeoutMs, systemClock);
  const broker = await Broker.start(
    brokerOptions(config, {
      clusterId,
      controller,
      channel,
      security,
      incarnationId,
      txnMarkers,
      logger: brokerLog,
      observer: metrics.observer,
      image: () => current?.image,
      caughtUp: () => caughtUp(),
      onReplicaFailure: () => reportReplicaFailure(),
      lease,
    }),
  );
  const brokerServer = new grpc.Server(grpcServerOptions);
  brokerServer.addService(BrokerService, broker.handlers);
  const brokerPort = await bind(
    brokerServer,
    config.host,
    config.brokerPort,
    security.grpcCredentials("broker"),
  );
  brokerLog.info({ component: "broker", port: brokerPort, clusterId }, "broker listening");
  // Before registration, so the port it bound (a free one in tests) is the one registered.
  const kafka = config.kafkaEnabled
    ? await startKafkaListener({
        host: config.host,
        port: config.kafkaPort,
        broker: broker.api,
        autoCreateTopics: config.autoCreateTopics,
        logger: brokerLog,
        tls: tlsListener(security, "kafka"),
        callerOf: kafkaCallerOf,
        sasl: security.kafkaSasl,
      })
    : undefined;
  const kafkaBoundPort = kafka?.port ?? 0;
  const lifecycle = new BrokerLifecycle({
    brokerId: config.nodeId,
    incarnationId,
    host: config.advertisedHost,
    port: brokerPort,
    rack: config.rack,
    kafkaEndpoint: kafkaAdvertisedEndpoint(config, kafkaBoundPort),
    heartbeatIntervalMs: config.brokerHeartbeatIntervalMs,
    // As long as an answer can still renew the lease (a session from the send): on a lossy link answers come
    // late, and heartbeats do not wait for each other. One stuck on a controller that lost the quorum is
    // abandoned once this node's Raft names the new one (ForwardingControllerChannel).
    heartbeatTimeoutMs: config.brokerSessionTimeoutMs,
    metadataOffset: () => controller.image.offset,
    onCaughtUp: () => {
      broker.metadataCaughtUp().catch(() => undefined); // ReplicaManager logs failures
    },
    replicaFailures: () => {
      const { logDirOffline, resignedReplicas } = broker.replicaFailures();
      return { logDirOffline, resignedReplicas: [...resignedReplicas] };
    },
    lease,
    channel,
    logger: brokerLog.child({ component: "broker-lifecycle" }),
  });
  reportReplicaFailure = () => lifecycle.reportNow();
  lifecycle.start();
  caughtUp = () => lifecycle.isCaughtUp;

  metrics.registerGauges(config.nodeId, broker, metadataLog, () => controller.image);
  metrics.onImage(controller.image, config.nodeId);
  const stopCountingImages = controller.onImage((image) => metrics.onImage(image, config.nodeId));
  const readiness = (): Readiness => {
    const reasons: string[] = [];
    const self = controller.image.brokers.get(config.nodeId);
    if (self?.incarnationId !== incarnationId) reasons.push("not registered with the active controller yet");
    else if (self.fenced)
      reasons.push("registered but fenced (catching up with the metadata log, or shutting down)");
    if (!lifecycle.isCaughtUp) reasons.push("not caught up with the metadata log");
    if (broker.replicaFailures().logDirOffline)
      reasons.push("its log dir is offline (a disk failure): restart it");
    const notLeading = broker.notLeading();
    if (notLeading.length > 0) {
      reasons.push(`leads partitions it does not serve yet: ${notLeading.slice(0, 10).join(", ")}`);
    }
    return { ready: reasons.length === 0, reasons };
  };
  const http: HttpListener = await startHttp(
    config.host,
    config.httpPort,
    { readiness, registry: metrics.registry },
    tlsListener(security, "http"),
  );
  nodeLog
    .child({ component: "http" })
    .info({ port: http.port }, "health and metrics listening (/healthz, /readyz, /metrics)");
  const serverLog = nodeLog.child({ component: "server" });
  warnIfOpen(config, nodeLog.child({ component: "security" }));

  let closing: Promise<void> | undefined;
  return {
    config,
    clusterId,
    brokerPort,
    controllerPort,
    httpPort: http.port,
    logger: serverLog,
    close: () => {
      closing ??= (async () => {
        stopCountingImages();
        const startedMs = Date.now();
        await lifecycle.stop();
        const controlledShutdownMs = Date.now() - startedMs;
        await kafka?.close();
        await shutdown(brokerServer);
        await broker.close();
        txnMarkers.close();
        channel.close();
        const brokerStoppedMs = Date.now() - startedMs;
        await controller.close();
        await http.close();
        security.tls?.close();
        // How long each part took: a slow stop is a wait on peers that are gone.
        serverLog.info(
          { controlledShutdownMs, brokerStoppedMs, stoppedMs: Date.now() - startedMs },
          "node stopped",
        );
      })();
      return closing;
    },
  };
}

/** Secure defaults: a node that anyone on its network may use says so once, at start. */
function warnIfOpen(config: NodeConfig, log: Logger): void {
  const tls = config.tlsCertFile !== undefined;
  const sasl = config.saslMechanisms.length > 0;
  if (tls && sasl) return;
  const missing = [tls ? undefined : "no TLS", sasl ? undefined : "no client authentication"].filter(Boolean);
  log.warn(
    { tls, sasl },
    `this node is open (${missing.join(", ")}): anyone who reaches its ports can ${sasl ? "read its traffic" : "read and write every topic"}; see docs/security.md to secure it`,
  );
}

/** What the broker is started with: the node's settings, and the parts it works with. */
function brokerOptions(
  config: NodeConfig,
  parts: {
    clusterId: string;
    controller: Controller;
    channel: ForwardingControllerChannel;
    security: NodeSecurity;
    incarnationId: string;
    txnMarkers: GrpcTxnMarkerChannel;
    logger: Logger;
    observer: BrokerObserver;
    image: () => MetadataImage | undefined;
    caughtUp: () => boolean;
    onReplicaFailure: () => void;
    lease: LeadershipLease;
  },
): BrokerOptions {
  const { clusterId, controller, channel, security, incarnationId, txnMarkers } = parts;
  return {
    brokerId: config.nodeId,
    clusterId,
    dataDir: config.dataDir,
    metadata: controller,
    controller: channel,
    logger: parts.logger,
    observer: parts.observer,
    retentionCheckIntervalMs: config.retentionCheckIntervalMs,
    startsBehindMetadata: true,
    incarnationId,
    replicaLagTimeMaxMs: config.replicaLagTimeMaxMs,
    logCleaner: {
      intervalMs: config.logCleanerIntervalMs,
      offsetMapEntriesMax: config.logCleanerOffsetMapEntries,
      bytesPerPassMax: config.logCleanerBytesPerPass,
    },
    transactions: {
      transactionTimeoutMsMax: config.transactionMaxTimeoutMs,
      transactionStateTopicPartitions: config.transactionStateTopicPartitions,
    },
    txnMarkers,
    callerOf: security.callerOf,
    peerSecurity: security.brokerPeer,
    onReplicaFailure: parts.onReplicaFailure,
    lease: parts.lease,
    sasl: security.sasl,
    inFlight: {
      requestsPerPrincipal: config.principalRequestsInFlightMax,
      produceBytesPerPrincipal: config.principalProduceBytesInFlightMax,
    },
    quotas: {
      produceBytesPerSecond: config.quotaProduceBytesPerSecond,
      fetchBytesPerSecond: config.quotaFetchBytesPerSecond,
      superUsers: config.superUsers,
    },
    access: aclPolicy({
      superUsers: config.superUsers,
      allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound,
      image: parts.image,
      caughtUp: parts.caughtUp,
    }),
  };
}

/**
 * A Raft member whose disk failed has stopped; the rest of the node would go on serving a metadata
 * image that no longer moves. The process ends instead, as one fatal line, and a restart recovers
 * the member from what its disk holds.
 */
function endOnRaftFailure(log: Logger) {
  return (error: Error): void => {
    log.fatal({ err: error }, `raft storage failed: ${error.message}; the node stops`);
    process.exit(1);
  };
}

/**
 * The controller side of a node: its member of the Raft quorum (with the Controller service on the same
 * port, served once the controller exists), the controller, and the channel the broker reaches it by.
 */
async function startController(config: NodeConfig, security: NodeSecurity, log: Logger) {
  const controllerLog = log.child({ role: "controller" });
  const controllerService = new DeferredControllerService(config.nodeId);
  const metadataLog = await RaftMetadataLog.open({
    nodeId: config.nodeId,
    dataDir: config.metadataDir,
    voters: config.controllerQuorumVoters,
    electionTimeoutMs: config.controllerElectionTimeoutMs,
    listen: `${config.host}:${config.controllerPort}`,
    extraServices: [{ definition: ControllerService, implementation: controllerService.implementation }],
    peerSecurity: security.controllerPeer,
    serverCredentials: security.grpcCredentials("controller"),
    callerNode: security.callerNode,
    logger: controllerLog.child({ component: "raft" }),
    onFatal: endOnRaftFailure(controllerLog.child({ component: "raft" })),
  });
  await checkStoredVoters(metadataLog, config);
  const controller = await Controller.open({
    nodeId: config.nodeId,
    log: metadataLog,
    sessionTimeoutMs: config.brokerSessionTimeoutMs,
    heartbeatIntervalMs: config.brokerHeartbeatIntervalMs,
    logger: controllerLog.child({ component: "controller" }),
    topicDefaults: {
      numPartitions: config.numPartitions,
      replicationFactor: config.defaultReplicationFactor,
    },
  });
  const channel = new ForwardingControllerChannel(
    config.nodeId,
    controller,
    metadataLog,
    config.controllerQuorumVoters,
    log.child({ role: "broker", component: "controller-channel" }),
    security.controllerPeer,
  );
  controllerService.serve(controllerHandlers(controller, security.callerOf));
  const controllerPort = Number(metadataLog.address.slice(metadataLog.address.lastIndexOf(":") + 1));
  controllerLog.info(
    {
      component: "controller",
      port: controllerPort,
      voters: Object.fromEntries(config.controllerQuorumVoters),
      metadataOffset: controller.committedOffset,
    },
    "controller listening",
  );

  return { metadataLog, controller, channel, controllerPort };
}

/**
 * The voters are read from the config only when the data dir is new; after
 * that the Raft log's own membership counts. A config that names other
 * voters (e.g. NODES=3 on a data dir made by a one-node cluster) would split
 * the cluster into two quorums, so it is refused.
 */
async function checkStoredVoters(metadataLog: RaftMetadataLog, config: NodeConfig): Promise<void> {
  const stored = metadataLog.quorumStatus().map((member) => member.id);
  const configured = [...config.controllerQuorumVoters.keys()].sort((a, b) => a - b);
  if (stored.join(",") === configured.join(",")) return;
  await metadataLog.close({ transferLeadership: false });
  throw new BrookError(
    "INVALID_CONFIG",
    `data directory ${config.dataDir} holds a controller quorum of nodes ${stored.join(",")}, but the configured voters are nodes ${configured.join(",")}; use the same voters, or start from an empty data directory (make clean)`,
  );
}

/**
 * The Controller service must be on the server before the Raft transport
 * binds the shared port, but the Controller exists only once the log is open:
 * until then every call is answered NOT_CONTROLLER (retriable).
 */
class DeferredControllerService {
  private handlers: ControllerHandlers | undefined;
  readonly implementation: grpc.UntypedServiceImplementation;

  constructor(nodeId: number) {
    const starting = new BrookError(
      "NOT_CONTROLLER",
      `node ${nodeId} is not the active controller; no active controller is known yet; retry shortly`,
    );
    this.implementation = Object.fromEntries(
      Object.keys(ControllerService).map((method) => [
        method,
        (call: unknown, callback: grpc.sendUnaryData<unknown>) => {
          const handler = this.handlers?.[method as keyof ControllerHandlers] as
            | ((call: unknown, callback: grpc.sendUnaryData<unknown>) => void)
            | undefined;
          if (handler) handler(call, callback);
          else callback(toServiceError(starting));
        },
      ]),
    );
  }

  serve(handlers: ControllerHandlers): void {
    this.handlers = handlers;
  }
}

/** A TCP listener's TLS, when it has any: its server options and the hook that follows reloads. */
function tlsListener(security: NodeSecurity, listener: "kafka" | "http") {
  const options = security.tlsOptions(listener);
  const tls = security.tls;
  if (options === undefined || tls === undefined) return undefined;
  return { options, follow: (server: TlsServer) => followReloads(server, tls) };
}

/** A Kafka client with a verified TLS client certificate is User:<its CN>; any other starts anonymous. */
function kafkaCallerOf(socket: Socket): Caller {
  const host = socket.remoteAddress ?? "unknown";
  const name = socket instanceof TLSSocket ? tlsPeerName(socket) : undefined;
  return name === undefined ? anonymousCaller(host) : { principal: `User:${name}`, host };
}

function bind(
  server: grpc.Server,
  host: string,
  port: number,
  credentials: grpc.ServerCredentials,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, credentials, (error, actualPort) => {
      if (error) reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`));
      else resolve(actualPort);
    });
  });
}

/** Lets in-flight calls finish (long polls included) for a short grace period, then cuts them. */
function shutdown(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, shutdownGraceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
