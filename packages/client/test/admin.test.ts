import { BrookError } from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { Admin } from "../src/index.js";
import type { FakeCluster } from "./fake-cluster.js";
import { brookFor, startFake } from "./helpers.js";

let cluster: FakeCluster;
let admin: Admin;

afterEach(async () => {
  await admin?.close();
  await cluster?.stop();
});

describe("admin", () => {
  it("creates, lists, describes and deletes topics", async () => {
    cluster = await startFake(2);
    admin = brookFor(cluster).admin();

    await admin.createTopics({
      topics: [
        {
          topic: "orders",
          numPartitions: 3,
          replicationFactor: 1,
          configEntries: [{ name: "retention.ms", value: "1000" }],
        },
      ],
    });
    const created = cluster.callsOf("CreateTopics")[0].request as { topics: { configs: unknown[] }[] };
    expect(created.topics[0].configs).toEqual([{ key: "retention.ms", value: "1000" }]);
    expect(await admin.listTopics()).toEqual(["orders"]);

    const [orders] = await admin.describeTopics({ topics: ["orders"] });
    expect(orders.name).toBe("orders");
    expect(orders.partitions).toHaveLength(3);
    expect(orders.partitions[1]).toEqual({
      partition: 1,
      leader: 2,
      leaderEpoch: 0,
      replicas: [2],
      isr: [2],
      highWatermark: 0,
      logStartOffset: 0,
      logEndOffset: 0,
      sizeBytes: 0,
      dirtyRatio: 0,
    });
    expect(orders.configEntries).toEqual([{ name: "cleanup.policy", value: "delete" }]);

    await admin.deleteTopics({ topics: ["orders"] });
    expect(await admin.listTopics()).toEqual([]);
  });

  it("maps per-topic errors to BrookErrors that name the topic", async () => {
    cluster = await startFake();
    cluster.createTopic("taken", 1);
    admin = brookFor(cluster).admin();

    const exists = await admin
      .createTopics({ topics: [{ topic: "taken", numPartitions: 1 }] })
      .catch((e) => e);
    expect(exists).toBeInstanceOf(BrookError);
    expect(exists.code).toBe("TOPIC_ALREADY_EXISTS");
    expect(exists.retriable).toBe(false);
    expect(exists.message).toContain('"taken"');

    await expect(admin.deleteTopics({ topics: ["ghost"] })).rejects.toMatchObject({ code: "UNKNOWN_TOPIC" });
    await expect(admin.describeTopics({ topics: ["ghost"] })).rejects.toMatchObject({
      code: "UNKNOWN_TOPIC",
    });
    await expect(admin.createTopics({ topics: [{ topic: "bad", numPartitions: 0 }] })).rejects.toMatchObject({
      code: "INVALID_PARTITIONS",
    });
  });

  it("asks for the cluster defaults (-1) when partitions and replication are omitted", async () => {
    cluster = await startFake();
    admin = brookFor(cluster).admin();
    await admin.createTopics({ topics: [{ topic: "plain" }] });
    const request = cluster.callsOf("CreateTopics")[0].request as {
      topics: { numPartitions: number; replicationFactor: number }[];
    };
    expect(request.topics[0]).toMatchObject({ numPartitions: -1, replicationFactor: -1 });
    expect((await admin.describeTopics({ topics: ["plain"] }))[0].partitions).toHaveLength(1);
  });

  it("validateOnly creates nothing", async () => {
    cluster = await startFake();
    admin = brookFor(cluster).admin();
    await admin.createTopics({ topics: [{ topic: "dry", numPartitions: 2 }], validateOnly: true });
    expect(await admin.listTopics()).toEqual([]);
  });

  it("retries retriable request failures (NOT_CONTROLLER) and rejects non-retriable ones", async () => {
    cluster = await startFake();
    admin = brookFor(cluster).admin();
    cluster.callErrors.set("CreateTopics", ["NOT_CONTROLLER", "NOT_CONTROLLER"]);
    await admin.createTopics({ topics: [{ topic: "later", numPartitions: 1 }] });
    expect(cluster.callsOf("CreateTopics")).toHaveLength(3);

    cluster.callErrors.set("DescribeCluster", ["INVALID_REQUEST"]);
    await expect(admin.describeCluster()).rejects.toMatchObject({ code: "INVALID_REQUEST" });
  });

  it("fetches each partition's low and high offsets from its leader", async () => {
    cluster = await startFake(2);
    cluster.createTopic("counted", 2);
    const brook = brookFor(cluster);
    const producer = brook.producer({ acks: 1 });
    await producer.send({
      topic: "counted",
      messages: [
        { value: "a", partition: 0 },
        { value: "b", partition: 0 },
        { value: "c", partition: 1 },
      ],
    });
    await producer.close();
    cluster.truncateBefore("counted", 0, 1);
    admin = brook.admin();

    expect(await admin.fetchTopicOffsets("counted")).toEqual([
      { partition: 0, offset: 2, high: 2, low: 1 },
      { partition: 1, offset: 1, high: 1, low: 0 },
    ]);
    const leaders = cluster.callsOf("ListOffsets").map((call) => call.brokerId);
    expect(new Set(leaders)).toEqual(new Set([1, 2]));
  });

  it("describes the cluster in the stable JSON shape", async () => {
    cluster = await startFake(2);
    admin = brookFor(cluster).admin();
    const description = await admin.describeCluster();
    expect(description).toEqual({
      clusterId: "fake",
      controllers: [{ id: 1, leader: true, term: 3, commitIndex: 42, matchIndex: 42, lag: 0 }],
      brokers: cluster.brokers.map(({ id, port }) => ({ id, host: "127.0.0.1", port, state: "alive" })),
      offlinePartitions: 0,
      underReplicatedPartitions: 0,
    });
  });
});
