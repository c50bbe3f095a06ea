// The Calls stream end to end over a real grpc-js channel: CallStream on the
// caller's side, serveCalls on the server's, with handlers the tests control.

import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  BrokerService,
  BrookError,
  type CallLimits,
  type CallRequest__Output,
  CallStream,
  createBrokerClient,
  type FetchRequest__Output,
  type FetchResponse,
  grpcMessageBytesMax,
  isTransportFailure,
  type ProduceRequest__Output,
  type ProduceResponse,
  serveCalls,
} from "../src/index.js";

interface Handlers {
  produce(request: ProduceRequest__Output): Promise<ProduceResponse>;
  fetch(request: FetchRequest__Output): Promise<FetchResponse>;
}

const produceRequest = (timeoutMs: number) => ({ acks: 1, timeoutMs, topics: [] });
const fetchRequest = (maxWaitMs: number) => ({ maxWaitMs, minBytes: 1, maxBytes: 1024, topics: [] });

class Server {
  private readonly server = new grpc.Server();
  streamsOpened = 0;
  port = 0;

  constructor(handlers: Handlers, limits?: CallLimits) {
    this.server.addService(BrokerService, {
      Calls: (call: grpc.ServerDuplexStream<CallRequest__Output, unknown>) => {
        this.streamsOpened += 1;
        serveCalls(call as never, handlers, undefined, limits);
      },
    } as grpc.UntypedServiceImplementation);
  }

  async start(port = 0): Promise<void> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function setUp(handlers: Handlers, limits?: CallLimits) {
  const server = new Server(handlers, limits);
  await server.start();
  const client = createBrokerClient(`127.0.0.1:${server.port}`);
  const stream = new CallStream(client);
  cleanups.push(() => {
    stream.close();
    client.close();
    server.stop();
  });
  return { server, client, stream };
}

/** A produce handler that answers after the request's timeoutMs, naming it in the response. */
const echoAfterTimeout: Handlers = {
  produce: (request) =>
    new Promise((resolve) =>
      setTimeout(
        () => resolve({ topics: [{ topic: `after ${request.timeoutMs}`, partitions: [] }] }),
        request.timeoutMs,
      ),
    ),
  fetch: async (request) => ({ topics: [{ topic: `waited ${request.maxWaitMs}`, partitions: [] }] }),
};

describe("the Calls stream", () => {
  it("answers each request under its own id, in the order they complete, on one stream", async () => {
    const { server, stream } = await setUp(echoAfterTimeout);
    const finished: string[] = [];
    const slow = stream.call("produce", produceRequest(150), { timeoutMs: 5_000 }).then((response) => {
      finished.push(response.topics[0].topic);
      return response;
    });
    const fast = stream.call("produce", produceRequest(10), { timeoutMs: 5_000 }).then((response) => {
      finished.push(response.topics[0].topic);
      return response;
    });
    const fetched = await stream.call("fetch", fetchRequest(7), { timeoutMs: 5_000 });
    expect(fetched.topics[0].topic).toBe("waited 7");
    await Promise.all([slow, fast]);
    expect(finished).toEqual(["after 10", "after 150"]);
    expect(server.streamsOpened).toBe(1);
    expect(stream.inFlight).toBe(0);
  });

  it("fails a request with the handler's typed error and keeps the stream open for the next", async () => {
    const { server, stream } = await setUp({
      ...echoAfterTimeout,
      produce: async (request) => {
        if (request.timeoutMs === 1) throw new BrookError("NOT_ENOUGH_REPLICAS", "the ISR is too small");
        return { topics: [] };
      },
    });
    const failed = await stream
      .call("produce", produceRequest(1), { timeoutMs: 5_000 })
      .catch((error) => error);
    expect(failed).toBeInstanceOf(BrookError);
    expect(failed.code).toBe("NOT_ENOUGH_REPLICAS");
    expect(failed.detail).toBe("the ISR is too small");
    expect(isTransportFailure(failed)).toBe(false);
    await expect(stream.call("produce", produceRequest(2), { timeoutMs: 5_000 })).resolves.toEqual({
      topics: [],
      throttleTimeMs: 0, // proto3's default, decoded with --defaults
    });
    expect(server.streamsOpened).toBe(1);
  });

  it("times a request out alone, as a deadline the SDK counts as silence, and ignores its late answer", async () => {
    const { stream } = await setUp(echoAfterTimeout);
    const late = await stream.call("produce", produceRequest(300), { timeoutMs: 50 }).catch((error) => error);
    expect(late.code).toBe("REQUEST_TIMED_OUT");
    expect(isTransportFailure(late)).toBe(true);
    expect(stream.inFlight).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 350)); // the late answer arrives and is dropped
    await expect(stream.call("produce", produceRequest(1), { timeoutMs: 5_000 })).resolves.toBeDefined();
  });

  it("fails every request on a broken stream as unreachable, and opens a new stream when the broker is back", async () => {
    const first = new Server(echoAfterTimeout);
    await first.start();
    const client = createBrokerClient(`127.0.0.1:${first.port}`);
    const stream = new CallStream(client);
    const second = new Server(echoAfterTimeout);
    cleanups.push(() => {
      stream.close();
      client.close();
      first.stop();
      second.stop();
    });
    const pending = stream
      .call("produce", produceRequest(5_000), { timeoutMs: 10_000 })
      .catch((error) => error);
    await new Promise((resolve) => setTimeout(resolve, 100));
    first.stop();
    const broken = await pending;
    expect(broken).toBeInstanceOf(BrookError);
    expect(broken.code).toBe("BROKER_NOT_AVAILABLE");
    expect(isTransportFailure(broken)).toBe(true);
    await second.start(first.port);
    const answer = await retry(() => stream.call("produce", produceRequest(1), { timeoutMs: 1_000 }));
    expect(answer.topics[0].topic).toBe("after 1");
    expect(second.streamsOpened).toBe(1);
  });

  it("reset() and an aborted signal end requests with CLIENT_CLOSED; the broker sees the stream cancelled", async () => {
    const { server, stream } = await setUp(echoAfterTimeout);
    const abort = new AbortController();
    const aborted = stream.call("produce", produceRequest(5_000), {
      timeoutMs: 10_000,
      signal: abort.signal,
    });
    abort.abort();
    await expect(aborted).rejects.toMatchObject({ code: "CLIENT_CLOSED" });
    const reset = stream
      .call("produce", produceRequest(5_000), { timeoutMs: 10_000 })
      .catch((error) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    stream.reset();
    expect((await reset).code).toBe("CLIENT_CLOSED");
    await expect(stream.call("fetch", fetchRequest(0), { timeoutMs: 5_000 })).resolves.toBeDefined();
    expect(server.streamsOpened).toBe(2);
    stream.close();
    await expect(stream.call("fetch", fetchRequest(0), { timeoutMs: 5_000 })).rejects.toMatchObject({
      code: "CLIENT_CLOSED",
    });
  });

  it("serves at most servedMax requests, and at most bytesMax of them, at once; the rest wait unread", async () => {
    for (const [limits, recordBytes, expected] of [
      [{ servedMax: 8, bytesMax: 1 << 30 }, 1024, 8],
      [{ servedMax: 100, bytesMax: 4096 }, 1024, 4],
    ] as const) {
      let serving = 0;
      let mostAtOnce = 0;
      const releases: Array<() => void> = [];
      const { stream } = await setUp(
        {
          ...echoAfterTimeout,
          produce: () => {
            serving += 1;
            mostAtOnce = Math.max(mostAtOnce, serving);
            return new Promise((resolve) =>
              releases.push(() => {
                serving -= 1;
                resolve({ topics: [] });
              }),
            );
          },
        },
        limits,
      );
      const records = Buffer.alloc(recordBytes);
      const request = {
        acks: 1,
        timeoutMs: 0,
        topics: [{ topic: "t", partitions: [{ partition: 0, records }] }],
      };
      const answers = Array.from({ length: 40 }, () =>
        stream.call("produce", request, { timeoutMs: 20_000 }),
      );
      await waitFor(() => serving === expected);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(serving).toBe(expected);
      while (releases.length > 0 || serving > 0) {
        for (const release of releases.splice(0)) release();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await Promise.all(answers);
      expect(mostAtOnce).toBe(expected);
    }
  });

  it("refuses a produce larger than one gRPC message alone, before it is sent, and the stream lives on", async () => {
    const { server, stream } = await setUp(echoAfterTimeout);
    const records = Buffer.alloc(grpcMessageBytesMax + 1);
    const refused = await stream
      .call(
        "produce",
        { acks: 1, timeoutMs: 1, topics: [{ topic: "t", partitions: [{ partition: 0, records }] }] },
        {
          timeoutMs: 5_000,
        },
      )
      .catch((error) => error);
    expect(refused.code).toBe("REQUEST_TOO_LARGE");
    expect(refused.message).toContain(String(grpcMessageBytesMax));
    expect(server.streamsOpened).toBe(0);
    await expect(stream.call("produce", produceRequest(1), { timeoutMs: 5_000 })).resolves.toBeDefined();
  });

  it("refuses a call that names no request with INVALID_REQUEST", async () => {
    const { client } = await setUp(echoAfterTimeout);
    const raw = client.Calls();
    raw.on("error", () => undefined); // the cancel at the end
    cleanups.push(() => raw.cancel());
    const answer = await new Promise<{ id: number; error: { code: string } | null }>((resolve) => {
      raw.on("data", resolve);
      raw.write({ id: 9 });
    });
    expect(answer.id).toBe(9);
    expect(answer.error?.code).toBe("INVALID_REQUEST");
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function retry<T>(attempt: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
