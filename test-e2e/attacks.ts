// The attacks an outsider without the cluster secret can try on a cluster, for
// test-e2e/security-attacks.test.ts (an unsecured cluster) and
// security-secured.test.ts (TLS, SASL, ACLs): a forged replica Fetch, an
// ISR change, a RegisterBroker and heartbeat for a live broker, and Raft votes
// and appends. Each must be refused and move nothing.
import { createHmac, randomBytes } from "node:crypto";
import {
  type ChannelSecurity,
  createBrokerClient,
  createRaftClient,
  type DescribeQuorumResponse__Output,
  type DescribeTopicsResponse__Output,
  fromServiceError,
} from "@brook/protocol";
import { signNodeToken } from "@brook/security";
import type { Cluster, NodeHandle } from "@brook/testkit";
import * as grpc from "@grpc/grpc-js";
import { expect } from "vitest";
import { rawBroker, rawController, tryMetadataAs, type Who } from "./grpc.js";
import { waitFor } from "./wait.js";

export interface PartitionState {
  leader: number;
  isr: number[];
  highWatermark: number;
  logEndOffset: number;
  partitionEpoch: number;
  leaderEpoch: number;
}

/** Partition 0 of `topic` as the cluster describes it, with the leader's own high watermark and log end. */
export async function partitionState(
  cluster: Cluster,
  topic: string,
  observer: Who,
): Promise<PartitionState> {
  const describe = async (node: NodeHandle) => {
    const broker = rawBroker(`127.0.0.1:${node.brokerPort}`, observer);
    try {
      const answer = await broker.call<DescribeTopicsResponse__Output>("DescribeTopics", { names: [topic] });
      const partition = answer.topics[0]?.partitions[0];
      if (partition?.info == null) throw new Error(`no partition in ${JSON.stringify(answer)}`);
      return partition;
    } finally {
      broker.close();
    }
  };
  const { info } = await describe(cluster.nodes[0] as NodeHandle);
  const onLeader = await describe(cluster.nodes[(info?.leader ?? 1) - 1] as NodeHandle);
  return {
    leader: info?.leader ?? -1,
    isr: [...(info?.isr ?? [])].sort(),
    highWatermark: Number(onLeader.highWatermark),
    logEndOffset: Number(onLeader.logEndOffset),
    partitionEpoch: info?.partitionEpoch ?? -1,
    leaderEpoch: info?.leaderEpoch ?? -1,
  };
}

export interface AttackOptions {
  readonly topic: string;
  /** How the attacker's channels are secured (TLS trusting the CA, a user's token): everything but the secret. */
  readonly attacker: ChannelSecurity;
  /** How the test itself looks (it may hold the cluster secret, as the operator). */
  readonly observer: Who;
  /** The error codes an attack may be refused with (CLUSTER_AUTHORIZATION_FAILED; SASL_AUTHENTICATION_FAILED too, on a cluster that requires users to log in). */
  readonly refusals: readonly string[];
}

/** Runs every attack; each must be refused, and the ISR, the partition epoch, the Raft leader and term stay put. */
export async function attackTheCluster(cluster: Cluster, options: AttackOptions): Promise<void> {
  const { topic, attacker, observer } = options;
  const refused = (error: unknown) =>
    expect((error as { code?: string }).code, JSON.stringify(error)).toBeOneOf([...options.refusals]);
  const before = await partitionState(cluster, topic, observer);
  const leaderNode = cluster.nodes[before.leader - 1] as NodeHandle;
  const follower = before.isr.find((id) => id !== before.leader) as number;

  // A Fetch that claims to be a follower at the leader's log end: were it believed, the high watermark
  // would move to the leader's end with the real follower behind, and acks=all answer with one copy.
  const forgedFetch = {
    replicaId: follower,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    topics: [
      { topic, partitions: [{ partition: 0, fetchOffset: before.logEndOffset, partitionMaxBytes: 1 << 20 }] },
    ],
  };
  const broker = rawBroker(`127.0.0.1:${leaderNode.brokerPort}`, attacker);
  refused(await broker.call("Fetch", forgedFetch).catch((e: unknown) => e));
  broker.close();

  // The same with a node token signed with a guessed secret.
  const guessed = createHmac("sha256", "guess").digest();
  const forgedToken = createBrokerClient(`127.0.0.1:${leaderNode.brokerPort}`, {
    ...attacker,
    node: { nodeId: follower, key: guessed },
  });
  refused(await unary(forgedToken, "Fetch", forgedFetch));
  forgedToken.close();

  // AlterPartition with the epochs from public metadata, shrinking the ISR to the leader alone; then
  // RegisterBroker and a heartbeat in a live broker's name.
  const controllerNode = await activeControllerNode(cluster, observer);
  const controller = rawController(`127.0.0.1:${controllerNode.controllerPort}`, attacker);
  const alter = {
    topic,
    partition: 0,
    leaderId: before.leader,
    leaderEpoch: before.leaderEpoch,
    partitionEpoch: before.partitionEpoch,
    newIsr: [before.leader],
  };
  refused(await controller.call("AlterPartition", alter).catch((e: unknown) => e));
  const register = { brokerId: follower, incarnationId: "intruder", host: "127.0.0.1", port: 1 };
  refused(await controller.call("RegisterBroker", register).catch((e: unknown) => e));
  const heartbeat = { brokerId: follower, incarnationId: "intruder", metadataOffset: 0 };
  refused(await controller.call("BrokerHeartbeat", heartbeat).catch((e: unknown) => e));
  controller.close();

  const quorumBefore = await describeQuorum(controllerNode, observer);
  await forgeRaft(cluster, quorumBefore, attacker, guessed, refused);
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // anything that got through would show by now

  const quorumAfter = await describeQuorum(controllerNode, observer);
  expect({ leader: quorumAfter.leaderId, term: Number(quorumAfter.term) }).toEqual({
    leader: quorumBefore.leaderId,
    term: Number(quorumBefore.term),
  });
  const after = await partitionState(cluster, topic, observer);
  expect(after.isr).toEqual(before.isr);
  expect(after.partitionEpoch).toBe(before.partitionEpoch);
}

/** A vote request at a much higher term and an append of garbage, to every voter, without and with a forged token. */
async function forgeRaft(
  cluster: Cluster,
  quorum: DescribeQuorumResponse__Output,
  attacker: ChannelSecurity,
  guessed: Buffer,
  refused: (error: unknown) => void,
): Promise<void> {
  const term = Number(quorum.term) + 100;
  const commit = Number(quorum.commitIndex);
  for (const node of cluster.nodes) {
    const raft = createRaftClient(`127.0.0.1:${node.controllerPort}`, undefined, attacker);
    const from = node.id === 1 ? 2 : 1;
    const vote = { type: "MESSAGE_TYPE_VOTE", from, to: node.id, term, logTerm: term, index: 1_000_000 };
    const append = {
      type: "MESSAGE_TYPE_APP",
      from,
      to: node.id,
      term,
      logTerm: Number(quorum.term),
      index: commit,
      commit: commit + 1,
      entries: [{ term, index: commit + 1, type: "ENTRY_TYPE_NORMAL", data: randomBytes(64) }],
    };
    refused(await unary(raft, "Step", { messages: [vote, append] }));
    const forged = new grpc.Metadata();
    forged.set("brook-node-token", signNodeToken(guessed, from, "/brook.raft.v1.Raft/Step", Date.now()));
    refused(await unary(raft, "Step", { messages: [vote, append] }, forged));
    raft.close();
  }
}

async function describeQuorum(node: NodeHandle, observer: Who): Promise<DescribeQuorumResponse__Output> {
  const controller = rawController(`127.0.0.1:${node.controllerPort}`, observer);
  try {
    return await controller.call<DescribeQuorumResponse__Output>("DescribeQuorum", {});
  } finally {
    controller.close();
  }
}

/** The active controller's node, as the brokers' metadata names it (DescribeQuorum answers only there). */
async function activeControllerNode(cluster: Cluster, observer: Who): Promise<NodeHandle> {
  const id = await waitFor("an active controller", 10_000, async () => {
    const answer = await tryMetadataAs(cluster.nodes[0] as NodeHandle, observer);
    return answer !== undefined && answer.controllerId > 0 ? answer.controllerId : undefined;
  });
  return cluster.nodes[id - 1] as NodeHandle;
}

/** One unary call on a raw client; resolves with the typed error, or the response. */
export function unary(client: grpc.Client, method: string, request: unknown, metadata = new grpc.Metadata()) {
  return new Promise<unknown>((resolve) => {
    const fn = (client as unknown as Record<string, (...args: unknown[]) => void>)[method] as (
      ...args: unknown[]
    ) => void;
    fn.call(
      client,
      request,
      metadata,
      { deadline: Date.now() + 5_000 },
      (error: grpc.ServiceError | null, response: unknown) =>
        resolve(error ? fromServiceError(error) : response),
    );
  });
}
