// Rule: a forwarded heartbeat waits on the active controller this node knows, and stops waiting as soon
// as this node's Raft names another one: it goes there at once instead of waiting out its deadline on a
// controller cut off from the quorum (which would make the broker miss the new controller's first session).
import type { Controller, RaftMetadataLog } from "@brook/controller";
import { type BrokerHeartbeatRequest__Output, ControllerService, grpcChannelOptions } from "@brook/protocol";
import * as grpc from "@grpc/grpc-js";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ForwardingControllerChannel } from "../src/controller-channel.js";

const servers: grpc.Server[] = [];

afterEach(() => {
  for (const server of servers.splice(0)) server.forceShutdown();
});

/** A Controller service whose BrokerHeartbeat answers unfenced, or never answers at all. */
async function controllerServer(answers: boolean): Promise<string> {
  const server = new grpc.Server(grpcChannelOptions);
  server.addService(ControllerService, {
    BrokerHeartbeat: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
      if (answers) callback(null, { fenced: false, caughtUp: true });
    },
  });
  servers.push(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return `127.0.0.1:${port}`;
}

/**
 * Node 1's channel; its Raft names `known.id` as the active controller. Node 1's own controller never
 * answers a heartbeat (it waits for a quorum that is gone).
 */
function channelOf(voters: Map<number, string>, known: { id: number }): ForwardingControllerChannel {
  const controller = {
    activeControllerId: () => known.id,
    heartbeat: () => new Promise(() => undefined),
  } as unknown as Controller;
  return new ForwardingControllerChannel(
    1,
    controller,
    {} as RaftMetadataLog,
    voters,
    pino({ level: "silent" }),
    {},
  );
}

const request: BrokerHeartbeatRequest__Output = {
  brokerId: 1,
  incarnationId: "i-1",
  metadataOffset: "0",
  wantShutDown: false,
  logDirOffline: false,
  resignedReplicas: [],
} as unknown as BrokerHeartbeatRequest__Output;

/**
 * A heartbeat (3 s deadline) sent while node 1's Raft names `from`, which never answers; 100 ms later Raft
 * names node 3, which does. Resolves with how long the heartbeat took.
 */
async function heartbeatAcrossMove(from: number): Promise<number> {
  const voters = new Map([[3, await controllerServer(true)]]);
  if (from !== 1) voters.set(from, await controllerServer(false));
  const known = { id: from };
  const channel = channelOf(voters, known);
  setTimeout(() => {
    known.id = 3;
  }, 100);
  const startedMs = Date.now();
  try {
    const reply = await channel.heartbeat(request, 3_000);
    expect(reply.fenced).toBe(false);
    return Date.now() - startedMs;
  } finally {
    channel.close();
  }
}

describe("ForwardingControllerChannel heartbeat", () => {
  it("leaves a controller that stopped answering as soon as Raft names a new one", async () => {
    expect(await heartbeatAcrossMove(2)).toBeLessThan(1_000);
  });

  it("leaves its own controller, cut off from the quorum, as soon as Raft names a new one", async () => {
    expect(await heartbeatAcrossMove(1)).toBeLessThan(1_000);
  });

  it("waits out its deadline while Raft names no other controller", async () => {
    const voters = new Map([[2, await controllerServer(false)]]);
    const channel = channelOf(voters, { id: 2 });
    const startedMs = Date.now();
    await expect(channel.heartbeat(request, 300)).rejects.toMatchObject({ code: "REQUEST_TIMED_OUT" });
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(250);
    channel.close();
  });
});
