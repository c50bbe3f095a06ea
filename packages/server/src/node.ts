// Starts one Brook node: the controller (metadata on a level log) and the
// broker, each on its own gRPC listener, wired together in-process. A node
// is what `brook server` runs and what the end-to-end tests start.

import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { Broker, type ControllerChannel } from "@brook/broker";
import {
  Controller,
  controllerHandlers,
  createTopics,
  deleteTopics,
  LevelMetadataLog,
} from "@brook/controller";
import { BrokerService, ControllerService, grpcChannelOptions } from "@brook/protocol";
import * as grpc from "@grpc/grpc-js";
import { type Logger, pino } from "pino";
import type { NodeConfig } from "./config.js";
import { loadOrCreateMetaProperties } from "./meta-properties.js";

export interface RunningNode {
  readonly config: NodeConfig;
  readonly clusterId: string;
  /** Actual ports (differ from the config when it asked for port 0). */
  readonly brokerPort: number;
  readonly controllerPort: number;
  readonly logger: Logger;
  close(): Promise<void>;
}

const shutdownGraceMs = 5_000;

export async function startNode(config: NodeConfig, logger?: Logger): Promise<RunningNode> {
  const log = (logger ?? pino({ level: config.logLevel })).child({ nodeId: config.nodeId });
  const { clusterId } = loadOrCreateMetaProperties(config.dataDir, config.nodeId);

  const controller = await Controller.open({
    nodeId: config.nodeId,
    log: await LevelMetadataLog.open(join(config.dataDir, "__cluster_metadata")),
  });
  const controllerServer = new grpc.Server(grpcChannelOptions);
  controllerServer.addService(ControllerService, controllerHandlers(controller));
  const controllerPort = await bind(controllerServer, config.host, config.controllerPort);
  log.info(
    { component: "controller", port: controllerPort, metadataOffset: controller.committedOffset },
    "controller listening",
  );

  const channel: ControllerChannel = {
    createTopics: (request) => createTopics(controller, request),
    deleteTopics: (request) => deleteTopics(controller, request),
    quorumStatus: async () => [
      { id: config.nodeId, leader: true, term: 0, commitIndex: controller.committedOffset },
    ],
    activeControllerId: () => config.nodeId,
  };
  const broker = await Broker.start({
    brokerId: config.nodeId,
    clusterId,
    dataDir: config.dataDir,
    metadata: controller,
    controller: channel,
    logger: log,
    retentionCheckIntervalMs: config.retentionCheckIntervalMs,
  });
  const brokerServer = new grpc.Server(grpcChannelOptions);
  brokerServer.addService(BrokerService, broker.handlers);
  const brokerPort = await bind(brokerServer, config.host, config.brokerPort);
  await controller.registerBroker({
    brokerId: config.nodeId,
    incarnationId: randomUUID(),
    host: config.advertisedHost,
    port: brokerPort,
  });
  log.info({ component: "broker", port: brokerPort, clusterId }, "broker listening");

  let closing: Promise<void> | undefined;
  return {
    config,
    clusterId,
    brokerPort,
    controllerPort,
    logger: log,
    close: () => {
      closing ??= (async () => {
        await Promise.all([shutdown(brokerServer), shutdown(controllerServer)]);
        await broker.close();
        await controller.close();
        log.info("node stopped");
      })();
      return closing;
    },
  };
}

function bind(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, actualPort) => {
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
