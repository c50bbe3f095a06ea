// Rule: a node whose disk fails stops for good and says so once, through
// onFatal: it persists, sends and applies nothing more, and the other voters
// carry on without it.

import type { BrookError } from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { levelDisk, type RaftDisk, type RaftKv } from "../../src/driver/level-storage.js";
import type { NodeId } from "../../src/types.js";
import { RaftTestCluster, text, waitFor } from "./cluster.js";

/** The real disk, until fail() is called: from then on every write rejects with EIO. */
class FailingDisk implements RaftDisk {
  private failing = false;

  fail(): void {
    this.failing = true;
  }

  makeDirectories(dir: string): Promise<string[]> {
    return levelDisk.makeDirectories(dir);
  }
  syncDirectory(dir: string): Promise<void> {
    return levelDisk.syncDirectory(dir);
  }
  async openStore(dir: string): Promise<RaftKv> {
    const kv = await levelDisk.openStore(dir);
    const check = () => {
      if (this.failing) throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
    };
    return {
      ...kv,
      batch: () => {
        const batch = kv.batch();
        return {
          put: (key, value) => batch.put(key, value),
          del: (key) => batch.del(key),
          write: async (options) => {
            check();
            await batch.write(options);
          },
        };
      },
      put: async (key, value, options) => {
        check();
        await kv.put(key, value, options);
      },
      clear: async (range) => {
        check();
        await kv.clear(range);
      },
    };
  }
}

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe("RaftNode on a failing disk", () => {
  it("a leader whose write fails calls onFatal once, sends nothing of it, applies nothing more, and the others elect a new leader", async () => {
    const disks = new Map<NodeId, FailingDisk>();
    const fatal: { id: NodeId; error: BrookError }[] = [];
    cluster = await RaftTestCluster.start({
      disk: (id) => disks.get(id) ?? disks.set(id, new FailingDisk()).get(id)!,
      onFatal: (id, error) => fatal.push({ id, error }),
    });
    const leader = await cluster.leader();
    await leader.propose(text("before"));
    for (const id of cluster.ids) await waitFor(() => cluster!.stateMachine(id).values.length === 1);

    disks.get(leader.id)!.fail();
    const refused = await leader.propose(text("unpersisted")).catch((error: BrookError) => error);
    expect(refused).toMatchObject({ code: "STORAGE_ERROR" });
    expect(fatal).toHaveLength(1);
    expect(fatal[0].id).toBe(leader.id);
    expect(fatal[0].error.code).toBe("STORAGE_ERROR");
    expect(fatal[0].error.message).toContain("EIO");
    await expect(leader.propose(text("after"))).rejects.toMatchObject({ code: "STORAGE_ERROR" });

    const survivors = cluster.ids.filter((id) => id !== leader.id);
    let next: NodeId | undefined;
    await waitFor(() => {
      next = survivors.find((id) => cluster!.node(id).status().role === "leader");
      return next !== undefined;
    });
    await cluster.node(next!).propose(text("carried on"));
    for (const id of survivors) {
      await waitFor(() => cluster!.stateMachine(id).values.length === 2);
      // The failed leader's entry never left it: it was not persisted.
      expect(cluster.stateMachine(id).values).toEqual(["before", "carried on"]);
    }
    expect(cluster.stateMachine(leader.id).values).toEqual(["before"]);
    expect(fatal).toHaveLength(1);
  });
});
