// Rule: the marker channel sends WriteTxnMarkers to the address the metadata image registers for a
// broker, answers BROKER_NOT_AVAILABLE for one not registered or fenced, and follows a broker that
// re-registers elsewhere.
import type { MetadataSource } from "@brook/broker";
import type { MetadataImage } from "@brook/metadata";
import {
  BrokerService,
  BrookError,
  grpcChannelOptions,
  type WriteTxnMarkersRequest__Output,
} from "@brook/protocol";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { GrpcTxnMarkerChannel } from "../src/txn-marker-channel.js";

const servers: grpc.Server[] = [];

afterEach(() => {
  for (const server of servers.splice(0)) server.forceShutdown();
});

/** A Broker service that answers WriteTxnMarkers with every partition written, naming itself in the producer id. */
async function markerServer(name: number): Promise<number> {
  const server = new grpc.Server(grpcChannelOptions);
  server.addService(BrokerService, {
    WriteTxnMarkers: (
      call: grpc.ServerUnaryCall<WriteTxnMarkersRequest__Output, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) =>
      callback(null, {
        markers: call.request.markers.map((marker) => ({
          producerId: name,
          topics: marker.topics.map(({ topic, partitions }) => ({
            topic,
            partitions: partitions.map((partition) => ({ partition, error: { code: "", message: "" } })),
          })),
        })),
      }),
  });
  servers.push(server);
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
}

function metadataWith(brokers: Record<number, { port: number; fenced?: boolean }>): MetadataSource & {
  image: MetadataImage;
} {
  const map = new Map(
    Object.entries(brokers).map(([id, { port, fenced }]) => [
      Number(id),
      { host: "127.0.0.1", port, fenced: fenced ?? false },
    ]),
  );
  return { image: { brokers: map } as unknown as MetadataImage, onImage: () => () => undefined };
}

const request: WriteTxnMarkersRequest__Output = {
  markers: [
    {
      producerId: 5,
      producerEpoch: 0,
      committed: true,
      coordinatorEpoch: 1,
      topics: [{ topic: "orders", partitions: [0, 1] }],
    },
  ],
};

describe("the transaction marker channel", () => {
  it("reaches the broker at its registered address, and follows it when it moves", async () => {
    const first = await markerServer(101);
    const metadata = metadataWith({ 2: { port: first } });
    const channel = new GrpcTxnMarkerChannel(metadata, {}, 2_000);
    try {
      const answer = await channel.writeTxnMarkers(2, request);
      expect(answer.markers?.[0]).toMatchObject({
        producerId: 101,
        topics: [{ topic: "orders", partitions: [{ partition: 0 }, { partition: 1 }] }],
      });
      const second = await markerServer(102);
      metadata.image = metadataWith({ 2: { port: second } }).image;
      expect((await channel.writeTxnMarkers(2, request)).markers?.[0].producerId).toBe(102);
    } finally {
      channel.close();
    }
  });

  it("refuses a broker that is not registered or is fenced, without calling", async () => {
    const channel = new GrpcTxnMarkerChannel(metadataWith({ 3: { port: 1, fenced: true } }), {});
    for (const brokerId of [2, 3]) {
      const error = await channel.writeTxnMarkers(brokerId, request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BrookError);
      expect((error as BrookError).code).toBe("BROKER_NOT_AVAILABLE");
    }
    channel.close();
  });
});
