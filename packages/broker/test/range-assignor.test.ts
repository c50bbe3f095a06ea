// The "range" server-side assignor (co-partitioning, for Brook Streams) and the choice between server-side
// assignors: partition p of every topic the same members subscribe to goes to one member; balanced over
// partition numbers; sticky; deterministic. Unknown names are UNSUPPORTED_ASSIGNOR.

import { BrookError } from "@brook/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { GroupMember, TopicPartition } from "../src/groups/assignor.js";
import { assignCoPartitioned } from "../src/groups/range-assignor.js";
import { chooseServerAssignor, parseServerAssignor } from "../src/groups/server-assignor.js";

const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

function members(ids: string[], topics: string[], previous?: Map<string, TopicPartition[]>): GroupMember[] {
  return ids.map((memberId) => ({ memberId, topics, owned: previous?.get(memberId) ?? [] }));
}

/** "topic-partition" → member. */
function owners(assignment: Map<string, TopicPartition[]>): Map<string, string> {
  const owner = new Map<string, string>();
  for (const [member, partitions] of assignment) {
    for (const tp of partitions) {
      expect(owner.has(`${tp.topic}-${tp.partition}`), `${tp.topic}-${tp.partition} assigned twice`).toBe(
        false,
      );
      owner.set(`${tp.topic}-${tp.partition}`, member);
    }
  }
  return owner;
}

/** Member → the partition numbers it holds (of any topic). */
function numbers(assignment: Map<string, TopicPartition[]>): Map<string, Set<number>> {
  return new Map([...assignment].map(([member, tps]) => [member, new Set(tps.map((tp) => tp.partition))]));
}

/** Every partition number has one owner across all topics. */
function expectCoPartitioned(assignment: Map<string, TopicPartition[]>): void {
  const ownerOfNumber = new Map<number, string>();
  for (const [member, partitions] of assignment) {
    for (const { partition } of partitions) {
      expect(ownerOfNumber.get(partition) ?? member, `partition number ${partition} is split`).toBe(member);
      ownerOfNumber.set(partition, member);
    }
  }
}

function expectComplete(assignment: Map<string, TopicPartition[]>, topicCounts: Map<string, number>): void {
  const owner = owners(assignment);
  const total = [...topicCounts.values()].reduce((sum, count) => sum + count, 0);
  expect(owner.size).toBe(total);
}

describe("the range (co-partitioning) assignor", () => {
  it("gives partition p of the input and the repartition topic to the same member", () => {
    const topicCounts = counts({ input: 3, "app-repartition": 3 });
    const assignment = assignCoPartitioned(members(["a", "b"], ["input", "app-repartition"]), topicCounts);
    expectComplete(assignment, topicCounts);
    expectCoPartitioned(assignment);
    expect([...numbers(assignment).values()].map((set) => set.size)).toEqual([2, 1]);
  });

  it("a topic with fewer partitions lacks the high numbers; balance is over partition numbers", () => {
    const topicCounts = counts({ big: 5, small: 3 });
    const assignment = assignCoPartitioned(members(["a", "b", "c"], ["big", "small"]), topicCounts);
    expectComplete(assignment, topicCounts);
    expectCoPartitioned(assignment);
    expect([...numbers(assignment).values()].map((set) => set.size)).toEqual([2, 2, 1]);
    const small = [...assignment.values()].flat().filter((tp) => tp.topic === "small");
    expect(small.map((tp) => tp.partition).sort()).toEqual([0, 1, 2]);
  });

  it("a member that joins takes only the numbers it gets; nothing else moves", () => {
    const topicCounts = counts({ x: 6, y: 6 });
    const before = assignCoPartitioned(members(["a", "b"], ["x", "y"]), topicCounts);
    const after = assignCoPartitioned(members(["a", "b", "c"], ["x", "y"], before), topicCounts);
    const [was, is] = [owners(before), owners(after)];
    for (const [tp, member] of is) if (was.get(tp) !== member) expect(member).toBe("c");
    expect(numbers(after).get("c")?.size).toBe(2);
    expectCoPartitioned(after);
  });

  it("a member that leaves gives up only its numbers", () => {
    const topicCounts = counts({ x: 7, y: 5 });
    const before = assignCoPartitioned(members(["a", "b", "c"], ["x", "y"]), topicCounts);
    const after = assignCoPartitioned(members(["a", "c"], ["x", "y"], before), topicCounts);
    for (const [tp, member] of owners(before)) if (member !== "b") expect(owners(after).get(tp)).toBe(member);
    expectCoPartitioned(after);
  });

  it("owning partition p of any topic of the class claims number p; a doubly claimed number goes to the first member", () => {
    const assignment = assignCoPartitioned(
      [
        { memberId: "a", topics: ["x", "y"], owned: [{ topic: "x", partition: 0 }] },
        {
          memberId: "b",
          topics: ["x", "y"],
          owned: [
            { topic: "y", partition: 0 },
            { topic: "y", partition: 1 },
          ],
        },
      ],
      counts({ x: 2, y: 2 }),
    );
    expect(assignment.get("a")).toEqual([
      { topic: "x", partition: 0 },
      { topic: "y", partition: 0 },
    ]);
    expect(assignment.get("b")).toEqual([
      { topic: "x", partition: 1 },
      { topic: "y", partition: 1 },
    ]);
  });

  it("different subscriptions: each topic only to its subscribers, co-partitioned among topics with the same subscribers", () => {
    const topicCounts = counts({ x: 3, y: 3, z: 4 });
    const assignment = assignCoPartitioned(
      [
        { memberId: "a", topics: ["x", "y", "z"], owned: [] },
        { memberId: "b", topics: ["x", "y", "z"], owned: [] },
        { memberId: "c", topics: ["z", "unknown"], owned: [] },
      ],
      topicCounts,
    );
    expectComplete(assignment, topicCounts);
    expect(assignment.get("c")?.every((tp) => tp.topic === "z")).toBe(true);
    const xy = new Map([...assignment].map(([m, tps]) => [m, tps.filter((tp) => tp.topic !== "z")]));
    expectCoPartitioned(xy);
  });

  it("for any membership change with one subscription: complete, co-partitioned, balanced, sticky, deterministic", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("in", "rep", "side", "other"), fc.integer({ min: 1, max: 16 }), {
          minKeys: 1,
        }),
        fc.uniqueArray(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 8 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 8 }),
        (topicsAndCounts, first, second) => {
          const topicCounts = counts(topicsAndCounts);
          const topics = [...topicCounts.keys()];
          const ids = (list: number[]) => list.map((n) => `m${n}`);
          const before = assignCoPartitioned(members(ids(first), topics), topicCounts);
          const after = assignCoPartitioned(members(ids(second), topics, before), topicCounts);
          expectComplete(after, topicCounts);
          expectCoPartitioned(after);
          const held = [...numbers(after).values()].map((set) => set.size);
          expect(Math.max(...held) - Math.min(...held)).toBeLessThanOrEqual(1);
          // A number moves only if its owner left or held more than its new fair share.
          const total = Math.max(...topicCounts.values());
          const [floor, ceil] = [Math.floor(total / second.length), Math.ceil(total / second.length)];
          for (const [member, kept] of numbers(before)) {
            const now = numbers(after).get(member);
            if (now === undefined) continue;
            const stillHeld = [...kept].filter((n) => now.has(n)).length;
            expect(stillHeld).toBeGreaterThanOrEqual(Math.min(kept.size, floor));
            expect(stillHeld).toBeLessThanOrEqual(ceil);
          }
          // Deterministic: the order members come in does not matter.
          const reversed = members(ids(second), topics, before).reverse();
          expect(assignCoPartitioned(reversed, topicCounts)).toEqual(after);
        },
      ),
    );
  });

  it("for any subscriptions: every partition once, only to a subscriber, co-partitioned among same-subscriber topics", () => {
    const topicNames = ["a", "b", "c", "d"];
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.subarray(topicNames, { minLength: 1 }), { minLength: 1, maxLength: 6 }),
        (partitionCounts, subscriptions) => {
          const topicCounts = new Map(topicNames.map((topic, i) => [topic, partitionCounts[i]]));
          const group = subscriptions.map((topics, i) => ({ memberId: `m${i}`, topics, owned: [] }));
          const assignment = assignCoPartitioned(group, topicCounts);
          const subscribed = new Set(subscriptions.flat());
          const owner = owners(assignment);
          for (const topic of subscribed) {
            for (let p = 0; p < (topicCounts.get(topic) ?? 0); p++) {
              const member = owner.get(`${topic}-${p}`);
              expect(member, `${topic}-${p} unassigned`).toBeDefined();
              expect(subscriptions[Number(member?.slice(1))]).toContain(topic);
            }
          }
          expect(owner.size).toBe([...subscribed].reduce((sum, t) => sum + (topicCounts.get(t) ?? 0), 0));
          const subscribersOf = (topic: string) =>
            group
              .filter((m) => m.topics.includes(topic))
              .map((m) => m.memberId)
              .join(",");
          for (const [key, member] of owner) {
            const [topic, p] = key.split("-");
            for (const other of subscribed) {
              if (other === topic || subscribersOf(other) !== subscribersOf(topic)) continue;
              const otherOwner = owner.get(`${other}-${p}`);
              if (otherOwner !== undefined) expect(otherOwner).toBe(member);
            }
          }
        },
      ),
    );
  });
});

describe("choosing a server-side assignor", () => {
  it("names: '' and 'uniform' are the default, 'range' co-partitions, anything else is UNSUPPORTED_ASSIGNOR", () => {
    expect(parseServerAssignor("")).toBe("uniform");
    expect(parseServerAssignor("uniform")).toBe("uniform");
    expect(parseServerAssignor("range")).toBe("range");
    for (const name of ["Range", "sticky", "cooperative-sticky", "x".repeat(1000)]) {
      let error: unknown;
      try {
        parseServerAssignor(name);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(BrookError);
      expect(error).toMatchObject({ code: "UNSUPPORTED_ASSIGNOR", retriable: false });
      expect((error as BrookError).message.length).toBeLessThan(200);
    }
  });

  it("the group uses the assignor most members name; a tie, or no member, is uniform", () => {
    expect(chooseServerAssignor([])).toBe("uniform");
    expect(chooseServerAssignor(["range"])).toBe("range");
    expect(chooseServerAssignor(["range", "uniform"])).toBe("uniform");
    expect(chooseServerAssignor(["uniform", "range"])).toBe("uniform");
    expect(chooseServerAssignor(["range", "uniform", "range"])).toBe("range");
    expect(chooseServerAssignor(["uniform", "uniform", "range"])).toBe("uniform");
  });
});
