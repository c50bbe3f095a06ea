// Read index: linearizable reads confirmed by a heartbeat round, without writing to the log.

import { describe, expect, it } from "vitest";
import { NotLeaderError } from "../src/index.js";
import { bytes, TestNetwork, text } from "./helpers/network.js";

const three = { voters: [1, 2, 3], learners: [] };

describe("read index", () => {
  it("rule: the leader answers a read only after a quorum echoes the read's heartbeat context", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    network.commit(1, "a");
    const leader = network.core(1);
    leader.readIndex(bytes("read-1"));
    const sent = network.flush();
    expect(sent.filter((m) => m.type === "heartbeat").map((m) => text(m.context!))).toEqual([
      "read-1",
      "read-1",
    ]);
    expect(network.node(1).readStates).toEqual([]);
    network.stabilize();
    expect(network.node(1).readStates).toEqual([{ index: leader.commitIndex, context: bytes("read-1") }]);
  });

  it("rule: a follower forwards the read to the leader and gets the leader's commit index", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    network.commit(1, "a");
    network.core(3).readIndex(bytes("read-2"));
    network.stabilize();
    expect(network.node(3).readStates).toEqual([{ index: 2, context: bytes("read-2") }]);
    expect(network.delivered.some((m) => m.type === "read-index" && m.from === 3 && m.to === 1)).toBe(true);
  });

  it("rule: a new leader holds reads until it has committed an entry of its own term", () => {
    const network = new TestNetwork(three);
    network.core(1).campaign();
    // Win the election, but keep the no-op from reaching anyone.
    for (let round = 0; round < 10; round++) {
      network.flush();
      network.deliver((m) => m.type !== "app");
    }
    const leader = network.core(1);
    expect(leader.role).toBe("leader");
    leader.readIndex(bytes("early"));
    expect(network.flush().filter((m) => m.type === "heartbeat")).toEqual([]);
    network.tick(1);
    network.stabilize();
    expect(network.node(1).readStates).toEqual([{ index: 1, context: bytes("early") }]);
  });

  it("rule: a leader cut off from its quorum never answers a read (it may no longer be the leader)", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    network.isolate(1);
    network.core(1).readIndex(bytes("stale"));
    for (let i = 0; i < 5; i++) {
      network.tick(1);
      network.stabilize();
    }
    expect(network.node(1).readStates).toEqual([]);
  });

  it("rule: learners' echoes do not count toward the read's quorum", () => {
    const network = new TestNetwork({ voters: [1, 2], learners: [3] });
    network.elect(1);
    network.cutLink(2, 1);
    network.core(1).readIndex(bytes("r"));
    network.stabilize();
    expect(network.node(1).readStates).toEqual([]);
    network.heal();
    network.tick(1);
    network.stabilize();
    expect(network.node(1).readStates.map((state) => text(state.context))).toEqual(["r"]);
  });

  it("rule: with no leader known, readIndex throws NotLeaderError", () => {
    const network = new TestNetwork(three);
    expect(() => network.core(2).readIndex(bytes("r"))).toThrow(NotLeaderError);
  });
});
