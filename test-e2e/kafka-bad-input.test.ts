// Bad input on the Kafka listener of a real node (issue 15): malformed frames, oversized size prefixes,
// unknown api keys, truncated requests, requests for topics or partitions that do not exist, random
// bytes, and a client that never reads its answers. Each gets what Kafka gives (an error code, or the
// connection closed for framing errors), and the node keeps serving everyone else.
import { Socket } from "node:net";
import { ApiKey, decodeResponse, encodeRequest, FrameSplitter, KafkaErrorCode } from "@brook/kafka";
import { type Cluster, startCluster } from "@brook/testkit";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "./wait.js";

let cluster: Cluster;
let port: number;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
  port = cluster.nodes[0].kafkaPort;
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

interface Client {
  socket: Socket;
  frames: Buffer[];
  closed: Promise<void>;
  isClosed(): boolean;
}

async function open(): Promise<Client> {
  const socket = new Socket();
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.connect(port, "127.0.0.1", () => resolve());
  });
  socket.on("error", () => undefined);
  const frames: Buffer[] = [];
  const splitter = new FrameSplitter();
  socket.on("data", (chunk: Buffer) => frames.push(...splitter.push(chunk)));
  let closed = false;
  const closedPromise = new Promise<void>((resolve) =>
    socket.on("close", () => {
      closed = true;
      resolve();
    }),
  );
  return { socket, frames, closed: closedPromise, isClosed: () => closed };
}

/** A Metadata v12 round trip on a fresh connection: the listener still serves. */
async function stillServes(): Promise<void> {
  const client = await open();
  client.socket.write(Buffer.concat(encodeRequest(ApiKey.Metadata, 12, 42, "probe", { topics: null })));
  await waitUntil("a metadata answer", 10_000, () => client.frames.length === 1);
  const { correlationId, body } = decodeResponse(ApiKey.Metadata, 12, client.frames[0]);
  expect(correlationId).toBe(42);
  expect(body.brokers.map((b) => b.port)).toEqual([port]);
  client.socket.destroy();
}

describe("the Kafka listener under bad input", () => {
  it("closes the connection on an oversized size prefix, a negative one and an unknown api key", async () => {
    for (const bytes of [
      Buffer.from([0x7f, 0xff, 0xff, 0xff]),
      Buffer.from([0x80, 0, 0, 0]),
      Buffer.from([0, 0, 0, 8, 0x01, 0x2c, 0, 0, 0, 0, 0, 1]), // api key 300
    ]) {
      const client = await open();
      client.socket.write(bytes);
      await client.closed;
      expect(client.frames).toEqual([]);
    }
    await stillServes();
  });

  it("closes the connection on a truncated request body and keeps serving", async () => {
    const client = await open();
    const whole = Buffer.concat(
      encodeRequest(ApiKey.Produce, 9, 1, "t", {
        acks: -1,
        timeoutMs: 1000,
        topicData: [{ name: "x", partitionData: [{ index: 0, records: Buffer.alloc(100) }] }],
      }),
    );
    const cut = Buffer.from(whole.subarray(0, whole.length - 40));
    cut.writeInt32BE(cut.length - 4, 0);
    client.socket.write(cut);
    await client.closed;
    await stillServes();
  });

  it("answers a produce to a topic or partition that does not exist with UNKNOWN_TOPIC_OR_PARTITION", async () => {
    const client = await open();
    // Metadata without auto-creation, then a produce straight to a made-up topic and partition.
    client.socket.write(
      Buffer.concat(
        encodeRequest(ApiKey.Produce, 9, 5, "t", {
          acks: 1,
          timeoutMs: 1000,
          topicData: [{ name: "no-such-topic", partitionData: [{ index: 7, records: Buffer.alloc(61) }] }],
        }),
      ),
    );
    await waitUntil("a produce answer", 10_000, () => client.frames.length === 1);
    const { body } = decodeResponse(ApiKey.Produce, 9, client.frames[0]);
    expect(body.responses[0].partitionResponses[0].errorCode).toBe(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    client.socket.destroy();
  });

  it("survives random bytes and mutated requests on many connections", async () => {
    const valid = Buffer.concat(encodeRequest(ApiKey.Metadata, 9, 1, "f", { topics: [{ name: "fuzz" }] }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
          fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
            const mutated = Buffer.from(valid);
            mutated[at] = byte;
            return mutated;
          }),
        ),
        async (bytes) => {
          const client = await open();
          client.socket.write(bytes);
          // Either an answer, a close, or silence waiting for the rest of a frame: never a crash.
          await Promise.race([client.closed, new Promise((resolve) => setTimeout(resolve, 50))]);
          client.socket.destroy();
        },
      ),
      { numRuns: 150, seed: 7 },
    );
    await stillServes();
  });

  it("stops reading a client that never reads its answers, and serves the others meanwhile", async () => {
    const greedy = await open();
    greedy.socket.pause();
    const request = Buffer.concat(encodeRequest(ApiKey.Metadata, 12, 1, "greedy", { topics: null }));
    let written = 0;
    // Ten thousand requests queued by the client; the broker takes in only as many as its answers fit.
    for (let i = 0; i < 10_000; i++) if (greedy.socket.write(request)) written++;
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stillServes();
    expect(greedy.isClosed()).toBe(false);
    expect(written).toBeGreaterThan(0);
    greedy.socket.destroy();
  });
});
