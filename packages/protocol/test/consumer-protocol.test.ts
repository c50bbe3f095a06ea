// Rule: Brook reads and writes Kafka's ConsumerProtocol Subscription and Assignment (what classic consumer
// groups carry in JoinGroup and SyncGroup) byte for byte: every version round-trips, kafkajs 2.2.4 (an
// independent implementation) decodes what we encode and we decode what it encodes, a newer version is
// read as the newest known, and malformed bytes are a typed error, never a huge allocation.
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BrookError,
  type ConsumerProtocolSubscription,
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
} from "../src/index.js";

const require = createRequire(import.meta.url);
const { MemberMetadata, MemberAssignment } = require("kafkajs/src/consumer/assignerProtocol") as {
  MemberMetadata: {
    encode(value: { version: number; topics: string[]; userData?: Buffer }): Buffer;
    decode(bytes: Buffer): { version: number; topics: string[]; userData: Buffer };
  };
  MemberAssignment: {
    encode(value: { version: number; assignment: Record<string, number[]>; userData?: Buffer }): Buffer;
    decode(bytes: Buffer): { version: number; assignment: Record<string, number[]>; userData: Buffer };
  };
};

const topic = fc.string({ minLength: 1, maxLength: 20 });
const topicPartitions = fc.array(
  fc.record({ topic, partitions: fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { maxLength: 8 }) }),
  { maxLength: 5 },
);
const userData = fc.option(fc.uint8Array({ maxLength: 32 }).map((bytes) => Buffer.from(bytes)));

const subscription = fc.record({
  version: fc.integer({ min: 0, max: 3 }),
  topics: fc.array(topic, { maxLength: 6 }),
  userData,
  ownedPartitions: topicPartitions,
  generationId: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  rackId: fc.option(fc.string({ maxLength: 10 })),
});

/** What a version carries: fields it does not have read back as their defaults. */
function asVersion(value: ConsumerProtocolSubscription): ConsumerProtocolSubscription {
  return {
    ...value,
    ownedPartitions: value.version >= 1 ? value.ownedPartitions : [],
    generationId: value.version >= 2 ? value.generationId : -1,
    rackId: value.version >= 3 ? value.rackId : null,
  };
}

describe("ConsumerProtocol", () => {
  it("round-trips every Subscription version", () => {
    fc.assert(
      fc.property(subscription, (value) => {
        expect(decodeConsumerSubscription(encodeConsumerSubscription(value))).toEqual(asVersion(value));
      }),
    );
  });

  it("round-trips every Assignment version", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), topicPartitions, userData, (version, parts, data) => {
        const value = { version, assignedPartitions: parts, userData: data };
        expect(decodeConsumerAssignment(encodeConsumerAssignment(value))).toEqual(value);
      }),
    );
  });

  it("agrees with kafkajs's encoder and decoder for subscriptions (v0, what kafkajs sends)", () => {
    fc.assert(
      fc.property(fc.array(topic, { maxLength: 6 }), fc.uint8Array({ maxLength: 16 }), (topics, data) => {
        const theirs = MemberMetadata.encode({ version: 0, topics, userData: Buffer.from(data) });
        const ours = encodeConsumerSubscription({ version: 0, topics, userData: Buffer.from(data) });
        expect(ours).toEqual(theirs);
        expect(decodeConsumerSubscription(theirs)).toMatchObject({ version: 0, topics });
        expect(MemberMetadata.decode(ours).topics).toEqual(topics);
      }),
    );
  });

  it("agrees with kafkajs's encoder and decoder for assignments", () => {
    fc.assert(
      fc.property(
        // kafkajs keeps an assignment in a plain object (topic → partitions), where a topic named
        // "__proto__" would set the prototype instead of a key: it cannot hold that one.
        fc.dictionary(
          topic.filter((name) => name !== "__proto__"),
          fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 6 }),
          { maxKeys: 4 },
        ),
        (assignment) => {
          const theirs = MemberAssignment.encode({ version: 0, assignment });
          const assignedPartitions = Object.entries(assignment).map(([name, partitions]) => ({
            topic: name,
            partitions,
          }));
          expect(
            encodeConsumerAssignment({ version: 0, assignedPartitions, userData: Buffer.alloc(0) }),
          ).toEqual(theirs);
          expect(decodeConsumerAssignment(theirs).assignedPartitions).toEqual(assignedPartitions);
          expect(
            MemberAssignment.decode(encodeConsumerAssignment({ assignedPartitions })).assignment,
          ).toEqual(assignment);
        },
      ),
    );
  });

  it("reads a version newer than it knows as the newest, ignoring the fields it does not know", () => {
    const v3 = encodeConsumerSubscription({ version: 3, topics: ["orders"], rackId: "rack-a" });
    const v7 = Buffer.concat([v3, Buffer.from([1, 2, 3, 4])]);
    v7.writeInt16BE(7, 0);
    expect(decodeConsumerSubscription(v7)).toMatchObject({
      version: 3,
      topics: ["orders"],
      rackId: "rack-a",
    });
  });

  it("refuses truncated and malformed bytes with INVALID_REQUEST, before allocating by a length", () => {
    const good = encodeConsumerAssignment({ assignedPartitions: [{ topic: "orders", partitions: [0, 1] }] });
    for (let length = 0; length < good.length; length++) {
      expect(() => decodeConsumerAssignment(good.subarray(0, length))).toThrow(BrookError);
    }
    const hugeCount = Buffer.from([0, 0, 0x7f, 0xff, 0xff, 0xff]);
    expect(() => decodeConsumerSubscription(hugeCount)).toThrow(/array of 2147483647 items/);
    expect(() => decodeConsumerAssignment(Buffer.from([0xff, 0xff]))).toThrow(/version -1/);
    expect(() => encodeConsumerAssignment({ version: 4, assignedPartitions: [] })).toThrow(BrookError);
  });
});
