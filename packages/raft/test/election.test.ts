// Leader election: randomized timeouts, votes, pre-vote, check-quorum and the leader lease.

import { describe, expect, it } from "vitest";
import { MemoryLogStorage, type Message, RaftCore } from "../src/index.js";
import { TestNetwork } from "./helpers/network.js";

const three = { voters: [1, 2, 3], learners: [] };

function voteRequest(from: number, to: number, term: number, lastIndex: number, lastTerm: number): Message {
  return {
    type: "vote",
    from,
    to,
    term,
    logTerm: lastTerm,
    index: lastIndex,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
  };
}

function answers(core: RaftCore): Message[] {
  if (!core.hasReady()) return [];
  const ready = core.ready();
  core.advance(ready);
  return [...ready.messages];
}

describe("election", () => {
  it("rule: the election timeout is randomized in [electionTicks, 2*electionTicks) from the injected source", () => {
    for (const [random, timeout] of [
      [0, 10],
      [0.5, 15],
      [0.999, 19],
    ] as const) {
      const core = new RaftCore({ id: 1, storage: new MemoryLogStorage(three), random: () => random });
      for (let tick = 1; tick < timeout; tick++) core.tick();
      expect(core.role).toBe("follower");
      core.tick();
      expect(core.role).toBe("pre-candidate");
    }
  });

  it("rule: a candidate with a majority of votes leads, and appends a no-op of its term that commits everywhere", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    expect(network.leaders()).toEqual([1]);
    const leader = network.core(1);
    expect(leader.term).toBe(1);
    for (const id of [1, 2, 3]) {
      expect(network.node(id).applied.map((e) => `${e.term}/${e.index}:${e.data.length}`)).toEqual(["1/1:0"]);
      expect(network.core(id).leader).toBe(1);
    }
  });

  it("rule: pre-vote — the term does not move until a majority would grant the vote", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    network.isolate(3);
    for (let i = 0; i < 100; i++) {
      network.tick(3);
      network.stabilize();
    }
    expect(network.core(3).term).toBe(1);
    expect(network.core(3).role).toBe("pre-candidate");
    network.heal();
    network.tick(1);
    network.stabilize();
    expect(network.leaders()).toEqual([1]);
    expect(network.core(3).role).toBe("follower");
    expect(network.core(1).term).toBe(1);
  });

  it("rule: without pre-vote and check-quorum, a rejoining node disrupts the leader (what pre-vote prevents)", () => {
    const network = new TestNetwork(three, { preVote: false, checkQuorum: false });
    network.elect(1);
    network.isolate(3);
    network.tick(3, 30);
    network.stabilize();
    expect(network.core(3).term).toBeGreaterThan(1);
    network.heal();
    network.tick(3, 30);
    network.stabilize();
    expect(network.core(1).term).toBeGreaterThan(1);
  });

  it("rule: check-quorum — a leader that hears from no quorum during a whole election timeout steps down", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    network.isolate(1);
    // The first check covers the timeout in which it was elected; the second finds no one.
    for (let i = 0; i < 19; i++) {
      network.tick(1);
      network.stabilize();
    }
    expect(network.core(1).role).toBe("leader");
    for (let i = 0; i < 1; i++) {
      network.tick(1);
      network.stabilize();
    }
    expect(network.core(1).role).toBe("follower");
    expect(network.core(1).leader).toBe(0);
  });

  it("rule: leader lease — followers that heard from the leader recently ignore a higher-term vote request", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    const follower = network.core(2);
    follower.step(voteRequest(3, 2, 5, 10, 4));
    expect(follower.term).toBe(1);
    expect(answers(follower)).toEqual([]);
    // Once the lease runs out (an election timeout without the leader), the request is heard.
    network.tick(2, 10);
    follower.step(voteRequest(3, 2, 5, 10, 4));
    expect(follower.term).toBe(5);
    expect(answers(follower).filter((m) => m.type === "vote-resp" && !m.reject)).toHaveLength(1);
  });

  it("rule: one vote per term", () => {
    const core = new RaftCore({ id: 1, storage: new MemoryLogStorage(three), random: () => 0 });
    core.step(voteRequest(2, 1, 1, 0, 0));
    core.step(voteRequest(3, 1, 1, 0, 0));
    core.step(voteRequest(2, 1, 1, 0, 0));
    const responses = answers(core).map((m) => `${m.to}:${m.reject ? "reject" : "grant"}`);
    expect(responses).toEqual(["2:grant", "3:reject", "2:grant"]);
    expect(core.vote).toBe(2);
  });

  it("rule: election restriction — no vote for a candidate whose log is behind ours", () => {
    const network = new TestNetwork(three);
    network.seedLog(1, [1, 2], { term: 2 });
    const core = network.core(1);
    core.step(voteRequest(2, 1, 3, 5, 1));
    core.step(voteRequest(3, 1, 4, 1, 2));
    expect(answers(core).map((m) => `${m.to}:${m.reject}`)).toEqual(["2:true", "3:true"]);
    core.step(voteRequest(2, 1, 5, 2, 2));
    expect(answers(core).map((m) => `${m.to}:${m.reject}`)).toEqual(["2:false"]);
  });

  it("rule: a vote is persisted (hard state, mustSync) in the same Ready as the answer granting it", () => {
    const core = new RaftCore({ id: 1, storage: new MemoryLogStorage(three), random: () => 0 });
    core.step(voteRequest(2, 1, 7, 0, 0));
    const ready = core.ready();
    expect(ready.hardState).toEqual({ term: 7, vote: 2, commit: 0 });
    expect(ready.mustSync).toBe(true);
    expect(ready.messages.map((m) => m.type)).toEqual(["vote-resp"]);
  });

  it("rule: a restarted node keeps its term and vote, so it cannot vote twice in a term", () => {
    const network = new TestNetwork(three);
    network.core(1).step(voteRequest(2, 1, 3, 0, 0));
    network.flush();
    network.restart(1);
    network.core(1).step(voteRequest(3, 1, 3, 0, 0));
    expect(answers(network.core(1)).map((m) => m.reject)).toEqual([true]);
    expect(network.core(1).vote).toBe(2);
  });

  it("rule: a stale leader steps down as soon as it hears a higher term", () => {
    const network = new TestNetwork(three, { checkQuorum: false });
    network.elect(1);
    network.isolate(1);
    network.elect(2);
    expect(network.core(2).term).toBe(2);
    network.heal();
    network.tick(1);
    network.stabilize();
    expect(network.leaders()).toEqual([2]);
    expect(network.core(1).term).toBe(2);
  });

  it("rule: a split vote fails and the candidates retry with new random timeouts", () => {
    const network = new TestNetwork({ voters: [1, 2, 3, 4], learners: [] }, { preVote: false });
    network.isolate(3);
    network.isolate(4);
    network.core(1).campaign();
    network.core(2).campaign();
    network.stabilize();
    expect(network.leaders()).toEqual([]);
    network.heal();
    network.elect(1);
    expect(network.leaders()).toEqual([1]);
  });
});
