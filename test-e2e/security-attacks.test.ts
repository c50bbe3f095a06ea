// An attacker who reaches the ports of a cluster with no security configured
// (no TLS, no SASL, no ACLs), but not its cluster secret: each request that
// only the cluster's own nodes may make is refused with
// CLUSTER_AUTHORIZATION_FAILED and moves nothing (high watermark, ISR, Raft
// leader and term), while an acks=all load runs beside it and loses no
// acknowledged record. docs/security.md says how this holds without TLS.
import { createHmac, randomBytes } from "node:crypto";
import { Brook } from "@brook/client";
import {
  createBrokerClient,
  createRaftClient,
  type DescribeQuorumResponse__Output,
  type DescribeTopicsResponse__Output,
  encodeRecordBatch,
  type FetchResponse__Output,
  fromServiceError,
} from "@brook/protocol";
import { signNodeToken } from "@brook/security";
import { type Cluster, type NodeHandle, startCluster } from "@brook/testkit";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawBroker, rawController, tryMetadata } from "./grpc.js";
import { waitFor } from "./wait.js";

const topic = "guarded";
let cluster: Cluster;
let brook: Brook;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
  brook = new Brook({ brokers: cluster.bootstrap.split(","), logger: silent });
  const admin = brook.admin();
  await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: 1,
        replicationFactor: 3,
        configEntries: [{ name: "min.insync.replicas", value: "2" }],
      },
    ],
  });
  await admin.close();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

const silent = { debug() {}, info() {}, warn() {}, error() {} };

interface PartitionState {
  leader: number;
  isr: number[];
  highWatermark: number;
  logEndOffset: number;
  partitionEpoch: number;
  leaderEpoch: number;
}

async function partitionState(): Promise<PartitionState> {
  const broker = rawBroker(cluster.bootstrap.split(",")[0] as string);
  try {
    const answer = await broker.call<DescribeTopicsResponse__Output>("DescribeTopics", { names: [topic] });
    const partition = answer.topics[0]?.partitions[0];
    if (partition?.info == null) throw new Error(`no partition in ${JSON.stringify(answer)}`);
    const leader = partition.info.leader;
    const onLeader = await rawDescribe(cluster.nodes[leader - 1] as NodeHandle);
    return {
      leader,
      isr: [...partition.info.isr].sort(),
      highWatermark: onLeader.highWatermark,
      logEndOffset: onLeader.logEndOffset,
      partitionEpoch: partition.info.partitionEpoch,
      leaderEpoch: partition.info.leaderEpoch,
    };
  } finally {
    broker.close();
  }
}

/** The partition as its leader describes it (its high watermark and log end are the leader's own). */
async function rawDescribe(node: NodeHandle) {
  const broker = rawBroker(`127.0.0.1:${node.brokerPort}`);
  try {
    const answer = await broker.call<DescribeTopicsResponse__Output>("DescribeTopics", { names: [topic] });
    const partition = answer.topics[0]?.partitions[0];
    return { highWatermark: Number(partition?.highWatermark), logEndOffset: Number(partition?.logEndOffset) };
  } finally {
    broker.close();
  }
}

/** An acks=all producer that runs until stopped and remembers every value acknowledged. */
function startLoad() {
  const producer = brook.producer({ acks: -1, idempotent: true });
  const acknowledged: string[] = [];
  let running = true;
  const done = (async () => {
    for (let i = 0; running && i < 5_000; i++) {
      const value = `v${i}`;
      await producer.send({ topic, messages: [{ value }] });
      acknowledged.push(value);
    }
  })();
  return {
    acknowledged,
    async stop() {
      running = false;
      await done;
      await producer.close();
    },
  };
}

async function readAll(count: number): Promise<Set<string>> {
  const consumer = brook.consumer({
    groupId: `check-${randomBytes(4).toString("hex")}`,
    fromBeginning: true,
  });
  const seen = new Set<string>();
  await consumer.subscribe({ topics: [topic] });
  const running = consumer.run({
    eachMessage: async ({ message }) => {
      seen.add(String(message.value));
    },
  });
  await waitFor(`${count} records read back`, 30_000, async () => (seen.size >= count ? true : undefined));
  await consumer.close();
  await running;
  return seen;
}

function refused(error: unknown): void {
  expect(error).toMatchObject({ code: "CLUSTER_AUTHORIZATION_FAILED" });
}

describe("an attacker without the cluster secret, against an unsecured cluster", () => {
  it("cannot move the high watermark or the ISR, fake an ISR change, register as a live broker, or vote and append in Raft; an acks=all load beside it loses nothing", async () => {
    const load = startLoad();
    await waitFor("the load to be under way", 10_000, async () =>
      load.acknowledged.length > 50 ? true : undefined,
    );
    const before = await partitionState();
    const leaderNode = cluster.nodes[before.leader - 1] as NodeHandle;
    const follower = before.isr.find((id) => id !== before.leader) as number;

    // 1. A Fetch that claims to be a follower at the leader's log end: were it believed, the high watermark
    // would move to the leader's end with the real follower behind, and acks=all answer with one copy.
    const forgedFetch = {
      replicaId: follower,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [
        {
          topic,
          partitions: [{ partition: 0, fetchOffset: before.logEndOffset, partitionMaxBytes: 1 << 20 }],
        },
      ],
    };
    const broker = rawBroker(`127.0.0.1:${leaderNode.brokerPort}`);
    refused(await broker.call<FetchResponse__Output>("Fetch", forgedFetch).catch((e: unknown) => e));
    broker.close();

    // 2. The same with a node token the attacker made up (a guessed secret): refused as unsigned.
    const guessed = createHmac("sha256", "guess").digest();
    const withForgedToken = createBrokerClient(`127.0.0.1:${leaderNode.brokerPort}`, {
      node: { nodeId: follower, key: guessed },
    });
    refused(await unary(withForgedToken, "Fetch", forgedFetch));
    withForgedToken.close();

    // 3. AlterPartition with the epochs from public metadata, shrinking the ISR to the leader alone.
    const controllerNode = await activeControllerNode();
    const controller = rawController(`127.0.0.1:${controllerNode.controllerPort}`);
    const alter = {
      topic,
      partition: 0,
      leaderId: before.leader,
      leaderEpoch: before.leaderEpoch,
      partitionEpoch: before.partitionEpoch,
      newIsr: [before.leader],
    };
    refused(await controller.call("AlterPartition", alter).catch((e: unknown) => e));

    // 4. RegisterBroker for a live broker's id, and a heartbeat in its name.
    refused(
      await controller
        .call("RegisterBroker", { brokerId: follower, incarnationId: "intruder", host: "127.0.0.1", port: 1 })
        .catch((e: unknown) => e),
    );
    refused(
      await controller
        .call("BrokerHeartbeat", { brokerId: follower, incarnationId: "intruder", metadataOffset: 0 })
        .catch((e: unknown) => e),
    );
    const quorumBefore = await controller.call<DescribeQuorumResponse__Output>("DescribeQuorum", {});

    // 5. Raft: a vote request from node 2 at a much higher term, and an append with garbage, to every voter.
    for (const node of cluster.nodes) {
      const raft = createRaftClient(`127.0.0.1:${node.controllerPort}`);
      const from = node.id === 1 ? 2 : 1;
      const term = Number(quorumBefore.term) + 100;
      const vote = { type: "MESSAGE_TYPE_VOTE", from, to: node.id, term, logTerm: term, index: 1_000_000 };
      const append = {
        type: "MESSAGE_TYPE_APP",
        from,
        to: node.id,
        term,
        logTerm: Number(quorumBefore.term),
        index: Number(quorumBefore.commitIndex),
        commit: Number(quorumBefore.commitIndex) + 1,
        entries: [
          {
            term,
            index: Number(quorumBefore.commitIndex) + 1,
            type: "ENTRY_TYPE_NORMAL",
            data: randomBytes(64),
          },
        ],
      };
      refused(await unary(raft, "Step", { messages: [vote, append] }));
      // A token for the right node signed with the wrong secret gets no further.
      const forged = new grpc.Metadata();
      forged.set("brook-node-token", signNodeToken(guessed, from, "/brook.raft.v1.Raft/Step", Date.now()));
      refused(await unary(raft, "Step", { messages: [vote, append] }, forged));
      raft.close();
    }

    await new Promise((resolve) => setTimeout(resolve, 1_000)); // anything that got through would show by now
    const quorumAfter = await controller.call<DescribeQuorumResponse__Output>("DescribeQuorum", {});
    controller.close();
    expect({ leader: quorumAfter.leaderId, term: Number(quorumAfter.term) }).toEqual({
      leader: quorumBefore.leaderId,
      term: Number(quorumBefore.term),
    });
    const after = await partitionState();
    expect(after.isr).toEqual(before.isr);
    expect(after.partitionEpoch).toBe(before.partitionEpoch);
    expect(after.highWatermark).toBeLessThanOrEqual(after.logEndOffset); // never past the leader's own log
    // Nothing moved the broker registrations either.
    expect((await brook.admin().describeCluster()).brokers.map((b) => b.port).sort()).toEqual(
      cluster.nodes.map((n) => n.brokerPort).sort(),
    );

    await load.stop();
    const seen = await readAll(load.acknowledged.length);
    expect(load.acknowledged.filter((value) => !seen.has(value))).toEqual([]);
  }, 90_000);

  it("a Kafka client's replica fetch is refused the same way", async () => {
    const broker = rawBroker(cluster.bootstrap.split(",")[0] as string);
    try {
      // The producer writes through Produce so there is something to fetch.
      await broker.call("Produce", {
        acks: -1,
        timeoutMs: 5_000,
        topics: [
          {
            topic,
            partitions: [{ partition: 0, records: encodeRecordBatch([{ value: Buffer.from("x") }]) }],
          },
        ],
      });
    } finally {
      broker.close();
    }
    const { kafkaFetchAsReplica } = await import("./kafka-raw.js");
    const leader = cluster.nodes[(await partitionState()).leader - 1] as NodeHandle;
    expect(await kafkaFetchAsReplica(leader.kafkaPort, topic, 2)).toBe(31); // CLUSTER_AUTHORIZATION_FAILED
  });
});

/** The active controller's node, as the brokers' metadata names it (DescribeQuorum answers only there). */
async function activeControllerNode(): Promise<NodeHandle> {
  const id = await waitFor("an active controller", 10_000, async () => {
    const answer = await tryMetadata(cluster.nodes[0] as NodeHandle);
    return answer !== undefined && answer.controllerId > 0 ? answer.controllerId : undefined;
  });
  return cluster.nodes[id - 1] as NodeHandle;
}

/** One unary call on a raw client; resolves with the typed error, or the response. */
function unary(client: grpc.Client, method: string, request: unknown, metadata = new grpc.Metadata()) {
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
