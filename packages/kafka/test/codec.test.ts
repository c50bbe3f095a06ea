// Rule: record data crosses the codec without copies (Produce records are views of the request frame;
// a Fetch response passes large record buffers through as chunks), and values a version cannot carry
// are refused with a KafkaEncodeError that names the field.

import { describe, expect, it } from "vitest";
import {
  ApiKey,
  decodeRequest,
  decodeRequestHeader,
  encodeRequest,
  encodeResponse,
  type FetchResponseInput,
  KafkaEncodeError,
  RECORDS_INLINE_BYTES_MAX,
} from "../src/index.js";

function fetchResponse(records: Buffer[]): FetchResponseInput {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topic: "orders",
        partitions: records.map((data, partitionIndex) => ({
          partitionIndex,
          errorCode: 0,
          highWatermark: 100n,
          abortedTransactions: null,
          records: data,
        })),
      },
    ],
  };
}

describe("zero copy", () => {
  it("a Produce request's records are a view of the frame", () => {
    const records = Buffer.alloc(10_000, 9);
    const frame = Buffer.concat(
      encodeRequest(ApiKey.Produce, 9, 1, "p", {
        acks: -1,
        timeoutMs: 1000,
        topicData: [{ name: "orders", partitionData: [{ index: 0, records }] }],
      }),
    );
    const header = decodeRequestHeader(frame.subarray(4));
    const request = decodeRequest(header, frame.subarray(4 + header.headerBytes));
    if (request.apiKey !== ApiKey.Produce) throw new Error("expected Produce");
    const decoded = request.body.topicData[0].partitionData[0].records as Buffer;
    expect(decoded.equals(records)).toBe(true);
    expect(decoded.buffer).toBe(frame.buffer);
  });

  it.each([11, 12])(
    "a Fetch v%i response passes large record buffers through as chunks of their own",
    (version) => {
      const large = [Buffer.alloc(1024 * 1024, 1), Buffer.alloc(RECORDS_INLINE_BYTES_MAX + 1, 2)];
      const chunks = encodeResponse(ApiKey.Fetch, version, 7, fetchResponse(large));
      expect(chunks).toContain(large[0]);
      expect(chunks).toContain(large[1]);
      const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
      expect(chunks[0].readInt32BE(0)).toBe(total - 4);
      // Everything but the records is small: the records were not copied into another buffer.
      expect(total - large[0].length - large[1].length).toBeLessThan(200);
    },
  );

  it("small record buffers are copied inline, so a response of many small partitions stays one chunk", () => {
    const small = Array.from({ length: 50 }, (_, index) => Buffer.alloc(100, index));
    const chunks = encodeResponse(ApiKey.Fetch, 12, 7, fetchResponse(small));
    expect(chunks).toHaveLength(1);
  });
});

describe("encode errors", () => {
  function encodeError(run: () => unknown): KafkaEncodeError {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(KafkaEncodeError);
      return error as KafkaEncodeError;
    }
    throw new Error("expected a KafkaEncodeError");
  }

  it("a null where the version has no null names the field", () => {
    const error = encodeError(() =>
      encodeRequest(ApiKey.Metadata, 0, 1, null, { topics: null, allowAutoTopicCreation: true }),
    );
    expect(error.message).toBe(
      "cannot encode request (api 3 v0), field topics: null where this version does not allow null",
    );
  });

  it("an int64 must be a bigint", () => {
    const body = fetchResponse([Buffer.alloc(1)]);
    (body.responses[0].partitions[0] as { highWatermark: unknown }).highWatermark = 100;
    const error = encodeError(() => encodeResponse(ApiKey.Fetch, 12, 1, body));
    expect(error.path).toBe("responses[0].partitions[0].highWatermark");
  });

  it("an int16 beyond its range is refused, not wrapped", () => {
    const error = encodeError(() =>
      encodeResponse(ApiKey.Heartbeat, 1, 1, { throttleTimeMs: 0, errorCode: 40_000 }),
    );
    expect(error.message).toMatch(
      /field errorCode: an int16 takes a whole number from -32768 to 32767, got 40000/,
    );
  });

  it("a fraction in an int32 is refused", () => {
    const error = encodeError(() =>
      encodeRequest(ApiKey.Heartbeat, 0, 1, null, { groupId: "g", generationId: 1.5, memberId: "m" }),
    );
    expect(error.path).toBe("generationId");
  });

  it("a uuid must be written 8-4-4-4-12", () => {
    const error = encodeError(() =>
      encodeRequest(ApiKey.Metadata, 12, 1, null, { topics: [{ topicId: "not-a-uuid", name: "t" }] }),
    );
    expect(error.message).toMatch(/topics\[0\]\.topicId: a uuid is written 8-4-4-4-12/);
  });

  it("a classic string is at most 32767 bytes", () => {
    const error = encodeError(() =>
      encodeRequest(ApiKey.Heartbeat, 0, 1, null, {
        groupId: "g".repeat(40_000),
        generationId: 1,
        memberId: "m",
      }),
    );
    expect(error.path).toBe("groupId");
  });

  it("an unsupported version is refused", () => {
    expect(() => encodeResponse(ApiKey.Fetch, 3, 1, fetchResponse([]))).toThrow(/api 1 v3 is not supported/);
  });

  it("fields a version lacks are left out, not refused (responses are written for many versions)", () => {
    const withTagged = { ...fetchResponse([Buffer.alloc(1)]) };
    withTagged.responses[0].partitions[0].currentLeader = { leaderId: 3, leaderEpoch: 4 };
    const v11 = Buffer.concat(encodeResponse(ApiKey.Fetch, 11, 1, withTagged));
    withTagged.responses[0].partitions[0].currentLeader = undefined;
    expect(Buffer.concat(encodeResponse(ApiKey.Fetch, 11, 1, withTagged)).equals(v11)).toBe(true);
  });
});
