// Partition decisions: preferred leader election and AlterPartition.
import { describe, expect, it } from "vitest";
import { type AlterPartitionRequest, planAlterPartition, planPreferredLeaderElection } from "../src/index.js";
import { codeOf, imageOf, replay } from "./helpers/decisions.js";

describe("preferred leader election", () => {
  it("moves leadership back to the first replica when it is alive and in the ISR", () => {
    const image = imageOf({
      live: [1, 2, 3],
      topics: {
        t: [
          { replicas: [1, 2], isr: [2, 1], leader: 2 },
          { replicas: [1, 3], isr: [3], leader: 3 },
          { replicas: [2, 3], leader: 2 },
        ],
      },
    });
    const records = planPreferredLeaderElection(image);
    expect(records).toEqual([{ type: "partition-change", topicId: "id-t", partition: 0, leader: 1 }]);
    expect(replay(image, records).partition("t", 0)).toMatchObject({ leader: 1, leaderEpoch: 1 });
  });

  it("leaves leadership alone while the preferred replica is fenced", () => {
    const image = imageOf({ live: [2], fenced: [1], topics: { t: [{ replicas: [1, 2], leader: 2 }] } });
    expect(planPreferredLeaderElection(image)).toEqual([]);
  });

  it("is deterministic and has nothing left to do once applied", () => {
    const image = imageOf({
      live: [1, 2],
      topics: { b: [{ replicas: [1, 2], leader: 2 }], a: [{ replicas: [2, 1], leader: 1 }] },
    });
    expect(planPreferredLeaderElection(image)).toEqual(planPreferredLeaderElection(image));
    expect(planPreferredLeaderElection(replay(image, planPreferredLeaderElection(image)))).toEqual([]);
  });
});

describe("AlterPartition", () => {
  const image = imageOf({
    live: [1, 2, 3],
    fenced: [4],
    topics: { t: [{ replicas: [1, 2, 3, 4], isr: [1, 2] }] },
  });
  const request = (change: Partial<AlterPartitionRequest>): AlterPartitionRequest => ({
    topic: "t",
    partition: 0,
    leaderId: 1,
    leaderEpoch: 0,
    partitionEpoch: 0,
    newIsr: [1, 2, 3],
    ...change,
  });

  it("the current leader at the current epochs expands the ISR, bumping the partition epoch", () => {
    const records = planAlterPartition(image, request({}));
    expect(records).toEqual([{ type: "partition-change", topicId: "id-t", partition: 0, isr: [1, 2, 3] }]);
    expect(replay(image, records).partition("t", 0)).toMatchObject({
      isr: [1, 2, 3],
      leaderEpoch: 0,
      partitionEpoch: 1,
    });
  });

  it("the leader shrinks the ISR, even dropping a fenced member", () => {
    const withFenced = imageOf({ live: [1], fenced: [2], topics: { t: [{ replicas: [1, 2] }] } });
    expect(planAlterPartition(withFenced, request({ newIsr: [1] }))).toEqual([
      { type: "partition-change", topicId: "id-t", partition: 0, isr: [1] },
    ]);
  });

  it("an unchanged ISR gives no records", () => {
    expect(planAlterPartition(image, request({ newIsr: [1, 2] }))).toEqual([]);
  });

  it("a stale leader epoch is refused with FENCED_LEADER_EPOCH", () => {
    const moved = replay(image, [{ type: "partition-change", topicId: "id-t", partition: 0, leader: 2 }]);
    expect(codeOf(() => planAlterPartition(moved, request({})))).toBe("FENCED_LEADER_EPOCH");
  });

  it("a broker that is not the leader is refused with NOT_LEADER", () => {
    expect(codeOf(() => planAlterPartition(image, request({ leaderId: 2 })))).toBe("NOT_LEADER");
  });

  it("a stale partition epoch is refused with INVALID_PARTITION_EPOCH", () => {
    const shrunk = replay(image, [{ type: "partition-change", topicId: "id-t", partition: 0, isr: [1] }]);
    expect(codeOf(() => planAlterPartition(shrunk, request({})))).toBe("INVALID_PARTITION_EPOCH");
  });

  it("an ISR that is not a subset of the replicas, lacks the leader or repeats a broker is refused", () => {
    for (const newIsr of [
      [1, 5],
      [2, 3],
      [1, 1, 2],
    ]) {
      expect(codeOf(() => planAlterPartition(image, request({ newIsr })))).toBe("INVALID_REQUEST");
    }
  });

  it("adding a fenced broker is refused with INELIGIBLE_REPLICA", () => {
    expect(codeOf(() => planAlterPartition(image, request({ newIsr: [1, 2, 4] })))).toBe(
      "INELIGIBLE_REPLICA",
    );
  });

  it("an unknown topic or partition is refused", () => {
    expect(codeOf(() => planAlterPartition(image, request({ topic: "nope" })))).toBe("UNKNOWN_TOPIC");
    expect(codeOf(() => planAlterPartition(image, request({ partition: 3 })))).toBe("UNKNOWN_PARTITION");
  });

  it("is deterministic: the same request on the same image gives the same records", () => {
    expect(planAlterPartition(image, request({}))).toEqual(planAlterPartition(image, request({})));
  });
});
