// The SDK's entry point, shaped like KafkaJS's `new Kafka({ brokers })`: it holds the shared settings and
// hands out producers, consumers and admins, each with its own connections.

import { type Clock, type RandomSource, systemClock } from "@brook/protocol";
import { Admin } from "./admin/admin.js";
import type { SaslConfig } from "./cluster/authenticator.js";
import { Cluster, checkBrokerAddresses, type SslConfig } from "./cluster/cluster.js";
import type { BrokerClientFactory } from "./cluster/connection-pool.js";
import { clientDefaults, defaultRetryPolicy } from "./config.js";
import { Consumer } from "./consumer/consumer.js";
import type { ConsumerOptions } from "./consumer/types.js";
import { consoleLogger, type Logger } from "./logger.js";
import { Producer } from "./producer/producer.js";
import type { ProducerOptions } from "./producer/types.js";
import type { RetryPolicy } from "./retry/retry-policy.js";

export interface BrookConfig {
  /** Bootstrap brokers, host:port; any one that answers is enough. */
  brokers: string[];
  clientId?: string;
  /** Deadline of each request. Default 30 s. */
  requestTimeoutMs?: number;
  /** How long a call waits to connect to its broker before it fails BROKER_NOT_AVAILABLE. Default 1 s. */
  connectionTimeoutMs?: number;
  /** Default: 10 retries, 100 ms doubling to at most 2 s, ±20% jitter. */
  retry?: Partial<RetryPolicy>;
  /**
   * Give up once no broker has answered for this long: calls then fail with CLUSTER_UNREACHABLE (not
   * retriable), so consumers, producers and admin calls stop instead of retrying. Default: never, as Kafka
   * clients keep retrying; the brook CLI sets it.
   */
  unreachableTimeoutMs?: number;
  /** pino-compatible. Default: warnings and errors to the console. */
  logger?: Logger;
  /** For tests and simulations. */
  clock?: Clock;
  random?: RandomSource;
  createClient?: BrokerClientFactory;
  /** TLS to the brokers: `true` (the system's CAs) or `{ ca, cert?, key? }` (PEM), as KafkaJS's `ssl`. */
  ssl?: SslConfig;
  /** Log in with SASL/SCRAM: `{ mechanism: "scram-sha-256", username, password }`, as KafkaJS's `sasl`. */
  sasl?: SaslConfig;
  /**
   * The cluster secret (its file's text): the client acts as the cluster's operator, allowed everything,
   * as `brook --cluster-secret-file` does to make the first users and ACLs (docs/security.md).
   */
  clusterSecret?: string;
}

export class Brook {
  private readonly config: BrookConfig;

  constructor(config: BrookConfig) {
    checkBrokerAddresses(config.brokers);
    this.config = config;
  }

  producer(options?: ProducerOptions): Producer {
    return new Producer(this.cluster(), options);
  }

  consumer(options?: ConsumerOptions): Consumer {
    return new Consumer(this.cluster(), options);
  }

  admin(): Admin {
    return new Admin(this.cluster());
  }

  private cluster(): Cluster {
    const config = this.config;
    return new Cluster({
      brokers: config.brokers,
      clientId: config.clientId ?? clientDefaults.clientId,
      requestTimeoutMs: config.requestTimeoutMs ?? clientDefaults.requestTimeoutMs,
      connectionTimeoutMs: config.connectionTimeoutMs ?? clientDefaults.connectionTimeoutMs,
      retry: { ...defaultRetryPolicy, ...config.retry },
      unreachableTimeoutMs: config.unreachableTimeoutMs ?? Number.POSITIVE_INFINITY,
      logger: config.logger ?? consoleLogger,
      clock: config.clock ?? systemClock,
      random: config.random ?? Math.random,
      createClient: config.createClient,
      ssl: config.ssl,
      sasl: config.sasl,
      clusterSecret: config.clusterSecret,
    });
  }
}
