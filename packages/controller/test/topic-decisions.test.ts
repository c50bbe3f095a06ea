// Creating and deleting topics, decided from the image alone: which brokers
// may take replicas (registered and unfenced), their racks, and the defaults.
import { applyRecords, MetadataImage, type MetadataRecord } from "@brook/metadata";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planCreateTopic, planDeleteTopic } from "../src/index.js";

interface BrokerSpec {
  readonly brokerId: number;
  readonly rack?: string;
  readonly fenced?: boolean;
}

/** An image of registered brokers, unfenced unless `fenced`, built by the same replay controllers use. */
function imageOf(brokers: readonly BrokerSpec[]): MetadataImage {
  const records = brokers.flatMap(({ brokerId, rack, fenced }): MetadataRecord[] => {
    const incarnationId = `i${brokerId}`;
    const registration: MetadataRecord = {
      type: "broker-registration",
      brokerId,
      incarnationId,
      host: "h",
      port: brokerId,
      ...(rack === undefined ? {} : { rack }),
    };
    return fenced ? [registration] : [registration, { type: "broker-unfence", brokerId, incarnationId }];
  });
  return applyRecords(MetadataImage.empty, records, 0);
}

/** The image after a decision's records, as every node would replay them. */
const replay = (image: MetadataImage, records: readonly MetadataRecord[]) =>
  applyRecords(image, records, image.offset + 1);

const request = {
  name: "t",
  numPartitions: 2,
  replicationFactor: 1,
  configs: new Map([["retention.ms", "5"]]),
};

/** The replicas of each partition of the topic the plan creates. */
const placed = (records: readonly MetadataRecord[]) =>
  records.flatMap((record) => (record.type === "partition" ? [record.replicas] : []));

describe("topic decisions", () => {
  const withBroker = imageOf([{ brokerId: 1 }]);

  it("creating a topic yields the topic, its configs and one record per partition", () => {
    const records = planCreateTopic(withBroker, request, "id-t");
    expect(records.map((r) => r.type)).toEqual(["topic", "topic-config", "partition", "partition"]);
    const image = replay(withBroker, records);
    expect(image.topic("t")?.partitions.map((p) => p.leader)).toEqual([1, 1]);
  });

  it("refuses a duplicate name, a bad name and a bad config with typed errors", () => {
    const image = replay(withBroker, planCreateTopic(withBroker, request, "id-t"));
    expect(() => planCreateTopic(image, request, "id-2")).toThrow(/TOPIC_ALREADY_EXISTS/);
    expect(() => planCreateTopic(image, { ...request, name: "bad name" }, "x")).toThrow(/INVALID_TOPIC/);
    expect(() =>
      planCreateTopic(image, { ...request, name: "u", configs: new Map([["nope", "1"]]) }, "x"),
    ).toThrow(/INVALID_CONFIG/);
  });

  it("-1 asks for the default partition count and replication factor; 0 is refused", () => {
    const records = planCreateTopic(
      withBroker,
      { ...request, numPartitions: -1, replicationFactor: -1 },
      "id",
    );
    expect(records.filter((r) => r.type === "partition")).toHaveLength(1);
    expect(() => planCreateTopic(withBroker, { ...request, numPartitions: 0 }, "id")).toThrow(
      /INVALID_PARTITIONS/,
    );
    expect(() => planCreateTopic(withBroker, { ...request, replicationFactor: 0 }, "id")).toThrow(
      /INVALID_REPLICATION_FACTOR/,
    );
  });

  it("placement is a function of the image alone: leaders keep spreading, and refill after a deletion", () => {
    const single = { name: "", numPartitions: 1, replicationFactor: 2, configs: new Map() };
    let image = imageOf([{ brokerId: 1 }, { brokerId: 2 }, { brokerId: 3 }]);
    const create = (name: string) => {
      const records = planCreateTopic(image, { ...single, name }, `id-${name}`);
      image = replay(image, records);
      return image.topic(name)?.partitions[0].replicas;
    };
    expect([create("a"), create("b"), create("c"), create("d")]).toEqual([
      [1, 2],
      [2, 3],
      [3, 1],
      [1, 2],
    ]);
    // The same image gives the same placement, whichever controller decides.
    expect(planCreateTopic(image, { ...single, name: "e" }, "id-e")).toEqual(
      planCreateTopic(image, { ...single, name: "e" }, "id-e"),
    );
    image = replay(image, planDeleteTopic(image, "b"));
    expect(create("e")).toEqual([2, 3]); // broker 2 lost its only leadership
  });

  it("deleting an unknown topic is UNKNOWN_TOPIC", () => {
    expect(() => planDeleteTopic(withBroker, "missing")).toThrow(/UNKNOWN_TOPIC/);
  });
});

describe("topic placement uses only unfenced brokers, by rack", () => {
  const oneFenced = imageOf([
    { brokerId: 1 },
    { brokerId: 2, fenced: true },
    { brokerId: 3 },
    { brokerId: 4 },
  ]);

  it("never places a replica on a fenced broker", () => {
    const replicas = placed(
      planCreateTopic(oneFenced, { ...request, numPartitions: 9, replicationFactor: 3 }, "id"),
    );
    expect(replicas).toHaveLength(9);
    for (const partition of replicas) expect(partition).not.toContain(2);
  });

  it("refuses a replication factor above the unfenced broker count, saying how many are alive", () => {
    expect(() => planCreateTopic(oneFenced, { ...request, replicationFactor: 4 }, "id")).toThrow(
      /INVALID_REPLICATION_FACTOR.*3 broker\(s\) are alive/,
    );
  });

  it("the default replication factor is three, or the unfenced broker count when smaller", () => {
    const defaults = { ...request, replicationFactor: -1 };
    expect(placed(planCreateTopic(oneFenced, defaults, "id"))[0]).toHaveLength(3);
    const twoOfFourFenced = imageOf([
      { brokerId: 1 },
      { brokerId: 2, fenced: true },
      { brokerId: 3, fenced: true },
      { brokerId: 4 },
    ]);
    expect(placed(planCreateTopic(twoOfFourFenced, defaults, "id"))[0]).toHaveLength(2);
  });

  it("with every broker fenced, or none registered, creating a topic says no broker is alive", () => {
    for (const image of [MetadataImage.empty, imageOf([{ brokerId: 1, fenced: true }])]) {
      for (const replicationFactor of [-1, 1]) {
        expect(() => planCreateTopic(image, { ...request, replicationFactor }, "id")).toThrow(
          /INVALID_REPLICATION_FACTOR.*no broker is alive/,
        );
      }
    }
  });

  it("spreads each partition over the racks the brokers register with", () => {
    const racked = imageOf([
      { brokerId: 1, rack: "a" },
      { brokerId: 2, rack: "a" },
      { brokerId: 3, rack: "b" },
      { brokerId: 4, rack: "b" },
    ]);
    const rackOf = (id: number) => racked.brokers.get(id)?.rack;
    for (const [first, second] of placed(
      planCreateTopic(racked, { ...request, numPartitions: 8, replicationFactor: 2 }, "id"),
    )) {
      expect(rackOf(first)).not.toBe(rackOf(second));
    }
  });

  it("refuses when only some unfenced brokers name a rack; a fenced rackless one does not count", () => {
    const mixed = imageOf([
      { brokerId: 1, rack: "a" },
      { brokerId: 2 },
      { brokerId: 3, rack: "b", fenced: true },
    ]);
    expect(() => planCreateTopic(mixed, request, "id")).toThrow(
      /INVALID_REQUEST.*broker\(s\) 2 name no rack/,
    );
    const fencedRackless = imageOf([
      { brokerId: 1, rack: "a" },
      { brokerId: 2, fenced: true },
    ]);
    expect(placed(planCreateTopic(fencedRackless, request, "id"))).toEqual([[1], [1]]);
  });

  it("for any brokers, racks, fencing, partitions and replication factor: each partition has RF distinct unfenced brokers in min(RF, racks) racks", () => {
    const cluster = fc
      .uniqueArray(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 12 })
      .chain((ids) =>
        fc
          .tuple(
            fc.boolean(), // whether brokers name racks (all of them, or none)
            fc.tuple(...ids.map(() => fc.constantFrom("a", "b", "c", "d", "e"))),
            fc.tuple(...ids.map(() => fc.boolean())),
            fc.integer({ min: 0, max: ids.length - 1 }), // one broker always unfenced
          )
          .map(([racked, racks, fenced, alive]) =>
            ids.map(
              (brokerId, i): BrokerSpec => ({
                brokerId,
                rack: racked ? racks[i] : undefined,
                fenced: i !== alive && fenced[i],
              }),
            ),
          ),
      );
    const scenario = cluster.chain((brokers) => {
      const live = brokers.filter((broker) => !broker.fenced);
      return fc.tuple(
        fc.constant(brokers),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: live.length }),
      );
    });
    fc.assert(
      fc.property(scenario, ([brokers, numPartitions, replicationFactor]) => {
        const image = imageOf(brokers);
        const live = brokers.filter((broker) => !broker.fenced);
        const rackCount = new Set(live.map((broker) => broker.rack)).size;
        const replicas = placed(
          planCreateTopic(image, { ...request, numPartitions, replicationFactor }, "id"),
        );
        expect(replicas).toHaveLength(numPartitions);
        for (const partition of replicas) {
          expect(new Set(partition).size).toBe(replicationFactor);
          for (const id of partition) expect(image.brokers.get(id)?.fenced).toBe(false);
          const racks = new Set(partition.map((id) => image.brokers.get(id)?.rack));
          expect(racks.size).toBe(Math.min(replicationFactor, rackCount));
        }
      }),
      { numRuns: 300 },
    );
  });
});
