// The channels every Brook client dials with find out a peer that went silent (cut off by the network,
// its host frozen: no RST, no FIN, nothing) within about 2 s, and fail its calls UNAVAILABLE, so a client
// retries at the new leader instead of waiting out its deadline. With 30 s keepalive pings a producer
// stuck on a leader cut off by the network moved on only when the network healed.

import { createServer, Socket as NetSocket, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import getPort from "get-port";
import { describe, expect, it } from "vitest";
import { BrokerService, createBrokerClient } from "../src/index.js";

/** A TCP relay that can go silent: it keeps both sockets open and passes nothing on, either way. */
async function silenceableRelay(
  targetPort: number,
): Promise<{ port: number; silence(): void; close(): void }> {
  const sockets: Socket[] = [];
  let silent = false;
  const relay = createServer((inbound) => {
    const outbound = new NetSocket();
    outbound.connect(targetPort, "127.0.0.1");
    sockets.push(inbound, outbound);
    inbound.on("data", (chunk) => silent || outbound.write(chunk));
    outbound.on("data", (chunk) => silent || inbound.write(chunk));
    inbound.on("error", () => undefined);
    outbound.on("error", () => undefined);
  });
  const port = await getPort({ host: "127.0.0.1" });
  await new Promise<void>((resolve) => relay.listen(port, "127.0.0.1", resolve));
  return {
    port,
    silence: () => {
      silent = true;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      relay.close();
    },
  };
}

describe("keepalive", () => {
  it("a call to a peer that went silent fails UNAVAILABLE within 3 s, long before its 30 s deadline", async () => {
    const serverPort = await getPort({ host: "127.0.0.1" });
    const server = new grpc.Server();
    server.addService(BrokerService, {
      // Answers the first call; never answers later ones (as a leader waiting on its followers).
      Metadata: (() => {
        let calls = 0;
        return (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
          if (calls++ === 0) callback(null, { brokers: [], topics: [] });
        };
      })(),
    } as grpc.UntypedServiceImplementation);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${serverPort}`, grpc.ServerCredentials.createInsecure(), (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    const relay = await silenceableRelay(serverPort);
    const client = createBrokerClient(`127.0.0.1:${relay.port}`);
    try {
      await new Promise<void>((resolve, reject) =>
        client.Metadata({ topics: [] }, { deadline: Date.now() + 5_000 }, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
      const startedMs = Date.now();
      const failed = new Promise<grpc.ServiceError>((resolve) =>
        client.Metadata({ topics: [] }, { deadline: Date.now() + 30_000 }, (error) => resolve(error!)),
      );
      relay.silence();
      const error = await failed;
      expect(error.code).toBe(grpc.status.UNAVAILABLE);
      expect(Date.now() - startedMs).toBeLessThan(3_000);
    } finally {
      client.close();
      relay.close();
      server.forceShutdown();
    }
  }, 40_000);
});
