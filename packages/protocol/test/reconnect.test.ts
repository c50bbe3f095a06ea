// The channels every Brook client dials with: a peer that was down is reached
// again within about a second of coming back, however long it was down. With
// gRPC's default backoff (growing to 120 s) a Raft leader left a restarted
// voter unheard of for about as long as it had been down.

import * as grpc from "@grpc/grpc-js";
import getPort from "get-port";
import { describe, expect, it } from "vitest";
import { BrokerService, createBrokerClient } from "../src/index.js";

describe("reconnecting", () => {
  it("reaches a peer within about a second of its return after 12 s down", async () => {
    const port = await getPort({ host: "127.0.0.1" });
    const client = createBrokerClient(`127.0.0.1:${port}`);
    const server = new grpc.Server();
    server.addService(BrokerService, {
      Metadata: (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
        callback(null, { brokers: [], topics: [] }),
    } as grpc.UntypedServiceImplementation);
    try {
      // Asked every 100 ms throughout, as a Raft leader's heartbeats would; by 12 s the default
      // backoff has grown to about 6.5 s between attempts.
      const reachedMs = await new Promise<number>((resolve) => {
        let upAtMs: number | undefined;
        const timer = setInterval(() => {
          client.Metadata({ topics: [] }, { deadline: Date.now() + 500 }, (error) => {
            if (error === null && upAtMs !== undefined) {
              clearInterval(timer);
              resolve(Date.now() - upAtMs);
            }
          });
        }, 100);
        setTimeout(() => {
          server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), () => {
            upAtMs = Date.now();
          });
        }, 12_000);
      });
      expect(reachedMs).toBeLessThan(1_500);
    } finally {
      client.close();
      server.forceShutdown();
    }
  }, 30_000);
});
