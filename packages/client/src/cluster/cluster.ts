// What producer, consumer and admin share: the connection pool, the metadata cache, and calls to a given
// broker or to whichever broker answers. Each producer, consumer and admin owns one Cluster (as in KafkaJS),
// so closing one closes its connections and nothing else.

import {
  BrookError,
  type Clock,
  createBrokerClient,
  isTransportFailure,
  type RandomSource,
  type StreamedCall,
  type StreamedCalls,
} from "@brook/protocol";
import { clusterSecretKey, operatorNodeId } from "@brook/security";
import * as grpc from "@grpc/grpc-js";
import { metadataLimits } from "../config.js";
import type { Logger } from "../logger.js";
import type { RetryPolicy } from "../retry/retry-policy.js";
import { SaslAuthenticator, type SaslConfig } from "./authenticator.js";
import { type BrokerClientFactory, ConnectionPool, ConnectTimeout } from "./connection-pool.js";
import { MetadataCache } from "./metadata-cache.js";
import { type BrokerRpc, type BrokerRpcs, callUnary } from "./unary.js";

export interface ClusterOptions {
  /** Bootstrap addresses, host:port. */
  brokers: string[];
  clientId: string;
  requestTimeoutMs: number;
  /** A call to a broker not connected within this long fails BROKER_NOT_AVAILABLE. */
  connectionTimeoutMs: number;
  retry: RetryPolicy;
  /** When no broker has answered for this long, calls fail with CLUSTER_UNREACHABLE (not retriable). */
  unreachableTimeoutMs: number;
  logger: Logger;
  clock: Clock;
  random: RandomSource;
  createClient?: BrokerClientFactory;
  /** TLS to the brokers (KafkaJS's `ssl`): true trusts the system's CAs; or a CA, and a client certificate. */
  ssl?: SslConfig;
  /** SASL/SCRAM credentials (KafkaJS's `sasl`). */
  sasl?: SaslConfig;
  /** Act as the cluster's operator: every call signed with the cluster secret (node identity, as node 0). */
  clusterSecret?: string;
}

export type SslConfig = true | { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Asked every connectionCheckMs while the call waits for its broker's connection: false gives the wait
   * up with a retriable BROKER_NOT_AVAILABLE (the producer: metadata now names another leader for every
   * partition the request is for, so the broker it waits on, cut off by the network, is no longer needed).
   */
  worthConnecting?: () => Promise<boolean>;
}

/** How often a call waiting for its broker's connection asks `worthConnecting`. */
const connectionCheckMs = 200;

/** A wait for a connection given up because the call no longer needs that broker; not silence. */
class ConnectAbandoned extends BrookError {
  constructor(address: string) {
    super("BROKER_NOT_AVAILABLE", `gave up connecting to ${address}: the call is no longer for it`);
  }
}

/** The call metadata key that carries clientId, as KafkaJS puts client.id in every request header. */
const clientIdKey = "brook-client-id";

export class Cluster {
  readonly pool: ConnectionPool;
  readonly metadata: MetadataCache;
  private readonly callMetadata = new grpc.Metadata();
  /** When a broker last answered anything at all; creation counts as the start of the silence. */
  private lastAnsweredMs: number;
  private readonly sasl: SaslAuthenticator | undefined;

  constructor(readonly options: ClusterOptions) {
    this.lastAnsweredMs = options.clock.nowMs();
    this.callMetadata.set(clientIdKey, options.clientId);
    this.pool = new ConnectionPool(
      options.createClient ?? clientFactory(options.ssl, options.clusterSecret),
      this.callMetadata,
    );
    this.sasl = options.sasl
      ? new SaslAuthenticator(options.sasl, this.callMetadata, options.clock, options.requestTimeoutMs)
      : undefined;
    this.metadata = new MetadataCache(
      (topics) =>
        this.callAny(
          "metadata",
          { topics },
          { timeoutMs: metadataLimits.callTimeoutMs },
          (answer) => !answer.mayBeStale,
        ),
      options.clock,
    );
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
    const connecting = this.pool.connecting(address, this.options.connectionTimeoutMs);
    if (connecting !== undefined) {
      const wait = options.worthConnecting
        ? whileWorthIt(connecting, options.worthConnecting, address)
        : connecting;
      return wait.then(
        () => this.call(address, method, request, options),
        (error: unknown) => {
          if (error instanceof ConnectAbandoned) throw error;
          throw this.answeredOrUnreachable(address, error, error instanceof ConnectTimeout);
        },
      );
    }
    if (this.sasl !== undefined && !this.sasl.ready) {
      return this.sasl.authenticate(this.pool.get(address)).then(
        () => this.call(address, method, request, options),
        (error: unknown) => {
          throw this.answeredOrUnreachable(address, error);
        },
      );
    }
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    const answer = isStreamed(method)
      ? this.pool.stream(address).call(method, request as StreamedCalls[typeof method][0], {
          timeoutMs,
          signal: options.signal,
        })
      : callUnary(this.pool.get(address), method, request, {
          metadata: this.callMetadata,
          timeoutMs,
          clock: this.options.clock,
          signal: options.signal,
        });
    return (answer as Promise<BrokerRpcs[M][1]>).then(
      (response) => {
        this.lastAnsweredMs = this.options.clock.nowMs();
        return response;
      },
      (error: unknown) => {
        throw this.answeredOrUnreachable(address, error);
      },
    );
  }

  /**
   * A broker's own error is an answer; a call that reached nobody is silence, and once the silence lasts
   * unreachableTimeoutMs it becomes CLUSTER_UNREACHABLE, which no retry loop retries.
   */
  private answeredOrUnreachable(
    address: string,
    error: unknown,
    silent = isTransportFailure(error),
  ): unknown {
    const nowMs = this.options.clock.nowMs();
    if (error instanceof BrookError && error.code === "CLIENT_CLOSED") return error; // cancelled here
    if (!silent) {
      this.lastAnsweredMs = nowMs;
      return error;
    }
    const silentMs = nowMs - this.lastAnsweredMs;
    if (silentMs < this.options.unreachableTimeoutMs) return error;
    const reason = (error as BrookError).detail;
    return new BrookError(
      "CLUSTER_UNREACHABLE",
      `no broker answered for ${(silentMs / 1000).toFixed(1)} s (tried ${this.candidateAddresses().join(", ")}): ${reason.includes(address) ? reason : `${address}: ${reason}`}`,
      { cause: error },
    );
  }

  /**
   * Calls each known broker, then each bootstrap address, until one answers; a retriable failure moves on
   * to the next, anything else is the answer. An answer `trusted` refuses (a broker that says its own
   * metadata may be stale) moves on too, and is returned only when no broker gives a trusted one.
   */
  async callAny<M extends BrokerRpc>(
    method: M,
    request: BrokerRpcs[M][0],
    options: CallOptions = {},
    trusted: (answer: BrokerRpcs[M][1]) => boolean = () => true,
  ): Promise<BrokerRpcs[M][1]> {
    let lastError: BrookError | undefined;
    let untrusted: BrokerRpcs[M][1] | undefined;
    for (const address of this.candidateAddresses()) {
      try {
        const answer = await this.call(address, method, request, options);
        if (trusted(answer)) return answer;
        this.metadata.distrust(address);
        untrusted ??= answer;
      } catch (error) {
        if (!(error instanceof BrookError) || !error.retriable) throw error;
        this.metadata.distrust(address);
        this.logger.debug(
          { address, method, error: error.message },
          "broker did not answer; trying the next",
        );
        lastError = error;
      }
    }
    if (untrusted !== undefined) return untrusted;
    throw new BrookError(
      "BROKER_NOT_AVAILABLE",
      `no broker answered ${method} (tried ${this.candidateAddresses().join(", ")}): ${lastError?.code === "BROKER_NOT_AVAILABLE" ? lastError.detail : lastError?.message}`,
      { cause: lastError },
    );
  }

  close(): void {
    this.pool.close();
  }

  private candidateAddresses(): string[] {
    const known = this.metadata.knownBrokers().map((broker) => broker.address);
    return this.metadata.inAskingOrder([...new Set([...known, ...this.options.brokers])]);
  }
}

/** `connecting`, unless `worthIt` (asked every connectionCheckMs, one question at a time) says no first. */
function whileWorthIt(
  connecting: Promise<void>,
  worthIt: () => Promise<boolean>,
  address: string,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  const givenUp = new Promise<never>((_, reject) => {
    const ask = () => {
      timer = setTimeout(async () => {
        const worth = await worthIt().catch(() => true);
        if (settled) return;
        if (worth) ask();
        else reject(new ConnectAbandoned(address));
      }, connectionCheckMs);
    };
    ask();
  });
  return Promise.race([connecting, givenUp]).finally(() => {
    settled = true;
    clearTimeout(timer);
  });
}

/** gRPC clients over TLS when `ssl` asks for it (else plaintext), signed as the operator with a cluster secret. */
function clientFactory(ssl: SslConfig | undefined, clusterSecret: string | undefined): BrokerClientFactory {
  const node =
    clusterSecret === undefined
      ? undefined
      : { nodeId: operatorNodeId, key: clusterSecretKey(clusterSecret) };
  const pem = (value: string | Buffer | undefined) => (value === undefined ? undefined : Buffer.from(value));
  const files = ssl === undefined || ssl === true ? {} : ssl;
  const credentials =
    ssl === undefined
      ? undefined
      : grpc.credentials.createSsl(pem(files.ca), pem(files.key), pem(files.cert));
  return (address) => createBrokerClient(address, { credentials, node });
}

/** Produce and fetch go on the broker's call stream: a message there costs a fraction of a unary call. */
function isStreamed(method: BrokerRpc): method is StreamedCall {
  return method === "produce" || method === "fetch";
}

/** host:port, or [ipv6]:port: the one address form the SDK takes. */
const brokerAddressPattern = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/** Refuses malformed bootstrap addresses before any connection is tried. */
export function checkBrokerAddresses(addresses: readonly string[]): void {
  if (addresses.length === 0) {
    throw new BrookError("INVALID_CONFIG", "give at least one bootstrap broker address (host:port)");
  }
  for (const address of addresses) {
    const port = Number(brokerAddressPattern.exec(address)?.[1] ?? Number.NaN);
    if (!(port >= 1 && port <= 65_535)) {
      throw new BrookError(
        "INVALID_CONFIG",
        `'${address}' is not a broker address: give host:port with a port from 1 to 65535, e.g. 127.0.0.1:9092`,
      );
    }
  }
}
