// Rule: responses Brook encodes read back right in kafkajs 2.2.4's own decoders, for every api and
// version where the two overlap: random bodies (from the schemas) must show kafkajs the same values,
// in the same order, as the schema puts on the wire. Fetch, whose records kafkajs parses, is checked
// with real record batches.

import { encodeRecordBatch } from "@brook/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Struct } from "../src/codec/compile.js";
import {
  type ApiKeyNumber,
  encodeResponse,
  type FetchResponseInput,
  type ResponseInputs,
} from "../src/index.js";
import { bodyArbitrary, schemaOf, wireLeaves } from "./arbitraries.js";
import { kafkajsDecodeResponse, kafkajsLeaves } from "./kafkajs.js";

const RUNS = 30;
/** Response header v0 (all overlapping versions are classic): the correlation id. */
const RESPONSE_HEADER_BYTES = 4;
const UNSUPPORTED_VERSION = 35;

interface ResponseCheck {
  apiKey: ApiKeyNumber;
  kafkajs: string;
  versions: readonly number[];
  /** Keys kafkajs computes rather than reads off the wire, per version. */
  derived?: (version: number) => string[];
  /** The array kafkajs sorts by topic name, if any. */
  sortedByName?: string;
}

const CHECKS: ResponseCheck[] = [
  { apiKey: 0, kafkajs: "produce", versions: [3, 4, 5, 6, 7] },
  { apiKey: 2, kafkajs: "listOffsets", versions: [1, 2, 3] },
  { apiKey: 3, kafkajs: "metadata", versions: [0, 1, 2, 3, 4, 5, 6] },
  { apiKey: 8, kafkajs: "offsetCommit", versions: [2, 3, 4, 5] },
  { apiKey: 9, kafkajs: "offsetFetch", versions: [1, 2, 3, 4] },
  { apiKey: 10, kafkajs: "findCoordinator", versions: [0, 1, 2] },
  { apiKey: 11, kafkajs: "joinGroup", versions: [0, 1, 2, 3, 4, 5] },
  { apiKey: 12, kafkajs: "heartbeat", versions: [0, 1, 2, 3] },
  { apiKey: 13, kafkajs: "leaveGroup", versions: [0, 1, 2, 3] },
  { apiKey: 14, kafkajs: "syncGroup", versions: [0, 1, 2, 3] },
  { apiKey: 15, kafkajs: "describeGroups", versions: [0, 1, 2] },
  { apiKey: 16, kafkajs: "listGroups", versions: [0, 1, 2] },
  { apiKey: 17, kafkajs: "saslHandshake", versions: [0, 1] },
  { apiKey: 18, kafkajs: "apiVersions", versions: [0, 1, 2] },
  { apiKey: 19, kafkajs: "createTopics", versions: [2, 3], sortedByName: "topics" },
  { apiKey: 20, kafkajs: "deleteTopics", versions: [0, 1], sortedByName: "responses" },
  { apiKey: 22, kafkajs: "initProducerId", versions: [0, 1] },
  { apiKey: 24, kafkajs: "addPartitionsToTxn", versions: [0, 1] },
  { apiKey: 25, kafkajs: "addOffsetsToTxn", versions: [0, 1] },
  { apiKey: 26, kafkajs: "endTxn", versions: [0, 1] },
  { apiKey: 28, kafkajs: "txnOffsetCommit", versions: [0, 1] },
  { apiKey: 29, kafkajs: "describeAcls", versions: [0, 1] },
  { apiKey: 30, kafkajs: "createAcls", versions: [0, 1] },
  { apiKey: 31, kafkajs: "deleteAcls", versions: [0, 1] },
  {
    apiKey: 32,
    kafkajs: "describeConfigs",
    versions: [0, 1, 2],
    // v0 has no config source on the wire and kafkajs infers one; from v1 it infers isDefault instead.
    derived: (version) => (version === 0 ? ["configSource"] : ["isDefault"]),
  },
  { apiKey: 37, kafkajs: "createPartitions", versions: [0, 1], sortedByName: "results" },
  // kafkajs attaches an `error` object to each failed group.
  { apiKey: 42, kafkajs: "deleteGroups", versions: [0, 1], derived: () => ["error"] },
];

/** kafkajs throws on UNSUPPORTED_VERSION by design (it then retries lower); keep that code out. */
function withoutUnsupportedVersion(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUnsupportedVersion);
  if (value === null || typeof value !== "object" || Buffer.isBuffer(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      key === "errorCode" && item === UNSUPPORTED_VERSION ? 0 : withoutUnsupportedVersion(item),
    ]),
  );
}

/** kafkajs sorts topic results with this comparator; a stable sort of ours the same way lines them up. */
function sortByName(body: Struct, key: string | undefined): Struct {
  if (key === undefined) return body;
  const items = [...(body[key] as { name: string }[])];
  items.sort((a, b) => a.name.localeCompare(b.name));
  return { ...body, [key]: items };
}

function encodedBody(apiKey: ApiKeyNumber, version: number, body: unknown): Buffer {
  const frame = Buffer.concat(encodeResponse(apiKey, version, 3, body as ResponseInputs[ApiKeyNumber]));
  return frame.subarray(4 + RESPONSE_HEADER_BYTES);
}

const cases = CHECKS.flatMap((check) =>
  check.versions.map((version) => ({
    ...check,
    label: `${schemaOf(check.apiKey).name} v${version}`,
    version,
  })),
);

describe("responses decoded by kafkajs", () => {
  it.each(cases)("$label", async ({ apiKey, kafkajs, version, derived, sortedByName }) => {
    const schema = schemaOf(apiKey);
    const derivedKeys = new Set(derived?.(version) ?? []);
    await fc.assert(
      fc.asyncProperty(bodyArbitrary(schema, version, "response"), async (generated) => {
        const body = sortByName(withoutUnsupportedVersion(generated) as Struct, sortedByName);
        const decoded = await kafkajsDecodeResponse(kafkajs, version, encodedBody(apiKey, version, body));
        expect(kafkajsLeaves(decoded, derivedKeys)).toEqual(wireLeaves(schema.response, version, body));
      }),
      { numRuns: RUNS },
    );
  });
});

describe("Fetch responses decoded by kafkajs", () => {
  const records = encodeRecordBatch(
    [
      { key: "k1", value: "v1", timestamp: 1_700_000_000_000 },
      { key: "k2", value: "v2", timestamp: 1_700_000_000_001 },
    ],
    { baseOffset: 40 },
  );

  function fetchResponse(version: number): FetchResponseInput {
    return {
      throttleTimeMs: 12,
      errorCode: 0,
      sessionId: 99,
      responses: [
        {
          topic: "orders",
          partitions: [
            {
              partitionIndex: 3,
              errorCode: 0,
              highWatermark: 42n,
              lastStableOffset: 41n,
              logStartOffset: 7n,
              abortedTransactions: [{ producerId: 5n, firstOffset: 30n }],
              preferredReadReplica: version >= 11 ? 2 : -1,
              records,
            },
          ],
        },
      ],
    };
  }

  it.each([4, 5, 6, 7, 8, 9, 10, 11])("v%i", async (version) => {
    const body = encodedBody(1, version, fetchResponse(version));
    const decoded = await kafkajsDecodeResponse("fetch", version, body);
    const partition = (
      decoded.responses as { topicName: string; partitions: Record<string, unknown>[] }[]
    )[0];
    expect(partition.topicName).toBe("orders");
    const data = partition.partitions[0];
    expect(data).toMatchObject({
      partition: 3,
      errorCode: 0,
      highWatermark: "42",
      lastStableOffset: "41",
      abortedTransactions: [{ producerId: "5", firstOffset: "30" }],
    });
    if (version >= 5) expect(data.lastStartOffset).toBe("7");
    if (version >= 7) expect(decoded).toMatchObject({ errorCode: 0, sessionId: 99 });
    if (version >= 11) expect(data.preferredReadReplica).toBe(2);
    const messages = data.messages as { offset: string; key: Buffer; value: Buffer }[];
    expect(messages.map((message) => [message.offset, String(message.key), String(message.value)])).toEqual([
      ["40", "k1", "v1"],
      ["41", "k2", "v2"],
    ]);
  });
});

describe("SaslAuthenticate responses decoded by kafkajs", () => {
  // kafkajs hands the SCRAM code the token with an int32 size in front (its mechanisms were written for
  // v0 handshakes' raw tokens), so the token is compared in that form rather than as a wire leaf.
  it.each([0, 1])("v%i", async (version) => {
    const token = Buffer.from("r=abc,s=c2FsdA==,i=4096");
    const body = encodedBody(36, version, {
      errorCode: 58,
      errorMessage: "Authentication failed",
      authBytes: token,
      sessionLifetimeMs: 0n,
    });
    const decoded = await kafkajsDecodeResponse("saslAuthenticate", version, body);
    const sized = Buffer.alloc(4);
    sized.writeInt32BE(token.length);
    expect(decoded).toMatchObject({ errorCode: 58, errorMessage: "Authentication failed" });
    expect(decoded.authBytes).toEqual(Buffer.concat([sized, token]));
    if (version >= 1) expect(decoded.sessionLifetimeMs).toBe("0");
  });
});
