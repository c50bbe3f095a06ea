// One Kafka connection over a real socket on 127.0.0.1, with a scripted dispatcher standing in for the
// broker: answers go out in request order, framing errors close the connection, an unknown ApiVersions
// version is answered as KIP-511 says, and memory stays bounded whatever the client does.
import { createServer, type Server, Socket } from "node:net";
import { AssertionError, isAssertionError } from "@brook/protocol";
import { fatalErrorsOf } from "@brook/testkit";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import {
  ApiKey,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  FrameSplitter,
  KafkaErrorCode,
  supportedApiVersions,
} from "../src/index.js";
import { type ConnectionLimits, type Dispatch, KafkaConnection } from "../src/listener/connection.js";

const logger = pino({ level: "silent" });
const limits: ConnectionLimits = { requestBytesMax: 1024 * 1024, requestsInFlightMax: 4 };

let server: Server | undefined;
const clients: Socket[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A listener whose connections use `dispatch`; resolves with a connected client socket and its answers. */
async function connect(dispatch: Dispatch, connectionLimits = limits) {
  server = createServer((socket) => new KafkaConnection(socket, dispatch, connectionLimits, logger));
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const client = new Socket();
  clients.push(client);
  await new Promise<void>((resolve) => client.connect(port, "127.0.0.1", resolve));
  const frames: Buffer[] = [];
  const splitter = new FrameSplitter();
  client.on("data", (chunk: Buffer) => frames.push(...splitter.push(chunk)));
  const closed = new Promise<void>((resolve) => client.on("close", () => resolve()));
  return { client, frames, closed };
}

const apiVersionsRequest = (id: number, version = 3) =>
  Buffer.concat(
    encodeRequest(ApiKey.ApiVersions, version, id, "t", {
      clientSoftwareName: "t",
      clientSoftwareVersion: "1",
    }),
  );
const heartbeatRequest = (id: number) =>
  Buffer.concat(
    encodeRequest(ApiKey.Heartbeat, 4, id, "t", { groupId: "g", generationId: 1, memberId: "m" }),
  );

/** Answers each request with an ApiVersions v3 body after `delayMs(request)`. */
function answering(delayMs: (correlationId: number) => number): Dispatch {
  return (request) =>
    new Promise((resolve) =>
      setTimeout(
        () =>
          resolve(
            encodeResponse(ApiKey.ApiVersions, 3, request.correlationId, { errorCode: 0, apiKeys: [] }),
          ),
        delayMs(request.correlationId),
      ),
    );
}

const correlationIdOf = (frame: Buffer) => frame.readInt32BE(0);
const until = async (condition: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe("a Kafka connection", () => {
  it("answers pipelined requests in request order, whichever finishes first", async () => {
    const { client, frames } = await connect(answering((id) => (id === 1 ? 60 : 0)));
    client.write(Buffer.concat([apiVersionsRequest(1), apiVersionsRequest(2), apiVersionsRequest(3)]));
    await until(() => frames.length === 3);
    expect(frames.map(correlationIdOf)).toEqual([1, 2, 3]);
  });

  it("sends nothing for a request answered with nothing (acks=0), and goes on with the next", async () => {
    const dispatch: Dispatch = async (request) =>
      request.correlationId === 1
        ? undefined
        : encodeResponse(ApiKey.ApiVersions, 3, request.correlationId, { errorCode: 0, apiKeys: [] });
    const { client, frames } = await connect(dispatch);
    client.write(Buffer.concat([apiVersionsRequest(1), apiVersionsRequest(2)]));
    await until(() => frames.length === 1);
    expect(frames.map(correlationIdOf)).toEqual([2]);
  });

  it("answers an ApiVersions of an unknown version in v0's layout with UNSUPPORTED_VERSION (KIP-511)", async () => {
    const { client, frames } = await connect(answering(() => 0));
    // A v99 request: the header is v2 (flexible), the body unknown; only the header is read.
    const header = Buffer.from([0, 18, 0, 99, 0, 0, 0, 7, 0, 1, 0x74, 0]);
    const frame = Buffer.alloc(4 + header.length + 3);
    frame.writeInt32BE(header.length + 3, 0);
    header.copy(frame, 4);
    client.write(frame);
    await until(() => frames.length === 1);
    const { correlationId, body } = decodeResponse(ApiKey.ApiVersions, 0, frames[0]);
    expect(correlationId).toBe(7);
    expect(body.errorCode).toBe(KafkaErrorCode.UNSUPPORTED_VERSION);
    expect(body.apiKeys).toEqual(supportedApiVersions());
  });

  it("closes on an api key it does not serve, unread and unanswered", async () => {
    const { client, frames, closed } = await connect(answering(() => 0));
    const frame = Buffer.from([0, 0, 0, 8, 0x7f, 0x7f, 0, 0, 0, 0, 0, 1]);
    client.write(frame);
    await closed;
    expect(frames).toEqual([]);
  });

  it("closes on a frame larger than requestBytesMax before buffering it", async () => {
    const { client, closed } = await connect(answering(() => 0));
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(200 * 1024 * 1024, 0);
    client.write(prefix);
    await closed;
  });

  it("closes on a negative frame size and on a truncated body", async () => {
    const negative = await connect(answering(() => 0));
    negative.client.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    await negative.closed;
    const truncated = await connect(answering(() => 0));
    const whole = heartbeatRequest(1);
    const cut = Buffer.from(whole.subarray(0, whole.length - 3));
    cut.writeInt32BE(cut.length - 4, 0); // a well-framed request whose body stops short
    truncated.client.write(cut);
    await truncated.closed;
  });

  it("handles at most requestsInFlightMax requests at once; the rest wait in the socket", async () => {
    let running = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const dispatch: Dispatch = (request) => {
      running++;
      most = Math.max(most, running);
      return new Promise((resolve) =>
        release.push(() => {
          running--;
          resolve(
            encodeResponse(ApiKey.ApiVersions, 3, request.correlationId, { errorCode: 0, apiKeys: [] }),
          );
        }),
      );
    };
    const { client, frames } = await connect(dispatch);
    client.write(Buffer.concat(Array.from({ length: 40 }, (_, i) => apiVersionsRequest(i))));
    await until(() => release.length === limits.requestsInFlightMax);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(release).toHaveLength(limits.requestsInFlightMax);
    while (frames.length < 40) {
      release.shift()?.();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(most).toBe(limits.requestsInFlightMax);
    expect(frames.map(correlationIdOf)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it("takes no request from a throttled client until its throttle time has passed (Kafka mutes the channel)", async () => {
    const started: { id: number; at: number }[] = [];
    const dispatch: Dispatch = async (request, connection) => {
      started.push({ id: request.correlationId, at: Date.now() });
      if (request.correlationId === 1) connection.mute(300);
      return encodeResponse(ApiKey.ApiVersions, 3, request.correlationId, { errorCode: 0, apiKeys: [] });
    };
    const { client, frames } = await connect(dispatch);
    client.write(apiVersionsRequest(1));
    await until(() => frames.length === 1); // answered at once, throttle or not
    client.write(apiVersionsRequest(2));
    await until(() => frames.length === 2);
    const [first, second] = started;
    expect(second?.at - (first?.at ?? 0)).toBeGreaterThanOrEqual(290);
  });

  it("answers nothing to a request whose handler fails an assertion: it reaches the process's fatal handler", async () => {
    let frames: Buffer[] = [];
    const reached = await fatalErrorsOf(async () => {
      const connected = await connect(async () => {
        throw new AssertionError("a partition's leader is in its ISR");
      });
      frames = connected.frames;
      connected.client.write(heartbeatRequest(1));
      await new Promise((resolve) => setTimeout(resolve, 200));
    });
    expect(reached.length).toBeGreaterThan(0);
    expect(reached.every(isAssertionError)).toBe(true);
    expect(frames).toEqual([]);
  });

  it("stops reading a client that does not read its answers", async () => {
    let handled = 0;
    const big = Buffer.alloc(1024 * 1024);
    const dispatch: Dispatch = async (request) => {
      handled++;
      return [
        encodeResponse(ApiKey.ApiVersions, 3, request.correlationId, { errorCode: 0, apiKeys: [] })[0],
        big,
      ];
    };
    const { client } = await connect(dispatch, { ...limits, requestsInFlightMax: 64 });
    client.pause(); // never reads
    for (let i = 0; i < 500; i++) client.write(apiVersionsRequest(i));
    await new Promise((resolve) => setTimeout(resolve, 500));
    // A few MiB of answers fill the socket buffers; after that nothing more is taken in.
    expect(handled).toBeLessThan(100);
  });
});
