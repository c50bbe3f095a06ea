// Growing a topic (Kafka's CreatePartitions), decided from the image alone:
// new partitions numbered on from the current count, placed as a new topic's
// are (live brokers, the topic's replication factor, leaders spreading) or as
// a checked manual assignment; a count that does not grow is refused naming
// the current one.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MetadataRecord } from "@brook/metadata";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  Controller,
  createPartitions,
  partitionsPerTopicMax,
  planCreatePartitions,
  planCreateTopic,
} from "../src/index.js";
import { codeOf, imageOf, registerLiveBroker, replay } from "./helpers/decisions.js";
import { LevelMetadataLog } from "./helpers/level-metadata-log.js";

const threeBrokers = imageOf({
  live: [1, 2, 3],
  topics: { orders: [{ replicas: [1, 2, 3] }, { replicas: [2, 3, 1] }, { replicas: [3, 1, 2] }] },
});

const partitionsOf = (records: readonly MetadataRecord[]) =>
  records.flatMap((record) => (record.type === "partition" ? [record] : []));

describe("CreatePartitions decisions", () => {
  it("grows 3 to 6: partition records 3-5 only, each with the topic's replication factor, leaders on every broker", () => {
    const records = planCreatePartitions(threeBrokers, { topic: "orders", count: 6 });
    expect(records.map((r) => r.type)).toEqual(["partition", "partition", "partition"]);
    const added = partitionsOf(records);
    expect(added.map((p) => p.partition)).toEqual([3, 4, 5]);
    for (const p of added) {
      expect(p).toMatchObject({ topicId: "id-orders", isr: p.replicas, leader: p.replicas[0] });
      expect(new Set(p.replicas).size).toBe(3);
      expect(p.leaderEpoch).toBe(0);
      expect(p.partitionEpoch).toBe(0);
    }
    expect(new Set(added.map((p) => p.leader))).toEqual(new Set([1, 2, 3]));

    const grown = replay(threeBrokers, records).topic("orders");
    expect(grown?.partitions).toHaveLength(6);
    // The old partitions are the same objects: replay copies only what changed.
    expect(grown?.partitions.slice(0, 3)).toEqual(threeBrokers.topic("orders")?.partitions);
  });

  it("places the new partitions as a new topic of that many partitions would be placed", () => {
    const records = planCreatePartitions(threeBrokers, { topic: "orders", count: 5 });
    const asNewTopic = planCreateTopic(
      threeBrokers,
      { name: "other", numPartitions: 2, replicationFactor: 3, configs: new Map() },
      "id-other",
    );
    expect(partitionsOf(records).map((p) => p.replicas)).toEqual(
      partitionsOf(asNewTopic).map((p) => p.replicas),
    );
  });

  it("starts the new leaders at the broker that leads the fewest partitions, so leadership evens out", () => {
    const lopsided = imageOf({
      live: [1, 2, 3],
      topics: { t: [{ replicas: [1, 2] }, { replicas: [1, 3] }, { replicas: [2, 1] }] },
    });
    const added = partitionsOf(planCreatePartitions(lopsided, { topic: "t", count: 6 }));
    expect(added.map((p) => p.leader)).toEqual([3, 1, 2]);
  });

  it("refuses a count that does not grow the topic, naming the current count", () => {
    for (const count of [3, 2, 0, -1, 4.5]) {
      expect(() => planCreatePartitions(threeBrokers, { topic: "orders", count })).toThrow(
        new RegExp(
          `INVALID_PARTITIONS: topic 'orders' has 3 partition\\(s\\); the new count must be a whole number greater than that, not ${count}`,
        ),
      );
    }
    expect(() =>
      planCreatePartitions(threeBrokers, { topic: "orders", count: partitionsPerTopicMax + 1 }),
    ).toThrow(/INVALID_PARTITIONS: partition count 10001 is out of range: a topic has at most 10000/);
  });

  it("a topic asking for the cluster defaults (-1) gets the configured num.partitions and default.replication.factor", () => {
    const defaults = { numPartitions: 4, replicationFactor: 2 };
    const records = planCreateTopic(
      threeBrokers,
      { name: "auto", numPartitions: -1, replicationFactor: -1, configs: new Map() },
      "id-auto",
      defaults,
    );
    expect(partitionsOf(records).map((p) => p.replicas.length)).toEqual([2, 2, 2, 2]);
    // Unset, the replication factor is min(3, live brokers): one here.
    const one = imageOf({ live: [1] });
    const single = planCreateTopic(
      one,
      { name: "auto", numPartitions: -1, replicationFactor: -1, configs: new Map() },
      "id-auto",
      { numPartitions: 2 },
    );
    expect(partitionsOf(single).map((p) => p.replicas)).toEqual([[1], [1]]);
    // A configured factor the live brokers cannot meet is refused, as an explicit one would be.
    expect(
      codeOf(() =>
        planCreateTopic(
          one,
          { name: "auto", numPartitions: -1, replicationFactor: -1, configs: new Map() },
          "id-auto",
          defaults,
        ),
      ),
    ).toBe("INVALID_REPLICATION_FACTOR");
  });

  it("refuses an unknown topic", () => {
    expect(codeOf(() => planCreatePartitions(threeBrokers, { topic: "missing", count: 4 }))).toBe(
      "UNKNOWN_TOPIC",
    );
  });

  it("places only on live brokers, and refuses when too few are live for the topic's replication factor", () => {
    const oneFenced = imageOf({
      live: [1, 2, 4],
      fenced: [3],
      topics: { t: [{ replicas: [1, 2] }] },
    });
    for (const p of partitionsOf(planCreatePartitions(oneFenced, { topic: "t", count: 7 }))) {
      expect(p.replicas).not.toContain(3);
    }
    const twoFenced = imageOf({ live: [1], fenced: [2, 3], topics: { t: [{ replicas: [1, 2, 3] }] } });
    expect(() => planCreatePartitions(twoFenced, { topic: "t", count: 2 })).toThrow(
      /INVALID_REPLICATION_FACTOR.*1 broker\(s\) are alive/,
    );
  });

  it("takes a manual assignment as given; its ISR is its in-service replicas, the first of them leading", () => {
    const image = imageOf({ live: [1, 2], fenced: [3], topics: { t: [{ replicas: [1, 2] }] } });
    const records = planCreatePartitions(image, {
      topic: "t",
      count: 3,
      assignments: [
        [2, 1],
        [3, 1],
      ],
    });
    expect(
      partitionsOf(records).map(({ partition, replicas, isr, leader }) => [partition, replicas, isr, leader]),
    ).toEqual([
      [1, [2, 1], [2, 1], 2],
      [2, [3, 1], [1], 1],
    ]);
  });

  it.each([
    ["one assignment too few", [[1, 2]], /2 new partition\(s\)/],
    [
      "a replica list of another length",
      [
        [1, 2],
        [3, 1, 2],
      ],
      /partition 2 is assigned 3 replica\(s\), but the topic's partitions have 2/,
    ],
    [
      "an unregistered broker",
      [
        [1, 2],
        [9, 1],
      ],
      /partition 2 is assigned to unregistered broker\(s\) 9/,
    ],
    [
      "a broker twice",
      [
        [2, 2],
        [1, 2],
      ],
      /partition 1 is assigned the same broker twice/,
    ],
    [
      "only fenced brokers",
      [
        [1, 2],
        [3, 4],
      ],
      /partition 2 is assigned only to fenced brokers \(3, 4\)/,
    ],
  ])("refuses a manual assignment with %s (INVALID_REPLICA_ASSIGNMENT)", (_, assignments, message) => {
    const image = imageOf({ live: [1, 2], fenced: [3, 4], topics: { t: [{ replicas: [1, 2] }] } });
    expect(() => planCreatePartitions(image, { topic: "t", count: 3, assignments })).toThrow(message);
    expect(codeOf(() => planCreatePartitions(image, { topic: "t", count: 3, assignments }))).toBe(
      "INVALID_REPLICA_ASSIGNMENT",
    );
  });

  it("for any live brokers, topic and growth: the new partitions are numbered on, RF distinct live brokers each, leaders spread", () => {
    const scenario = fc
      .uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 9 })
      .chain((ids) =>
        fc.record({
          ids: fc.constant(ids),
          fenced: fc.subarray(ids.slice(1)),
          replicationFactor: fc.integer({ min: 1, max: ids.length }),
          current: fc.integer({ min: 1, max: 20 }),
          added: fc.integer({ min: 1, max: 40 }),
        }),
      );
    fc.assert(
      fc.property(scenario, ({ ids, fenced, replicationFactor, current, added }) => {
        const live = ids.filter((id) => !fenced.includes(id));
        // The topic is created while every broker is live, then some are fenced.
        let image = imageOf({ live: ids });
        image = replay(
          image,
          planCreateTopic(
            image,
            { name: "t", numPartitions: current, replicationFactor, configs: new Map() },
            "id-t",
          ),
        );
        image = imageOf({
          live,
          fenced,
          topics: { t: image.topic("t")?.partitions.map((p) => ({ replicas: [...p.replicas] })) ?? [] },
        });
        const plan = () => planCreatePartitions(image, { topic: "t", count: current + added });
        if (replicationFactor > live.length) {
          expect(codeOf(plan)).toBe("INVALID_REPLICATION_FACTOR");
          return;
        }
        const records = plan();
        const partitions = partitionsOf(records);
        expect(records).toHaveLength(added);
        expect(partitions.map((p) => p.partition)).toEqual(
          Array.from({ length: added }, (_, i) => current + i),
        );
        for (const p of partitions) {
          expect(new Set(p.replicas).size).toBe(replicationFactor);
          for (const id of p.replicas) expect(live).toContain(id);
          expect(p.isr).toEqual(p.replicas);
          expect(p.leader).toBe(p.replicas[0]);
        }
        // Round-robin: no live broker leads more than one new partition more than another.
        const leads = live.map((id) => partitions.filter((p) => p.leader === id).length);
        expect(Math.max(...leads) - Math.min(...leads)).toBeLessThanOrEqual(1);
        // Replayed, the topic has the new count and the old partitions unchanged.
        const grown = replay(image, records).topic("t");
        expect(grown?.partitions).toHaveLength(current + added);
        expect(grown?.partitions.slice(0, current)).toEqual(image.topic("t")?.partitions);
        // Growing to the count it has now is refused.
        expect(
          codeOf(() => planCreatePartitions(replay(image, records), { topic: "t", count: current + added })),
        ).toBe("INVALID_PARTITIONS");
      }),
    );
  });
});

describe("Controller.createPartitions and its gRPC face", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function controllerWithTopic(): Promise<Controller> {
    const dir = mkdtempSync(join(tmpdir(), "brook-create-partitions-"));
    dirs.push(dir);
    const controller = await Controller.open({
      nodeId: 1,
      log: await LevelMetadataLog.open(dir),
      sessionCheckIntervalMs: 0,
      topicDefaults: { numPartitions: 2 },
    });
    for (const brokerId of [1, 2]) {
      await registerLiveBroker(controller, {
        brokerId,
        incarnationId: `i${brokerId}`,
        host: "h",
        port: brokerId,
      });
    }
    await controller.createTopics([
      { name: "t", numPartitions: -1, replicationFactor: -1, configs: new Map() },
    ]);
    return controller;
  }

  it("commits the new partitions; validate-only commits nothing; each topic has its own outcome", async () => {
    const controller = await controllerWithTopic();
    expect(controller.image.topic("t")?.partitions).toHaveLength(2); // topicDefaults.numPartitions
    const offset = controller.committedOffset;
    const [checked] = await controller.createPartitions([{ topic: "t", count: 4 }], true);
    expect(checked.error).toBeUndefined();
    expect(controller.committedOffset).toBe(offset);

    const outcomes = await controller.createPartitions([
      { topic: "t", count: 4 },
      { topic: "missing", count: 4 },
      { topic: "t", count: 4 }, // decided on the image the first one made
    ]);
    expect(outcomes.map((o) => [o.name, o.error?.code])).toEqual([
      ["t", undefined],
      ["missing", "UNKNOWN_TOPIC"],
      ["t", "INVALID_PARTITIONS"],
    ]);
    expect(outcomes[2].error?.message).toContain("topic 't' has 4 partition(s)");
    expect(controller.image.topic("t")?.partitions.map((p) => p.replicas.length)).toEqual([2, 2, 2, 2]);
    await controller.close();
  });

  it("the service turns wire assignments into replica lists and outcomes into wire errors", async () => {
    const controller = await controllerWithTopic();
    const response = await createPartitions(controller, {
      topics: [
        { name: "t", count: 3, assignments: [{ brokerIds: [2, 1] }] },
        { name: "t", count: 5, assignments: [{ brokerIds: [2] }, { brokerIds: [1] }] },
      ],
      validateOnly: false,
    });
    expect(response.topics?.map((t) => t.error?.code ?? "")).toEqual(["", "INVALID_REPLICA_ASSIGNMENT"]);
    expect(controller.image.partition("t", 2)).toMatchObject({ replicas: [2, 1], leader: 2, isr: [2, 1] });
    await controller.close();
  });
});
