// How this node's transaction coordinator reaches partition leaders on other
// brokers: WriteTxnMarkers over gRPC, to the address the metadata image
// registers for the broker. (Markers for partitions this broker leads never
// leave it: the Broker answers them itself.) One client per broker, so at
// most as many as the cluster has brokers; a broker that re-registers at
// another address gets a new client.

import type { MetadataSource, TxnMarkerChannel } from "@brook/broker";
import {
  type BrokerClient,
  BrookError,
  type ChannelSecurity,
  createBrokerClient,
  fromServiceError,
  type WriteTxnMarkersRequest__Output,
  type WriteTxnMarkersResponse,
} from "@brook/protocol";

/**
 * One WriteTxnMarkers call's deadline: the leader waits up to the produce timeout (30 s) for its
 * ISR, but the coordinator would rather retry sooner (the leader may have moved).
 */
export const markerCallTimeoutMs = 10_000;

export class GrpcTxnMarkerChannel implements TxnMarkerChannel {
  private readonly clients = new Map<number, { address: string; client: BrokerClient }>();

  constructor(
    private readonly metadata: MetadataSource,
    /** TLS and node identity: WriteTxnMarkers is only taken from the cluster's own nodes. */
    private readonly security: ChannelSecurity,
    private readonly callTimeoutMs = markerCallTimeoutMs,
  ) {}

  writeTxnMarkers(
    brokerId: number,
    request: WriteTxnMarkersRequest__Output,
  ): Promise<WriteTxnMarkersResponse> {
    const broker = this.metadata.image.brokers.get(brokerId);
    if (broker === undefined || broker.fenced) {
      return Promise.reject(
        new BrookError(
          "BROKER_NOT_AVAILABLE",
          `broker ${brokerId} is not registered and unfenced; retry shortly`,
        ),
      );
    }
    const client = this.clientFor(brokerId, `${broker.host}:${broker.port}`);
    return new Promise((resolve, reject) => {
      client.WriteTxnMarkers(request, { deadline: Date.now() + this.callTimeoutMs }, (error, response) =>
        error ? reject(fromServiceError(error)) : resolve(response ?? { markers: [] }),
      );
    });
  }

  close(): void {
    for (const { client } of this.clients.values()) client.close();
    this.clients.clear();
  }

  private clientFor(brokerId: number, address: string): BrokerClient {
    const known = this.clients.get(brokerId);
    if (known?.address === address) return known.client;
    known?.client.close();
    const client = createBrokerClient(address, this.security);
    this.clients.set(brokerId, { address, client });
    return client;
  }
}
