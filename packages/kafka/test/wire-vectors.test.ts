// Rule: flexible versions and headers match the protocol guide and KIP-482/KIP-511 byte for byte.
// The vectors below were worked out by hand from the guide's BNF, independently of the schemas.

import { describe, expect, it } from "vitest";
import {
  ApiKey,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  isSupported,
  KafkaDecodeError,
  requestHeaderVersion,
  responseHeaderVersion,
  supportedApiVersions,
} from "../src/index.js";

function hex(chunks: Buffer[]): string {
  return Buffer.concat(chunks).toString("hex");
}

function frame(body: string): string {
  return (body.length / 2).toString(16).padStart(8, "0") + body;
}

describe("header versions", () => {
  it("flexible versions take request header v2 and response header v1", () => {
    expect(requestHeaderVersion(ApiKey.Metadata, 8)).toBe(1);
    expect(requestHeaderVersion(ApiKey.Metadata, 9)).toBe(2);
    expect(responseHeaderVersion(ApiKey.Metadata, 8)).toBe(0);
    expect(responseHeaderVersion(ApiKey.Metadata, 9)).toBe(1);
    expect(requestHeaderVersion(ApiKey.DescribeCluster, 0)).toBe(2);
  });

  it("ApiVersions responses always take response header v0 (KIP-511)", () => {
    expect(requestHeaderVersion(ApiKey.ApiVersions, 3)).toBe(2);
    expect(responseHeaderVersion(ApiKey.ApiVersions, 3)).toBe(0);
    expect(responseHeaderVersion(ApiKey.ApiVersions, 99)).toBe(0);
  });

  it("ControlledShutdown v0 is the one request with header v0; unknown apis get v1", () => {
    expect(requestHeaderVersion(7, 0)).toBe(0);
    expect(requestHeaderVersion(7, 1)).toBe(1);
    expect(requestHeaderVersion(999, 5)).toBe(1);
  });
});

describe("hand-computed flexible encodings", () => {
  it("ApiVersions v3 request: header v2 keeps an int16 client id, then compact strings", () => {
    const expected = frame(
      "0012" +
        "0003" +
        "00000001" +
        "0004" +
        Buffer.from("kcat").toString("hex") +
        "00" +
        "0b" +
        Buffer.from("librdkafka").toString("hex") +
        "06" +
        Buffer.from("2.0.2").toString("hex") +
        "00",
    );
    const encoded = encodeRequest(ApiKey.ApiVersions, 3, 1, "kcat", {
      clientSoftwareName: "librdkafka",
      clientSoftwareVersion: "2.0.2",
    });
    expect(hex(encoded)).toBe(expected);
    const bytes = Buffer.from(expected, "hex").subarray(4);
    const header = decodeRequestHeader(bytes);
    expect(header).toEqual({
      apiKey: 18,
      apiVersion: 3,
      correlationId: 1,
      clientId: "kcat",
      headerVersion: 2,
      headerBytes: 15,
    });
    expect(decodeRequest(header, bytes.subarray(header.headerBytes)).body).toEqual({
      clientSoftwareName: "librdkafka",
      clientSoftwareVersion: "2.0.2",
    });
  });

  it("ApiVersions v3 response: header v0, compact array, a tagged int64 (tag 1, 8 bytes)", () => {
    const expected = frame(
      "00000001" +
        "0000" +
        "03" +
        "000000030009" +
        "00" +
        "001200000003" +
        "00" +
        "00000000" +
        "01" +
        "01" +
        "08" +
        "0000000000000007",
    );
    const body = {
      errorCode: 0,
      apiKeys: [
        { apiKey: 0, minVersion: 3, maxVersion: 9 },
        { apiKey: 18, minVersion: 0, maxVersion: 3 },
      ],
      throttleTimeMs: 0,
      finalizedFeaturesEpoch: 7n,
    };
    expect(hex(encodeResponse(ApiKey.ApiVersions, 3, 1, body))).toBe(expected);
    const decoded = decodeResponse(ApiKey.ApiVersions, 3, Buffer.from(expected, "hex").subarray(4));
    expect(decoded.body).toEqual({
      ...body,
      supportedFeatures: [],
      finalizedFeatures: [],
      zkMigrationReady: false,
    });
  });

  it("Metadata v12 request: a null compact array is 0, an empty one 1", () => {
    const nullTopics = {
      topics: null,
      allowAutoTopicCreation: true,
      includeTopicAuthorizedOperations: false,
    };
    expect(hex(encodeRequest(ApiKey.Metadata, 12, 2, null, nullTopics))).toBe(
      frame("0003" + "000c" + "00000002" + "ffff" + "00" + "00" + "01" + "00" + "00"),
    );
    const noTopics = { ...nullTopics, topics: [] };
    expect(hex(encodeRequest(ApiKey.Metadata, 12, 2, null, noTopics))).toBe(
      frame("0003" + "000c" + "00000002" + "ffff" + "00" + "01" + "01" + "00" + "00"),
    );
    const oneTopic = {
      ...nullTopics,
      topics: [{ topicId: "00000000-0000-0000-0000-000000000001", name: null }],
    };
    expect(hex(encodeRequest(ApiKey.Metadata, 12, 2, null, oneTopic))).toBe(
      frame("0003000c00000002ffff00" + "02" + "00000000000000000000000000000001" + "00" + "00" + "010000"),
    );
  });

  it("Fetch v12 response: response header v1, a tagged struct carries its own tagged-field byte", () => {
    const expected = frame(
      "00000009" +
        "00" +
        "00000000" +
        "0000" +
        "00000000" +
        "02" +
        "0274" +
        "02" +
        "00000000" +
        "0000" +
        "0000000000000005" +
        "0000000000000005" +
        "0000000000000000" +
        "00" +
        "ffffffff" +
        "00" +
        "01" +
        "01" +
        "09" +
        "00000001" +
        "00000002" +
        "00" +
        "00" +
        "00",
    );
    const partition = {
      partitionIndex: 0,
      errorCode: 0,
      highWatermark: 5n,
      lastStableOffset: 5n,
      logStartOffset: 0n,
      currentLeader: { leaderId: 1, leaderEpoch: 2 },
      abortedTransactions: null,
      preferredReadReplica: -1,
      records: null,
    };
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [{ topic: "t", partitions: [partition] }],
    };
    expect(hex(encodeResponse(ApiKey.Fetch, 12, 9, body))).toBe(expected);
    const decoded = decodeResponse(ApiKey.Fetch, 12, Buffer.from(expected, "hex").subarray(4));
    expect(decoded.body.responses[0].partitions[0]).toEqual({
      ...partition,
      divergingEpoch: { epoch: -1, endOffset: -1n },
      snapshotId: { endOffset: -1n, epoch: -1 },
    });
  });

  it("a request header v2 with a tagged field skips it and finds the body", () => {
    const bytes = Buffer.from(
      "0003" + "000c" + "00000007" + "ffff" + "01" + "05" + "02" + "abcd" + "00010000",
      "hex",
    );
    const header = decodeRequestHeader(bytes);
    expect(header).toMatchObject({
      apiKey: 3,
      apiVersion: 12,
      correlationId: 7,
      clientId: null,
      headerBytes: 15,
    });
    expect(decodeRequest(header, bytes.subarray(header.headerBytes)).body).toMatchObject({ topics: null });
  });

  it("unknown tagged fields in a body are kept and written back in tag order", () => {
    const bytes = Buffer.from("00" + "01" + "00" + "02" + "0101aa" + "0302bbcc", "hex");
    const decoded = decodeRequest(
      { apiKey: 3, apiVersion: 12, correlationId: 0, clientId: null, headerVersion: 2, headerBytes: 0 },
      bytes,
    );
    expect(decoded.body.unknownTaggedFields).toEqual([
      { tag: 1, data: Buffer.from("aa", "hex") },
      { tag: 3, data: Buffer.from("bbcc", "hex") },
    ]);
    const again = Buffer.concat(encodeRequest(ApiKey.Metadata, 12, 0, null, decoded.body as never));
    expect(again.subarray(4 + 11).toString("hex")).toBe(bytes.toString("hex"));
  });

  it("tags out of order are refused", () => {
    const bytes = Buffer.from("00" + "01" + "00" + "02" + "0301aa" + "0101bb", "hex");
    expect(() =>
      decodeRequest(
        { apiKey: 3, apiVersion: 12, correlationId: 0, clientId: null, headerVersion: 2, headerBytes: 0 },
        bytes,
      ),
    ).toThrow(/tag 1 follows tag 3/);
  });
});

describe("an ApiVersions request of a version the broker lacks (KIP-511)", () => {
  const request = Buffer.from(
    "0012" +
      "0063" +
      "00000005" +
      "0004" +
      Buffer.from("kcat").toString("hex") +
      "00" +
      "0d6675747572652d636c69656e74",
    "hex",
  );

  it("has a readable header, and a body the codec declines with a typed error", () => {
    const header = decodeRequestHeader(request);
    expect(header).toEqual({
      apiKey: 18,
      apiVersion: 99,
      correlationId: 5,
      clientId: "kcat",
      headerVersion: 2,
      headerBytes: 15,
    });
    expect(isSupported(18, 99)).toBe(false);
    expect(() => decodeRequest(header, request.subarray(header.headerBytes))).toThrow(KafkaDecodeError);
  });

  it("is answered in the v0 layout: UNSUPPORTED_VERSION and the versions the broker has", () => {
    const apiKeys = supportedApiVersions();
    const answer = Buffer.concat(encodeResponse(ApiKey.ApiVersions, 0, 5, { errorCode: 35, apiKeys }));
    const entries = apiKeys
      .map(({ apiKey, minVersion, maxVersion }) =>
        [apiKey, minVersion, maxVersion].map((value) => value.toString(16).padStart(4, "0")).join(""),
      )
      .join("");
    const count = apiKeys.length.toString(16).padStart(8, "0");
    expect(answer.toString("hex")).toBe(frame("00000005" + "0023" + count + entries));
    expect(apiKeys).toContainEqual({ apiKey: 18, minVersion: 0, maxVersion: 3 });
  });
});
