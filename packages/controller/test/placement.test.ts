// Replica placement as pure functions: round-robin without racks, Kafka's
// rack-aware assignment with them.
import { describe, expect, it } from "vitest";
import { assignReplicas, type PlacementBroker, placementStart, rackAlternatedOrder } from "../src/index.js";

/** Brokers from "id:rack" or "id" specs: brokers("1:a", "2:b") or brokers(1, 2). */
const brokers = (...specs: (string | number)[]): PlacementBroker[] =>
  specs.map((spec) => {
    const [id, rack] = String(spec).split(":");
    return { brokerId: Number(id), rack };
  });
const noLeaders = new Map<number, number>();
const countBy = <T>(items: readonly T[]) => {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
};
const racksOfPartition = (replicas: readonly number[], all: readonly PlacementBroker[]) =>
  new Set(replicas.map((id) => all.find((broker) => broker.brokerId === id)?.rack));

describe("replica placement without racks: round-robin", () => {
  it("spreads leaders evenly and never puts two replicas of a partition on one broker", () => {
    const assignment = assignReplicas(brokers(3, 1, 2), 6, 3, noLeaders);
    const leaders = assignment.map((replicas) => replicas[0]);
    for (const broker of [1, 2, 3]) expect(leaders.filter((l) => l === broker)).toHaveLength(2);
    for (const replicas of assignment) expect(new Set(replicas).size).toBe(3);
  });

  it("places followers on the next brokers, shifting them by one each full round of leaders (Kafka's replica shift)", () => {
    expect(assignReplicas(brokers(1, 2, 3), 6, 2, noLeaders)).toEqual([
      [1, 2],
      [2, 3],
      [3, 1],
      [1, 3],
      [2, 1],
      [3, 2],
    ]);
  });

  it("treats the wire's empty rack as no rack", () => {
    expect(assignReplicas(brokers("1:", "2:", "3:"), 3, 2, noLeaders)).toEqual(
      assignReplicas(brokers(1, 2, 3), 3, 2, noLeaders),
    );
  });

  it("starts at the broker that is the preferred leader of the fewest partitions, the earliest on a tie", () => {
    expect(placementStart([1, 2, 3], new Map())).toBe(0);
    expect(
      placementStart(
        [1, 2, 3],
        new Map([
          [1, 2],
          [2, 1],
          [3, 2],
        ]),
      ),
    ).toBe(1);
    expect(
      placementStart(
        [1, 2, 3],
        new Map([
          [1, 1],
          [2, 1],
        ]),
      ),
    ).toBe(2);
    expect(assignReplicas(brokers(1, 2, 3), 1, 2, new Map([[1, 1]]))).toEqual([[2, 3]]);
  });

  it("refuses a replication factor above the live broker count, saying how many are alive", () => {
    expect(() => assignReplicas(brokers(1), 1, 2, noLeaders)).toThrow(
      /INVALID_REPLICATION_FACTOR.*1 broker\(s\) are alive/,
    );
    expect(() => assignReplicas(brokers("1:a", "2:b"), 1, 3, noLeaders)).toThrow(
      /INVALID_REPLICATION_FACTOR.*2 broker\(s\) are alive/,
    );
  });

  it("refuses to place anything when no broker is alive", () => {
    expect(() => assignReplicas([], 1, 1, noLeaders)).toThrow(
      /INVALID_REPLICATION_FACTOR.*no broker is alive/,
    );
  });

  it.each([0, -1, 1.5, 10_001])("refuses %d partitions", (n) => {
    expect(() => assignReplicas(brokers(1), n, 1, noLeaders)).toThrow(/INVALID_PARTITIONS/);
  });
});

describe("replica placement with racks: Kafka's rack-aware assignment", () => {
  it("orders brokers one from each rack in turn, racks by name and brokers by id", () => {
    const racks = new Map(
      brokers("5:c", "1:a", "4:b", "2:a", "3:a", "6:c").map((b) => [b.brokerId, b.rack ?? ""]),
    );
    expect(rackAlternatedOrder(racks)).toEqual([1, 4, 5, 2, 6, 3]);
  });

  it("puts each partition's replicas in distinct racks when there are at least as many racks as copies", () => {
    const cluster = brokers("1:a", "2:a", "3:b", "4:b", "5:c", "6:c", "7:a");
    for (const replicationFactor of [1, 2, 3]) {
      for (const replicas of assignReplicas(cluster, 20, replicationFactor, noLeaders)) {
        expect(racksOfPartition(replicas, cluster).size).toBe(replicationFactor);
      }
    }
  });

  it("spreads leaders evenly over brokers and over racks: 6 brokers in 3 racks, 12 partitions, 3 copies", () => {
    const cluster = brokers("1:a", "2:a", "3:b", "4:b", "5:c", "6:c");
    const assignment = assignReplicas(cluster, 12, 3, noLeaders);
    const leaders = assignment.map((replicas) => replicas[0]);
    expect([...countBy(leaders).values()]).toEqual([2, 2, 2, 2, 2, 2]);
    const leaderRacks = leaders.map((id) => cluster.find((b) => b.brokerId === id)?.rack);
    expect(countBy(leaderRacks)).toEqual(
      new Map([
        ["a", 4],
        ["b", 4],
        ["c", 4],
      ]),
    );
    // Every broker holds the same number of copies too.
    expect([...countBy(assignment.flat()).values()]).toEqual([6, 6, 6, 6, 6, 6]);
    for (const replicas of assignment) expect(racksOfPartition(replicas, cluster).size).toBe(3);
  });

  it("still places validly on uneven racks: rack a has 3 brokers, rack b has 1", () => {
    const cluster = brokers("1:a", "2:a", "3:a", "4:b");
    for (const replicationFactor of [2, 3, 4]) {
      const assignment = assignReplicas(cluster, 8, replicationFactor, noLeaders);
      for (const replicas of assignment) {
        expect(new Set(replicas).size).toBe(replicationFactor);
        expect(racksOfPartition(replicas, cluster)).toEqual(new Set(["a", "b"]));
      }
      // Leaders still take each broker in turn.
      expect([...countBy(assignment.map((replicas) => replicas[0])).values()]).toEqual([2, 2, 2, 2]);
    }
  });

  it("refuses brokers of which only some name a rack, listing those that do not", () => {
    expect(() => assignReplicas(brokers("1:a", 2, "3:b", 4), 1, 1, noLeaders)).toThrow(
      /INVALID_REQUEST: broker\(s\) 2, 4 name no rack/,
    );
  });
});
