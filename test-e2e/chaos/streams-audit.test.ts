// The streams chaos audit's rule, on made-up updates: each key's updates must be exactly 1..n.
import { Random } from "@brook/testkit";
import { describe, expect, it } from "vitest";
import { auditCounts, chooseStreamsFault } from "./streams-audit.js";

const inputs = new Map([
  ["a", 3],
  ["b", 2],
]);

describe("streams chaos audit", () => {
  it("passes exact updates", () => {
    const audit = auditCounts(
      inputs,
      new Map([
        ["a", [1, 2, 3]],
        ["b", [1, 2]],
      ]),
    );
    expect(audit).toMatchObject({ keys: 2, inputs: 5, updates: 5, lost: 0, duplicates: 0, wrong: 0 });
  });

  it("counts a gap as lost, a repeat as doubled, and the rest as wrong", () => {
    const audit = auditCounts(
      inputs,
      new Map([
        ["a", [1, 3, 3]],
        ["b", [2, 1, 2, 5]],
        ["c", [1]],
      ]),
    );
    expect(audit.lost).toBe(1); // a: no 2
    expect(audit.duplicates).toBe(2); // a: 3 twice; b: 2 twice
    expect(audit.wrong).toBe(3); // b: 1 after 2, 5 above n; c never in the input
    expect(audit.examples.length).toBeGreaterThan(0);
  });

  it("draws the same faults for a seed", () => {
    const draw = (seed: number) =>
      Array.from({ length: 20 }, (_, i) => chooseStreamsFault(new Random(seed + i), 2, 4));
    expect(draw(7)).toEqual(draw(7));
    for (const fault of draw(7)) {
      expect(fault.index).toBeLessThan(fault.kind === "kill-instance" ? 2 : 4);
    }
  });
});
