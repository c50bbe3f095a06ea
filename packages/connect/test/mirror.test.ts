// brook-mirror between two real clusters, driven by test/helpers/drive-source.ts in the runtime's place:
// the copy of a topic has every committed record in the same partition and order, with keys, headers
// (repeated ones too) and timestamps; a task stopped mid-stream and started again from its remembered
// offsets neither skips nor repeats one; and a source group's committed offsets (one of them on a gap left
// by a transaction) arrive translated in the target, where the group resumes at the right records.
import { Brook, type ConsumedMessage, silentLogger } from "@brook/client";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SourceOffset } from "../src/api.js";
import { brookMirror, type MirrorConfig } from "../src/connectors/mirror/index.js";
import {
  driveSource,
  eventually,
  offsetsAroundGap,
  readCommitted,
  recordShape as shape,
} from "./helpers/drive-source.js";

let clusters: Cluster[] = [];
let source: Brook;
let target: Brook;

beforeAll(async () => {
  clusters = await Promise.all([startCluster({ nodes: 1 }), startCluster({ nodes: 1 })]);
  [source, target] = clusters.map(
    (cluster) => new Brook({ brokers: cluster.bootstrap.split(","), logger: silentLogger }),
  );
}, 60_000);
afterAll(async () => {
  await Promise.all(clusters.map((cluster) => cluster.stop()));
});

const partitions = 3;

function mirrorConfig(): MirrorConfig {
  return {
    "source.bootstrap.servers": clusters[0].bootstrap.split(","),
    "source.protocol": "brook",
    "source.cluster.alias": "source",
    topics: ["orders"],
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

/** Produces `count` records round-robin over the partitions, each with two "h" headers and a timestamp. */
async function produce(from: number, count: number): Promise<void> {
  const producer = source.producer({ lingerMs: 0 });
  const messages = Array.from({ length: count }, (_, index) => ({
    partition: (from + index) % partitions,
    key: `key-${from + index}`,
    value: `value-${from + index}`,
    headers: [
      { key: "h", value: Buffer.from("first") },
      { key: "h", value: Buffer.from(`second-${from + index}`) },
      { key: "trace", value: Buffer.from(String(from + index)) },
    ],
    timestamp: 1_700_000_000_000 + from + index,
  }));
  await producer.send({ topic: "orders", messages });
  await producer.disconnect();
}

/** Leaves a gap in partition 0: an aborted transaction's records and both transactions' markers. */
async function transactions(): Promise<void> {
  const producer = source.producer({ transactionalId: "mirror-test" });
  const aborted = await producer.transaction();
  await aborted.send({ topic: "orders", messages: [{ partition: 0, key: "aborted", value: "never" }] });
  await aborted.abort();
  const committed = await producer.transaction();
  await committed.send({ topic: "orders", messages: [{ partition: 0, key: "tx", value: "committed" }] });
  await committed.commit();
  await producer.disconnect();
}

describe("brook-mirror", () => {
  it("copies a topic record for record, resumes without skips or repeats, and translates group offsets", async () => {
    const sourceAdmin = source.admin();
    const targetAdmin = target.admin();
    await sourceAdmin.createTopics({ topics: [{ topic: "orders", numPartitions: partitions }] });
    await produce(0, 150);
    await transactions();
    await produce(150, 150);

    // A source group that has read part of each partition; on partition 0 it stands on the gap.
    const sourceRecords = await readCommitted(source, "orders", 301, partitions);
    const groupCommitted = offsetsAroundGap(sourceRecords);
    for (const [partition, offset] of groupCommitted.entries()) {
      await sourceAdmin.resetOffsets({
        groupId: "app",
        topic: "orders",
        to: { offset },
        partitions: [partition],
      });
    }

    // The first task stops mid-stream; the second starts from what the first had acknowledged.
    const offsets = new Map<string, SourceOffset>();
    const first = await driveSource(brookMirror, { config: mirrorConfig(), brook: target, offsets });
    await eventually(async () => (first.sent >= 100 ? true : undefined));
    await first.stop();
    expect(first.sent).toBeLessThan(301);
    await produce(300, 60);
    const second = await driveSource(brookMirror, { config: mirrorConfig(), brook: target, offsets });
    try {
      const expected = await readCommitted(source, "orders", 361, partitions);
      const mirrored = await readCommitted(target, "source.orders", 361, partitions);
      for (let partition = 0; partition < partitions; partition++) {
        expect(mirrored[partition].map(shape)).toEqual(expected[partition].map(shape));
      }
      // Nothing after the 361: a repeat would be one more record.
      const ends = await targetAdmin.fetchTopicOffsets("source.orders");
      expect(ends.reduce((sum, { high }) => sum + high, 0)).toBe(361);

      // The group's offsets, translated: each is the copy of the first record the group has not read.
      const resumeAt = groupCommitted.map((committed, partition) => {
        const index = expected[partition].findIndex((message) => message.offset >= committed);
        return mirrored[partition][index].offset;
      });
      const translated = await eventually(async () => {
        const committed = await targetAdmin.fetchOffsets({ groupId: "app", topics: ["source.orders"] });
        const offsetsNow = committed.map(({ offset }) => offset);
        return offsetsNow.every((offset) => offset >= 0) ? offsetsNow : undefined;
      });
      expect(translated).toEqual(resumeAt);
      const resumed = target.consumer({ groupId: "app", autoCommit: false, maxWaitMs: 100 });
      await resumed.assign([{ topic: "source.orders" }]);
      const firstSeen = new Map<number, ConsumedMessage>();
      for await (const message of resumed) {
        if (!firstSeen.has(message.partition)) firstSeen.set(message.partition, message);
        if (firstSeen.size === partitions) break;
      }
      await resumed.close();
      for (const [partition, committed] of groupCommitted.entries()) {
        const next = expected[partition].find((message) => message.offset >= committed)!;
        expect(shape(firstSeen.get(partition)!)).toEqual(shape(next));
      }
      const metrics = await second.metrics.getSingleMetricAsString("brook_connect_mirror_records_total");
      expect(metrics).toContain('topic="source.orders"');
    } finally {
      await second.stop();
      await sourceAdmin.close();
      await targetAdmin.close();
    }
  }, 45_000);
});
