// What producer, consumer and admin share: the connection pool, the metadata cache, and calls to a given
// broker or to whichever broker answers. Each producer, consumer and admin owns one Cluster (as in KafkaJS),
// so closing one closes its connections and nothing else.

import { BrookError, type Clock, type RandomSource } from "@brook/protocol";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../logger.js";
import type { RetryPolicy } from "../retry/retry-policy.js";
import { type BrokerClientFactory, ConnectionPool } from "./connection-pool.js";
import { MetadataCache } from "./metadata-cache.js";
import { type BrokerRpc, type BrokerRpcs, callUnary } from "./unary.js";

export interface ClusterOptions {
  /** Bootstrap addresses, host:port. */
  brokers: string[];
  clientId: string;
  requestTimeoutMs: number;
  retry: RetryPolicy;
  logger: Logger;
  clock: Clock;
  random: RandomSource;
  createClient?: BrokerClientFactory;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The call metadata key that carries clientId, as KafkaJS puts client.id in every request header. */
const clientIdKey = "brook-client-id";

export class Cluster {
  readonly pool: ConnectionPool;
  readonly metadata: MetadataCache;
  private readonly callMetadata = new grpc.Metadata();

  constructor(readonly options: ClusterOptions) {
    if (options.brokers.length === 0) {
      throw new BrookError("INVALID_REQUEST", "give at least one bootstrap broker address (host:port)");
    }
    this.callMetadata.set(clientIdKey, options.clientId);
    this.pool = new ConnectionPool(options.createClient);
    this.metadata = new MetadataCache((topics) => this.callAny("metadata", { topics }), options.clock);
  }

  get logger(): Logger {
    return this.options.logger;
  }

  /** Calls the broker at `address`. */
  call<M extends BrokerRpc>(
    address: string,
    method: M,
    request: BrokerRpcs[M][0],
    options: CallOptions = {},
  ): Promise<BrokerRpcs[M][1]> {
    if (this.pool.isClosed) return Promise.reject(new BrookError("CLIENT_CLOSED", "this client was closed"));
    return callUnary(this.pool.get(address), method, request, {
      metadata: this.callMetadata,
      timeoutMs: options.timeoutMs ?? this.options.requestTimeoutMs,
      clock: this.options.clock,
      signal: options.signal,
    });
  }

  /**
   * Calls each known broker, then each bootstrap address, until one answers; a retriable failure moves on
   * to the next, anything else is the answer.
   */
  async callAny<M extends BrokerRpc>(method: M, request: BrokerRpcs[M][0]): Promise<BrokerRpcs[M][1]> {
    let lastError: BrookError | undefined;
    for (const address of this.candidateAddresses()) {
      try {
        return await this.call(address, method, request);
      } catch (error) {
        if (!(error instanceof BrookError) || !error.retriable) throw error;
        this.logger.debug(
          { address, method, error: error.message },
          "broker did not answer; trying the next",
        );
        lastError = error;
      }
    }
    throw new BrookError(
      "BROKER_NOT_AVAILABLE",
      `no broker answered ${method} (tried ${this.candidateAddresses().join(", ")}): ${lastError?.message}`,
      { cause: lastError },
    );
  }

  close(): void {
    this.pool.close();
  }

  private candidateAddresses(): string[] {
    const known = this.metadata.knownBrokers().map((broker) => broker.address);
    return [...new Set([...known, ...this.options.brokers])];
  }
}
