import { BrookError } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import {
  ConsumerGroup,
  type HeartbeatInput,
  keyOf,
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
