import { describe, expect, it } from "vitest";
import {
  applyRecords,
  decodeMetadataRecord,
  encodeMetadataRecord,
  MetadataImage,
  type MetadataRecord,
  resolveTopicConfig,
  validateTopicConfigs,
  validateTopicName,
} from "../src/index.js";

const topicA: MetadataRecord[] = [
  { type: "topic", name: "a", topicId: "id-a" },
  {
    type: "partition",
    topicId: "id-a",
    partition: 0,
    replicas: [1],
    isr: [1],
    leader: 1,
    leaderEpoch: 0,
    partitionEpoch: 0,
  },
  {
    type: "partition",
    topicId: "id-a",
    partition: 1,
    replicas: [1],
    isr: [1],
    leader: 1,
    leaderEpoch: 0,
    partitionEpoch: 0,
  },
];

describe("metadata image", () => {
  it("replaying records builds topics, partitions, configs and brokers", () => {
    const image = applyRecords(
      MetadataImage.empty,
      [
        { type: "broker-registration", brokerId: 1, incarnationId: "x", host: "127.0.0.1", port: 9092 },
        ...topicA,
        { type: "topic-config", topicId: "id-a", key: "retention.ms", value: "1000" },
      ],
      0,
    );
    expect(image.offset).toBe(4);
    expect(image.brokers.get(1)?.port).toBe(9092);
    expect(image.topic("a")?.partitions.map((p) => p.partition)).toEqual([0, 1]);
    expect(image.topic("a")?.configs.get("retention.ms")).toBe("1000");
  });

  it("a change copies only the touched topic and leaves the old image intact", () => {
    const first = applyRecords(
      MetadataImage.empty,
      [...topicA, { type: "topic", name: "b", topicId: "id-b" }],
      0,
    );
    const second = applyRecords(
      first,
      [{ type: "topic-config", topicId: "id-a", key: "segment.ms", value: "5" }],
      4,
    );
    expect(second.topicsById.get("id-b")).toBe(first.topicsById.get("id-b"));
    expect(second.topic("a")).not.toBe(first.topic("a"));
    expect(first.topic("a")?.configs.has("segment.ms")).toBe(false);
  });

  it("removing a topic drops it by name and id; re-creating the name gives a fresh topic", () => {
    const created = applyRecords(MetadataImage.empty, topicA, 0);
    const removed = applyRecords(created, [{ type: "remove-topic", topicId: "id-a" }], 3);
    expect(removed.topic("a")).toBeUndefined();
    expect(removed.topicsById.size).toBe(0);
    const again = applyRecords(removed, [{ type: "topic", name: "a", topicId: "id-a2" }], 4);
    expect(again.topic("a")?.topicId).toBe("id-a2");
    expect(again.topic("a")?.partitions).toEqual([]);
  });

  it("a topic grows by partition records appended to it (CreatePartitions): the old ones are kept, as they were", () => {
    const created = applyRecords(MetadataImage.empty, topicA, 0);
    const grown = applyRecords(
      created,
      [2, 3].map(
        (partition): MetadataRecord => ({
          type: "partition",
          topicId: "id-a",
          partition,
          replicas: [1],
          isr: [1],
          leader: 1,
          leaderEpoch: 0,
          partitionEpoch: 0,
        }),
      ),
      created.offset + 1,
    );
    expect(grown.topic("a")?.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3]);
    expect(grown.topic("a")?.partitions.slice(0, 2)).toEqual(created.topic("a")?.partitions);
    expect(created.topic("a")?.partitions).toHaveLength(2); // the old image is untouched
    // A partition record must come next in order: a gap is a bug in whoever wrote it.
    expect(() =>
      applyRecords(grown, [{ ...topicA[1], partition: 6 } as MetadataRecord], grown.offset + 1),
    ).toThrow(/partitions are added in order/);
  });

  it("a broker registration from before the Kafka listener (no kafkaEndpoint) still replays, without one", () => {
    const stored = Buffer.from(
      '{"v":1,"type":"broker-registration","brokerId":1,"incarnationId":"x","host":"127.0.0.1","port":9092}',
    );
    const image = applyRecords(MetadataImage.empty, [decodeMetadataRecord(stored)], 0);
    expect(image.brokers.get(1)).toEqual({
      brokerId: 1,
      incarnationId: "x",
      host: "127.0.0.1",
      port: 9092,
      fenced: true,
    });
    const withKafka = applyRecords(
      image,
      [
        {
          type: "broker-registration",
          brokerId: 1,
          incarnationId: "y",
          host: "127.0.0.1",
          port: 9092,
          kafkaEndpoint: { host: "127.0.0.1", port: 9094 },
        },
      ],
      1,
    );
    expect(withKafka.brokers.get(1)?.kafkaEndpoint).toEqual({ host: "127.0.0.1", port: 9094 });
  });

  it("records survive an encode/decode round trip", () => {
    for (const record of topicA) expect(decodeMetadataRecord(encodeMetadataRecord(record))).toEqual(record);
  });
});

describe("topic config", () => {
  it("fills defaults and parses overrides", () => {
    const config = resolveTopicConfig(new Map([["retention.bytes", "100"]]));
    expect(config.retentionBytes).toBe(100);
    expect(config.flushMode).toBe("fsync");
    expect(config.maxMessageBytes).toBe(1024 * 1024);
  });

  it("rejects unknown keys and bad values, naming them", () => {
    expect(() => validateTopicConfigs([["retention.msx", "1"]])).toThrow(
      /unknown topic config 'retention.msx'/,
    );
    expect(() => validateTopicConfigs([["segment.bytes", "abc"]])).toThrow(
      /invalid value 'abc' for topic config 'segment.bytes'/,
    );
    expect(() => validateTopicConfigs([["flush.mode", "sometimes"]])).toThrow(/INVALID_CONFIG/);
    // segment positions are 32-bit, as in Kafka
    expect(() => validateTopicConfigs([["segment.bytes", String(2 ** 32)]])).toThrow(/INVALID_CONFIG/);
  });
});

describe("topic names", () => {
  it.each(["", ".", "..", "a/b", "white space", "é", "x".repeat(250)])("rejects %j", (name) => {
    expect(() => validateTopicName(name)).toThrow(/INVALID_TOPIC/);
  });
  it.each(["orders", "a.b_c-d", "x".repeat(249)])("accepts %j", (name) => {
    expect(() => validateTopicName(name)).not.toThrow();
  });
});
