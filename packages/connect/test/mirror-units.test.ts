// brook-mirror's pure parts: which task mirrors what (on a Kafka-protocol source too, through its
// group's assigner), target names and filters, when offset syncs are written, how a source group's offset
// translates (markers and gaps, never skipping, bounded history), and the Kafka source's bounded queue.
import fc from "fast-check";
import { AssignerProtocol } from "kafkajs";
import { describe, expect, it } from "vitest";
import { BoundedQueue } from "../src/connectors/mirror/bounded-queue.js";
import type { MirrorConfig } from "../src/connectors/mirror/config.js";
import {
  forwardOnly,
  mirrorNames,
  OffsetSyncTracker,
  OffsetTranslator,
  ownerTask,
  partitionsOfTask,
  planTargetTopics,
  SyncHistory,
  translateGroupOffsets,
} from "../src/connectors/mirror/index.js";
import {
  assignPartitions,
  decodeMember,
  type MirrorMember,
} from "../src/connectors/mirror/kafka-assigner.js";

const config: MirrorConfig = {
  "source.bootstrap.servers": ["127.0.0.1:9092"],
  "source.protocol": "brook",
  "source.cluster.alias": "source",
  topics: [".*"],
  "topics.exclude": ["secret-.*"],
  "replication.policy.separator": ".",
  "refresh.topics.interval.ms": 5000,
  "sync.group.offsets.enabled": true,
  groups: [".*"],
  "groups.exclude": ["connect-.*", "__.*"],
  "emit.checkpoints.interval.ms": 5000,
  "offset-syncs.topic": "__mirror-offset-syncs",
};
const names = mirrorNames(config);

describe("task split", () => {
  it("gives every partition to exactly one task, the same one whatever else exists", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 9 }),
        (topics, partitionsEach, taskCount) => {
          const all = topics.flatMap((topic) =>
            Array.from({ length: partitionsEach }, (_, partition) => ({ topic, partition })),
          );
          const shares = Array.from({ length: taskCount }, (_, taskId) =>
            partitionsOfTask(all, taskId, taskCount),
          );
          expect(shares.flat()).toHaveLength(all.length);
          for (const each of all) {
            expect(shares.filter((share) => share.includes(each))).toHaveLength(1);
            // A pure function of the partition and taskCount: more topics or partitions move nothing.
            expect(partitionsOfTask([each], ownerTask(each, taskCount), taskCount)).toEqual([each]);
          }
        },
      ),
    );
  });

  it("spreads a topic's partitions round-robin over the tasks", () => {
    const owners = Array.from({ length: 6 }, (_, partition) => ownerTask({ topic: "orders", partition }, 3));
    expect(new Set(owners).size).toBe(3);
    expect(owners.filter((owner) => owner === owners[0])).toHaveLength(2);
  });
});

describe("names", () => {
  it("renames with alias and separator, and never mirrors internal topics, its own copies or excluded ones", () => {
    expect(names.targetTopic("orders")).toBe("source.orders");
    expect(names.mirrorsTopic("orders")).toBe(true);
    expect(names.mirrorsTopic("__consumer_offsets")).toBe(false);
    expect(names.mirrorsTopic("source.orders")).toBe(false);
    expect(names.mirrorsTopic("secret-plans")).toBe(false);
    const some = mirrorNames({ ...config, topics: ["orders", "pay.*"], "replication.policy.separator": "_" });
    expect(some.targetTopic("orders")).toBe("source_orders");
    expect(["orders", "payments", "orders2", "refunds"].filter(some.mirrorsTopic)).toEqual([
      "orders",
      "payments",
    ]);
  });

  it("takes groups matching groups and not groups.exclude", () => {
    expect(["app", "connect-sink", "__internal"].filter(names.mirrorsGroup)).toEqual(["app"]);
  });
});

describe("topic plan", () => {
  it("creates missing topics with the source's partitions and cleanup.policy, grows smaller ones", () => {
    const plan = planTargetTopics(
      [
        { name: "a", partitions: 3, cleanupPolicy: "compact" },
        { name: "b", partitions: 4 },
        { name: "c", partitions: 2 },
      ],
      new Map([
        ["source.b", 2],
        ["source.c", 2],
      ]),
      names,
    );
    expect(plan).toEqual({
      create: [
        {
          topic: "source.a",
          numPartitions: 3,
          configEntries: [{ name: "cleanup.policy", value: "compact" }],
        },
      ],
      grow: [{ topic: "source.b", count: 4 }],
    });
  });
});

describe("offset sync tracker", () => {
  const policy = { syncRecordsMax: 3, syncIntervalMs: 1000 };
  const at = (upstream: number, downstream: number) => ({ topic: "t", partition: 0, upstream, downstream });

  it("syncs the first record, every change of distance, and every syncRecordsMax records", () => {
    const tracker = new OffsetSyncTracker(policy);
    const written = [at(0, 0), at(1, 1), at(2, 2), at(4, 3), at(5, 4), at(6, 5), at(7, 6), at(8, 8)]
      .map((each) => tracker.mirrored(each, 0))
      .filter((sync) => sync !== undefined);
    // 4 -> 3: a gap upstream (a marker or an aborted record); 8 -> 8: a marker downstream.
    expect(written).toEqual([at(0, 0), at(4, 3), at(7, 6), at(8, 8)]);
  });

  it("syncs a rewind, and the last record once it waited syncIntervalMs (an idle source)", () => {
    const tracker = new OffsetSyncTracker(policy);
    tracker.mirrored(at(10, 10), 0);
    expect(tracker.mirrored(at(11, 11), 10)).toBeUndefined();
    expect(tracker.due(500)).toEqual([]);
    expect(tracker.due(1000)).toEqual([at(11, 11)]);
    expect(tracker.due(5000)).toEqual([]);
    expect(tracker.mirrored(at(5, 12), 5000)).toEqual(at(5, 12));
  });
});

/** The offsets a mirror gives records: upstream records (in order) each get the next downstream offset,
 * after `markersBefore[i]` downstream markers. Returns the syncs a tracker writes, and the mapping.
 */
function mirror(upstream: number[], markersBefore: number[], syncRecordsMax = 4) {
  const tracker = new OffsetSyncTracker({ syncRecordsMax, syncIntervalMs: Number.POSITIVE_INFINITY });
  const downstreamOf = new Map<number, number>();
  const syncs = [];
  let next = 0;
  for (const [index, offset] of upstream.entries()) {
    next += markersBefore[index] ?? 0;
    downstreamOf.set(offset, next);
    const sync = tracker.mirrored({ topic: "t", partition: 0, upstream: offset, downstream: next }, 0);
    if (sync !== undefined) syncs.push(sync);
    next++;
  }
  // The source goes idle: the last record gets its sync once it has waited syncIntervalMs.
  syncs.push(...tracker.due(Number.POSITIVE_INFINITY));
  return { syncs, downstreamOf };
}

/** The right target offset for a group that consumed every source record before `committed`. */
function exact(committed: number, upstream: number[], downstreamOf: Map<number, number>): number {
  const consumed = upstream.filter((offset) => offset < committed);
  const last = consumed.at(-1);
  return last === undefined ? downstreamOf.get(upstream[0])! : downstreamOf.get(last)! + 1;
}

/** The furthest a translation may go without skipping: the copy of the first record not consumed. */
function furthest(committed: number, upstream: number[], downstreamOf: Map<number, number>): number {
  const next = upstream.find((offset) => offset >= committed);
  return next === undefined ? downstreamOf.get(upstream.at(-1)!)! + 1 : downstreamOf.get(next)!;
}

describe("offset translation", () => {
  it("is exact between consecutive syncs, across gaps upstream and markers downstream", () => {
    // Source: records 0-4, a marker at 5, 6-9, an aborted transaction 10-11 and its marker 12, 13-15.
    const upstream = [0, 1, 2, 3, 4, 6, 7, 8, 9, 13, 14, 15];
    const markers = [0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0];
    const { syncs, downstreamOf } = mirror(upstream, markers);
    const history = new SyncHistory(64);
    for (const sync of syncs) history.add(sync);
    for (let committed = 0; committed <= 15; committed++) {
      expect([committed, history.translate(committed)]).toEqual([
        committed,
        exact(committed, upstream, downstreamOf),
      ]);
    }
    expect(history.translate(16)).toBe(downstreamOf.get(15)! + 1);
  });

  it("does not translate a group ahead of the last sync, and floors at the first sync", () => {
    const history = new SyncHistory(8);
    history.add({ upstream: 100, downstream: 0 });
    history.add({ upstream: 110, downstream: 10 });
    expect(history.translate(50)).toBe(0);
    expect(history.translate(101)).toBe(1);
    expect(history.translate(111)).toBe(11);
    expect(history.translate(112)).toBeUndefined();
    expect(new SyncHistory(8).translate(5)).toBeUndefined();
  });

  it("never skips a record: any history, any committed offset, bounded or not", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gap: fc.nat(3), markers: fc.nat(2) }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 1, max: 6 }),
        (steps, historyMax, syncRecordsMax) => {
          let offset = -1;
          const upstream = steps.map(({ gap }) => (offset += gap + 1));
          const { syncs, downstreamOf } = mirror(
            upstream,
            steps.map(({ markers }) => markers),
            syncRecordsMax,
          );
          const history = new SyncHistory(historyMax);
          for (const sync of syncs) history.add(sync);
          expect(history.size).toBeLessThanOrEqual(historyMax);
          for (let committed = 0; committed <= offset + 1; committed++) {
            const translated = history.translate(committed);
            if (translated !== undefined) {
              expect(translated).toBeLessThanOrEqual(furthest(committed, upstream, downstreamOf));
            }
          }
          // With room for every sync, translation at a sync point and below the first is exact.
          if (syncs.length <= historyMax) {
            for (const { upstream: at } of syncs) {
              expect(history.translate(at + 1)).toBe(exact(at + 1, upstream, downstreamOf));
            }
          }
        },
      ),
    );
  });

  it("keeps the first and the latest syncs when it thins, and stays safe after a rewind", () => {
    const history = new SyncHistory(4);
    for (let index = 0; index <= 10; index++) history.add({ upstream: index * 10, downstream: index * 10 });
    expect(history.size).toBe(4);
    expect(history.translate(0)).toBe(0);
    expect(history.translate(101)).toBe(101);
    expect(history.translate(15)).toBeLessThanOrEqual(15);
    // The mirror restarted at 55 and copied it again after 100: the copies after 100 are the ones that
    // count for 55 on; before it, the first copies still do.
    history.add({ upstream: 55, downstream: 101 });
    expect(history.translate(56)).toBe(102);
    expect(history.translate(45)).toBeLessThanOrEqual(45);
  });
});

describe("group offsets", () => {
  it("translates mirrored topics only, and commits only forward", () => {
    const translator = new OffsetTranslator();
    translator.add({ topic: "orders", partition: 0, upstream: 0, downstream: 0 });
    translator.add({ topic: "orders", partition: 0, upstream: 10, downstream: 12 });
    translator.add({ topic: "orders", partition: 1, upstream: 0, downstream: 0 });
    const translated = translateGroupOffsets(
      [
        { topic: "orders", partition: 0, offset: 5, metadata: "" },
        { topic: "orders", partition: 1, offset: 1, metadata: "" },
        { topic: "orders", partition: 2, offset: 3, metadata: "" },
        { topic: "secret-x", partition: 0, offset: 3, metadata: "" },
        { topic: "orders", partition: 3, offset: -1, metadata: "" },
      ],
      names,
      translator,
    );
    expect(translated).toEqual([
      { topic: "source.orders", partition: 0, offset: 5 },
      { topic: "source.orders", partition: 1, offset: 1 },
    ]);
    expect(
      forwardOnly(translated, [{ topic: "source.orders", partition: 0, offset: 7, metadata: "" }]),
    ).toEqual([{ topic: "source.orders", partition: 1, offset: 1 }]);
  });
});

describe("kafka source group assigner", () => {
  const member = (
    memberId: string,
    taskId: number,
    taskCount: number,
    topics = ["a", "b"],
  ): MirrorMember => ({
    memberId,
    taskId,
    taskCount,
    topics,
  });

  it("gives each task exactly the partitions task-split.ts gives it on the Brook path", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.uniqueArray(
          fc.tuple(
            // Names an object has already (valueOf) must not confuse the assignment.
            fc.oneof(
              fc.constantFrom("orders", "valueOf", "constructor"),
              fc.string({ minLength: 1, maxLength: 8 }),
            ),
            fc.integer({ min: 1, max: 12 }),
          ),
          {
            selector: ([topic]) => topic,
          },
        ),
        (taskCount, topics) => {
          const counts = new Map(topics);
          const names = [...counts.keys()];
          // Members in any order: the assignment does not depend on who leads or joined first.
          const members = Array.from({ length: taskCount }, (_, taskId) =>
            member(`m-${(taskId * 7) % taskCount}-${taskId}`, taskId, taskCount, names),
          ).reverse();
          const assignments = assignPartitions(members, counts);
          for (const { memberId, taskId } of members) {
            const all = [...counts].flatMap(([topic, count]) =>
              Array.from({ length: count }, (_, partition) => ({ topic, partition })),
            );
            const expected = partitionsOfTask(all, taskId, taskCount);
            const got = Object.entries(assignments.get(memberId) ?? {}).flatMap(([topic, partitions]) =>
              partitions.map((partition) => ({ topic, partition })),
            );
            // An assignment is an object by topic: its key order is not the topics' order.
            const byName = (list: { topic: string; partition: number }[]) =>
              list.map(({ topic, partition }) => `${topic}:${partition}`).sort();
            expect(byName(got)).toEqual(byName(expected));
          }
        },
      ),
    );
  });

  it("gives an absent task's partitions to no one, a topic only to its subscribers, a claimed task once", () => {
    const counts = new Map([
      ["a", 4],
      ["b", 2],
    ]);
    const [owner0, owner1] = [0, 1].map((taskId) =>
      [0, 1, 2, 3].filter((partition) => ownerTask({ topic: "a", partition }, 2) === taskId),
    );
    const alone = assignPartitions([member("m1", 0, 2)], counts);
    expect(alone.get("m1")?.a).toEqual(owner0);

    const onlyA = assignPartitions([member("m1", 1, 2, ["a"])], counts);
    expect(onlyA.get("m1")).toEqual({ a: owner1 });

    const twice = assignPartitions([member("m2", 0, 2), member("m1", 0, 2)], counts);
    expect(twice.get("m1")?.a).toEqual(owner0);
    expect(twice.get("m2")).toEqual({});
  });

  it("reads a member's task from its userData, and takes a member of another kind for none", () => {
    const metadata = (userData: Buffer) =>
      AssignerProtocol.MemberMetadata.encode({ version: 1, topics: ["a"], userData });
    const task = Buffer.from(JSON.stringify({ taskId: 2, taskCount: 3 }));
    expect(decodeMember({ memberId: "m", memberMetadata: metadata(task) })).toEqual(member("m", 2, 3, ["a"]));
    for (const userData of ["", "not json", '{"taskId":3,"taskCount":3}', '{"taskId":-1,"taskCount":1}']) {
      expect(
        decodeMember({ memberId: "m", memberMetadata: metadata(Buffer.from(userData)) }),
      ).toBeUndefined();
    }
    expect(decodeMember({ memberId: "m", memberMetadata: Buffer.from([1]) })).toBeUndefined();
  });
});

describe("bounded queue", () => {
  it("holds at most its capacity: a writer waits for room, which the reader's next item frees", async () => {
    const queue = new BoundedQueue<number>(2);
    queue.push(1);
    queue.push(2);
    expect(queue.full).toBe(true);
    expect(() => queue.push(3)).toThrow();
    const reader = queue[Symbol.asyncIterator]();
    const room = queue.space(60_000, new AbortController().signal);
    expect((await reader.next()).value).toBe(1);
    await room;
    expect(queue.full).toBe(false);
    queue.push(3);
    expect((await reader.next()).value).toBe(2);
    expect((await reader.next()).value).toBe(3);
  });

  it("ends at once when ended, dropping what it holds, and throws once failed", async () => {
    const ended = new BoundedQueue<number>(2);
    const reader = ended[Symbol.asyncIterator]();
    const waiting = reader.next();
    ended.end();
    expect(await waiting).toEqual({ done: true, value: undefined });
    const holding = new BoundedQueue<number>(2);
    holding.push(1);
    holding.end();
    expect(await holding[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
    const failed = new BoundedQueue<number>(2);
    const reading = failed[Symbol.asyncIterator]().next();
    failed.fail(new Error("source lost"));
    await expect(reading).rejects.toThrow("source lost");
  });
});
