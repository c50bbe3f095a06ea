// Admin answers of the broker: every broker's Kafka endpoint in Metadata, DescribeTopics (the
// brokers holding a topic's replicas) and DescribeCluster, as registered; CreatePartitions
// forwarded to the controller and answered once the local replicas follow, except for the
// internal offsets topic, whose partition count groups depend on.
import type { MetadataRecord } from "@brook/metadata";
import { anonymousCaller, type CreatePartitionsRequest__Output } from "@brook/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPartitions, describeCluster, describeTopics, metadata } from "../src/admin.js";
import type { ControllerChannel } from "../src/context.js";
import { startTestBroker, stubController, type TestBroker, topicRecords } from "./helpers.js";

let broker: TestBroker;
beforeEach(() => {
  broker = startTestBroker();
});
afterEach(async () => {
  await broker.close();
});

const registrations: MetadataRecord[] = [
  {
    type: "broker-registration",
    brokerId: 1,
    incarnationId: "a",
    host: "node-1",
    port: 9092,
    kafkaEndpoint: { host: "node-1", port: 9094 },
  },
  { type: "broker-unfence", brokerId: 1, incarnationId: "a" },
  // Registered before the Kafka listener existed, or with it off.
  { type: "broker-registration", brokerId: 2, incarnationId: "b", host: "node-2", port: 9192 },
  { type: "broker-unfence", brokerId: 2, incarnationId: "b" },
];

describe("Kafka endpoints in admin answers", () => {
  it("Metadata, DescribeCluster and DescribeTopics carry each broker's Kafka host and port (0: none)", async () => {
    await broker.apply([...registrations, ...topicRecords("orders", { partitions: 2 })]);
    const node1 = { id: 1, host: "node-1", port: 9092, rack: "", kafkaHost: "node-1", kafkaPort: 9094 };
    const node2 = { id: 2, host: "node-2", port: 9192, rack: "", kafkaHost: "", kafkaPort: 0 };
    expect(metadata(broker.ctx, { topics: [] }, anonymousCaller()).brokers).toEqual([node1, node2]);
    expect((await describeCluster(broker.ctx)).brokers).toEqual([
      { ...node1, state: "alive" },
      { ...node2, state: "alive" },
    ]);
    // Only the brokers holding the topic's replicas: broker 1 here.
    const [orders, missing] =
      describeTopics(broker.ctx, { names: ["orders", "missing"] }, anonymousCaller()).topics ?? [];
    expect(orders.brokers).toEqual([node1]);
    expect(missing.brokers).toEqual([]);
  });
});

describe("CreatePartitions", () => {
  it("forwards to the controller and answers with its results, after the local replicas follow the image", async () => {
    const forwarded: CreatePartitionsRequest__Output[] = [];
    let grew = false;
    const controller: ControllerChannel = {
      ...stubController,
      createPartitions: async (request) => {
        forwarded.push(request);
        // The controller commits; this broker's image follows before the answer goes out.
        const topic = broker.metadata.image.topic("orders");
        broker.metadata.apply([
          {
            type: "partition",
            topicId: topic?.topicId ?? "",
            partition: 1,
            replicas: [1],
            isr: [1],
            leader: 1,
            leaderEpoch: 0,
            partitionEpoch: 0,
          },
        ]);
        grew = true;
        return { topics: [{ name: "orders", error: { code: "", message: "" } }] };
      },
    };
    await broker.apply(topicRecords("orders"));
    const response = await createPartitions(
      { ...broker.ctx, controller },
      { topics: [{ name: "orders", count: 2, assignments: [] }], validateOnly: false },
    );
    expect(grew).toBe(true);
    expect(forwarded).toHaveLength(1);
    expect(response.topics).toEqual([{ name: "orders", error: { code: "", message: "" } }]);
    expect(broker.replicas.local("orders", 1)?.isLeader).toBe(true);
  });

  it("refuses to grow __consumer_offsets without asking the controller", async () => {
    const controller: ControllerChannel = {
      ...stubController,
      createPartitions: () => Promise.reject(new Error("the controller must not be asked")),
    };
    const response = await createPartitions(
      { ...broker.ctx, controller },
      { topics: [{ name: "__consumer_offsets", count: 100, assignments: [] }], validateOnly: false },
    );
    expect(response.topics?.[0]).toMatchObject({
      name: "__consumer_offsets",
      error: { code: "INVALID_REQUEST", message: expect.stringContaining("groups map to its partitions") },
    });
  });
});
