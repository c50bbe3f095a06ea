// One gRPC client per broker address, created on first use and closed with the pool. A gRPC channel
// multiplexes every concurrent call over one HTTP/2 connection, so one client per broker is enough. Each
// broker also has one call stream on that channel, for produce and fetch (the data path's cheap calls).

import { type BrokerClient, BrookError, CallStream, createBrokerClient } from "@brook/protocol";
import * as grpc from "@grpc/grpc-js";

export type BrokerClientFactory = (address: string) => BrokerClient;

export class ConnectionPool {
  private readonly clients = new Map<string, BrokerClient>();
  private readonly streams = new Map<string, CallStream>();
  private closed = false;

  constructor(
    private readonly create: BrokerClientFactory = createBrokerClient,
    /** Sent when a call stream opens. */
    private readonly streamMetadata?: grpc.Metadata,
  ) {}

  get(address: string): BrokerClient {
    if (this.closed) throw new BrookError("CLIENT_CLOSED", "this client was closed");
    let client = this.clients.get(address);
    if (client === undefined) {
      client = this.create(address);
      this.clients.set(address, client);
    }
    return client;
  }

  /**
   * Undefined when the channel to `address` is connected or has failed (a call then fails at once, with
   * gRPC's own reason, e.g. connection refused); otherwise a wait for it that ends when it connects or
   * fails, or fails BROKER_NOT_AVAILABLE when it is not made within `timeoutMs` (a call on a channel still
   * connecting would wait for its own deadline instead: a broker cut off by the network holds it).
   */
  connecting(address: string, timeoutMs: number): Promise<void> | undefined {
    const client = this.get(address);
    // Clients that are not gRPC channels (test doubles) are always "connected".
    if (typeof client.getChannel !== "function") return undefined;
    const channel = client.getChannel();
    const { READY, TRANSIENT_FAILURE, SHUTDOWN } = grpc.connectivityState;
    const settled = (state: grpc.connectivityState) =>
      state === READY || state === TRANSIENT_FAILURE || state === SHUTDOWN;
    if (settled(channel.getConnectivityState(true))) return undefined;
    const deadlineMs = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const watch = (state: grpc.connectivityState) => {
        if (settled(state)) resolve();
        else {
          channel.watchConnectivityState(state, deadlineMs, (error) => {
            if (!error) watch(channel.getConnectivityState(false));
            else {
              const reason = `could not connect to ${address} within ${timeoutMs} ms`;
              reject(new ConnectTimeout(reason));
            }
          });
        }
      };
      watch(channel.getConnectivityState(false));
    });
  }

  /** The call stream to the broker at `address`, on the same channel as its unary calls. */
  stream(address: string): CallStream {
    let stream = this.streams.get(address);
    if (stream === undefined) {
      stream = new CallStream(this.get(address), this.streamMetadata);
      this.streams.set(address, stream);
    }
    return stream;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes every channel; calls still running fail with CLIENT_CLOSED. */
  close(): void {
    this.closed = true;
    for (const stream of this.streams.values()) stream.close();
    this.streams.clear();
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

/** A broker whose connection was not made within the connection timeout: silence, not an answer. */
export class ConnectTimeout extends BrookError {
  constructor(reason: string) {
    super("BROKER_NOT_AVAILABLE", reason);
  }
}
