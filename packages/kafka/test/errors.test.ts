// Rule: a Brook error reaches Kafka clients as the Kafka code that makes them act as Brook's SDK does.
import { BrookError } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import { KAFKA_ERRORS, KafkaErrorCode, kafkaErrorCodeOf } from "../src/index.js";

describe("Brook errors as Kafka codes", () => {
  it("a partition an all-or-nothing AddPartitionsToTxn did not attempt is OPERATION_NOT_ATTEMPTED (55), not fatal", () => {
    expect(kafkaErrorCodeOf(new BrookError("OPERATION_NOT_ATTEMPTED", "not added"))).toBe(
      KafkaErrorCode.OPERATION_NOT_ATTEMPTED,
    );
    expect(KAFKA_ERRORS.OPERATION_NOT_ATTEMPTED).toEqual({ code: 55, retriable: false });
  });
});
