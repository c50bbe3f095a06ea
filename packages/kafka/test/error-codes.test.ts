// Rule: Brook's table of Kafka error codes agrees with the protocol guide; kafkajs 2.2.4's own table
// (an independent copy, with some older names) is the cross-check for codes -1 to 88.

import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { KAFKA_ERRORS, KafkaErrorCode, kafkaErrorName } from "../src/index.js";

const require = createRequire(import.meta.url);
const kafkajsErrors = (
  require("kafkajs/src/protocol/error") as {
    errorCodes: { type: string; code: number; retriable: boolean }[];
  }
).errorCodes;

/** kafkajs still uses the names these codes had before Kafka renamed them. */
const KAFKAJS_NAMES: Record<string, string> = {
  UNKNOWN: "UNKNOWN_SERVER_ERROR",
  NOT_LEADER_FOR_PARTITION: "NOT_LEADER_OR_FOLLOWER",
  GROUP_LOAD_IN_PROGRESS: "COORDINATOR_LOAD_IN_PROGRESS",
  GROUP_COORDINATOR_NOT_AVAILABLE: "COORDINATOR_NOT_AVAILABLE",
  NOT_COORDINATOR_FOR_GROUP: "NOT_COORDINATOR",
};

describe("Kafka error codes", () => {
  it.each(kafkajsErrors)("$code $type agrees with kafkajs", ({ type, code, retriable }) => {
    const name = KAFKAJS_NAMES[type] ?? type;
    expect(KAFKA_ERRORS).toHaveProperty(name);
    expect(KAFKA_ERRORS[name as keyof typeof KAFKA_ERRORS]).toEqual({ code, retriable });
  });

  it("has one name per code, and every code from -1 to 120", () => {
    const codes = Object.values(KAFKA_ERRORS).map((info) => info.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort((a, b) => a - b)).toEqual(Array.from({ length: 122 }, (_, index) => index - 1));
  });

  it("names the codes the listener answers with", () => {
    expect(KafkaErrorCode).toMatchObject({
      NONE: 0,
      OFFSET_OUT_OF_RANGE: 1,
      CORRUPT_MESSAGE: 2,
      UNKNOWN_TOPIC_OR_PARTITION: 3,
      NOT_LEADER_OR_FOLLOWER: 6,
      REQUEST_TIMED_OUT: 7,
      MESSAGE_TOO_LARGE: 10,
      COORDINATOR_LOAD_IN_PROGRESS: 14,
      COORDINATOR_NOT_AVAILABLE: 15,
      NOT_COORDINATOR: 16,
      INVALID_TOPIC_EXCEPTION: 17,
      RECORD_LIST_TOO_LARGE: 18,
      NOT_ENOUGH_REPLICAS: 19,
      NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
      ILLEGAL_GENERATION: 22,
      INCONSISTENT_GROUP_PROTOCOL: 23,
      UNKNOWN_MEMBER_ID: 25,
      INVALID_SESSION_TIMEOUT: 26,
      REBALANCE_IN_PROGRESS: 27,
      UNSUPPORTED_VERSION: 35,
      TOPIC_ALREADY_EXISTS: 36,
      INVALID_PARTITIONS: 37,
      INVALID_REPLICATION_FACTOR: 38,
      INVALID_REQUEST: 42,
      UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
      OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
      DUPLICATE_SEQUENCE_NUMBER: 46,
      INVALID_PRODUCER_EPOCH: 47,
      UNKNOWN_PRODUCER_ID: 59,
      GROUP_ID_NOT_FOUND: 69,
      FENCED_LEADER_EPOCH: 74,
      UNKNOWN_LEADER_EPOCH: 75,
      UNSUPPORTED_COMPRESSION_TYPE: 76,
      MEMBER_ID_REQUIRED: 79,
      FENCED_INSTANCE_ID: 82,
      UNKNOWN_TOPIC_ID: 100,
    });
    expect(kafkaErrorName(6)).toBe("NOT_LEADER_OR_FOLLOWER");
    expect(kafkaErrorName(9999)).toBeUndefined();
  });
});
