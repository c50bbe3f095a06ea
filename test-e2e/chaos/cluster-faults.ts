// What the exactly-once chaos runs (pipeline.test.ts, streams.test.ts) share: waiting for the three nodes
// to serve again, finding a fault's target (a coordinator, a partition's leader) by asking live nodes, and
// the two faults themselves: SIGKILL a node and start it again, or SIGSTOP it for a while.
import type { FindCoordinatorResponse__Output, MetadataResponse__Output } from "@brook/protocol";
import type { Cluster, NodeHandle } from "@brook/testkit";
import { tryBrokerCall, tryMetadata } from "../grpc.js";
import { waitFor } from "../wait.js";

/** Every node lists all three brokers as in service. */
export async function healthy(cluster: Cluster, timeoutMs: number): Promise<void> {
  await waitFor("every node to list three brokers in service", timeoutMs, async () => {
    const views: (MetadataResponse__Output | undefined)[] = await Promise.all(cluster.nodes.map(tryMetadata));
    return views.every((m) => m?.brokers.length === 3) ? true : undefined;
  });
}

function live(cluster: Cluster): NodeHandle[] {
  return cluster.nodes.filter((n) => n.running && !n.paused);
}

/** The node a live broker names as coordinator of the group or transactional id. */
export async function coordinatorOf(
  cluster: Cluster,
  key: { groupId: string } | { transactionalId: string },
): Promise<NodeHandle | undefined> {
  for (const node of live(cluster)) {
    const found = await tryBrokerCall<FindCoordinatorResponse__Output>(node, "FindCoordinator", key);
    if (found !== undefined && (found.nodeId ?? 0) > 0 && !found.error?.code) {
      return cluster.nodes.find((n) => n.id === found.nodeId);
    }
  }
  return undefined;
}

/** The node a live broker names as the leader of `topic`-`partition`. */
export async function leaderOf(
  cluster: Cluster,
  topic: string,
  partition: number,
): Promise<NodeHandle | undefined> {
  for (const node of live(cluster)) {
    const metadata = await tryMetadata(node);
    const leader = metadata?.topics
      .find((t) => t.name === topic)
      ?.partitions.find((p) => p.partition === partition)?.leader;
    if (leader !== undefined && leader > 0) return cluster.nodes.find((n) => n.id === leader);
  }
  return undefined;
}

/** SIGKILL, then start again after `downMs` (leaders and coordinators move meanwhile). */
export async function bounce(node: NodeHandle, downMs: number): Promise<void> {
  await node.kill();
  await new Promise((resolve) => setTimeout(resolve, downMs));
  await node.start();
}

/** SIGSTOP for `pauseMs`, then SIGCONT. */
export async function pauseFor(node: NodeHandle, pauseMs: number): Promise<void> {
  node.pause();
  await new Promise((resolve) => setTimeout(resolve, pauseMs));
  node.resume();
}
