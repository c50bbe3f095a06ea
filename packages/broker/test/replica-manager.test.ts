// ReplicaManager: local replicas follow the metadata image. Partitions
// assigned here are opened, deleted topics lose their logs, a topic re-created
// under the same name starts from an empty log, and one partition that cannot
// open never stops the others (nor the broker).

import fs from "node:fs";
import path from "node:path";
import { systemClock } from "@brook/protocol";
import { nodeFileSystem } from "@brook/storage";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Broker } from "../src/broker.js";
import { ReplicaManager } from "../src/replica-manager.js";
import {
  brokerId,
  makeBatch,
  silentLogger,
  startTestBroker,
  stubController,
  type TestBroker,
  topicRecords,
} from "./helpers.js";

let broker: TestBroker;

beforeEach(() => {
  broker = startTestBroker();
});

afterEach(async () => {
  await broker.close();
});

const none = { "flush.mode": "none" };

function topicId(name: string): string {
  const topic = broker.metadata.image.topic(name);
  if (!topic) throw new Error(`no topic ${name}`);
  return topic.topicId;
}

describe("following the image", () => {
  it("opens the partitions assigned to this broker and no others", async () => {
    await broker.apply([
      ...topicRecords("mine", { partitions: 2 }),
      ...topicRecords("theirs", { leader: brokerId + 1 }),
    ]);
    expect(broker.replicas.local("mine", 0)?.isLeader).toBe(true);
    expect(broker.replicas.local("mine", 1)?.isLeader).toBe(true);
    expect(broker.replicas.local("theirs", 0)).toBeUndefined();
    expect(fs.readdirSync(broker.dataDir).sort()).toEqual(["mine-0", "mine-1"]);
    expect(() => broker.replicas.get(broker.metadata.image, "theirs", 0)).toThrow(
      expect.objectContaining({ code: "NOT_LEADER" }),
    );
  });

  it("opens the partitions a topic grows by (CreatePartitions), keeping the old ones' logs", async () => {
    await broker.apply(topicRecords("orders", { partitions: 2, configs: none }));
    const first = broker.replicas.local("orders", 0);
    first?.append(makeBatch(3));
    const id = topicId("orders");
    await broker.apply(
      [2, 3].map((partition) => ({
        type: "partition" as const,
        topicId: id,
        partition,
        replicas: [brokerId],
        isr: [brokerId],
        leader: brokerId,
        leaderEpoch: 0,
        partitionEpoch: 0,
      })),
    );
    expect(fs.readdirSync(broker.dataDir).sort()).toEqual(["orders-0", "orders-1", "orders-2", "orders-3"]);
    expect(broker.replicas.local("orders", 0)).toBe(first);
    expect(first?.logEndOffset).toBe(3);
    expect(broker.replicas.local("orders", 3)?.isLeader).toBe(true);
    expect(broker.replicas.local("orders", 3)?.logEndOffset).toBe(0);
  });

  it("deletes the log of a deleted topic", async () => {
    await broker.apply(topicRecords("orders", { configs: none }));
    broker.replicas.local("orders", 0)?.append(makeBatch(2));
    await broker.apply([{ type: "remove-topic", topicId: topicId("orders") }]);
    expect(broker.replicas.local("orders", 0)).toBeUndefined();
    expect(fs.existsSync(path.join(broker.dataDir, "orders-0"))).toBe(false);
    expect(() => broker.replicas.get(broker.metadata.image, "orders", 0)).toThrow(
      expect.objectContaining({ code: "UNKNOWN_TOPIC" }),
    );
  });

  it("gives a topic re-created under the same name a fresh log", async () => {
    await broker.apply(topicRecords("orders", { configs: none }));
    broker.replicas.local("orders", 0)?.append(makeBatch(5));
    const oldId = topicId("orders");
    await broker.apply([
      { type: "remove-topic", topicId: oldId },
      ...topicRecords("orders", { configs: none }),
    ]);
    const fresh = broker.replicas.local("orders", 0);
    expect(fresh?.topicId).not.toBe(oldId);
    expect(fresh?.log.logEndOffset).toBe(0);
    expect(fresh?.append(makeBatch(1)).baseOffset).toBe(0);
  });

  it("gives a topic re-created while the broker was down a fresh log", async () => {
    await broker.apply(topicRecords("orders", { configs: none }));
    broker.replicas.local("orders", 0)?.append(makeBatch(5));
    await broker.replicas.close();
    const image = broker.metadata.apply([
      { type: "remove-topic", topicId: topicId("orders") },
      ...topicRecords("orders", { configs: none }),
    ]);
    const restarted = new ReplicaManager({
      brokerId,
      dataDir: broker.dataDir,
      clock: systemClock,
      logger: silentLogger,
    });
    try {
      await restarted.applyImage(image);
      expect(restarted.local("orders", 0)?.log.logEndOffset).toBe(0);
    } finally {
      await restarted.close();
    }
  });

  it("keeps a log across restarts of the same topic", async () => {
    await broker.apply(topicRecords("orders", { configs: none }));
    broker.replicas.local("orders", 0)?.append(makeBatch(5));
    await broker.replicas.close();
    const restarted = new ReplicaManager({
      brokerId,
      dataDir: broker.dataDir,
      clock: systemClock,
      logger: silentLogger,
    });
    try {
      await restarted.applyImage(broker.metadata.image);
      expect(restarted.local("orders", 0)?.log.logEndOffset).toBe(5);
      expect(restarted.local("orders", 0)?.highWatermark).toBe(5);
    } finally {
      await restarted.close();
    }
  });

  it("makes a new partition directory durable in the data directory", async () => {
    const syncDir = vi.spyOn(nodeFileSystem, "syncDir");
    try {
      await broker.apply(topicRecords("orders"));
      expect(syncDir).toHaveBeenCalledWith(broker.dataDir);
    } finally {
      syncDir.mockRestore();
    }
  });

  it("keeps the records when the partition metadata file was left empty by a crash", async () => {
    await broker.apply(topicRecords("orders", { configs: none }));
    broker.replicas.local("orders", 0)?.append(makeBatch(5));
    await broker.replicas.close();
    // A power loss can leave a file that was written but never fsynced empty.
    fs.writeFileSync(path.join(broker.dataDir, "orders-0", "partition.metadata"), "");
    const restarted = new ReplicaManager({
      brokerId,
      dataDir: broker.dataDir,
      clock: systemClock,
      logger: silentLogger,
    });
    try {
      await restarted.applyImage(broker.metadata.image);
      expect(restarted.local("orders", 0)?.log.logEndOffset).toBe(5);
    } finally {
      await restarted.close();
    }
  });
});

describe("a partition that cannot open", () => {
  // segment.bytes passes topic validation but is more than an index position can address.
  const unopenable = { "segment.bytes": String(2 ** 32) };

  it("does not stop the other partitions from opening, and reports why to clients", async () => {
    await expect(
      broker.apply([...topicRecords("bad", { configs: unopenable }), ...topicRecords("good")]),
    ).resolves.toBeUndefined();
    expect(broker.replicas.local("good", 0)?.isLeader).toBe(true);
    expect(() => broker.replicas.get(broker.metadata.image, "bad", 0)).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG" }),
    );
    // Later images still apply.
    await broker.apply(topicRecords("later"));
    expect(broker.replicas.local("later", 0)?.isLeader).toBe(true);
  });

  it("does not stop the broker from starting, nor from following later images", async () => {
    broker.metadata.apply([...topicRecords("bad", { configs: unopenable }), ...topicRecords("good")]);
    const started = await Broker.start({
      brokerId,
      clusterId: "test-cluster",
      dataDir: path.join(broker.dataDir, "node"),
      metadata: broker.metadata,
      controller: stubController,
      logger: silentLogger,
    });
    try {
      // Followed through the broker's own image listener (an unhandled rejection there fails this test).
      broker.metadata.apply(topicRecords("worse", { configs: unopenable }));
      broker.metadata.apply(topicRecords("later"));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(fs.existsSync(path.join(broker.dataDir, "node", "later-0"))).toBe(true);
    } finally {
      await started.close();
    }
  });

  it("keeps serving with its old config when a config change is refused", async () => {
    await broker.apply(topicRecords("orders", { configs: none }));
    await broker.apply([
      { type: "topic-config", topicId: topicId("orders"), key: "segment.bytes", value: String(2 ** 32) },
    ]);
    await broker.apply(topicRecords("later"));
    expect(broker.replicas.local("orders", 0)?.append(makeBatch(1)).baseOffset).toBe(0);
    expect(broker.replicas.local("later", 0)?.isLeader).toBe(true);
  });
});
