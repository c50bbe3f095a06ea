// The group coordinator over the wire, on three real node processes: the
// first FindCoordinator creates __consumer_offsets (replicated, RF 3); a
// member joins and commits; SIGKILL of the coordinator's process moves the
// group to the partition's new leader, which answers with every committed
// offset and still knows the member (no rejoin, no rebalance).
import type {
  ConsumerGroupHeartbeatResponse__Output,
  FindCoordinatorResponse__Output,
  OffsetCommitResponse__Output,
  OffsetFetchResponse__Output,
} from "@brook/protocol";
import { type Cluster, type NodeHandle, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawBroker, tryBrokerCall, tryMetadata } from "./grpc.js";
import { waitFor } from "./wait.js";

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

const running = (): NodeHandle[] => cluster.nodes.filter((n) => n.running);
const nodeById = (id: number): NodeHandle => cluster.nodes.find((n) => n.id === id) as NodeHandle;

function findCoordinator(groupId: string, notOn?: number): Promise<NodeHandle> {
  return waitFor(`a coordinator for ${groupId}`, 20_000, async () => {
    for (const node of running()) {
      const answer = await tryBrokerCall<FindCoordinatorResponse__Output>(node, "FindCoordinator", {
        groupId,
      });
      if (answer && !answer.error?.code && answer.nodeId !== notOn) return nodeById(answer.nodeId);
    }
    return undefined;
  });
}

/** Calls the coordinator until it answers without a retriable coordinator error (it may still be loading). */
async function onCoordinator<Res extends { error?: { code: string } | null }>(
  groupId: string,
  method: string,
  request: unknown,
): Promise<Res> {
  return waitFor(`${method} for ${groupId}`, 20_000, async () => {
    const coordinator = await findCoordinator(groupId);
    const answer = await tryBrokerCall<Res>(coordinator, method, request);
    const code = answer?.error?.code ?? "";
    if (answer === undefined || /COORDINATOR|NOT_ENOUGH_REPLICAS|TIMED_OUT/.test(code)) return undefined;
    return answer;
  });
}

describe("group coordinator on three nodes", () => {
  it("keeps committed offsets and members when the coordinator's process is killed", async () => {
    await waitFor("three brokers", 20_000, async () =>
      (await tryMetadata(cluster.nodes[0]))?.brokers.length === 3 ? true : undefined,
    );
    const admin = rawBroker(`127.0.0.1:${cluster.nodes[0].brokerPort}`);
    await admin.call("CreateTopics", {
      topics: [{ name: "orders", numPartitions: 6, replicationFactor: 3, configs: [] }],
    });
    admin.close();

    const groupId = "billing";
    const join = await onCoordinator<ConsumerGroupHeartbeatResponse__Output>(
      groupId,
      "ConsumerGroupHeartbeat",
      {
        groupId,
        memberId: "member-a",
        memberEpoch: 0,
        subscribedTopicNames: ["orders"],
        sessionTimeoutMs: 30_000,
      },
    );
    expect(join.error?.code ?? "").toBe("");
    expect(join.assignment.flatMap((t) => t.partitions).sort()).toEqual([0, 1, 2, 3, 4, 5]);

    const offsets = {
      topic: "orders",
      partitions: [0, 1, 2, 3, 4, 5].map((p) => ({ partition: p, offset: 100 + p, metadata: `m${p}` })),
    };
    const commit = await onCoordinator<OffsetCommitResponse__Output>(groupId, "OffsetCommit", {
      groupId,
      memberId: "member-a",
      memberEpoch: join.memberEpoch,
      topics: [offsets],
    });
    expect(commit.error?.code ?? "").toBe("");
    expect(commit.topics[0].partitions.every((p) => !p.error?.code)).toBe(true);

    // __consumer_offsets is replicated three ways.
    const internal = (await tryMetadata(cluster.nodes[0]))?.topics.find(
      (t) => t.name === "__consumer_offsets",
    );
    expect(internal?.partitions.every((p) => p.replicas.length === 3)).toBe(true);

    const coordinator = await findCoordinator(groupId);
    await coordinator.kill();
    const successor = await findCoordinator(groupId, coordinator.id);
    expect(successor.id).not.toBe(coordinator.id);

    const fetched = await onCoordinator<OffsetFetchResponse__Output>(groupId, "OffsetFetch", {
      groupId,
      topics: [],
    });
    const byPartition = new Map(fetched.topics[0]?.partitions.map((p) => [p.partition, p]));
    for (const { partition, offset, metadata } of offsets.partitions) {
      expect(byPartition.get(partition)?.offset).toBe(offset);
      expect(byPartition.get(partition)?.metadata).toBe(metadata);
    }

    // The member carries on with its epoch: the group state moved with the partition.
    const beat = await onCoordinator<ConsumerGroupHeartbeatResponse__Output>(
      groupId,
      "ConsumerGroupHeartbeat",
      {
        groupId,
        memberId: "member-a",
        memberEpoch: join.memberEpoch,
        subscribedTopicNames: ["orders"],
        ownedPartitions: join.assignment,
        sessionTimeoutMs: 30_000,
      },
    );
    expect(beat.error?.code ?? "").toBe("");
    expect(beat.memberEpoch).toBe(join.memberEpoch);
    expect(beat.assignment.flatMap((t) => t.partitions).sort()).toEqual([0, 1, 2, 3, 4, 5]);

    // Internal topics are not for producers.
    const producer = rawBroker(`127.0.0.1:${successor.brokerPort}`);
    const refused = await producer
      .call<{ topics: { partitions: { error: { code: string } }[] }[] }>("Produce", {
        acks: 1,
        topics: [{ topic: "__consumer_offsets", partitions: [{ partition: 0, records: Buffer.from("x") }] }],
      })
      .catch((error: unknown) => error);
    producer.close();
    expect(JSON.stringify(refused)).toContain("INVALID_REQUEST");
    await coordinator.start();
  }, 90_000);
});
