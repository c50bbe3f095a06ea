// The wire: codec round trips and refusals, and the gRPC transport's
// delivery, chunked snapshots, and its handling of an unreachable peer.

import { NodeAuthenticator } from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { MessageDecoder, toWireMessages } from "../../src/transport/codec.js";
import { GrpcTransport } from "../../src/transport/grpc-transport.js";
import type { DeliveryFailure } from "../../src/transport/transport.js";
import type { Message, MessageType, Snapshot } from "../../src/types.js";
import { waitFor } from "./cluster.js";

const membership = { voters: [1, 2, 3], learners: [4] };
const message = (overrides: Partial<Message> = {}): Message => ({
  type: "app",
  from: 1,
  to: 2,
  term: 3,
  logTerm: 2,
  index: 10,
  entries: [
    { term: 3, index: 11, type: "normal", data: new Uint8Array([1, 2]) },
    { term: 3, index: 12, type: "conf-change", data: new Uint8Array([3]) },
  ],
  commit: 9,
  reject: false,
  rejectHint: 0,
  ...overrides,
});
const snapshotOf = (bytes: number, index = 50): Snapshot => ({
  metadata: { index, term: 3, membership },
  data: new Uint8Array(bytes).map((_, i) => i % 251),
});

describe("codec", () => {
  const types: MessageType[] = [
    "app",
    "app-resp",
    "vote",
    "vote-resp",
    "pre-vote",
    "pre-vote-resp",
    "heartbeat",
    "heartbeat-resp",
    "snap",
    "timeout-now",
    "prop",
    "read-index",
    "read-index-resp",
  ];

  it.each(types)("round-trips a %s message", (type) => {
    const original = message({ type, rejectHintTerm: 2, context: new Uint8Array([7]) });
    const decoded = new MessageDecoder().decode({ messages: toWireMessages(original) });
    expect(decoded).toEqual([original]);
  });

  it("keeps optional fields absent when they were absent", () => {
    const [decoded] = new MessageDecoder().decode({ messages: toWireMessages(message()) });
    expect("context" in decoded).toBe(false);
    expect("rejectHintTerm" in decoded).toBe(false);
  });

  it("sends a snapshot in chunks and assembles it from them", () => {
    const original = message({ type: "snap", entries: [], snapshot: snapshotOf(10_000) });
    const wire = toWireMessages(original, 4096);
    expect(wire.map((m) => m.snapshot?.data.length)).toEqual([4096, 4096, 1808]);
    const decoder = new MessageDecoder();
    expect(decoder.decode({ messages: wire.slice(0, 2) })).toEqual([]);
    expect(decoder.decode({ messages: wire.slice(2) })).toEqual([original]);
  });

  it("abandons a snapshot with a missing chunk (the leader sends it again)", () => {
    const wire = toWireMessages(message({ type: "snap", entries: [], snapshot: snapshotOf(10_000) }), 4096);
    expect(new MessageDecoder().decode({ messages: [wire[0], wire[2]] })).toEqual([]);
  });

  it("refuses a snapshot larger than snapshotBytesMax before buffering it", () => {
    const wire = toWireMessages(message({ type: "snap", entries: [], snapshot: snapshotOf(5000) }), 1000);
    expect(() => new MessageDecoder(4999).decode({ messages: wire })).toThrow(/REQUEST_TOO_LARGE/);
  });

  it("refuses unknown types and negative or unsafe numbers", () => {
    const [wire] = toWireMessages(message());
    const decode = (patch: object) => () =>
      new MessageDecoder().decode({ messages: [{ ...wire, ...patch }] });
    expect(decode({ type: "MESSAGE_TYPE_UNSPECIFIED" })).toThrow(/INVALID_REQUEST/);
    expect(decode({ term: -1 })).toThrow(/INVALID_REQUEST/);
    expect(decode({ index: 2 ** 60 })).toThrow(/INVALID_REQUEST/);
  });
});

describe("GrpcTransport", () => {
  const transports: GrpcTransport[] = [];
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close()));
  });

  async function pair(mode: "stream" | "unary" = "stream") {
    const a = await GrpcTransport.listen({ id: 1, listen: "127.0.0.1:0", mode });
    const b = await GrpcTransport.listen({ id: 2, listen: "127.0.0.1:0", mode });
    transports.push(a, b);
    const peers = new Map([
      [1, a.address],
      [2, b.address],
    ]);
    a.setPeers(peers);
    b.setPeers(peers);
    const received: Message[] = [];
    b.onMessages((messages) => received.push(...messages));
    return { a, b, received };
  }

  it.each(["stream", "unary"] as const)("delivers messages in order (%s)", async (mode) => {
    const { a, received } = await pair(mode);
    for (let i = 0; i < 50; i++) a.send([message({ index: i, entries: [] })]);
    await waitFor(() => received.length === 50);
    expect(received.map((m) => m.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("delivers a snapshot of several chunks", async () => {
    const { a, received } = await pair();
    const snap = message({ type: "snap", entries: [], snapshot: snapshotOf(3 * 1024 * 1024 + 5) });
    a.send([snap]);
    await waitFor(() => received.length === 1);
    expect(Buffer.compare(received[0].snapshot!.data, snap.snapshot!.data)).toBe(0); // toEqual is slow on MiBs
  });

  it("drops messages to a peer that is down and reports it unreachable, then reaches it once it is up", async () => {
    const a = await GrpcTransport.listen({ id: 1, listen: "127.0.0.1:0" });
    const placeholder = await GrpcTransport.listen({ id: 2, listen: "127.0.0.1:0" });
    const address = placeholder.address;
    await placeholder.close(); // nothing listens on `address` now
    transports.push(a);
    a.setPeers(new Map([[2, address]]));
    const failures: string[] = [];
    a.onFailure((peer, failure: DeliveryFailure) => failures.push(`${peer}:${failure}`));

    a.send([message({ type: "heartbeat", entries: [] })]);
    a.send([message({ type: "snap", entries: [], snapshot: snapshotOf(10) })]);
    await waitFor(() => failures.includes("2:unreachable") && failures.includes("2:snapshot"));
    expect(a.stats().messagesDropped).toBeGreaterThanOrEqual(1); // the snapshot; the heartbeat died in the stream

    const b = await GrpcTransport.listen({ id: 2, listen: address });
    transports.push(b);
    const received: Message[] = [];
    b.onMessages((messages) => received.push(...messages));
    await waitFor(() => {
      a.send([message({ type: "heartbeat", entries: [] })]); // Raft's next heartbeat
      return received.length > 0;
    }, 15_000);
  });

  it("drops messages addressed to another node", async () => {
    const { a, b, received } = await pair();
    a.setPeers(
      new Map([
        [2, b.address],
        [3, b.address],
      ]),
    ); // a misconfigured peer table
    a.send([message({ to: 3, index: 1, entries: [] }), message({ to: 2, index: 2, entries: [] })]);
    await waitFor(() => b.stats().batchesReceived === 2);
    expect(received.map((m) => m.index)).toEqual([2]);
  });
});

describe("GrpcTransport with node identity", () => {
  const transports: GrpcTransport[] = [];
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close()));
  });
  const key = Buffer.from("a cluster secret of at least thirty-two characters");
  const authenticator = new NodeAuthenticator(key);

  /** Node 2 checks tokens; `sender` signs as `signAs` with `signKey` and claims to be `from`. */
  async function send(signAs: number | undefined, signKey: Buffer, from: number, voters = [1, 2, 3]) {
    const b = await GrpcTransport.listen({
      id: 2,
      listen: "127.0.0.1:0",
      callerNode: (call) => authenticator.callerNode(call),
    });
    const sender = await GrpcTransport.listen({
      id: signAs ?? 1,
      listen: "127.0.0.1:0",
      mode: "unary",
      peerSecurity: signAs === undefined ? {} : { node: { nodeId: signAs, key: signKey } },
    });
    transports.push(b, sender);
    b.setPeers(new Map(voters.map((id) => [id, id === 2 ? b.address : "127.0.0.1:1"])));
    sender.setPeers(new Map([[2, b.address]]));
    const received: Message[] = [];
    b.onMessages((messages) => received.push(...messages));
    sender.send([message({ type: "heartbeat", from, entries: [] })]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { received, refused: b.stats().batchesRefused, ignored: b.stats().messagesIgnored };
  }

  it("takes a voter's message when its token names it", async () => {
    expect((await send(1, key, 1)).received).toHaveLength(1);
  });

  it("refuses a batch without a token, or with one the secret did not sign", async () => {
    const guessed = Buffer.from("not the cluster secret, but as long as one would be");
    for (const result of [await send(undefined, key, 1), await send(1, guessed, 1)]) {
      expect(result.received).toEqual([]);
      expect(result.refused).toBe(1);
    }
  });

  it("ignores messages whose from is not the sender, and a sender that is not a voter", async () => {
    const impostor = await send(1, key, 3); // node 1 speaking for node 3
    expect(impostor.received).toEqual([]);
    expect(impostor.ignored).toBe(1);
    const outsider = await send(4, key, 4); // a node of the cluster, but no voter
    expect(outsider.received).toEqual([]);
    expect(outsider.ignored).toBe(1);
  });
});
