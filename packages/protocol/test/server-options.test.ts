// grpcServerOptions bounds one connection's concurrent calls (grpc.max_concurrent_streams): past it a
// client's calls wait at the client and all complete; the server never has more open at once.

import { BrokerService, createBrokerClient, grpcServerOptions } from "@brook/protocol";
import * as grpc from "@grpc/grpc-js";
import { expect, it } from "vitest";

it("queues a connection's calls past max_concurrent_streams at the client, and answers them all", async () => {
  let open = 0;
  let peak = 0;
  const server = new grpc.Server({ ...grpcServerOptions, "grpc.max_concurrent_streams": 2 });
  server.addService(BrokerService, {
    DescribeCluster: (_call: unknown, cb: (e: unknown, v?: unknown) => void) => {
      open++;
      peak = Math.max(peak, open);
      setTimeout(() => {
        open--;
        cb(null, {});
      }, 50);
    },
  } as never);
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const client = createBrokerClient(`127.0.0.1:${port}`);
  const calls = Array.from(
    { length: 10 },
    () =>
      new Promise((res, rej) =>
        client.DescribeCluster({}, (e: unknown, v: unknown) => (e ? rej(e) : res(v))),
      ),
  );
  await Promise.all(calls);
  expect(peak).toBe(2);
  expect(grpcServerOptions["grpc.max_concurrent_streams"]).toBe(256);
  client.close();
  server.forceShutdown();
});
