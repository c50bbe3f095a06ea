import { BrookError } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import {
  ConsumerGroup,
  type GroupSnapshot,
  groupMetadataBytesMax,
  type HeartbeatInput,
  keyOf,
  memberMetadataBytesMax,
  type TopicPartition,
  type TopicView,
} from "../src/groups/group.js";

const topics = (counts: Record<string, number>): TopicView => ({
  partitionCount: (topic) => counts[topic],
  topicNames: () => Object.keys(counts),
});

const sixPartitions = topics({ orders: 6 });

function newGroup(): ConsumerGroup {
  let next = 0;
  return new ConsumerGroup("g", () => `generated-${++next}`);
}

function input(
  memberId: string,
  memberEpoch: number,
  owned: TopicPartition[] = [],
  extra: Partial<HeartbeatInput> = {},
) {
  return {
    memberId,
    memberEpoch,
    instanceId: "",
    clientId: "test",
    clientHost: "127.0.0.1",
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 60_000,
    subscribedTopicNames: ["orders"],
    subscribedTopicRegex: "",
    owned,
    serverAssignor: "uniform" as const,
    memberMetadata: undefined,
    ...extra,
  };
}

/** A member as the SDK runs it: holds what it was last told, minus nothing (it revokes at once). */
class Member {
  epoch = 0;
  owned: TopicPartition[] = [];
  constructor(
    readonly group: ConsumerGroup,
    readonly id: string,
    readonly view: TopicView = sixPartitions,
    /** What its heartbeats send besides the defaults; a test may change it between heartbeats. */
    readonly extra: Partial<HeartbeatInput> = {},
  ) {}
  heartbeat(nowMs = 0) {
    const out = this.group.heartbeat(input(this.id, this.epoch, this.owned, this.extra), nowMs, this.view);
    this.epoch = out.memberEpoch;
    this.owned = out.assignment;
    return out;
  }
}

/** Heartbeats every member in turn until nothing changes; no partition may ever be held twice. */
function settle(members: Member[], nowMs = 0): void {
  for (let round = 0; round < 10; round++) {
    for (const member of members) {
      member.heartbeat(nowMs);
      const held = members.flatMap((m) => m.owned.map(keyOf));
      expect(new Set(held).size, "a partition is held by two members").toBe(held.length);
    }
  }
}

describe("ConsumerGroup", () => {
  it("gives a lone member every partition and moves it to the assignment epoch", () => {
    const group = newGroup();
    const a = new Member(group, "a");
    const out = a.heartbeat();
    expect(out.assignment).toHaveLength(6);
    expect(out.memberEpoch).toBe(group.assignmentEpoch);
    expect(group.state).toBe("stable");
  });

  it("generates a member id when the member sends none", () => {
    const group = newGroup();
    const out = group.heartbeat(input("", 0), 0, sixPartitions);
    expect(out.memberId).toBe("generated-1");
  });

  it("revokes before it assigns: a joining member gets partitions only after their owner lets go", () => {
    const group = newGroup();
    const a = new Member(group, "a");
    a.heartbeat();
    const b = new Member(group, "b");
    const joined = b.heartbeat();
    expect(joined.assignment).toEqual([]); // everything is still held by a
    expect(group.state).toBe("reconciling");

    // a is told to give up three, keeps its epoch until it has.
    const epochBefore = a.epoch;
    const revoke = group.heartbeat(input("a", a.epoch, a.owned), 0, sixPartitions);
    expect(revoke.assignment).toHaveLength(3);
    expect(revoke.memberEpoch).toBe(epochBefore);
    // b still gets nothing: a has not acknowledged.
    expect(b.heartbeat().assignment).toEqual([]);

    a.owned = revoke.assignment; // a committed and dropped them
    a.heartbeat();
    expect(a.epoch).toBe(group.assignmentEpoch);
    expect(b.heartbeat().assignment).toHaveLength(3);
    expect(group.state).toBe("stable");
  });

  it("settles three members on six partitions, two each, never sharing one", () => {
    const group = newGroup();
    const members = ["a", "b", "c"].map((id) => new Member(group, id));
    settle(members);
    expect(members.map((m) => m.owned.length)).toEqual([2, 2, 2]);
    expect(group.state).toBe("stable");
  });

  it("moves only the leaving member's partitions (sticky)", () => {
    const group = newGroup();
    const [a, b, c] = ["a", "b", "c"].map((id) => new Member(group, id));
    settle([a, b, c]);
    const before = { a: a.owned.map(keyOf), b: b.owned.map(keyOf) };
    group.heartbeat(input("c", c.epoch, c.owned, {}), 0, sixPartitions);
    group.heartbeat({ ...input("c", -1) }, 0, sixPartitions);
    settle([a, b]);
    expect(a.owned.map(keyOf)).toEqual(expect.arrayContaining(before.a));
    expect(b.owned.map(keyOf)).toEqual(expect.arrayContaining(before.b));
    expect(a.owned.length + b.owned.length).toBe(6);
  });

  it("removes a member whose session expired and gives its partitions to the others", () => {
    const group = newGroup();
    const [a, b] = ["a", "b"].map((id) => new Member(group, id));
    settle([a, b], 0);
    a.heartbeat(9_000);
    expect(group.expire(10_500, sixPartitions).map((m) => m.memberId)).toEqual(["b"]);
    a.heartbeat(10_500);
    expect(a.owned).toHaveLength(6);
  });

  it("removes a member that holds revoked partitions past its rebalance timeout", () => {
    const group = newGroup();
    const a = new Member(group, "a", sixPartitions, { rebalanceTimeoutMs: 1_000 });
    a.heartbeat(0);
    new Member(group, "b").heartbeat(0);
    // a keeps heartbeating but never lets go.
    group.heartbeat(input("a", a.epoch, a.owned, { rebalanceTimeoutMs: 1_000 }), 100, sixPartitions);
    group.heartbeat(input("a", a.epoch, a.owned, { rebalanceTimeoutMs: 1_000 }), 900, sixPartitions);
    expect(group.expire(1_000, sixPartitions)).toEqual([]);
    expect(group.expire(1_200, sixPartitions).map((m) => m.memberId)).toEqual(["a"]);
  });

  it("fences a member epoch it never gave", () => {
    const group = newGroup();
    const a = new Member(group, "a");
    a.heartbeat();
    expect(() => group.heartbeat(input("a", a.epoch + 5, a.owned), 0, sixPartitions)).toThrow(
      expect.objectContaining({ code: "FENCED_MEMBER_EPOCH" }),
    );
    expect(() => group.heartbeat(input("nobody", 3), 0, sixPartitions)).toThrow(
      expect.objectContaining({ code: "UNKNOWN_MEMBER_ID" }),
    );
  });

  it("lets a static member come back under a new member id with its partitions and no rebalance", () => {
    const group = newGroup();
    const a = new Member(group, "a", sixPartitions, { instanceId: "consumer-1" });
    const b = new Member(group, "b", sixPartitions, { instanceId: "consumer-2" });
    settle([a, b]);
    const epoch = group.groupEpoch;
    const held = a.owned;
    group.heartbeat(input("a", -2, a.owned, { instanceId: "consumer-1" }), 0, sixPartitions);
    const again = new Member(group, "a2", sixPartitions, { instanceId: "consumer-1" });
    expect(again.heartbeat().assignment).toEqual(held);
    expect(group.groupEpoch).toBe(epoch);
    // The old process is fenced, not merely unknown: it must not rejoin and steal the id back.
    expect(() => group.heartbeat(input("a", a.epoch, a.owned), 0, sixPartitions)).toThrow(
      expect.objectContaining({ code: "FENCED_INSTANCE_ID" }),
    );
  });

  it("keeps a static member's partitions while it is away, until its session expires", () => {
    const group = newGroup();
    const a = new Member(group, "a", sixPartitions, { instanceId: "i1", sessionTimeoutMs: 5_000 });
    const b = new Member(group, "b");
    settle([a, b]);
    group.heartbeat(
      input("a", -2, a.owned, { instanceId: "i1", sessionTimeoutMs: 5_000 }),
      1_000,
      sixPartitions,
    );
    b.heartbeat(2_000);
    expect(b.owned).toHaveLength(3);
    expect(group.expire(5_500, sixPartitions)).toEqual([]);
    b.heartbeat(5_500);
    expect(group.expire(6_500, sixPartitions).map((m) => m.memberId)).toEqual(["a"]);
    b.heartbeat(6_500);
    expect(b.owned).toHaveLength(6);
  });

  it("subscribes by regex, excluding what does not match the whole name, and follows new topics", () => {
    const group = newGroup();
    let counts: Record<string, number> = { "orders-eu": 2, "orders-us": 2, orders: 1, "audit-orders-x": 3 };
    const view: TopicView = { partitionCount: (t) => counts[t], topicNames: () => Object.keys(counts) };
    const a = new Member(group, "a", view, { subscribedTopicNames: [], subscribedTopicRegex: "orders-.*" });
    a.heartbeat();
    expect(new Set(a.owned.map((tp) => tp.topic))).toEqual(new Set(["orders-eu", "orders-us"]));
    counts = { ...counts, "orders-asia": 3 };
    expect(group.refreshTopics(view)).toBe(true);
    a.heartbeat();
    expect(a.owned).toHaveLength(7);
    expect(group.refreshTopics(view)).toBe(false);
  });

  it("lets only holders commit, at their current or previous epoch, and admins only in an empty group", () => {
    const group = newGroup();
    const a = new Member(group, "a");
    a.heartbeat();
    const p0 = { topic: "orders", partition: 0 };
    expect(() => group.validateCommit("a", a.epoch, [p0])).not.toThrow();
    expect(() => group.validateCommit("", -1, [p0])).toThrow(
      expect.objectContaining({ code: "NON_EMPTY_GROUP" }),
    );
    expect(() => group.validateCommit("a", a.epoch + 1, [p0])).toThrow(
      expect.objectContaining({ code: "FENCED_MEMBER_EPOCH" }),
    );
    // b joins: a revokes p3-p5 and may still commit them until it lets go.
    const b = new Member(group, "b");
    b.heartbeat();
    const revoke = group.heartbeat(input("a", a.epoch, a.owned), 0, sixPartitions);
    const p5 = { topic: "orders", partition: 5 };
    expect(() => group.validateCommit("a", a.epoch, [p5])).not.toThrow();
    a.owned = revoke.assignment;
    a.heartbeat();
    expect(() => group.validateCommit("a", a.epoch, [p5])).toThrow(BrookError);
    expect(() => group.validateCommit("a", a.epoch - 2, [p0])).toThrow(
      expect.objectContaining({ code: "STALE_MEMBER_EPOCH" }),
    );
    group.heartbeat(input("a", -1), 0, sixPartitions);
    group.heartbeat(input("b", -1), 0, sixPartitions);
    expect(() => group.validateCommit("", -1, [p5])).not.toThrow();
  });

  it("rebuilds from its snapshot with every member and holding intact", () => {
    const group = newGroup();
    const members = ["a", "b", "c"].map((id) => new Member(group, id));
    settle(members);
    const copy = ConsumerGroup.fromSnapshot(JSON.parse(JSON.stringify(group.snapshot())), 0, () => "x");
    expect(copy.snapshot()).toEqual(group.snapshot());
    expect(copy.state).toBe("stable");
  });
});

/** Partition numbers per topic a member holds: with co-partitioning, the same for every topic it has. */
function numbersByTopic(owned: readonly TopicPartition[]): Map<string, number[]> {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of owned) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  return byTopic;
}

const coTopics = topics({ input: 3, repartition: 3 });

function coMember(group: ConsumerGroup, id: string, extra: Partial<HeartbeatInput> = {}): Member {
  return new Member(group, id, coTopics, { subscribedTopicNames: ["input", "repartition"], ...extra });
}

/** Whether every member holds the same partition numbers of both topics. */
function coPartitioned(members: Member[]): boolean {
  return members.every((m) => {
    const byTopic = numbersByTopic(m.owned);
    return JSON.stringify(byTopic.get("input") ?? []) === JSON.stringify(byTopic.get("repartition") ?? []);
  });
}

function targets(group: ConsumerGroup): string {
  return JSON.stringify(group.memberSnapshots().map((m) => [m.memberId, m.target]));
}

describe("ConsumerGroup: server-side assignors", () => {
  it("uses the range assignor when most members name it: partition p of both topics on one member", () => {
    const group = newGroup();
    const members = ["a", "b"].map((id) => coMember(group, id, { serverAssignor: "range" }));
    settle(members);
    expect(group.serverAssignor).toBe("range");
    expect(members.map((m) => m.owned.length).sort()).toEqual([2, 4]);
    expect(coPartitioned(members)).toBe(true);
    expect(group.snapshot().serverAssignor).toBe("range");
  });

  it("a tie is uniform; a member switching tips the choice, which bumps the epoch and recomputes the target", () => {
    const group = newGroup();
    const a = coMember(group, "a", { serverAssignor: "range" });
    const b = coMember(group, "b", { serverAssignor: "uniform" });
    settle([a, b]);
    expect(group.serverAssignor).toBe("uniform");
    expect(coPartitioned([a, b])).toBe(false); // uniform deals 6 partitions out as 3 + 3
    const epoch = group.groupEpoch;
    b.extra.serverAssignor = "range";
    b.heartbeat();
    expect(group.groupEpoch).toBe(epoch + 1);
    expect(group.serverAssignor).toBe("range");
    settle([a, b]);
    expect(coPartitioned([a, b])).toBe(true);
  });

  it("a member naming another assignor without changing the group's choice moves nothing", () => {
    const group = newGroup();
    const members = ["a", "b", "c"].map((id) => coMember(group, id, { serverAssignor: "range" }));
    settle(members);
    const [epoch, before] = [group.groupEpoch, targets(group)];
    members[2].extra.serverAssignor = "uniform";
    members[2].heartbeat();
    expect(group.serverAssignor).toBe("range");
    expect(group.groupEpoch).toBe(epoch);
    expect(targets(group)).toBe(before);
    expect(group.memberSnapshots()[2].serverAssignor).toBe("uniform");
  });

  it("the choice follows membership: when the range members leave, the group goes back to uniform", () => {
    const group = newGroup();
    const a = coMember(group, "a", { serverAssignor: "range" });
    const b = coMember(group, "b", { serverAssignor: "range" });
    const c = coMember(group, "c");
    settle([a, b, c]);
    expect(group.serverAssignor).toBe("range");
    group.heartbeat(input("a", -1), 0, coTopics);
    expect(group.serverAssignor).toBe("uniform"); // b and c: a tie
  });
});

describe("ConsumerGroup: member metadata", () => {
  const bytes = (text: string) => Buffer.from(text);

  it("is kept with the member, and a change neither bumps the epoch nor moves a partition", () => {
    const group = newGroup();
    const a = new Member(group, "a", sixPartitions, { memberMetadata: bytes('{"endpoint":"a:1"}') });
    const b = new Member(group, "b");
    settle([a, b]);
    const [epoch, before] = [group.groupEpoch, targets(group)];
    const metadataOf = (id: string) =>
      Buffer.from(group.memberSnapshots().find((m) => m.memberId === id)!.memberMetadata, "base64");
    expect(metadataOf("a").toString()).toBe('{"endpoint":"a:1"}');
    expect(metadataOf("b")).toHaveLength(0);

    b.extra.memberMetadata = bytes('{"state":"RUNNING"}');
    b.heartbeat();
    b.extra.memberMetadata = undefined; // absent: unchanged
    settle([a, b]);
    expect(metadataOf("b").toString()).toBe('{"state":"RUNNING"}');
    expect(group.groupEpoch).toBe(epoch);
    expect(targets(group)).toBe(before);

    b.extra.memberMetadata = Buffer.alloc(0); // present and empty: cleared
    b.heartbeat();
    expect(metadataOf("b")).toHaveLength(0);
    expect(group.groupEpoch).toBe(epoch);
  });

  it("a join sets it: a static member's successor that sends none has none", () => {
    const group = newGroup();
    const a = new Member(group, "a", sixPartitions, { instanceId: "i1", memberMetadata: bytes("old") });
    a.heartbeat();
    group.heartbeat(input("a", -2, a.owned, { instanceId: "i1" }), 0, sixPartitions);
    new Member(group, "a2", sixPartitions, { instanceId: "i1" }).heartbeat();
    expect(group.memberSnapshots().map((m) => [m.memberId, m.memberMetadata])).toEqual([["a2", ""]]);
  });

  it("refuses more than 8 KiB for a member with INVALID_REQUEST, and changes nothing", () => {
    const group = newGroup();
    const a = new Member(group, "a", sixPartitions, { memberMetadata: Buffer.alloc(memberMetadataBytesMax) });
    a.heartbeat();
    const before = JSON.stringify(group.snapshot());
    const tooLarge = { memberMetadata: Buffer.alloc(memberMetadataBytesMax + 1) };
    expect(() => group.heartbeat(input("a", a.epoch, a.owned, tooLarge), 0, sixPartitions)).toThrow(
      expect.objectContaining({ code: "INVALID_REQUEST", message: expect.stringMatching(/8192 bytes/) }),
    );
    expect(() => group.heartbeat(input("b", 0, [], tooLarge), 0, sixPartitions)).toThrow(
      expect.objectContaining({ code: "INVALID_REQUEST" }),
    );
    expect(JSON.stringify(group.snapshot())).toBe(before);
  });

  it("refuses metadata that would take the group past its total; members without metadata still join", () => {
    const group = newGroup();
    const full = Buffer.alloc(memberMetadataBytesMax);
    const count = groupMetadataBytesMax / memberMetadataBytesMax;
    for (let i = 0; i < count; i++)
      group.heartbeat(input(`m${i}`, 0, [], { memberMetadata: full }), 0, sixPartitions);
    expect(() =>
      group.heartbeat(input("one-more", 0, [], { memberMetadata: Buffer.alloc(1) }), 0, sixPartitions),
    ).toThrow(
      expect.objectContaining({ code: "INVALID_REQUEST", message: expect.stringMatching(/all members/) }),
    );
    expect(group.memberCount).toBe(count);
    group.heartbeat(input("plain", 0), 0, sixPartitions);
    // A member replacing its own metadata counts only the new value.
    const m0 = group.memberSnapshots().find((m) => m.memberId === "m0")!;
    group.heartbeat(input("m0", m0.memberEpoch, m0.assigned, { memberMetadata: full }), 0, sixPartitions);
    expect(group.memberCount).toBe(count + 1);
  });
});

describe("ConsumerGroup: snapshots with assignors and metadata", () => {
  it("keeps the assignor and every member's metadata through a snapshot", () => {
    const group = newGroup();
    const members = ["a", "b"].map((id) =>
      coMember(group, id, { serverAssignor: "range", memberMetadata: Buffer.from(`meta-${id}`) }),
    );
    settle(members);
    const copy = ConsumerGroup.fromSnapshot(JSON.parse(JSON.stringify(group.snapshot())), 0, () => "x");
    expect(copy.snapshot()).toEqual(group.snapshot());
    expect(copy.serverAssignor).toBe("range");
    expect(copy.memberSnapshots().map((m) => Buffer.from(m.memberMetadata, "base64").toString())).toEqual([
      "meta-a",
      "meta-b",
    ]);
  });

  it("loads a record from before assignors and metadata as uniform with no metadata, and moves nothing", () => {
    const group = newGroup();
    const members = ["a", "b"].map((id) => new Member(group, id));
    settle(members);
    const old = JSON.parse(JSON.stringify(group.snapshot())) as Partial<GroupSnapshot>;
    delete old.serverAssignor;
    for (const member of old.members ?? []) {
      delete (member as Partial<typeof member>).serverAssignor;
      delete (member as Partial<typeof member>).memberMetadata;
    }
    const copy = ConsumerGroup.fromSnapshot(old as GroupSnapshot, 0, () => "x");
    expect(copy.snapshot()).toEqual(group.snapshot());
    const epoch = copy.groupEpoch;
    for (const member of members)
      copy.heartbeat(input(member.id, member.epoch, member.owned), 0, sixPartitions);
    expect(copy.groupEpoch).toBe(epoch);
  });
});
