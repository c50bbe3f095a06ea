// Leadership transfer: "timeout-now" once the target has caught up; aborted after an election timeout.

import { describe, expect, it } from "vitest";
import { RaftError } from "../src/index.js";
import { bytes, TestNetwork } from "./helpers/network.js";

const three = { voters: [1, 2, 3], learners: [] };

describe("leadership transfer", () => {
  it("rule: a caught-up target gets timeout-now and wins at once, overriding the followers' lease", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    network.core(1).transferLeadership(2);
    network.stabilize();
    expect(network.leaders()).toEqual([2]);
    expect(network.core(2).term).toBe(2);
    expect(network.delivered.filter((m) => m.type === "timeout-now").map((m) => m.to)).toEqual([2]);
  });

  it("rule: a lagging target is caught up first, then told to campaign", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    network.isolate(3);
    for (const payload of ["a", "b", "c"]) network.commit(1, payload);
    network.heal();
    network.core(1).transferLeadership(3);
    const first = network.flush();
    expect(first.some((m) => m.type === "timeout-now")).toBe(false);
    network.stabilize();
    expect(network.leaders()).toEqual([3]);
    expect(network.core(3).commitIndex).toBeGreaterThanOrEqual(4);
  });

  it("rule: proposals are refused while leadership moves", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    network.isolate(2);
    network.core(1).transferLeadership(2);
    expect(() => network.core(1).propose(bytes("x"))).toThrow(/PROPOSAL_DROPPED/);
  });

  it("rule: a transfer that does not finish within an election timeout is aborted", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    network.isolate(2);
    network.core(1).transferLeadership(2);
    for (let i = 0; i < 10; i++) {
      network.tick(1);
      network.stabilize();
    }
    expect(network.core(1).status().leadTransferee).toBe(0);
    expect(network.core(1).role).toBe("leader");
    expect(() => network.core(1).propose(bytes("x"))).not.toThrow();
  });

  it("rule: leadership cannot go to a learner or a non-member", () => {
    const network = new TestNetwork({ voters: [1, 2], learners: [3] });
    network.elect(1);
    for (const target of [3, 9]) {
      expect(() => network.core(1).transferLeadership(target)).toThrow(RaftError);
    }
  });
});
