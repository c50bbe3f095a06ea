// What Brook Streams needs from a group member, against the fake coordinator (fake-cluster.ts): the
// server-side assignor it asks for, and member metadata it keeps with the coordinator (sent on joining and
// when it changes, shown by admin's describeGroup). Each test names the rule it checks.

import { BrookError } from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { memberMetadataBytesMax, metadataToSend } from "../src/consumer/member-state.js";
import type { Admin, Brook, Consumer, ConsumerOptions } from "../src/index.js";
import type { FakeCluster } from "./fake-cluster.js";
import { brookFor, eventually, startFake } from "./helpers.js";

let cluster: FakeCluster;
let brook: Brook;
let admin: Admin;
const consumers: Consumer[] = [];

afterEach(async () => {
  for (const consumer of consumers.splice(0)) await consumer.close();
  await admin?.close();
  await cluster?.stop();
});

async function setup(): Promise<void> {
  cluster = await startFake();
  cluster.createTopic("input", 2);
  cluster.groups.assignment = ["input-0", "input-1"];
  brook = brookFor(cluster);
  admin = brook.admin();
}

function member(options: Partial<ConsumerOptions> = {}): Consumer {
  const consumer = brook.consumer({ groupId: "g", maxWaitMs: 20, autoCommitIntervalMs: 60_000, ...options });
  consumers.push(consumer);
  return consumer;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
/** The heartbeats that carried metadata, as text. */
const carried = () =>
  cluster.groups.heartbeats
    .filter((h) => h.memberMetadata !== undefined)
    .map((h) => h.memberMetadata!.toString());

async function metadataShown(): Promise<string | undefined> {
  const [shown] = (await admin.describeGroup("g")).members;
  return shown?.metadata?.toString();
}

async function waitForMetadataShown(expected: string): Promise<void> {
  const deadline = Date.now() + 2_000;
  while ((await metadataShown()) !== expected) {
    if (Date.now() > deadline) throw new Error(`describeGroup never showed ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("server-side assignor and member metadata", () => {
  it("joins naming its assignor and carrying its metadata; describeGroup shows both", async () => {
    await setup();
    const consumer = member({ assignor: "range", memberMetadata: json({ endpoint: "h1:7070" }) });
    await consumer.subscribe({ topic: "input" });

    expect(cluster.groups.heartbeats[0]).toMatchObject({ memberEpoch: 0, serverAssignor: "range" });
    expect(cluster.groups.heartbeats[0].memberMetadata?.toString()).toBe('{"endpoint":"h1:7070"}');
    const described = await admin.describeGroup("g");
    expect(described.assignor).toBe("range");
    expect(described.members[0].metadata?.toString()).toBe('{"endpoint":"h1:7070"}');
  });

  it("names uniform by default and sends no metadata when it has none", async () => {
    await setup();
    await member().subscribe({ topic: "input" });
    expect(cluster.groups.heartbeats[0].serverAssignor).toBe("uniform");
    expect(cluster.groups.heartbeats[0]).not.toHaveProperty("memberMetadata");
    expect((await admin.describeGroup("g")).members[0]).not.toHaveProperty("metadata");
  });

  it("setMemberMetadata reaches describeGroup with a heartbeat; the heartbeats after it leave it out", async () => {
    await setup();
    const consumer = member();
    await consumer.subscribe({ topic: "input" });
    consumer.setMemberMetadata(json({ state: "RUNNING" }));
    await waitForMetadataShown('{"state":"RUNNING"}');

    const seen = cluster.groups.heartbeats.length;
    await eventually(() => cluster.groups.heartbeats.length >= seen + 3);
    expect(carried()).toEqual(['{"state":"RUNNING"}']);

    consumer.setMemberMetadata(json({ state: "RUNNING" })); // the same bytes: nothing to send
    consumer.setMemberMetadata(json({ state: "REBALANCING" }));
    await waitForMetadataShown('{"state":"REBALANCING"}');
    expect(carried()).toEqual(['{"state":"RUNNING"}', '{"state":"REBALANCING"}']);
  });

  it("a change whose heartbeat failed goes again with the next one, and only until one got through", async () => {
    await setup();
    const consumer = member();
    await consumer.subscribe({ topic: "input" });
    consumer.setMemberMetadata(json({ v: 2 }));
    cluster.groups.heartbeatErrors.push("COORDINATOR_NOT_AVAILABLE", "COORDINATOR_NOT_AVAILABLE");
    await waitForMetadataShown('{"v":2}');
    const count = carried().length;
    expect(count).toBeGreaterThanOrEqual(2);
    const seen = cluster.groups.heartbeats.length;
    await eventually(() => cluster.groups.heartbeats.length >= seen + 3);
    expect(carried()).toHaveLength(count);
  });

  it("joining again after losing its partitions carries the metadata again", async () => {
    await setup();
    const consumer = member({ memberMetadata: json({ v: 1 }) });
    await consumer.subscribe({ topic: "input" });
    consumer.setMemberMetadata(json({ v: 2 }));
    await waitForMetadataShown('{"v":2}');
    cluster.groups.forget(consumer.memberId!);
    await eventually(() => cluster.groups.heartbeats.filter((h) => h.memberEpoch === 0).length === 2);
    const rejoin = cluster.groups.heartbeats.filter((h) => h.memberEpoch === 0)[1];
    expect(rejoin.memberMetadata?.toString()).toBe('{"v":2}');
    await waitForMetadataShown('{"v":2}');
  });

  it("refuses what the coordinator would: an unknown assignor, and more than 8 KiB of metadata", async () => {
    await setup();
    const tooLarge = Buffer.alloc(memberMetadataBytesMax + 1);
    expect(() => member({ assignor: "sticky" as "range" })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
    expect(() => member({ memberMetadata: tooLarge })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
    const consumer = member({ memberMetadata: Buffer.alloc(memberMetadataBytesMax) });
    expect(() => consumer.setMemberMetadata(tooLarge)).toThrow(
      expect.objectContaining({ code: "INVALID_REQUEST", message: expect.stringMatching(/8193 bytes/) }),
    );
    const plain = brook.consumer({});
    consumers.push(plain);
    expect(() => plain.setMemberMetadata(Buffer.from("x"))).toThrow(BrookError);
  });

  it("a join refused with UNSUPPORTED_ASSIGNOR (a broker without it) rejects subscribe()", async () => {
    await setup();
    cluster.groups.heartbeatErrors.push("UNSUPPORTED_ASSIGNOR");
    await expect(member({ assignor: "range" }).subscribe({ topic: "input" })).rejects.toMatchObject({
      code: "UNSUPPORTED_ASSIGNOR",
    });
  });
});

describe("which heartbeats carry metadata", () => {
  const [a, b, none] = [Buffer.from("a"), Buffer.from("b"), Buffer.alloc(0)];

  it("a join carries the member's metadata, or none when it has none or an empty one", () => {
    expect(metadataToSend(0, a, b)).toBe(a);
    expect(metadataToSend(0, undefined, a)).toBeUndefined();
    expect(metadataToSend(0, none, undefined)).toBeUndefined();
  });

  it("later heartbeats carry it only when it differs from what the coordinator acknowledged; empty clears", () => {
    expect(metadataToSend(3, a, Buffer.from("a"))).toBeUndefined();
    expect(metadataToSend(3, b, a)).toBe(b);
    expect(metadataToSend(3, none, a)).toEqual(none);
    expect(metadataToSend(3, undefined, undefined)).toBeUndefined();
    expect(metadataToSend(3, none, undefined)).toBeUndefined();
  });
});
