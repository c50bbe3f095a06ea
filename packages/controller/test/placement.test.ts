import { applyRecords, MetadataImage } from "@brook/metadata";
import { describe, expect, it } from "vitest";
import { assignReplicas, placementStart, planCreateTopic, planDeleteTopic } from "../src/index.js";

describe("replica placement", () => {
  it("spreads leaders evenly and never puts two replicas of a partition on one broker", () => {
    const assignment = assignReplicas([3, 1, 2], 6, 3, 0);
    const leaders = assignment.map((replicas) => replicas[0]);
    for (const broker of [1, 2, 3]) expect(leaders.filter((l) => l === broker)).toHaveLength(2);
    for (const replicas of assignment) expect(new Set(replicas).size).toBe(3);
  });

  it("starts at the broker that is the preferred leader of the fewest partitions, the lowest id on a tie", () => {
    expect(placementStart([3, 1, 2], new Map())).toBe(0);
    expect(
      placementStart(
        [3, 1, 2],
        new Map([
          [1, 2],
          [2, 1],
          [3, 2],
        ]),
      ),
    ).toBe(1);
    expect(
      placementStart(
        [3, 1, 2],
        new Map([
          [1, 1],
          [2, 1],
        ]),
      ),
    ).toBe(2);
  });

  it("refuses a replication factor above the live broker count", () => {
    expect(() => assignReplicas([1], 1, 2, 0)).toThrow(/INVALID_REPLICATION_FACTOR.*1 broker\(s\) are alive/);
  });

  it.each([0, -1, 1.5, 10_001])("refuses %d partitions", (n) => {
    expect(() => assignReplicas([1], n, 1, 0)).toThrow(/INVALID_PARTITIONS/);
  });
});

describe("topic decisions", () => {
  const withBroker = applyRecords(
    MetadataImage.empty,
    [{ type: "broker-registration", brokerId: 1, incarnationId: "i", host: "h", port: 1 }],
    0,
  );
  const request = {
    name: "t",
    numPartitions: 2,
    replicationFactor: 1,
    configs: new Map([["retention.ms", "5"]]),
  };

  it("creating a topic yields the topic, its configs and one record per partition", () => {
    const records = planCreateTopic(withBroker, request, "id-t");
    expect(records.map((r) => r.type)).toEqual(["topic", "topic-config", "partition", "partition"]);
    const image = applyRecords(withBroker, records, 1);
    expect(image.topic("t")?.partitions.map((p) => p.leader)).toEqual([1, 1]);
  });

  it("refuses a duplicate name, a bad name and a bad config with typed errors", () => {
    const image = applyRecords(withBroker, planCreateTopic(withBroker, request, "id-t"), 1);
    expect(() => planCreateTopic(image, request, "id-2")).toThrow(/TOPIC_ALREADY_EXISTS/);
    expect(() => planCreateTopic(image, { ...request, name: "bad name" }, "x")).toThrow(/INVALID_TOPIC/);
    expect(() =>
      planCreateTopic(image, { ...request, name: "u", configs: new Map([["nope", "1"]]) }, "x"),
    ).toThrow(/INVALID_CONFIG/);
  });

  it("-1 asks for the default partition count and replication factor; 0 is refused", () => {
    const records = planCreateTopic(
      withBroker,
      { ...request, numPartitions: -1, replicationFactor: -1 },
      "id",
    );
    expect(records.filter((r) => r.type === "partition")).toHaveLength(1);
    expect(() => planCreateTopic(withBroker, { ...request, numPartitions: 0 }, "id")).toThrow(
      /INVALID_PARTITIONS/,
    );
    expect(() => planCreateTopic(withBroker, { ...request, replicationFactor: 0 }, "id")).toThrow(
      /INVALID_REPLICATION_FACTOR/,
    );
  });

  it("placement is a function of the image alone: leaders keep spreading, and refill after a deletion", () => {
    const threeBrokers = applyRecords(
      MetadataImage.empty,
      [1, 2, 3].map((brokerId) => ({
        type: "broker-registration" as const,
        brokerId,
        incarnationId: "i",
        host: "h",
        port: brokerId,
      })),
      0,
    );
    const single = { name: "", numPartitions: 1, replicationFactor: 2, configs: new Map() };
    let image = threeBrokers;
    const create = (name: string) => {
      const records = planCreateTopic(image, { ...single, name }, `id-${name}`);
      image = applyRecords(image, records, image.offset + 1);
      return image.topic(name)?.partitions[0].replicas;
    };
    expect([create("a"), create("b"), create("c"), create("d")]).toEqual([
      [1, 2],
      [2, 3],
      [3, 1],
      [1, 2],
    ]);
    // The same image gives the same placement, whichever controller decides.
    expect(planCreateTopic(image, { ...single, name: "e" }, "id-e")).toEqual(
      planCreateTopic(image, { ...single, name: "e" }, "id-e"),
    );
    image = applyRecords(image, planDeleteTopic(image, "b"), image.offset + 1);
    expect(create("e")).toEqual([2, 3]); // broker 2 lost its only leadership
  });

  it("deleting an unknown topic is UNKNOWN_TOPIC", () => {
    expect(() => planDeleteTopic(withBroker, "missing")).toThrow(/UNKNOWN_TOPIC/);
  });
});
