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
   * Undefined when the channel to `address` is connected; otherwise a wait for it that fails
   * BROKER_NOT_AVAILABLE when the connection fails (refused: at once, as a call would) or is not made
   * within `timeoutMs` (a call on a channel still connecting would wait for its own deadline instead).
   */
  connecting(address: string, timeoutMs: number): Promise<void> | undefined {
    const client = this.get(address);
    // Clients that are not gRPC channels (test doubles) are always "connected".
    if (typeof client.getChannel !== "function") return undefined;
    const channel = client.getChannel();
    const { READY, TRANSIENT_FAILURE, SHUTDOWN } = grpc.connectivityState;
    if (channel.getConnectivityState(true) === READY) return undefined;
    const deadlineMs = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const fail = (why: string) =>
        reject(new BrookError("BROKER_NOT_AVAILABLE", `could not connect to ${address}: ${why}`));
      const watch = (state: grpc.connectivityState) => {
        if (state === READY) resolve();
        else if (state === TRANSIENT_FAILURE) fail("the connection failed");
        else if (state === SHUTDOWN) fail("the client was closed");
        else {
          channel.watchConnectivityState(state, deadlineMs, (error) => {
            if (error) fail(`not connected within ${timeoutMs} ms`);
            else watch(channel.getConnectivityState(false));
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
