// An attacker who reaches the ports of a cluster with no security configured
// (no TLS, no SASL, no ACLs), but not its cluster secret: each request that
// only the cluster's own nodes may make is refused with
// CLUSTER_AUTHORIZATION_FAILED and moves nothing (ISR, partition epoch, Raft
// leader and term), while an acks=all load runs beside it and loses no
// acknowledged record. docs/security.md says how this holds without TLS.
import { Brook } from "@brook/client";
import { encodeRecordBatch } from "@brook/protocol";
import { type Cluster, type NodeHandle, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attackTheCluster, partitionState } from "./attacks.js";
import { rawBroker } from "./grpc.js";
import { kafkaFetchAsReplica } from "./kafka-raw.js";
import { acksAllLoad, createGuardedTopic, silentLogger } from "./security-load.js";

const topic = "guarded";
let cluster: Cluster;
let brook: Brook;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
  brook = new Brook({ brokers: cluster.bootstrap.split(","), logger: silentLogger });
  await createGuardedTopic(brook, topic);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe("an attacker without the cluster secret, against an unsecured cluster", () => {
  it("cannot move the high watermark or the ISR, fake an ISR change, register as a live broker, or vote and append in Raft; an acks=all load beside it loses nothing", async () => {
    const load = await acksAllLoad(brook, topic);
    await attackTheCluster(cluster, {
      topic,
      attacker: {},
      observer: {},
      refusals: ["CLUSTER_AUTHORIZATION_FAILED"],
    });
    expect(await load.lost()).toEqual([]);
  }, 90_000);

  it("a Kafka client's replica fetch is refused the same way", async () => {
    const broker = rawBroker(cluster.bootstrap.split(",")[0] as string);
    try {
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
    const leader = cluster.nodes[(await partitionState(cluster, topic, {})).leader - 1] as NodeHandle;
    expect(await kafkaFetchAsReplica(leader.kafkaPort, topic, 2)).toBe(31); // CLUSTER_AUTHORIZATION_FAILED
  });
});
