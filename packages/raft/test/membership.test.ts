// Learners and single-step membership changes, applied when their entry is applied.

import { describe, expect, it } from "vitest";
import { decodeConfChange, RaftError } from "../src/index.js";
import { bytes, TestNetwork } from "./helpers/network.js";

describe("learners", () => {
  it("rule: a learner receives the log but is not counted in the quorum", () => {
    const network = new TestNetwork({ voters: [1, 2], learners: [3] });
    network.elect(1);
    network.isolate(2);
    const index = network.core(1).propose(bytes("x"));
    network.stabilize();
    expect(network.core(3).lastIndex).toBe(index);
    expect(network.core(1).commitIndex).toBeLessThan(index);
    network.heal();
    network.tick(1);
    network.stabilize();
    expect(network.core(3).commitIndex).toBe(index);
  });

  it("rule: a learner never campaigns", () => {
    const network = new TestNetwork({ voters: [1, 2], learners: [3] });
    expect(network.core(3).role).toBe("learner");
    network.tick(3, 100);
    network.core(3).campaign();
    network.stabilize();
    expect(network.core(3).role).toBe("learner");
    expect(network.core(3).term).toBe(0);
  });

  it("rule: a candidate counts only voters' votes", () => {
    const network = new TestNetwork({ voters: [1, 2, 3], learners: [4, 5] });
    network.isolate(2);
    network.isolate(3);
    network.elect(1);
    expect(network.core(1).role).not.toBe("leader");
  });
});

describe("membership changes", () => {
  it("rule: a promoted learner votes once the change is applied, and the quorum grows with it", () => {
    const network = new TestNetwork({ voters: [1, 2], learners: [3] });
    network.elect(1);
    const index = network.core(1).proposeConfChange({ type: "add-voter", nodeId: 3 });
    network.stabilize();
    const entry = network.node(1).applied.find((e) => e.index === index)!;
    expect(entry.type).toBe("conf-change");
    expect(decodeConfChange(entry.data)).toEqual({ type: "add-voter", nodeId: 3 });
    for (const id of [1, 2, 3])
      expect(network.core(id).membership()).toEqual({ voters: [1, 2, 3], learners: [] });
    expect(network.core(3).role).toBe("follower");
    // With three voters, 1 and 3 commit without 2.
    network.isolate(2);
    const next = network.core(1).propose(bytes("y"));
    network.stabilize();
    expect(network.core(1).commitIndex).toBe(next);
  });

  it("rule: one membership change at a time — the next waits until the last is applied", () => {
    const network = new TestNetwork({ voters: [1, 2, 3], learners: [4] });
    network.elect(1);
    network.isolate(2);
    network.isolate(3);
    network.core(1).proposeConfChange({ type: "add-voter", nodeId: 4 });
    expect(() => network.core(1).proposeConfChange({ type: "remove-node", nodeId: 3 })).toThrow(
      /PROPOSAL_DROPPED/,
    );
  });

  it("rule: a new leader changes membership only after its first entry is applied", () => {
    const network = new TestNetwork({ voters: [1, 2, 3], learners: [4] });
    network.core(1).campaign();
    for (let round = 0; round < 10; round++) {
      network.flush();
      network.deliver((m) => m.type !== "app");
    }
    expect(network.core(1).role).toBe("leader");
    expect(() => network.core(1).proposeConfChange({ type: "add-voter", nodeId: 4 })).toThrow(
      /PROPOSAL_DROPPED/,
    );
    network.tick(1);
    network.stabilize();
    expect(() => network.core(1).proposeConfChange({ type: "add-voter", nodeId: 4 })).not.toThrow();
  });

  it("rule: changes that would leave no voters, or change nothing, are refused", () => {
    const network = new TestNetwork({ voters: [1], learners: [2] });
    network.elect(1);
    for (const change of [
      { type: "remove-node", nodeId: 1 },
      { type: "add-voter", nodeId: 1 },
      { type: "add-learner", nodeId: 2 },
      { type: "add-voter", nodeId: 0 },
    ] as const) {
      expect(() => network.core(1).proposeConfChange(change)).toThrow(RaftError);
    }
  });

  it("rule: a leader removed from the voters steps down once the removal is applied", () => {
    const network = new TestNetwork({ voters: [1, 2, 3], learners: [] });
    network.elect(1);
    network.core(1).proposeConfChange({ type: "remove-node", nodeId: 1 });
    network.stabilize();
    expect(network.core(1).role).toBe("follower");
    expect(network.core(2).membership().voters).toEqual([2, 3]);
    for (let i = 0; i < 30; i++) {
      network.tickAll();
      network.stabilize();
    }
    expect(network.leaders().length).toBe(1);
    expect(network.leaders()[0]).not.toBe(1);
  });

  it("rule: a node added later catches up from the leader (log or snapshot)", () => {
    const network = new TestNetwork({ voters: [1, 2, 3], learners: [] });
    network.elect(1);
    network.commit(1, "a");
    network.addNode(4, { voters: [], learners: [] });
    network.core(1).proposeConfChange({ type: "add-learner", nodeId: 4 });
    network.stabilize();
    network.commit(1, "b");
    expect(network.core(4).role).toBe("learner");
    expect(network.core(4).commitIndex).toBe(network.core(1).commitIndex);
  });
});
