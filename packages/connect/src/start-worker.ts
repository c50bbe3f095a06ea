// Starting a worker, distributed or standalone: its storage, membership, REST server and the worker itself,
// put together in the order they need (the REST port is known before the worker joins its group, since it
// is the worker's id), and stopped in reverse.

import type { AddressInfo } from "node:net";
import { Brook, type Logger } from "@brook/client";
import { serve } from "@hono/node-server";
import pino from "pino";
import type { AnyConnector } from "./api.js";
import type { RawConfig } from "./config/config-def.js";
import { pluginRegistry } from "./connectors/index.js";
import { restApi } from "./rest/rest-api.js";
import { Herder } from "./runtime/herder.js";
import { AloneMembership, GroupMembership, type Membership } from "./runtime/membership.js";
import { ConnectMetrics } from "./runtime/metrics.js";
import {
  type ConnectStorage,
  defaultTopicNames,
  LocalStorage,
  type TopicNames,
  TopicStorage,
} from "./runtime/storage.js";
import { Worker } from "./runtime/worker.js";

export const workerDefaults = {
  restHost: "127.0.0.1",
  /** Kafka Connect's port. */
  restPort: 8083,
} as const;

interface CommonWorkerOptions {
  /** Bootstrap brokers, host:port. */
  brokers: string[];
  restHost?: string;
  /** 0 picks a free port. */
  restPort?: number;
  /** Connector plugins besides the built-in ones. */
  plugins?: readonly AnyConnector[];
  /** pino logger; default: JSON lines to stdout at info. */
  logger?: pino.Logger;
  /** Lets sources that can seek write records and offsets in one transaction (distributed only). */
  exactlyOnceSource?: boolean;
}

export interface DistributedWorkerOptions extends CommonWorkerOptions {
  /** Workers with the same group share connectors' tasks. */
  group: string;
  topics?: Partial<TopicNames>;
}

export interface StandaloneWorkerOptions extends CommonWorkerOptions {
  /** Where source offsets are kept. */
  offsetsFile: string;
  connectors: { name: string; config: RawConfig }[];
}

export interface RunningWorker {
  /** http://host:port of the REST API. */
  url: string;
  workerId: string;
  herder: Herder;
  worker: Worker;
  stop(): Promise<void>;
}

export function startDistributedWorker(options: DistributedWorkerOptions): Promise<RunningWorker> {
  const topics = { ...defaultTopicNames, ...options.topics };
  const logger = options.logger ?? pino({ base: { group: options.group } });
  const brook = new Brook({ brokers: options.brokers, logger: clientLogger(logger) });
  return startWorker(options, {
    brook,
    group: options.group,
    logger,
    storage: new TopicStorage(brook, topics, options.group, logger),
    membership: (self) => new GroupMembership(brook, options.group, topics.configs, self),
    exactlyOnceSource: options.exactlyOnceSource ?? false,
  });
}

export async function startStandaloneWorker(options: StandaloneWorkerOptions): Promise<RunningWorker> {
  const logger = options.logger ?? pino({ base: { mode: "standalone" } });
  const brook = new Brook({ brokers: options.brokers, logger: clientLogger(logger) });
  const storage = new LocalStorage(options.offsetsFile);
  const running = await startWorker(options, {
    brook,
    group: "standalone",
    logger,
    storage,
    membership: (self) => new AloneMembership(self),
    exactlyOnceSource: false,
  });
  for (const { name, config } of options.connectors) await running.herder.putConfig(name, config);
  return running;
}

interface Parts {
  brook: Brook;
  group: string;
  logger: pino.Logger;
  storage: ConnectStorage;
  membership: (self: string) => Membership;
  exactlyOnceSource: boolean;
}

async function startWorker(options: CommonWorkerOptions, parts: Parts): Promise<RunningWorker> {
  const plugins = pluginRegistry(options.plugins);
  const metrics = new ConnectMetrics();
  let worker: Worker | undefined;
  const herder = new Herder(parts.storage, plugins, () => worker?.workers() ?? []);
  const host = options.restHost ?? workerDefaults.restHost;
  const identity = { worker: "" };
  const app = restApi(herder, metrics, identity);
  const server = await listen(app.fetch, host, options.restPort ?? workerDefaults.restPort);
  const workerId = `${host}:${(server.address() as AddressInfo).port}`;
  identity.worker = workerId;
  const logger = parts.logger.child({ worker: workerId });
  worker = new Worker({
    brook: parts.brook,
    group: parts.group,
    plugins,
    storage: parts.storage,
    membership: parts.membership(workerId),
    metrics,
    logger,
    exactlyOnceSource: parts.exactlyOnceSource,
  });
  try {
    await worker.start();
  } catch (error) {
    server.close();
    throw error;
  }
  logger.info({ url: `http://${workerId}` }, "worker started");
  const started = worker;
  return {
    url: `http://${workerId}`,
    workerId,
    herder,
    worker: started,
    stop: async () => {
      server.close();
      await started.stop();
      logger.info({}, "worker stopped");
    },
  };
}

function listen(fetch: Parameters<typeof serve>[0]["fetch"], hostname: string, port: number) {
  return new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once("error", reject);
  });
}

/** The SDK's logs at warn and above, through the worker's logger. */
function clientLogger(logger: pino.Logger): Logger {
  const client = logger.child({ component: "client" });
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (fields, message) => client.warn(fields, message),
    error: (fields, message) => client.error(fields, message),
  };
}
