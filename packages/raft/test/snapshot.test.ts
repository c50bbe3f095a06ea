// Log compaction and snapshots: a follower that needs compacted entries installs a snapshot.

import { describe, expect, it } from "vitest";
import type { Message } from "../src/index.js";
import { bytes, TestNetwork, text } from "./helpers/network.js";

const three = { voters: [1, 2, 3], learners: [] };

/** Snapshot the leader's state machine (the list of applied payloads) and compact its log. */
function snapshotAndCompact(network: TestNetwork, id: number): number {
  const node = network.node(id);
  const applied = node.core.appliedIndex;
  const state = node.applied.map((entry) => text(entry.data)).join(",");
  node.storage.createSnapshot(applied, bytes(state), node.core.membership());
  node.storage.compact(applied);
  return applied;
}

describe("snapshots", () => {
  it("rule: a follower that needs compacted entries gets the leader's snapshot and restores from it (Ready.snapshot)", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    network.isolate(3);
    for (const payload of ["a", "b", "c"]) network.commit(1, payload);
    const snapshotIndex = snapshotAndCompact(network, 1);
    network.heal();
    network.tick(1);
    network.stabilize();
    const snaps = network.delivered.filter((m) => m.type === "snap" && m.to === 3);
    expect(snaps.map((m) => m.snapshot?.metadata.index)).toEqual([snapshotIndex]);
    const follower = network.node(3);
    expect(follower.storage.snapshot().metadata.index).toBe(snapshotIndex);
    expect(text(follower.storage.snapshot().data)).toBe(",a,b,c");
    expect(follower.core.appliedIndex).toBe(snapshotIndex);
    // Replication continues from the snapshot.
    network.commit(1, "d");
    expect(follower.applied.map((entry) => text(entry.data))).toEqual(["", "d"]);
  });

  it("rule: a restarted node resumes from its snapshot and replays only the log after it", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    for (const payload of ["a", "b"]) network.commit(2 - 1, payload);
    const node = network.node(2);
    node.storage.createSnapshot(2, bytes("state at 2"), node.core.membership());
    network.restart(2);
    expect(network.core(2).appliedIndex).toBe(2);
    network.tick(1);
    network.stabilize();
    expect(network.node(2).applied.map((entry) => text(entry.data))).toEqual(["b"]);
  });

  it("rule: a snapshot the follower's log already covers only moves its commit index", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    network.commit(1, "a");
    const follower = network.core(2);
    follower.step({
      type: "snap",
      from: 1,
      to: 2,
      term: 1,
      logTerm: 0,
      index: 0,
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
      snapshot: { metadata: { index: 1, term: 1, membership: three }, data: bytes("") },
    });
    const ready = follower.ready();
    expect(ready.snapshot).toBeUndefined();
    expect(ready.messages.map((m) => `${m.type} ${m.index}`)).toEqual(["app-resp 2"]);
  });

  it("rule: a Ready that installs a snapshot must be fsynced, even with no new entry, term or vote", () => {
    // Found by the simulator's power loss: unsynced, the snapshot could be lost while entries after it survived.
    const network = new TestNetwork(three);
    network.elect(1);
    network.commit(1, "a");
    const follower = network.core(2);
    const { term, vote } = follower.status();
    follower.step({
      type: "snap",
      from: 1,
      to: 2,
      term,
      logTerm: 0,
      index: 0,
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
      snapshot: { metadata: { index: 9, term, membership: three }, data: bytes("") },
    });
    const ready = follower.ready();
    expect(ready.snapshot?.metadata.index).toBe(9);
    expect(ready.entries).toEqual([]);
    expect([ready.hardState?.term ?? term, ready.hardState?.vote ?? vote]).toEqual([term, vote]);
    expect(ready.mustSync).toBe(true);
  });

  it("rule: when the leader compacts past a snapshot still in flight, the follower gets a newer one at once", () => {
    // Regression: found by the simulator (a follower waited out the stall timeout for a second snapshot).
    const network = new TestNetwork(three);
    network.elect(1);
    network.isolate(3);
    for (const payload of ["a", "b"]) network.commit(1, payload);
    snapshotAndCompact(network, 1);
    network.heal();
    network.tick(1);
    let firstSnapshot: Message | undefined;
    for (let round = 0; round < 5 && !firstSnapshot; round++) {
      network.flush();
      firstSnapshot = network.queue.find((m) => m.type === "snap");
      network.deliver((m) => m.type !== "snap");
    }
    expect(firstSnapshot?.snapshot?.metadata.index).toBe(3);
    network.isolate(3);
    for (const payload of ["c", "d"]) network.commit(1, payload);
    expect(snapshotAndCompact(network, 1)).toBe(5);
    network.heal();
    network.core(3).step(firstSnapshot!);
    network.stabilize();
    expect(network.node(3).storage.snapshot().metadata.index).toBe(5);
    expect(network.core(3).commitIndex).toBe(5);
  });

  it("rule: a lost snapshot is retried once the leader gives up waiting for it", () => {
    const network = new TestNetwork(three);
    network.elect(1);
    network.isolate(3);
    for (const payload of ["a", "b"]) network.commit(1, payload);
    snapshotAndCompact(network, 1);
    network.heal();
    network.tick(1);
    network.flush();
    network.deliver((m) => m.type !== "snap");
    for (let i = 0; i < 120; i++) {
      network.tick(1);
      network.stabilize();
    }
    expect(network.node(3).storage.snapshot().metadata.index).toBe(3);
  });
});
