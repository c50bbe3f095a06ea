// Broker fencing and partition-change records: how replay applies them.
import { describe, expect, it } from "vitest";
import {
  applyRecords,
  decodeMetadataRecord,
  encodeMetadataRecord,
  MetadataImage,
  type MetadataRecord,
} from "../src/index.js";

const cluster: MetadataRecord[] = [
  { type: "broker-registration", brokerId: 1, incarnationId: "one", host: "h1", port: 1 },
  { type: "broker-registration", brokerId: 2, incarnationId: "two", host: "h2", port: 2 },
  { type: "topic", name: "a", topicId: "id-a" },
  {
    type: "partition",
    topicId: "id-a",
    partition: 0,
    replicas: [1, 2],
    isr: [1, 2],
    leader: 1,
    leaderEpoch: 3,
    partitionEpoch: 7,
  },
];
const base = applyRecords(MetadataImage.empty, cluster, 0);
const next = (records: MetadataRecord[]) => applyRecords(base, records, base.offset + 1);

describe("broker records", () => {
  it("a registration starts fenced until the controller unfences it", () => {
    expect(base.brokers.get(1)).toMatchObject({ incarnationId: "one", fenced: true });
  });

  it("broker-unfence and broker-fence flip only the fenced flag", () => {
    const unfenced = next([{ type: "broker-unfence", brokerId: 1, incarnationId: "one" }]);
    expect(unfenced.brokers.get(1)).toEqual({ ...base.brokers.get(1), fenced: false });
    const fenced = applyRecords(unfenced, [{ type: "broker-fence", brokerId: 1, incarnationId: "one" }], 10);
    expect(fenced.brokers.get(1)?.fenced).toBe(true);
    expect(fenced.brokers.get(2)).toBe(base.brokers.get(2));
  });

  it("a new registration of a known id replaces the incarnation and starts fenced again", () => {
    const image = next([
      { type: "broker-unfence", brokerId: 1, incarnationId: "one" },
      { type: "broker-registration", brokerId: 1, incarnationId: "uno", host: "h1", port: 1 },
    ]);
    expect(image.brokers.get(1)).toMatchObject({ incarnationId: "uno", fenced: true });
  });

  it("fencing a different incarnation than the registered one is a bug (assertion)", () => {
    expect(() => next([{ type: "broker-fence", brokerId: 1, incarnationId: "old" }])).toThrow(/assertion/);
    expect(() => next([{ type: "broker-unfence", brokerId: 9, incarnationId: "x" }])).toThrow(/assertion/);
  });
});

describe("partition-change record", () => {
  it("a new leader bumps the leader epoch and the partition epoch", () => {
    const image = next([{ type: "partition-change", topicId: "id-a", partition: 0, leader: 2, isr: [2] }]);
    expect(image.partition("a", 0)).toEqual({
      partition: 0,
      replicas: [1, 2],
      isr: [2],
      leader: 2,
      leaderEpoch: 4,
      partitionEpoch: 8,
    });
  });

  it("an ISR change bumps only the partition epoch", () => {
    const image = next([{ type: "partition-change", topicId: "id-a", partition: 0, isr: [1] }]);
    expect(image.partition("a", 0)).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 3, partitionEpoch: 8 });
  });

  it("naming the current leader again is not a leader change", () => {
    const image = next([{ type: "partition-change", topicId: "id-a", partition: 0, leader: 1 }]);
    expect(image.partition("a", 0)).toMatchObject({ leaderEpoch: 3, partitionEpoch: 8 });
  });

  it("leader -1 takes the partition offline with a new leader epoch", () => {
    const image = next([{ type: "partition-change", topicId: "id-a", partition: 0, leader: -1 }]);
    expect(image.partition("a", 0)).toMatchObject({ leader: -1, isr: [1, 2], leaderEpoch: 4 });
  });

  it("replicas can be changed", () => {
    const image = next([{ type: "partition-change", topicId: "id-a", partition: 0, replicas: [2, 1] }]);
    expect(image.partition("a", 0)?.replicas).toEqual([2, 1]);
  });

  it("a change to an unknown partition is a bug (assertion)", () => {
    expect(() => next([{ type: "partition-change", topicId: "id-a", partition: 5, isr: [1] }])).toThrow(
      /assertion/,
    );
  });

  it("replay is deterministic: the same records give equal images", () => {
    const records: MetadataRecord[] = [
      { type: "broker-unfence", brokerId: 2, incarnationId: "two" },
      { type: "partition-change", topicId: "id-a", partition: 0, leader: 2, isr: [2] },
      { type: "partition-change", topicId: "id-a", partition: 0, isr: [2, 1] },
    ];
    expect(next(records)).toEqual(next(records));
    expect(next(records).partition("a", 0)).toMatchObject({ leaderEpoch: 4, partitionEpoch: 9 });
  });

  it("the new records round-trip through the versioned JSON encoding", () => {
    const records: MetadataRecord[] = [
      { type: "broker-fence", brokerId: 1, incarnationId: "one" },
      { type: "broker-unfence", brokerId: 1, incarnationId: "one" },
      { type: "partition-change", topicId: "id-a", partition: 0, leader: 2, isr: [2], replicas: [1, 2] },
      { type: "partition-change", topicId: "id-a", partition: 0, isr: [1] },
    ];
    for (const record of records) expect(decodeMetadataRecord(encodeMetadataRecord(record))).toEqual(record);
  });
});
