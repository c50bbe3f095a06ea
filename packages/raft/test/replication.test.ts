// Log replication: the log-matching rule, fast back-off, commit through the leader's own term,
// flow control, the Ready contract and restarts.

import { describe, expect, it } from "vitest";
import { MemoryLogStorage, type Message, NotLeaderError, RaftCore, RaftError } from "../src/index.js";
import { bytes, TestNetwork, text } from "./helpers/network.js";

const three = { voters: [1, 2, 3], learners: [] };

function appsTo(messages: readonly Message[], to: number): Message[] {
  return messages.filter((m) => m.type === "app" && m.to === to);
}

describe("replication", () => {
  it("rule: committed entries are applied on every node, once and in order", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    for (const payload of ["a", "b", "c"]) network.commit(1, payload);
    for (const id of [1, 2, 3]) {
      expect(network.node(id).applied.map((e) => text(e.data))).toEqual(["", "a", "b", "c"]);
      expect(network.core(id).commitIndex).toBe(4);
    }
  });

  it("rule: propose on a non-leader throws NotLeaderError naming the leader, so a driver can forward", () => {
    const network = new TestNetwork(three);
    expect(() => network.core(2).propose(bytes("x"))).toThrow(NotLeaderError);
    network.elect(1);
    try {
      network.core(2).propose(bytes("x"));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(NotLeaderError);
      expect((error as NotLeaderError).leader).toBe(1);
      expect((error as NotLeaderError).code).toBe("NOT_LEADER");
      expect((error as NotLeaderError).retriable).toBe(true);
    }
  });

  it("rule: log matching — a follower whose log diverges is repaired to the leader's log", () => {
    const network = new TestNetwork(three);
    network.seedLog(1, [1, 1, 3, 3], { term: 3 });
    network.seedLog(2, [1, 1, 3], { term: 3 });
    network.seedLog(3, [1, 1, 2, 2, 2, 2], { term: 3 });
    network.elect(1);
    const terms = (id: number) =>
      Array.from({ length: network.core(id).lastIndex }, (_, i) => network.core(id).termAt(i + 1));
    expect(terms(3)).toEqual(terms(1));
    expect(terms(2)).toEqual(terms(1));
    expect(terms(1)).toEqual([1, 1, 3, 3, 4]);
  });

  it("rule: fast back-off — a rejection carries a hint (index, term) that lets the leader skip a whole term", () => {
    const network = new TestNetwork(three);
    // The follower holds many entries of term 2 the leader never had: one round trip skips them all.
    network.seedLog(1, [1, 1, 3, 3, 3, 3, 3, 3, 3, 3], { term: 3 });
    network.seedLog(2, [1, 1, 3, 3, 3, 3, 3, 3, 3, 3], { term: 3 });
    network.seedLog(3, [1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], { term: 3 });
    network.elect(1);
    const rejections = network.delivered.filter((m) => m.type === "app-resp" && m.from === 3 && m.reject);
    expect(rejections.map((m) => `${m.index}:${m.rejectHint}/${m.rejectHintTerm}`)).toEqual(["10:10/2"]);
    // The next append already starts right after the last entry both logs share.
    expect(appsTo(network.delivered, 3)[1].index).toBe(2);
    expect(network.core(3).termAt(3)).toBe(3);
  });

  it("rule: a leader commits only through an entry of its own term (no commit by counting old replicas)", () => {
    const network = new TestNetwork(three, { maxMsgBytes: 1 });
    network.seedLog(1, [1, 1], { term: 2, commit: 1 });
    network.seedLog(2, [1], { term: 2, commit: 1 });
    network.seedLog(3, [1], { term: 2, commit: 1 });
    network.core(1).campaign();
    // Every node gets the term-1 entry at index 2, but the leader's no-op at 3 never arrives.
    const carriesNoop = (m: Message) =>
      m.type === "app" && m.entries.some((e) => e.index === 3) && network.core(m.to).lastIndex >= 2;
    for (let round = 0; round < 50; round++) {
      network.flush();
      network.deliver((m) => !carriesNoop(m));
    }
    expect(network.core(1).role).toBe("leader");
    expect([2, 3].map((id) => network.core(id).termAt(2))).toEqual([1, 1]);
    expect(network.core(1).commitIndex).toBe(1);
    // Once the no-op is replicated, both commit together.
    network.tick(1);
    network.stabilize();
    expect(network.core(1).commitIndex).toBe(3);
  });

  it("rule: a new leader appends a no-op of its term at once", () => {
    const network = new TestNetwork(three);
    network.seedLog(1, [1, 1], { term: 1 });
    network.core(1).campaign();
    network.stabilize();
    const leader = network.core(1);
    expect(leader.role).toBe("leader");
    expect(leader.lastIndex).toBe(3);
    expect(leader.termAt(3)).toBe(leader.term);
    expect(network.node(1).applied.at(-1)?.data.length).toBe(0);
  });

  it("rule: Ready — new entries and hard state are persisted in the same batch as the messages that carry them", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    const leader = network.core(1);
    const index = leader.propose(bytes("x"));
    const ready = leader.ready();
    expect(ready.entries.map((e) => e.index)).toEqual([index]);
    expect(ready.mustSync).toBe(true);
    expect(
      ready.messages.filter((m) => m.type === "app").flatMap((m) => m.entries.map((e) => e.index)),
    ).toEqual([index, index]);
    expect(leader.hasReady()).toBe(false);
    expect(() => leader.ready()).toThrow(/before advance/);
    leader.advance(ready);
    expect(network.node(1).storage.lastIndex()).toBe(index - 1);
  });

  it("rule: bounded in-flight window — the leader stops streaming to a follower that does not acknowledge", () => {
    const network = new TestNetwork(three, { maxInflightMsgs: 2 });
    network.elect(1);
    network.cutLink(3, 1);
    const sent: Message[] = [];
    for (let i = 0; i < 5; i++) {
      network.core(1).propose(bytes(`p${i}`));
      sent.push(...network.flush());
      network.deliver();
    }
    expect(appsTo(sent, 3)).toHaveLength(2);
    expect(appsTo(sent, 2)).toHaveLength(5);
    network.heal();
    network.tick(1);
    network.stabilize();
    expect(network.core(3).commitIndex).toBe(network.core(1).commitIndex);
  });

  it("rule: the leader refuses proposals beyond uncommittedBytesMax with a retriable PROPOSAL_DROPPED", () => {
    const network = new TestNetwork(three, { uncommittedBytesMax: 10 });
    network.elect(1);
    network.isolate(1);
    const leader = network.core(1);
    leader.propose(bytes("12345678"));
    let error: unknown;
    try {
      leader.propose(bytes("12345678"));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RaftError);
    expect((error as RaftError).code).toBe("PROPOSAL_DROPPED");
    expect((error as RaftError).retriable).toBe(true);
    network.heal();
    network.tick(1);
    network.stabilize();
    expect(() => leader.propose(bytes("12345678"))).not.toThrow();
  });

  it("rule: a restarted node keeps its persisted log and replays committed entries; unpersisted ones are lost", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    network.commit(1, "a");
    network.core(1).propose(bytes("never persisted"));
    network.restart(1);
    expect(network.core(1).lastIndex).toBe(2);
    expect(network.core(1).term).toBe(1);
    expect(network.core(1).vote).toBe(1);
    network.elect(2);
    expect(network.leaders()).toEqual([2]);
    expect(network.node(1).applied.map((e) => text(e.data))).toEqual(["", "a", ""]);
  });

  it("rule: an unreachable follower goes back to probing (one append at a time)", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    expect(network.core(1).status().progress.get(2)?.state).toBe("replicate");
    network.core(1).reportUnreachable(2);
    expect(network.core(1).status().progress.get(2)?.state).toBe("probe");
  });

  it("rule: an invalid configuration is refused with every problem named", () => {
    const storage = new MemoryLogStorage(three);
    expect(
      () => new RaftCore({ id: 0, storage, random: () => 0, electionTicks: 1, heartbeatTicks: 1 }),
    ).toThrow(/id 0 must be a positive integer; electionTicks must exceed heartbeatTicks/);
    expect(() => new RaftCore({ id: 1, storage, random: () => 1 })).toThrow(/random source/);
  });

  it("rule: malformed messages from the network are dropped, not applied", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    const follower = network.core(2);
    const lastIndex = follower.lastIndex;
    follower.step({
      type: "app",
      from: 1,
      to: 2,
      term: 1,
      logTerm: 1,
      index: lastIndex,
      entries: [{ term: 1, index: lastIndex + 5, type: "normal", data: bytes("gap") }],
      commit: 0,
      reject: false,
      rejectHint: 0,
    });
    expect(follower.lastIndex).toBe(lastIndex);
  });
});

describe("entries the state machine cannot apply (isValidEntry)", () => {
  const valid = (data: Uint8Array) => text(data) !== "garbage";

  it("rule: the leader refuses to propose one, so it never reaches the log", () => {
    const network = new TestNetwork(three, { isValidEntry: valid });
    network.elect(1);
    const last = network.core(1).lastIndex;
    expect(() => network.core(1).propose(bytes("garbage"))).toThrow(RaftError);
    expect(network.core(1).lastIndex).toBe(last);
    network.commit(1, "fine");
    expect(network.node(2).applied.map((e) => text(e.data))).toEqual(["", "fine"]);
  });

  it("rule: a forwarded proposal that is not valid is dropped; the valid ones beside it are appended", () => {
    const network = new TestNetwork(three, { isValidEntry: valid });
    network.elect(1);
    const term = network.core(1).term;
    network.core(1).step({
      type: "prop",
      from: 2,
      to: 1,
      term,
      entries: [
        { term: 0, index: 0, type: "normal", data: bytes("garbage") },
        { term: 0, index: 0, type: "normal", data: bytes("forwarded") },
      ],
    } as unknown as Message);
    network.stabilize();
    expect(network.node(3).applied.map((e) => text(e.data))).toEqual(["", "forwarded"]);
  });
});
