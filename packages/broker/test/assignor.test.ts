// The group assignor: complete, balanced and sticky (groundwork for issue 6).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assignPartitions, type GroupMember, type TopicPartition } from "../src/groups/assignor.js";

const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

function members(ids: string[], topics: string[], previous?: Map<string, TopicPartition[]>): GroupMember[] {
  return ids.map((memberId) => ({ memberId, topics, owned: previous?.get(memberId) ?? [] }));
}

function owners(assignment: Map<string, TopicPartition[]>): Map<string, string> {
  const owner = new Map<string, string>();
  for (const [member, partitions] of assignment) {
    for (const tp of partitions) owner.set(`${tp.topic}-${tp.partition}`, member);
  }
  return owner;
}

function loads(assignment: Map<string, TopicPartition[]>): number[] {
  return [...assignment.values()].map((partitions) => partitions.length);
}

describe("the group assignor", () => {
  it("spreads six partitions over three members two each", () => {
    const assignment = assignPartitions(members(["a", "b", "c"], ["t"]), counts({ t: 6 }));
    expect(loads(assignment)).toEqual([2, 2, 2]);
    expect(owners(assignment).size).toBe(6);
  });

  it("a member that joins takes only what it gets; nothing else moves", () => {
    const before = assignPartitions(members(["a", "b"], ["t"]), counts({ t: 6 }));
    const after = assignPartitions(members(["a", "b", "c"], ["t"], before), counts({ t: 6 }));
    const moved = [...owners(after)].filter(([tp, member]) => owners(before).get(tp) !== member);
    expect(moved.every(([, member]) => member === "c")).toBe(true);
    expect(after.get("c")).toHaveLength(2);
    expect(loads(after)).toEqual([2, 2, 2]);
  });

  it("a member that leaves gives up only its partitions", () => {
    const before = assignPartitions(members(["a", "b", "c"], ["t"]), counts({ t: 7 }));
    const after = assignPartitions(members(["a", "c"], ["t"], before), counts({ t: 7 }));
    for (const [tp, member] of owners(before)) {
      if (member !== "b") expect(owners(after).get(tp)).toBe(member);
    }
    expect(Math.max(...loads(after)) - Math.min(...loads(after))).toBeLessThanOrEqual(1);
  });

  it("gives a partition only to members subscribed to its topic", () => {
    const assignment = assignPartitions(
      [
        { memberId: "a", topics: ["x"], owned: [] },
        { memberId: "b", topics: ["x", "y"], owned: [] },
        { memberId: "c", topics: ["y", "unknown"], owned: [] },
      ],
      counts({ x: 3, y: 3 }),
    );
    for (const [member, partitions] of assignment) {
      const subscribed = { a: ["x"], b: ["x", "y"], c: ["y"] }[member] as string[];
      for (const tp of partitions) expect(subscribed).toContain(tp.topic);
    }
    expect(owners(assignment).size).toBe(6);
  });

  it("ignores owned partitions that no longer exist or are no longer subscribed, and a doubly claimed one", () => {
    const assignment = assignPartitions(
      [
        {
          memberId: "a",
          topics: ["t"],
          owned: [
            { topic: "t", partition: 0 },
            { topic: "t", partition: 9 },
          ],
        },
        {
          memberId: "b",
          topics: ["t"],
          owned: [
            { topic: "t", partition: 0 },
            { topic: "gone", partition: 0 },
          ],
        },
      ],
      counts({ t: 2 }),
    );
    expect(assignment.get("a")).toEqual([{ topic: "t", partition: 0 }]);
    expect(assignment.get("b")).toEqual([{ topic: "t", partition: 1 }]);
  });

  it("for any membership change with one subscription: complete, balanced, and only the needed moves", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 8 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 8 }),
        (partitions, first, second) => {
          const ids = (list: number[]) => list.map((n) => `m${n}`);
          const before = assignPartitions(members(ids(first), ["t"]), counts({ t: partitions }));
          const after = assignPartitions(members(ids(second), ["t"], before), counts({ t: partitions }));
          const owner = owners(after);
          expect(owner.size).toBe(partitions);
          expect(Math.max(...loads(after)) - Math.min(...loads(after))).toBeLessThanOrEqual(1);
          // A partition moves only if its owner left or held more than its new fair share.
          const share = Math.ceil(partitions / second.length);
          for (const [member, kept] of before) {
            if (!after.has(member)) continue;
            const stillHeld = kept.filter((tp) => owner.get(`${tp.topic}-${tp.partition}`) === member).length;
            expect(stillHeld).toBeGreaterThanOrEqual(
              Math.min(kept.length, Math.floor(partitions / second.length)),
            );
            expect(stillHeld).toBeLessThanOrEqual(share);
          }
        },
      ),
    );
  });
});
