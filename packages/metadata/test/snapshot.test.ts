// An image written out as records (a metadata snapshot) must rebuild the same
// image: checked on random histories of valid records, through the JSON
// encoding too, against a structural normal form of the image.
import { type AclBinding, SCRAM_MECHANISMS, scramCredential } from "@brook/security";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyRecords,
  decodeMetadataRecord,
  encodeMetadataRecord,
  imageFromSnapshot,
  imageToRecords,
  MetadataImage,
  type MetadataRecord,
  scramCredentialRecord,
} from "../src/index.js";

/** Every field of the image, in one order whatever the maps' insertion order; a missing rack or Kafka endpoint is null. */
function normalForm(image: MetadataImage) {
  const byKey = <T>(entries: Iterable<[string, T]>) => [...entries].sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    offset: image.offset,
    brokers: [...image.brokers.entries()]
      .sort(([a], [b]) => a - b)
      .map(([id, broker]) => ({
        id,
        brokerId: broker.brokerId,
        incarnationId: broker.incarnationId,
        host: broker.host,
        port: broker.port,
        rack: broker.rack ?? null,
        kafkaEndpoint: broker.kafkaEndpoint ?? null,
        fenced: broker.fenced,
      })),
    topics: byKey(image.topicsById).map(([id, topic]) => ({
      id,
      name: topic.name,
      topicId: topic.topicId,
      partitions: topic.partitions.map((p) => ({
        partition: p.partition,
        replicas: [...p.replicas],
        isr: [...p.isr],
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        partitionEpoch: p.partitionEpoch,
      })),
      configs: byKey(topic.configs),
    })),
    topicIdsByName: byKey(image.topicIdsByName),
    nextProducerId: image.nextProducerId,
    users: byKey(image.users).map(([name, credentials]) => ({
      name,
      credentials: [...credentials.values()]
        .sort((a, b) => (a.mechanism < b.mechanism ? -1 : 1))
        .map((credential) => scramCredentialRecord(name, credential)),
    })),
    acls: [...image.acls], // in the table's order, which a snapshot keeps
  };
}

// Credentials are computed once (PBKDF2 is slow on purpose); histories pick among them.
const credentials = SCRAM_MECHANISMS.flatMap((mechanism) =>
  ["one", "two"].map((password) => scramCredential(mechanism, password)),
);
const bindings: AclBinding[] = ["orders", "ord", "*"].flatMap((resourceName) =>
  (["read", "write"] as const).map(
    (operation): AclBinding => ({
      principal: "User:alice",
      host: "*",
      resourceType: "topic",
      resourceName,
      patternType: resourceName === "ord" ? "prefixed" : "literal",
      operation,
      permission: "allow",
    }),
  ),
);

// ---- random histories of valid records --------------------------------------
//
// An operation says what to do; `recordFor` turns it into a record valid on the
// image so far (its `pick` numbers choose among what exists) or skips it.

const brokerIds = fc.integer({ min: 1, max: 5 });
const brokerList = fc.array(brokerIds, { minLength: 1, maxLength: 3 });
const pick = fc.nat();
const operation = fc.oneof(
  fc.record({
    kind: fc.constant("register" as const),
    brokerId: brokerIds,
    incarnation: fc.integer({ min: 0, max: 3 }),
    port: fc.integer({ min: 1, max: 65_535 }),
    rack: fc.option(fc.constantFrom("r1", "r2"), { nil: undefined }),
    kafkaPort: fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }),
  }),
  fc.record({ kind: fc.constantFrom("fence" as const, "unfence" as const), pick }),
  fc.record({ kind: fc.constant("topic" as const), name: fc.constantFrom("a", "b", "c", "d") }),
  fc.record({
    kind: fc.constant("partition" as const),
    pick,
    replicas: brokerList,
    isr: brokerList,
    leader: fc.integer({ min: -1, max: 5 }),
    leaderEpoch: fc.nat({ max: 50 }),
    partitionEpoch: fc.nat({ max: 50 }),
  }),
  fc.record({
    kind: fc.constant("change" as const),
    pick,
    partitionPick: pick,
    leader: fc.option(fc.integer({ min: -1, max: 5 }), { nil: undefined }),
    isr: fc.option(brokerList, { nil: undefined }),
    replicas: fc.option(brokerList, { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant("config" as const),
    pick,
    key: fc.constantFrom("retention.ms", "segment.bytes", "cleanup.policy"),
    value: fc.option(fc.constantFrom("1", "1000", "compact"), { nil: null }),
  }),
  fc.record({ kind: fc.constant("remove" as const), pick }),
  fc.record({
    kind: fc.constant("producer-ids" as const),
    brokerId: brokerIds,
    blocks: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ kind: fc.constant("credential" as const), user: fc.constantFrom("u1", "u2", "u3"), pick }),
  fc.record({ kind: fc.constant("remove-credential" as const), pick }),
  fc.record({ kind: fc.constant("acl" as const), pick }),
  fc.record({ kind: fc.constant("remove-acl" as const), pick }),
);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

function chosen<T>(items: Iterable<T>, index: number): T | undefined {
  const all = [...items];
  return all.length === 0 ? undefined : all[index % all.length];
}

function recordFor(
  op: Operation,
  image: MetadataImage,
  newTopicId: () => string,
): MetadataRecord | undefined {
  switch (op.kind) {
    case "register": {
      const { brokerId, incarnation, port, rack, kafkaPort } = op;
      const base = { type: "broker-registration" as const, brokerId, incarnationId: `i${incarnation}` };
      return {
        ...base,
        host: `h${brokerId}`,
        port,
        ...(rack === undefined ? {} : { rack }),
        ...(kafkaPort === undefined ? {} : { kafkaEndpoint: { host: `k${brokerId}`, port: kafkaPort } }),
      };
    }
    case "fence":
    case "unfence": {
      const broker = chosen(image.brokers.values(), op.pick);
      if (!broker) return undefined;
      return { type: `broker-${op.kind}`, brokerId: broker.brokerId, incarnationId: broker.incarnationId };
    }
    case "topic":
      return image.topic(op.name) ? undefined : { type: "topic", name: op.name, topicId: newTopicId() };
    case "partition": {
      const topic = chosen(image.topicsById.values(), op.pick);
      if (!topic) return undefined;
      const { replicas, isr, leader, leaderEpoch, partitionEpoch } = op;
      const partition = topic.partitions.length;
      return {
        type: "partition",
        topicId: topic.topicId,
        partition,
        replicas,
        isr,
        leader,
        leaderEpoch,
        partitionEpoch,
      };
    }
    case "change": {
      const topic = chosen(image.topicsById.values(), op.pick);
      const partition = topic && chosen(topic.partitions, op.partitionPick);
      if (!topic || !partition) return undefined;
      const { leader, isr, replicas } = op;
      return {
        type: "partition-change",
        topicId: topic.topicId,
        partition: partition.partition,
        ...(leader === undefined ? {} : { leader }),
        ...(isr === undefined ? {} : { isr }),
        ...(replicas === undefined ? {} : { replicas }),
      };
    }
    case "config": {
      const topic = chosen(image.topicsById.values(), op.pick);
      return topic && { type: "topic-config", topicId: topic.topicId, key: op.key, value: op.value };
    }
    case "remove": {
      const topic = chosen(image.topicsById.values(), op.pick);
      return topic && { type: "remove-topic", topicId: topic.topicId };
    }
    case "producer-ids":
      return {
        type: "producer-ids",
        brokerId: op.brokerId,
        nextProducerId: image.nextProducerId + op.blocks * 1_000,
      };
    case "credential":
      return scramCredentialRecord(op.user, credentials[op.pick % credentials.length]);
    case "remove-credential": {
      const held = [...image.users].flatMap(([name, byMechanism]) =>
        [...byMechanism.keys()].map((mechanism) => ({ name, mechanism })),
      );
      const credential = chosen(held, op.pick);
      return credential && { type: "user-scram-credential-removal", ...credential };
    }
    case "acl": {
      const binding = bindings[op.pick % bindings.length];
      return image.acls.has(binding) ? undefined : { type: "acl", ...binding };
    }
    case "remove-acl": {
      const binding = chosen(image.acls, op.pick);
      return binding && { type: "acl-removal", ...binding };
    }
  }
}

/** Replays the operations one by one, as the log would commit them; returns the image they build. */
function historyImage(operations: readonly Operation[]): MetadataImage {
  let topicCount = 0;
  const newTopicId = () => `id-${topicCount++}`;
  let image = MetadataImage.empty;
  for (const op of operations) {
    const record = recordFor(op, image, newTopicId);
    if (record) image = applyRecords(image, [record], image.offset + 1);
  }
  return image;
}

describe("metadata snapshots", () => {
  it("imageToRecords replayed from empty rebuilds every field of any image a valid history builds", () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 80 }), (operations) => {
        const image = historyImage(operations);
        const records = imageToRecords(image);
        const decoded = records.map((record) => decodeMetadataRecord(encodeMetadataRecord(record)));
        expect(normalForm(imageFromSnapshot(decoded, image.offset))).toEqual(normalForm(image));
        expect(imageToRecords(imageFromSnapshot(records, image.offset))).toEqual(records); // a fixed point
      }),
      { numRuns: 300 },
    );
  });

  it("keeps each broker's Kafka endpoint, and leaves it out for a broker registered without one", () => {
    const image = applyRecords(
      MetadataImage.empty,
      [
        {
          type: "broker-registration",
          brokerId: 1,
          incarnationId: "a",
          host: "h1",
          port: 9092,
          kafkaEndpoint: { host: "k1", port: 9094 },
        },
        { type: "broker-registration", brokerId: 2, incarnationId: "b", host: "h2", port: 9192 },
      ],
      0,
    );
    const records = imageToRecords(image).map((record) => decodeMetadataRecord(encodeMetadataRecord(record)));
    expect(records).toEqual([
      {
        type: "broker-registration",
        brokerId: 1,
        incarnationId: "a",
        host: "h1",
        port: 9092,
        kafkaEndpoint: { host: "k1", port: 9094 },
      },
      { type: "broker-registration", brokerId: 2, incarnationId: "b", host: "h2", port: 9192 },
    ]);
    const rebuilt = imageFromSnapshot(records, image.offset);
    expect(rebuilt.brokers.get(1)?.kafkaEndpoint).toEqual({ host: "k1", port: 9094 });
    expect(rebuilt.brokers.get(2)).not.toHaveProperty("kafkaEndpoint");
  });

  it("the snapshot's image takes the offset it is given, not its record count", () => {
    const history: MetadataRecord[] = [
      { type: "topic", name: "a", topicId: "id-a" },
      { type: "topic-config", topicId: "id-a", key: "retention.ms", value: "1" },
      { type: "topic-config", topicId: "id-a", key: "retention.ms", value: null },
      { type: "remove-topic", topicId: "id-a" },
      { type: "topic", name: "b", topicId: "id-b" },
    ];
    const image = applyRecords(MetadataImage.empty, history, 0);
    expect(imageToRecords(image)).toEqual([{ type: "topic", name: "b", topicId: "id-b" }]);
    expect(imageFromSnapshot(imageToRecords(image), image.offset).offset).toBe(4);
    expect(imageToRecords(MetadataImage.empty)).toEqual([]);
    expect(imageFromSnapshot([], 7).offset).toBe(7);
  });

  it("an unfenced broker is written as its registration and its unfence; a fenced one as its registration", () => {
    const image = applyRecords(
      MetadataImage.empty,
      [
        { type: "broker-registration", brokerId: 2, incarnationId: "x", host: "h2", port: 2, rack: "r" },
        { type: "broker-registration", brokerId: 1, incarnationId: "y", host: "h1", port: 1 },
        { type: "broker-unfence", brokerId: 2, incarnationId: "x" },
      ],
      0,
    );
    expect(imageToRecords(image)).toEqual([
      { type: "broker-registration", brokerId: 1, incarnationId: "y", host: "h1", port: 1 },
      { type: "broker-registration", brokerId: 2, incarnationId: "x", host: "h2", port: 2, rack: "r" },
      { type: "broker-unfence", brokerId: 2, incarnationId: "x" },
    ]);
  });

  it("keeps where the next producer id block starts, as one record naming no broker (Kafka's brokerId -1)", () => {
    const image = applyRecords(
      MetadataImage.empty,
      [
        { type: "producer-ids", brokerId: 1, nextProducerId: 1_000 },
        { type: "producer-ids", brokerId: 2, nextProducerId: 2_000 },
      ],
      0,
    );
    expect(image.nextProducerId).toBe(2_000);
    expect(imageToRecords(image)).toEqual([{ type: "producer-ids", brokerId: -1, nextProducerId: 2_000 }]);
    expect(imageFromSnapshot(imageToRecords(image), image.offset).nextProducerId).toBe(2_000);
  });

  it("refuses a producer id block that does not move forward: its ids were handed out already", () => {
    const image = applyRecords(
      MetadataImage.empty,
      [{ type: "producer-ids", brokerId: 1, nextProducerId: 1_000 }],
      0,
    );
    expect(() =>
      applyRecords(image, [{ type: "producer-ids", brokerId: 2, nextProducerId: 1_000 }], 1),
    ).toThrow(/only move forward/);
  });
});
