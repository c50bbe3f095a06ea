// brook-mirror with source.protocol=kafka: the source cluster is read by kafkajs through its Kafka
// listener, and kafkajs itself writes most source records and commits the source group's offsets. As in
// mirror.test.ts: the copy has every committed record in the same partition and order, with keys, headers
// (repeated ones too) and timestamps; tasks stopped mid-stream and started again (now two, sharing the
// source group <connector>-mirror by task-split.ts's ownership) neither skip nor repeat one, nor do they
// when a new topic makes them join the group again mid-stream; a source group's offsets, one on a
// transaction's gap, arrive translated in the target; and the mirror's own group commits nothing on the
// source and is never translated.
import { Brook, type ConsumedMessage, silentLogger } from "@brook/client";
import { type Cluster, startCluster } from "@brook/testkit";
import { Kafka, type Admin as KafkaAdmin, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SourceOffset } from "../src/api.js";
import { brookMirror, type MirrorConfig } from "../src/connectors/mirror/index.js";
import {
  type DrivenSource,
  driveSource,
  eventually,
  offsetsAroundGap,
  readCommitted,
  recordShape,
} from "./helpers/drive-source.js";

let clusters: Cluster[] = [];
let source: Brook;
let target: Brook;
let kafka: Kafka;

beforeAll(async () => {
  clusters = await Promise.all([startCluster({ nodes: 1 }), startCluster({ nodes: 1 })]);
  [source, target] = clusters.map(
    (cluster) => new Brook({ brokers: cluster.bootstrap.split(","), logger: silentLogger }),
  );
  kafka = new Kafka({
    brokers: clusters[0].kafkaBootstrap.split(","),
    clientId: "mirror-kafka-test",
    logLevel: logLevel.NOTHING,
  });
}, 60_000);
afterAll(async () => {
  await Promise.all(clusters.map((cluster) => cluster.stop()));
});

const partitions = 3;
const connector = "dr";

function mirrorConfig(): MirrorConfig {
  return {
    "source.bootstrap.servers": clusters[0].kafkaBootstrap.split(","),
    "source.protocol": "kafka",
    "source.cluster.alias": "source",
    topics: ["orders", "payments"],
    "topics.exclude": undefined,
    "replication.policy.separator": ".",
    "refresh.topics.interval.ms": 500,
    "sync.group.offsets.enabled": true,
    groups: [".*"],
    "groups.exclude": ["connect-.*", "__.*"],
    "emit.checkpoints.interval.ms": 500,
    "offset-syncs.topic": "__mirror-offset-syncs",
  };
}

const headersOf = (index: number) => ({ h: ["first", `second-${index}`], trace: String(index) });
const timestampOf = (index: number) => 1_700_000_000_000 + index;

/** `count` records from kafkajs, round-robin over the partitions, each with two "h" headers. */
async function produceWithKafkajs(from: number, count: number, topic = "orders"): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  const indexes = Array.from({ length: count }, (_, index) => from + index);
  await producer.send({
    topic,
    messages: indexes.map((index) => ({
      partition: index % partitions,
      key: `key-${index}`,
      value: `value-${index}`,
      headers: headersOf(index),
      timestamp: String(timestampOf(index)),
    })),
  });
  await producer.disconnect();
}

/** The same through the Brook SDK. */
async function produceWithSdk(from: number, count: number): Promise<void> {
  const producer = source.producer({ lingerMs: 0 });
  await producer.send({
    topic: "orders",
    messages: Array.from({ length: count }, (_, offset) => from + offset).map((index) => ({
      partition: index % partitions,
      key: `key-${index}`,
      value: `value-${index}`,
      headers: Object.entries(headersOf(index)).flatMap(([key, values]) =>
        [values].flat().map((value) => ({ key, value: Buffer.from(value) })),
      ),
      timestamp: timestampOf(index),
    })),
  });
  await producer.disconnect();
}

/** Leaves a gap in partition 0: an aborted transaction's records and both transactions' markers. */
async function transactions(): Promise<void> {
  const producer = source.producer({ transactionalId: "mirror-kafka-test" });
  const aborted = await producer.transaction();
  await aborted.send({ topic: "orders", messages: [{ partition: 0, key: "aborted", value: "never" }] });
  await aborted.abort();
  const committed = await producer.transaction();
  await committed.send({ topic: "orders", messages: [{ partition: 0, key: "tx", value: "committed" }] });
  await committed.commit();
  await producer.disconnect();
}

/** Commits the group's offsets on the source through kafkajs, as an outside application would. */
async function commitSourceGroup(admin: KafkaAdmin, groupId: string, offsets: number[]): Promise<void> {
  await admin.setOffsets({
    groupId,
    topic: "orders",
    partitions: offsets.map((offset, partition) => ({ partition, offset: String(offset) })),
  });
}

function drive(offsets: Map<string, SourceOffset>, taskId: number, taskCount: number): Promise<DrivenSource> {
  return driveSource(brookMirror, {
    config: mirrorConfig(),
    brook: target,
    offsets,
    connector,
    taskId,
    taskCount,
  });
}

describe("brook-mirror with source.protocol=kafka", () => {
  it("copies a Kafka-protocol source record for record, resumes without skips or repeats, and translates group offsets", async () => {
    const sourceAdmin = kafka.admin();
    await sourceAdmin.connect();
    const targetAdmin = target.admin();
    await sourceAdmin.createTopics({ topics: [{ topic: "orders", numPartitions: partitions }] });
    await produceWithKafkajs(0, 100);
    await produceWithSdk(100, 50);
    await transactions();
    await produceWithKafkajs(150, 150);

    // A source group that has read part of each partition; on partition 0 it stands on the gap.
    const sourceRecords = await readCommitted(source, "orders", 301, partitions);
    const groupCommitted = offsetsAroundGap(sourceRecords);
    await commitSourceGroup(sourceAdmin, "app", groupCommitted);

    // One task stops mid-stream; two tasks then start from what it had acknowledged.
    const offsets = new Map<string, SourceOffset>();
    const first = await drive(offsets, 0, 1);
    await eventually(async () => (first.sent >= 100 ? true : undefined));
    await first.stop();
    expect(first.sent).toBeLessThan(301);
    await produceWithKafkajs(300, 60);
    const tasks = [await drive(offsets, 0, 2), await drive(offsets, 1, 2)];
    try {
      // A new topic: each task joins the group again for it, while orders still has records to copy.
      await sourceAdmin.createTopics({ topics: [{ topic: "payments", numPartitions: partitions }] });
      await Promise.all([produceWithKafkajs(360, 60), produceWithKafkajs(0, 90, "payments")]);
      await expectCopied(targetAdmin, "orders", 421);
      await expectCopied(targetAdmin, "payments", 90);
      expect(tasks.every((task) => task.sent > 0)).toBe(true);
      const expected = await readCommitted(source, "orders", 421, partitions);
      const mirrored = await readCommitted(target, "source.orders", 421, partitions);

      await expectTranslated(targetAdmin, groupCommitted, expected, mirrored);
      await expectResumesAt(groupCommitted, expected);

      // The mirror's own source group holds no offsets, and is not translated.
      const own = await sourceAdmin.fetchOffsets({ groupId: `${connector}-mirror`, topics: ["orders"] });
      expect(own.flatMap(({ partitions }) => partitions).every(({ offset }) => offset === "-1")).toBe(true);
      expect(await targetAdmin.fetchOffsets({ groupId: `${connector}-mirror` })).toEqual([]);
      const lag = await tasks[0].metrics.getSingleMetricAsString("brook_connect_mirror_lag_records");
      expect(lag).toContain('topic="source.orders"');
    } finally {
      await Promise.all(tasks.map((task) => task.stop()));
      await sourceAdmin.disconnect();
      await targetAdmin.close();
    }
  }, 45_000);
});

/** The target's copy has the source topic's `count` records, partition for partition, and no more. */
async function expectCopied(targetAdmin: ReturnType<Brook["admin"]>, topic: string, count: number) {
  const expected = await readCommitted(source, topic, count, partitions);
  const mirrored = await readCommitted(target, `source.${topic}`, count, partitions);
  for (let partition = 0; partition < partitions; partition++) {
    expect(mirrored[partition].map(recordShape)).toEqual(expected[partition].map(recordShape));
  }
  // Nothing more: a repeat would be one more record.
  const ends = await targetAdmin.fetchTopicOffsets(`source.${topic}`);
  expect(ends.reduce((sum, { high }) => sum + high, 0)).toBe(count);
}

/** The group's offsets in the target: each is the copy of the first record the group has not read. */
async function expectTranslated(
  targetAdmin: ReturnType<Brook["admin"]>,
  groupCommitted: number[],
  expected: ConsumedMessage[][],
  mirrored: ConsumedMessage[][],
): Promise<void> {
  const resumeAt = groupCommitted.map((committed, partition) => {
    const index = expected[partition].findIndex((message) => message.offset >= committed);
    return mirrored[partition][index].offset;
  });
  const translated = await eventually(async () => {
    const committed = await targetAdmin.fetchOffsets({ groupId: "app", topics: ["source.orders"] });
    const offsetsNow = committed.map(({ offset }) => offset);
    return offsetsNow.length === partitions && offsetsNow.every((offset) => offset >= 0)
      ? offsetsNow
      : undefined;
  });
  expect(translated).toEqual(resumeAt);
}

/** A consumer of the group in the target starts at the copy of the first record it had not read. */
async function expectResumesAt(groupCommitted: number[], expected: ConsumedMessage[][]): Promise<void> {
  const resumed = target.consumer({ groupId: "app", autoCommit: false, maxWaitMs: 100 });
  await resumed.assign([{ topic: "source.orders" }]);
  const firstSeen = new Map<number, ConsumedMessage>();
  for await (const message of resumed) {
    if (!firstSeen.has(message.partition)) firstSeen.set(message.partition, message);
    if (firstSeen.size === partitions) break;
  }
  await resumed.close();
  for (const [partition, committed] of groupCommitted.entries()) {
    const next = expected[partition].find((message) => message.offset >= committed);
    expect(next).toBeDefined();
    expect(recordShape(firstSeen.get(partition) as ConsumedMessage)).toEqual(
      recordShape(next as ConsumedMessage),
    );
  }
}
