// One gRPC client per broker address, created on first use and closed with the pool. A gRPC channel
// multiplexes every concurrent call over one HTTP/2 connection, so one client per broker is enough.

import { type BrokerClient, BrookError, createBrokerClient } from "@brook/protocol";

export type BrokerClientFactory = (address: string) => BrokerClient;

export class ConnectionPool {
  private readonly clients = new Map<string, BrokerClient>();
  private closed = false;

  constructor(private readonly create: BrokerClientFactory = createBrokerClient) {}

  get(address: string): BrokerClient {
    if (this.closed) throw new BrookError("CLIENT_CLOSED", "this client was closed");
    let client = this.clients.get(address);
    if (client === undefined) {
      client = this.create(address);
      this.clients.set(address, client);
    }
    return client;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes every channel; calls still running fail with CLIENT_CLOSED. */
  close(): void {
    this.closed = true;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
