// Rule: requests as kafkajs 2.2.4 encodes them decode to the fields it was given, and re-encode to the
// same bytes, for every api and version where kafkajs and Brook overlap (kafkajs has no flexible versions).

import { decodeRecordBatch } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import {
  type ApiKeyNumber,
  decodeRequest,
  decodeRequestHeader,
  encodeRequest,
  type RequestInputs,
} from "../src/index.js";
import { kafkajsRequestFrame } from "./kafkajs.js";

const ZERO_UUID = "00000000-0000-0000-0000-000000000000";

interface RequestCheck {
  name: string;
  apiKey: ApiKeyNumber;
  kafkajs: string;
  versions: number[];
  args: unknown;
  /** The decoded body; every field of the version is listed. */
  expected(version: number): Record<string, unknown>;
}

function range(min: number, max: number): number[] {
  return Array.from({ length: max - min + 1 }, (_, index) => min + index);
}

const fetchArgs = {
  replicaId: -1,
  maxWaitTime: 500,
  minBytes: 1,
  maxBytes: 1_048_576,
  isolationLevel: 1,
  sessionId: 7,
  sessionEpoch: 3,
  forgottenTopics: [{ topic: "old", partitions: [4, 5] }],
  rackId: "rack-a",
  topics: [
    {
      topic: "orders",
      partitions: [
        {
          partition: 2,
          currentLeaderEpoch: 9,
          fetchOffset: "12345678901",
          logStartOffset: "3",
          maxBytes: 65_536,
        },
      ],
    },
  ],
};

const CHECKS: RequestCheck[] = [
  {
    name: "Produce",
    apiKey: 0,
    kafkajs: "produce",
    versions: range(3, 7),
    args: {
      acks: -1,
      timeout: 30_000,
      transactionalId: null,
      topicData: [
        { topic: "orders", partitions: [{ partition: 2, messages: [{ key: "k1", value: "v1" }] }] },
      ],
    },
    expected: () => ({
      transactionalId: null,
      acks: -1,
      timeoutMs: 30_000,
      topicData: [{ name: "orders", partitionData: [{ index: 2, records: expect.any(Buffer) }] }],
    }),
  },
  {
    name: "Fetch",
    apiKey: 1,
    kafkajs: "fetch",
    versions: range(4, 11),
    args: fetchArgs,
    expected: (v) => ({
      clusterId: null,
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 1_048_576,
      isolationLevel: 1,
      sessionId: v >= 7 ? 7 : 0,
      sessionEpoch: v >= 7 ? 3 : -1,
      topics: [
        {
          topic: "orders",
          partitions: [
            {
              partition: 2,
              currentLeaderEpoch: v >= 9 ? 9 : -1,
              fetchOffset: 12_345_678_901n,
              lastFetchedEpoch: -1,
              logStartOffset: v >= 5 ? 3n : -1n,
              partitionMaxBytes: 65_536,
            },
          ],
        },
      ],
      forgottenTopicsData: v >= 7 ? [{ topic: "old", partitions: [4, 5] }] : [],
      rackId: v >= 11 ? "rack-a" : "",
    }),
  },
  {
    name: "ListOffsets",
    apiKey: 2,
    kafkajs: "listOffsets",
    versions: range(1, 3),
    args: {
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ topic: "orders", partitions: [{ partition: 0, timestamp: -2 }] }],
    },
    expected: (v) => ({
      replicaId: -1,
      isolationLevel: v >= 2 ? 1 : 0,
      topics: [
        { name: "orders", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }] },
      ],
    }),
  },
  {
    name: "Metadata",
    apiKey: 3,
    kafkajs: "metadata",
    versions: range(0, 6),
    args: { topics: ["orders", "users"], allowAutoTopicCreation: false },
    expected: (v) => ({
      topics: [
        { topicId: ZERO_UUID, name: "orders" },
        { topicId: ZERO_UUID, name: "users" },
      ],
      allowAutoTopicCreation: v < 4,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    }),
  },
  {
    name: "Metadata, every topic",
    apiKey: 3,
    kafkajs: "metadata",
    versions: range(1, 6),
    args: { topics: [] },
    expected: () => ({
      topics: null,
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    }),
  },
  {
    name: "OffsetCommit",
    apiKey: 8,
    kafkajs: "offsetCommit",
    versions: range(2, 5),
    args: {
      groupId: "g",
      groupGenerationId: 4,
      memberId: "m-1",
      retentionTime: 60_000,
      topics: [{ topic: "orders", partitions: [{ partition: 1, offset: "42", metadata: "meta" }] }],
    },
    expected: (v) => ({
      groupId: "g",
      generationId: 4,
      memberId: "m-1",
      groupInstanceId: null,
      retentionTimeMs: v <= 4 ? 60_000n : -1n,
      topics: [
        {
          name: "orders",
          partitions: [
            { partitionIndex: 1, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: "meta" },
          ],
        },
      ],
    }),
  },
  {
    name: "OffsetFetch",
    apiKey: 9,
    kafkajs: "offsetFetch",
    versions: range(1, 4),
    args: { groupId: "g", topics: [{ topic: "orders", partitions: [{ partition: 0 }, { partition: 3 }] }] },
    expected: () => ({
      groupId: "g",
      topics: [{ name: "orders", partitionIndexes: [0, 3] }],
      groups: [],
      requireStable: false,
    }),
  },
  {
    name: "FindCoordinator, group key only",
    apiKey: 10,
    kafkajs: "findCoordinator",
    versions: [0],
    args: { groupId: "g" },
    expected: () => ({ key: "g", keyType: 0, coordinatorKeys: [] }),
  },
  {
    name: "FindCoordinator",
    apiKey: 10,
    kafkajs: "findCoordinator",
    versions: range(1, 2),
    args: { coordinatorKey: "tx", coordinatorType: 1 },
    expected: () => ({ key: "tx", keyType: 1, coordinatorKeys: [] }),
  },
  {
    name: "JoinGroup",
    apiKey: 11,
    kafkajs: "joinGroup",
    versions: range(0, 5),
    args: {
      groupId: "g",
      sessionTimeout: 30_000,
      rebalanceTimeout: 60_000,
      memberId: "",
      groupInstanceId: "i-1",
      protocolType: "consumer",
      groupProtocols: [{ name: "range", metadata: Buffer.from("meta") }],
    },
    expected: (v) => ({
      groupId: "g",
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: v >= 1 ? 60_000 : -1,
      memberId: "",
      groupInstanceId: v >= 5 ? "i-1" : null,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: Buffer.from("meta") }],
      reason: null,
    }),
  },
  {
    name: "Heartbeat",
    apiKey: 12,
    kafkajs: "heartbeat",
    versions: range(0, 3),
    args: { groupId: "g", groupGenerationId: 3, memberId: "m", groupInstanceId: "i" },
    expected: (v) => ({ groupId: "g", generationId: 3, memberId: "m", groupInstanceId: v >= 3 ? "i" : null }),
  },
  {
    name: "LeaveGroup",
    apiKey: 13,
    kafkajs: "leaveGroup",
    versions: range(0, 2),
    args: { groupId: "g", memberId: "m" },
    expected: () => ({ groupId: "g", memberId: "m", members: [] }),
  },
  {
    name: "LeaveGroup, batched",
    apiKey: 13,
    kafkajs: "leaveGroup",
    versions: [3],
    args: { groupId: "g", members: [{ memberId: "m", groupInstanceId: "i" }] },
    expected: () => ({
      groupId: "g",
      memberId: "",
      members: [{ memberId: "m", groupInstanceId: "i", reason: null }],
    }),
  },
  {
    name: "SyncGroup",
    apiKey: 14,
    kafkajs: "syncGroup",
    versions: range(0, 3),
    args: {
      groupId: "g",
      generationId: 3,
      memberId: "m",
      groupInstanceId: "i",
      groupAssignment: [{ memberId: "m", memberAssignment: Buffer.from("assign") }],
    },
    expected: (v) => ({
      groupId: "g",
      generationId: 3,
      memberId: "m",
      groupInstanceId: v >= 3 ? "i" : null,
      protocolType: null,
      protocolName: null,
      assignments: [{ memberId: "m", assignment: Buffer.from("assign") }],
    }),
  },
  {
    name: "DescribeGroups",
    apiKey: 15,
    kafkajs: "describeGroups",
    versions: range(0, 2),
    args: { groupIds: ["a", "b"] },
    expected: () => ({ groups: ["a", "b"], includeAuthorizedOperations: false }),
  },
  {
    name: "ListGroups",
    apiKey: 16,
    kafkajs: "listGroups",
    versions: range(0, 2),
    args: {},
    expected: () => ({ statesFilter: [] }),
  },
  {
    name: "ApiVersions",
    apiKey: 18,
    kafkajs: "apiVersions",
    versions: range(0, 2),
    args: {},
    expected: () => ({ clientSoftwareName: "", clientSoftwareVersion: "" }),
  },
  {
    name: "CreateTopics",
    apiKey: 19,
    kafkajs: "createTopics",
    versions: range(2, 3),
    args: {
      topics: [
        {
          topic: "t",
          numPartitions: 3,
          replicationFactor: 2,
          replicaAssignment: [{ partition: 0, replicas: [1, 2] }],
          configEntries: [{ name: "cleanup.policy", value: "compact" }],
        },
      ],
      validateOnly: true,
      timeout: 5000,
    },
    expected: () => ({
      topics: [
        {
          name: "t",
          numPartitions: 3,
          replicationFactor: 2,
          assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }],
          configs: [{ name: "cleanup.policy", value: "compact" }],
        },
      ],
      timeoutMs: 5000,
      validateOnly: true,
    }),
  },
  {
    name: "DeleteTopics",
    apiKey: 20,
    kafkajs: "deleteTopics",
    versions: range(0, 1),
    args: { topics: ["a", "b"], timeout: 5000 },
    expected: () => ({ topics: [], topicNames: ["a", "b"], timeoutMs: 5000 }),
  },
  {
    name: "InitProducerId",
    apiKey: 22,
    kafkajs: "initProducerId",
    versions: range(0, 1),
    args: { transactionalId: "tx", transactionTimeout: 60_000 },
    expected: () => ({
      transactionalId: "tx",
      transactionTimeoutMs: 60_000,
      producerId: -1n,
      producerEpoch: -1,
    }),
  },
  {
    name: "AddPartitionsToTxn",
    apiKey: 24,
    kafkajs: "addPartitionsToTxn",
    versions: range(0, 1),
    args: {
      transactionalId: "tx",
      producerId: "12345678901",
      producerEpoch: 3,
      topics: [{ topic: "out", partitions: [0, 2] }],
    },
    expected: () => ({
      transactionalId: "tx",
      producerId: 12345678901n,
      producerEpoch: 3,
      topics: [{ name: "out", partitions: [0, 2] }],
    }),
  },
  {
    name: "AddOffsetsToTxn",
    apiKey: 25,
    kafkajs: "addOffsetsToTxn",
    versions: range(0, 1),
    args: { transactionalId: "tx", producerId: "7", producerEpoch: 1, groupId: "g" },
    expected: () => ({ transactionalId: "tx", producerId: 7n, producerEpoch: 1, groupId: "g" }),
  },
  {
    name: "EndTxn",
    apiKey: 26,
    kafkajs: "endTxn",
    versions: range(0, 1),
    args: { transactionalId: "tx", producerId: "7", producerEpoch: 1, transactionResult: true },
    expected: () => ({ transactionalId: "tx", producerId: 7n, producerEpoch: 1, committed: true }),
  },
  {
    name: "TxnOffsetCommit",
    apiKey: 28,
    kafkajs: "txnOffsetCommit",
    versions: range(0, 1),
    args: {
      transactionalId: "tx",
      groupId: "g",
      producerId: "7",
      producerEpoch: 1,
      topics: [{ topic: "in", partitions: [{ partition: 1, offset: "42", metadata: "m" }] }],
    },
    expected: () => ({
      transactionalId: "tx",
      groupId: "g",
      producerId: 7n,
      producerEpoch: 1,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [
        {
          name: "in",
          partitions: [
            { partitionIndex: 1, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: "m" },
          ],
        },
      ],
    }),
  },
  {
    name: "DescribeAcls",
    apiKey: 29,
    kafkajs: "describeAcls",
    versions: range(0, 1),
    args: {
      resourceType: 2,
      resourceName: null,
      resourcePatternType: 4,
      principal: "User:alice",
      host: null,
      operation: 3,
      permissionType: 1,
    },
    expected: (v) => ({
      resourceTypeFilter: 2,
      resourceNameFilter: null,
      patternTypeFilter: v >= 1 ? 4 : 3,
      principalFilter: "User:alice",
      hostFilter: null,
      operation: 3,
      permissionType: 1,
    }),
  },
  {
    name: "CreateAcls",
    apiKey: 30,
    kafkajs: "createAcls",
    versions: range(0, 1),
    args: {
      creations: [
        {
          resourceType: 2,
          resourceName: "orders.",
          resourcePatternType: 4,
          principal: "User:alice",
          host: "*",
          operation: 4,
          permissionType: 3,
        },
      ],
    },
    expected: (v) => ({
      creations: [
        {
          resourceType: 2,
          resourceName: "orders.",
          resourcePatternType: v >= 1 ? 4 : 3,
          principal: "User:alice",
          host: "*",
          operation: 4,
          permissionType: 3,
        },
      ],
    }),
  },
  {
    name: "DeleteAcls",
    apiKey: 31,
    kafkajs: "deleteAcls",
    versions: range(0, 1),
    args: {
      filters: [
        {
          resourceType: 1,
          resourceName: "orders",
          resourcePatternType: 2,
          principal: null,
          host: "10.0.0.1",
          operation: 1,
          permissionType: 2,
        },
      ],
    },
    expected: (v) => ({
      filters: [
        {
          resourceTypeFilter: 1,
          resourceNameFilter: "orders",
          patternTypeFilter: v >= 1 ? 2 : 3,
          principalFilter: null,
          hostFilter: "10.0.0.1",
          operation: 1,
          permissionType: 2,
        },
      ],
    }),
  },
  {
    name: "DescribeConfigs",
    apiKey: 32,
    kafkajs: "describeConfigs",
    versions: range(0, 2),
    args: { resources: [{ type: 2, name: "t", configNames: ["retention.ms"] }], includeSynonyms: true },
    expected: (v) => ({
      resources: [{ resourceType: 2, resourceName: "t", configurationKeys: ["retention.ms"] }],
      includeSynonyms: v >= 1,
      includeDocumentation: false,
    }),
  },
  {
    name: "CreatePartitions",
    apiKey: 37,
    kafkajs: "createPartitions",
    versions: range(0, 1),
    args: {
      topicPartitions: [
        {
          topic: "t",
          count: 6,
          assignments: [
            [1, 2],
            [2, 3],
          ],
        },
      ],
      validateOnly: false,
      timeout: 5000,
    },
    expected: () => ({
      topics: [{ name: "t", count: 6, assignments: [{ brokerIds: [1, 2] }, { brokerIds: [2, 3] }] }],
      timeoutMs: 5000,
      validateOnly: false,
    }),
  },
  {
    name: "DeleteGroups",
    apiKey: 42,
    kafkajs: "deleteGroups",
    versions: range(0, 1),
    args: ["a", "b"],
    expected: () => ({ groupsNames: ["a", "b"] }),
  },
  {
    name: "SaslHandshake",
    apiKey: 17,
    kafkajs: "saslHandshake",
    versions: range(0, 1),
    args: { mechanism: "SCRAM-SHA-256" },
    expected: () => ({ mechanism: "SCRAM-SHA-256" }),
  },
  {
    name: "SaslAuthenticate",
    apiKey: 36,
    kafkajs: "saslAuthenticate",
    versions: range(0, 1),
    // kafkajs's mechanisms hand over their token already size-prefixed (written for v0's raw tokens).
    args: { authBytes: Buffer.from("\x00\x00\x00\x10n,,n=alice,r=abc", "latin1") },
    expected: () => ({ authBytes: Buffer.from("n,,n=alice,r=abc") }),
  },
];

const cases = CHECKS.flatMap((check) =>
  check.versions.map((version) => ({ ...check, label: `${check.name} v${version}`, version })),
);

describe("requests encoded by kafkajs", () => {
  it.each(cases)("$label", async ({ apiKey, kafkajs, version, args, expected }) => {
    const frame = await kafkajsRequestFrame(kafkajs, version, args, 77, "kafkajs-client");
    expect(frame.readInt32BE(0)).toBe(frame.length - 4);
    const header = decodeRequestHeader(frame.subarray(4));
    expect(header).toMatchObject({
      apiKey,
      apiVersion: version,
      correlationId: 77,
      clientId: "kafkajs-client",
    });
    const request = decodeRequest(header, frame.subarray(4 + header.headerBytes));
    expect(request.body).toEqual(expected(version));
    const again = encodeRequest(
      apiKey,
      version,
      77,
      "kafkajs-client",
      request.body as RequestInputs[ApiKeyNumber],
    );
    expect(Buffer.concat(again).equals(frame)).toBe(true);
  });

  it("a Produce request's records are kafkajs's RecordBatch v2, handed over as a view of the frame", async () => {
    const args = CHECKS[0].args;
    const frame = await kafkajsRequestFrame("produce", 7, args, 1, "c");
    const header = decodeRequestHeader(frame.subarray(4));
    const request = decodeRequest(header, frame.subarray(4 + header.headerBytes));
    if (request.apiKey !== 0) throw new Error("expected a Produce request");
    const records = request.body.topicData[0].partitionData[0].records as Buffer;
    expect(records.buffer).toBe(frame.buffer);
    const batch = decodeRecordBatch(records);
    expect(batch.records.map((record) => [String(record.key), String(record.value)])).toEqual([["k1", "v1"]]);
  });
});
