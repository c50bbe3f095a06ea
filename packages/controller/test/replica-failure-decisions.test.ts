// A broker giving up replicas it can no longer serve: its failed log dir
// (fenced and kept fenced, leaderships moved, the last ISR member kept), and
// single corrupt replicas it resigns (leadership moved, never to nobody).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { imageToRecords } from "@brook/metadata";
import { ManualClock } from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import {
  Controller,
  noLeader,
  planLogDirOffline,
  planPreferredLeaderElection,
  planReplicaResignations,
  planUnfence,
} from "../src/index.js";
import { imageOf, incarnation, replay } from "./helpers/decisions.js";
import { LevelMetadataLog } from "./helpers/level-metadata-log.js";

describe("log dir offline", () => {
  const image = imageOf({
    live: [1, 2, 3],
    topics: {
      t: [{ replicas: [1, 2, 3] }, { replicas: [2, 1, 3] }],
      solo: [{ replicas: [1] }],
    },
  });
  const offline = () => replay(image, planLogDirOffline(image, image.brokers.get(1)!));

  it("fences the broker: its leaderships move to in-sync replicas and it leaves every ISR", () => {
    const after = offline();
    expect(after.brokers.get(1)).toMatchObject({ fenced: true, logDirOffline: true });
    expect(after.partition("t", 0)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1 });
    expect(after.partition("t", 1)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 0 });
  });

  it("as the last ISR member it stays in the ISR and the partition goes offline", () => {
    expect(offline().partition("solo", 0)).toMatchObject({ leader: noLeader, isr: [1] });
  });

  it("a repeated report changes nothing, and neither unfencing nor a preferred election brings it back", () => {
    const after = offline();
    expect(planLogDirOffline(after, after.brokers.get(1)!)).toEqual([]);
    expect(planPreferredLeaderElection(after)).toEqual([]);
    expect(() => replay(after, planUnfence(after, 1))).toThrow(/log dir is offline/);
  });

  it("a snapshot keeps the mark; a new incarnation's registration clears it", () => {
    const after = offline();
    const rebuilt = replay(imageOf({}), imageToRecords(after));
    expect(rebuilt.brokers.get(1)).toMatchObject({ fenced: true, logDirOffline: true });
    const restarted = replay(after, [
      { type: "broker-registration", brokerId: 1, incarnationId: "new", host: "127.0.0.1", port: 9001 },
    ]);
    expect(restarted.brokers.get(1)?.logDirOffline).toBeUndefined();
  });
});

describe("replica resignation (a corrupt copy)", () => {
  const image = imageOf({
    live: [1, 2, 3],
    fenced: [4],
    topics: {
      t: [{ replicas: [1, 2, 3] }, { replicas: [2, 1, 3] }, { replicas: [1, 2], isr: [1] }],
      lone: [{ replicas: [1, 4], isr: [1, 4] }],
    },
  });
  const resign = (topic: string, partition: number, partitionEpoch = 0) =>
    planReplicaResignations(image, 1, [{ topic, partition, partitionEpoch }]);

  it("a leader resigns: another in-sync replica leads and it leaves the ISR (it rejoins by refetching)", () => {
    const after = replay(image, resign("t", 0));
    expect(after.partition("t", 0)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1 });
    expect(after.brokers.get(1)?.fenced).toBe(false);
  });

  it("a follower resigns: it leaves the ISR, the leader stays", () => {
    expect(replay(image, resign("t", 1)).partition("t", 1)).toMatchObject({ leader: 2, isr: [2, 3] });
  });

  it("the last in-sync copy, or one whose other ISR members cannot lead, keeps the partition", () => {
    expect(resign("t", 2)).toEqual([]);
    expect(resign("lone", 0)).toEqual([]);
  });

  it("a resignation at an older partition epoch, or repeated in one report, changes nothing more", () => {
    expect(resign("t", 0, 7)).toEqual([]);
    const twice = planReplicaResignations(image, 1, [
      { topic: "t", partition: 0, partitionEpoch: 0 },
      { topic: "t", partition: 0, partitionEpoch: 0 },
    ]);
    expect(twice).toHaveLength(1);
    const after = replay(image, twice);
    expect(planReplicaResignations(after, 1, [{ topic: "t", partition: 0, partitionEpoch: 0 }])).toEqual([]);
  });
});

describe("the controller acts on a heartbeat's report", () => {
  const dirs: string[] = [];
  const controllers: Controller[] = [];
  afterEach(async () => {
    for (const controller of controllers.splice(0)) await controller.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function liveCluster(): Promise<Controller> {
    const dir = mkdtempSync(join(tmpdir(), "brook-replica-failure-"));
    dirs.push(dir);
    const log = await LevelMetadataLog.open(dir);
    const controller = await Controller.open({
      nodeId: 1,
      log,
      clock: new ManualClock(),
      sessionCheckIntervalMs: 0,
    });
    controllers.push(controller);
    for (const brokerId of [1, 2, 3]) {
      const registration = { brokerId, incarnationId: incarnation(brokerId), host: "127.0.0.1", port: 9000 };
      const { registrationOffset } = await controller.registerBroker(registration);
      await controller.heartbeat({ ...registration, metadataOffset: registrationOffset });
    }
    await controller.createTopics([
      { name: "t", numPartitions: 3, replicationFactor: 3, configs: new Map() },
    ]);
    return controller;
  }

  it("a log dir offline report fences the broker at once, and its later heartbeats keep it fenced", async () => {
    const controller = await liveCluster();
    const led = controller.image.topic("t")!.partitions.filter((p) => p.leader === 2);
    expect(led.length).toBeGreaterThan(0);
    const heartbeat = { brokerId: 2, incarnationId: incarnation(2), logDirOffline: true };
    const reply = await controller.heartbeat({ ...heartbeat, metadataOffset: controller.committedOffset });
    expect(reply.fenced).toBe(true);
    for (const partition of controller.image.topic("t")!.partitions) {
      expect(partition.leader).not.toBe(2);
      expect(partition.isr).not.toContain(2);
    }
    const again = await controller.heartbeat({ ...heartbeat, metadataOffset: controller.committedOffset });
    expect(again.fenced).toBe(true);
  });

  it("a resignation moves leadership and the broker stays in service", async () => {
    const controller = await liveCluster();
    const partition = controller.image.topic("t")!.partitions.find((p) => p.leader === 3)!;
    const reply = await controller.heartbeat({
      brokerId: 3,
      incarnationId: incarnation(3),
      metadataOffset: controller.committedOffset,
      resignedReplicas: [
        { topic: "t", partition: partition.partition, partitionEpoch: partition.partitionEpoch },
      ],
    });
    expect(reply.fenced).toBe(false);
    const after = controller.image.partition("t", partition.partition)!;
    expect(after.leader).not.toBe(3);
    expect(after.isr).not.toContain(3);
  });
});
