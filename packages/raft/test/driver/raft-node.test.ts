// The driver end to end: three RaftNodes over real gRPC on 127.0.0.1, each
// with its own level database. Each test names the property it checks.

import { afterEach, describe, expect, it } from "vitest";
import { NotControllerError } from "../../src/driver/errors.js";
import { proposalTimeoutMs } from "../../src/driver/raft-node.js";
import { ManualTicker } from "../../src/driver/runtime.js";
import { RaftTestCluster, text, waitFor } from "./cluster.js";

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const proposeAll = (node: { propose(data: Uint8Array): Promise<number> }, prefix: string, count: number) =>
  Promise.all(Array.from({ length: count }, (_, i) => node.propose(text(`${prefix}${i}`))));

describe("RaftNode", () => {
  it("elects one leader and commits proposals on every node, in one order", async () => {
    cluster = await RaftTestCluster.start();
    const leader = await cluster.leader();
    const indexes = await proposeAll(leader, "a", 100);
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    const expected = Array.from({ length: 100 }, (_, i) => `a${i}`);
    for (const id of cluster.ids) {
      await waitFor(() => cluster!.stateMachine(id).values.length === 100);
      expect(cluster.stateMachine(id).values).toEqual(expected);
    }
  });

  it("refuses proposals on a follower with NOT_CONTROLLER naming the leader", async () => {
    cluster = await RaftTestCluster.start();
    const leader = await cluster.leader();
    const follower = cluster.followers()[0];
    const error = await follower.propose(text("x")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotControllerError);
    expect((error as NotControllerError).code).toBe("NOT_CONTROLLER");
    expect((error as NotControllerError).leaderId).toBe(leader.id);
  });

  it("replaces a killed leader, and proposals continue on the new one", async () => {
    cluster = await RaftTestCluster.start();
    const first = await cluster.leader();
    await proposeAll(first, "before", 10);
    await cluster.kill(first.id);
    const second = await cluster.leader();
    expect(second.id).not.toBe(first.id);
    expect(second.status().term).toBeGreaterThan(0);
    await proposeAll(second, "after", 10);
    for (const follower of cluster.followers()) {
      await waitFor(() => cluster!.stateMachine(follower.id).values.length === 20);
    }
  });

  it("catches up a restarted follower from the log", async () => {
    cluster = await RaftTestCluster.start();
    const leader = await cluster.leader();
    const lagging = cluster.followers()[0].id;
    await cluster.kill(lagging);
    await proposeAll(leader, "x", 50);
    await cluster.restart(lagging);
    await waitFor(() => cluster!.stateMachine(lagging).values.length === 50);
    expect(cluster.stateMachine(lagging).values).toEqual(cluster.stateMachine(leader.id).values);
  });

  it("catches up a restarted follower by snapshot once the leader has compacted its log", async () => {
    cluster = await RaftTestCluster.start();
    const leader = await cluster.leader();
    const lagging = cluster.followers()[0].id;
    await proposeAll(leader, "old", 5);
    await cluster.kill(lagging);
    await proposeAll(leader, "new", 50);
    await Promise.all(cluster.running().map((node) => node.takeSnapshot()));
    expect(leader.status().snapshotIndex).toBeGreaterThan(50);

    const restarted = await cluster.restart(lagging);
    await waitFor(() => restarted.status().snapshotIndex >= leader.status().snapshotIndex);
    await waitFor(() => cluster!.stateMachine(lagging).values.length === 55);
    expect(cluster.stateMachine(lagging).values).toEqual(cluster.stateMachine(leader.id).values);
    // ...and it keeps following after the snapshot.
    await leader.propose(text("later"));
    await waitFor(() => cluster!.stateMachine(lagging).values.at(-1) === "later");
  });

  it("keeps every committed entry through a restart of all three nodes, snapshot and log alike", async () => {
    cluster = await RaftTestCluster.start({ snapshotEntries: 40 });
    const leader = await cluster.leader();
    await proposeAll(leader, "v", 100); // past snapshotEntries: some state is in the snapshot, some in the log
    await Promise.all(
      cluster.ids.map((id) => waitFor(() => cluster!.stateMachine(id).values.length === 100)),
    );
    await waitFor(() => leader.status().snapshotIndex > 0);
    for (const id of cluster.ids) await cluster.kill(id);
    for (const id of cluster.ids) await cluster.restart(id);

    const newLeader = await cluster.leader();
    await newLeader.propose(text("after-restart"));
    const expected = [...Array.from({ length: 100 }, (_, i) => `v${i}`), "after-restart"];
    for (const id of cluster.ids) {
      await waitFor(() => cluster!.stateMachine(id).values.length === 101);
      expect(cluster.stateMachine(id).values).toEqual(expected);
    }
  });

  it("serves linearizable reads on every node: a read after a write resolves sees it", async () => {
    cluster = await RaftTestCluster.start();
    const leader = await cluster.leader();
    for (let i = 0; i < 5; i++) {
      await leader.propose(text(`w${i}`));
      for (const node of cluster.running()) {
        await node.read();
        expect(cluster.stateMachine(node.id).values.at(-1)).toBe(`w${i}`);
      }
    }
  });

  it("hands leadership over on a graceful close, without waiting for an election timeout", async () => {
    cluster = await RaftTestCluster.start({ tickMs: 100 });
    const leader = await cluster.leader();
    await leader.propose(text("x"));
    const started = Date.now();
    await leader.close();
    const next = await cluster.leader();
    expect(next.id).not.toBe(leader.id);
    expect(Date.now() - started).toBeLessThan(1_000); // an election timeout is at least 10 ticks = 1 s
  });

  it("gives up a transfer the core abandoned after an election timeout, not at transferTimeoutMs", async () => {
    const ticker = new ManualTicker();
    const tickMs = 100;
    cluster = await RaftTestCluster.start({ ticker, tickMs });
    await waitFor(() => {
      ticker.tick();
      return cluster!.running().some((node) => node.status().role === "leader");
    });
    const leader = await cluster.leader();
    const [target] = cluster.followers();
    await cluster.kill(target.id);

    let settled = false;
    const outcome = leader.transferLeadership(target.id).then(
      () => "moved",
      (error: unknown) => error,
    );
    void outcome.finally(() => {
      settled = true;
    });
    // The election timeout is 10 ticks; transferTimeoutMs would be 50.
    for (let tick = 0; tick < 12 && !settled; tick++) {
      ticker.tick();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await outcome).toMatchObject({ code: "REQUEST_TIMED_OUT" });
    expect(leader.status().role).toBe("leader");
  });

  it("shows on the leader each member's match and lag: 0 once caught up, growing for a stopped follower", async () => {
    cluster = await RaftTestCluster.start({ tickMs: 20 });
    const leader = await cluster.leader();
    await proposeAll(leader, "a", 20);
    await waitFor(() => {
      const status = leader.status();
      const members = [...status.progress.values()];
      return members.length === 3 && members.every((m) => m.match === status.lastIndex && m.lag === 0);
    });
    for (const follower of cluster.followers()) expect(follower.status().progress.size).toBe(0);

    const [stopped, live] = cluster.followers().map((node) => node.id);
    await cluster.kill(stopped);
    const lagAfter = async (count: number) => {
      await proposeAll(leader, "b", count);
      await waitFor(() => leader.status().progress.get(live)?.lag === 0);
      return leader.status().progress.get(stopped)!.lag;
    };
    const lagBefore = await lagAfter(10);
    expect(lagBefore).toBeGreaterThanOrEqual(10);
    expect(await lagAfter(10)).toBe(lagBefore + 10); // its match cannot move while it is down

    const status = leader.status();
    const self = status.progress.get(leader.id);
    expect(self).toMatchObject({ match: status.lastIndex, lag: 0, lastContactMs: 0 });
    // Heartbeats go out every tick: the live follower answers within a few; the stopped one never does.
    await waitFor(() => {
      const progress = leader.status().progress;
      return progress.get(stopped)!.lastContactMs >= 500 && progress.get(live)!.lastContactMs <= 100;
    });
  });

  it("works the same over unary Step calls", async () => {
    cluster = await RaftTestCluster.start({ mode: "unary" });
    const leader = await cluster.leader();
    await proposeAll(leader, "u", 20);
    for (const id of cluster.ids) await waitFor(() => cluster!.stateMachine(id).values.length === 20);
  });

  it("rejects a proposal that cannot commit with REQUEST_TIMED_OUT, and the quorum-less leader steps down", async () => {
    const ticker = new ManualTicker();
    const tickMs = 20;
    cluster = await RaftTestCluster.start({ ticker, tickMs });
    const tickUntil = (condition: () => boolean) =>
      waitFor(() => {
        ticker.tick();
        return condition();
      });
    await tickUntil(() => cluster!.running().some((node) => node.status().role === "leader"));
    const leader = await cluster.leader();
    for (const follower of cluster.followers()) await cluster.kill(follower.id);

    const outcome = leader.propose(text("lost")).catch((error: unknown) => error);
    ticker.tick(Math.ceil(proposalTimeoutMs / tickMs));
    await waitFor(() => leader.status().role !== "leader");
    expect(await outcome).toMatchObject({ code: "REQUEST_TIMED_OUT" });
  });
});
