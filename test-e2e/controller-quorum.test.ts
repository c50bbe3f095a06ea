// Three combined nodes whose metadata lives on one Raft quorum: the active
// controller's node is SIGKILLed, another takes over with the metadata
// intact, writes go through any survivor, and the killed node catches up.
import type { CreateTopicsResponse__Output, MetadataResponse__Output } from "@brook/protocol";
import { type Cluster, type NodeHandle, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawBroker, tryMetadata } from "./grpc.js";
import { waitFor } from "./wait.js";

const killRounds = 3;
const failoverMsMax = 10_000;

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

const metadata = tryMetadata;

async function createTopic(node: NodeHandle, name: string): Promise<void> {
  const broker = rawBroker(`127.0.0.1:${node.brokerPort}`);
  try {
    const response = await broker.call<CreateTopicsResponse__Output>("CreateTopics", {
      topics: [{ name, numPartitions: 3, replicationFactor: 1, configs: [] }],
    });
    expect(response.topics.map((t) => [t.name, t.error?.code ?? ""])).toEqual([[name, ""]]);
  } finally {
    broker.close();
  }
}

/** The active controller every given node agrees on, if they agree on one among them. */
async function agreedActiveController(nodes: NodeHandle[]): Promise<number | undefined> {
  const ids = new Set((await Promise.all(nodes.map(metadata))).map((m) => m?.controllerId ?? -1));
  const [id] = ids;
  return ids.size === 1 && nodes.some((n) => n.id === id) ? id : undefined;
}

/** Topics and where their replicas are: what must survive a failover (leaders may move). */
function topicShape(response: MetadataResponse__Output | undefined): string[] {
  return (response?.topics ?? [])
    .map((t) => `${t.name}:${t.partitions.map((p) => `${p.partition}@${p.replicas.join("/")}`).join(",")}`)
    .sort();
}

/**
 * A follower's image trails the commit by a heartbeat, so the same metadata
 * shows up on each node within a moment (never something else).
 */
function waitForShape(node: NodeHandle, expected: string[]): Promise<true> {
  const want = JSON.stringify(expected);
  return waitFor(`node ${node.id} to show ${want}`, 5_000, async () =>
    JSON.stringify(topicShape(await metadata(node))) === want ? true : undefined,
  );
}

/** Every expected topic name (entries of `expected` up to the first ':'), and no other. */
function waitForTopics(node: NodeHandle, expected: string[]): Promise<true> {
  const want = JSON.stringify(expected.map((t) => t.split(":")[0]).sort());
  return waitFor(`node ${node.id} to list ${want}`, 10_000, async () => {
    const names = topicShape(await metadata(node)).map((t) => t.split(":")[0]);
    return JSON.stringify(names) === want ? true : undefined;
  });
}

describe("a three-node controller quorum", () => {
  it("every node lists all three brokers and agrees on one active controller", async () => {
    for (const node of cluster.nodes) {
      expect((await metadata(node))?.brokers.map((b) => b.id).sort()).toEqual([1, 2, 3]);
    }
    expect(
      await waitFor("an agreed active controller", 5_000, () => agreedActiveController(cluster.nodes)),
    ).toBeGreaterThan(0);
  });

  it("topics created through any node (forwarded to the active controller) reach every node's image", async () => {
    for (const node of cluster.nodes) await createTopic(node, `created-via-${node.id}`);
    // The last writer has applied every write (its own, or forwarded and then synced).
    const expected = topicShape(await metadata(cluster.nodes[2]));
    expect(expected.map((t) => t.split(":")[0])).toEqual(["created-via-1", "created-via-2", "created-via-3"]);
    for (const node of cluster.nodes) await waitForShape(node, expected);
  });

  it("SIGKILL of the active controller: another takes over, metadata intact, writes work, the node catches up", async () => {
    const failoverMs: number[] = [];
    for (let round = 1; round <= killRounds; round++) {
      const activeId = await waitFor("an agreed active controller", 10_000, () =>
        agreedActiveController(cluster.nodes),
      );
      const victim = cluster.nodes.find((n) => n.id === activeId) as NodeHandle;
      const survivors = cluster.nodes.filter((n) => n !== victim);
      const before = topicShape(await metadata(victim));

      const killedAt = Date.now();
      await victim.kill();
      const newActive = await waitFor("a new active controller", failoverMsMax, () =>
        agreedActiveController(survivors),
      );
      failoverMs.push(Date.now() - killedAt);
      expect(newActive).not.toBe(victim.id);

      for (const survivor of survivors) await waitForShape(survivor, before);
      for (const survivor of survivors) await createTopic(survivor, `round-${round}-via-${survivor.id}`);
      const after = [
        ...before,
        `round-${round}-via-${survivors[0].id}`,
        `round-${round}-via-${survivors[1].id}`,
      ];
      for (const survivor of survivors) await waitForTopics(survivor, after);

      await victim.start();
      await waitForTopics(victim, after);
    }
    console.log(`time to a new active controller after SIGKILL (ms): ${failoverMs.join(", ")}`);
    expect(Math.max(...failoverMs)).toBeLessThan(failoverMsMax);
  }, 120_000);
});
