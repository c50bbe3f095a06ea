// The worker group's assignment is a pure function every worker computes alike: each connector and task is
// owned by exactly one live worker, the counts differ by at most one, and the answer does not depend on the
// order workers or connectors are listed in.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allUnits, assignUnits, type ConnectorTasks, unitKey } from "../src/runtime/assignment.js";

const workersArb = fc.uniqueArray(fc.stringMatching(/^[a-z0-9.:]{1,12}$/), { minLength: 1, maxLength: 8 });
const connectorsArb = fc.uniqueArray(
  fc.record({
    connector: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
    taskCount: fc.integer({ min: 0, max: 12 }),
  }),
  { selector: ({ connector }) => connector, maxLength: 10 },
);

describe("assignUnits", () => {
  it("gives every unit to exactly one live worker, evenly", () => {
    fc.assert(
      fc.property(workersArb, connectorsArb, (workers, connectors) => {
        const assignment = assignUnits(workers, connectors);
        const owned = [...assignment.values()].flat().map(unitKey);
        const expected = allUnits(connectors).map(unitKey);
        expect(owned.sort()).toEqual([...expected].sort());
        expect(new Set(owned).size).toBe(owned.length);
        expect([...assignment.keys()].every((worker) => workers.includes(worker))).toBe(true);
        const counts = [...assignment.values()].map((units) => units.length);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it("is the same whatever order the inputs come in", () => {
    fc.assert(
      fc.property(workersArb, connectorsArb, (workers, connectors) => {
        const a = assignUnits(workers, connectors);
        const b = assignUnits([...workers].reverse(), [...connectors].reverse());
        expect([...a.entries()].sort()).toEqual([...b.entries()].sort());
      }),
    );
  });

  it("assigns nothing without workers", () => {
    const connectors: ConnectorTasks[] = [{ connector: "c", taskCount: 2 }];
    expect(assignUnits([], connectors).size).toBe(0);
  });

  it("moves only a dead worker's units to the survivors when it is the last one listed", () => {
    const connectors = [{ connector: "c", taskCount: 5 }];
    const before = assignUnits(["a", "b", "c"], connectors);
    const after = assignUnits(["a", "b"], connectors);
    const ownerAfter = new Map(
      [...after].flatMap(([worker, units]) => units.map((unit) => [unitKey(unit), worker])),
    );
    for (const [, units] of before)
      for (const unit of units) expect(ownerAfter.has(unitKey(unit))).toBe(true);
  });
});
