// Bad input gets a typed error, the node keeps serving, and the log is unchanged.
import { encodeRecordBatch, type FetchResponse__Output, type ProduceResponse__Output } from "@brook/protocol";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Call, rawBroker } from "./grpc.js";

let cluster: Cluster;
let call: Call;
let close: () => void;

const topic = "bad-input";
const good = () => encodeRecordBatch([{ key: "k", value: "v" }]);

/** acks=all, so the high watermark covers an accepted batch when this returns. */
async function produce(records: Buffer, partition = 0, name = topic) {
  const response = await call<ProduceResponse__Output>("Produce", {
    acks: -1,
    timeoutMs: 5_000,
    topics: [{ topic: name, partitions: [{ partition, records }] }],
  });
  return response.topics[0].partitions[0];
}

async function highWatermark(): Promise<number> {
  const response = await call<FetchResponse__Output>("Fetch", {
    maxBytes: 1 << 20,
    minBytes: 0,
    maxWaitMs: 0,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
  });
  return response.topics[0].partitions[0].highWatermark;
}

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
  ({ call, close } = rawBroker(cluster.bootstrap));
  await call("CreateTopics", {
    topics: [
      {
        name: topic,
        numPartitions: 1,
        replicationFactor: 1,
        configs: [{ key: "max.message.bytes", value: "4096" }],
      },
    ],
  });
  expect((await produce(good())).error?.code).toBe("");
});

afterAll(async () => {
  close?.();
  await cluster?.stop();
});

describe("bad input on the produce path", () => {
  it.each([
    [
      "a corrupt CRC",
      () => {
        const batch = good();
        batch[batch.length - 1] ^= 0xff;
        return batch;
      },
      "CORRUPT_BATCH",
    ],
    ["a truncated batch", () => good().subarray(0, 40), "CORRUPT_BATCH"],
    [
      "a batch cut mid-records",
      () => {
        const b = good();
        return b.subarray(0, b.length - 3);
      },
      "CORRUPT_BATCH",
    ],
    [
      "a batch over max.message.bytes",
      () => encodeRecordBatch([{ value: Buffer.alloc(8192) }]),
      "RECORD_TOO_LARGE",
    ],
    [
      "a wrong magic byte",
      () => {
        const b = good();
        b[16] = 1;
        return b;
      },
      "UNSUPPORTED_BATCH",
    ],
    ["no records at all", () => Buffer.alloc(0), "INVALID_REQUEST"],
    [
      "garbage that claims to be v2",
      () => {
        const bytes = Buffer.from("this is not a record batch, not even close to one......................");
        bytes[16] = 2; // the magic byte, so only the length and CRC checks can catch it
        return bytes;
      },
      "CORRUPT_BATCH",
    ],
  ])("%s is refused with its typed error and the log is unchanged", async (_name, make, code) => {
    const before = await highWatermark();
    const result = await produce(make());
    expect(result.error?.code).toBe(code);
    expect(result.error?.message).not.toBe("");
    expect(await highWatermark()).toBe(before);
    expect((await produce(good())).error?.code).toBe(""); // still serving
  });

  it("an unknown topic, a partition out of range", async () => {
    expect((await produce(good(), 0, "no-such-topic")).error?.code).toBe("UNKNOWN_TOPIC");
    expect((await produce(good(), 5)).error?.code).toBe("UNKNOWN_PARTITION");
    expect((await produce(good(), -1)).error?.code).toBe("UNKNOWN_PARTITION");
  });

  it("an invalid acks value or a missing topic name is INVALID_REQUEST", async () => {
    await expect(call("Produce", { acks: 7, topics: [] })).rejects.toMatchObject({ code: "INVALID_REQUEST" });
    expect((await produce(good(), 0, "")).error?.code).toBe("INVALID_REQUEST");
  });
});

describe("bad input on admin and fetch", () => {
  it.each([
    [{ name: "bad/name", numPartitions: 1, replicationFactor: 1 }, "INVALID_TOPIC"],
    [{ name: "", numPartitions: 1, replicationFactor: 1 }, "INVALID_TOPIC"],
    [{ name: "no-partitions", replicationFactor: 1 }, "INVALID_PARTITIONS"],
    [{ name: "too-many-replicas", numPartitions: 1, replicationFactor: 3 }, "INVALID_REPLICATION_FACTOR"],
    [
      {
        name: "bad-config",
        numPartitions: 1,
        replicationFactor: 1,
        configs: [{ key: "retention.ms", value: "soon" }],
      },
      "INVALID_CONFIG",
    ],
    [{ name: topic, numPartitions: 1, replicationFactor: 1 }, "TOPIC_ALREADY_EXISTS"],
  ])("create %j → %s", async (request, code) => {
    const response = await call<{ topics: Array<{ error: { code: string } }> }>("CreateTopics", {
      topics: [request],
    });
    expect(response.topics[0].error.code).toBe(code);
  });

  it("fetch with missing sizes or an offset past the end gets a typed error", async () => {
    await expect(call("Fetch", { topics: [] })).rejects.toMatchObject({ code: "INVALID_REQUEST" });
    const response = await call<FetchResponse__Output>("Fetch", {
      maxBytes: 1024,
      topics: [
        {
          topic,
          partitions: [
            { partition: 0, fetchOffset: 1_000_000, partitionMaxBytes: 1024 },
            { partition: 0, fetchOffset: 0 },
          ],
        },
        { topic: "no-such-topic", partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 }] },
      ],
    });
    expect(response.topics[0].partitions.map((p) => p.error?.code)).toEqual([
      "OFFSET_OUT_OF_RANGE",
      "INVALID_REQUEST",
    ]);
    expect(response.topics[1].partitions[0].error?.code).toBe("UNKNOWN_TOPIC");
  });

  it("a request over the gRPC message cap is refused without harming the node", async () => {
    const huge = Buffer.alloc(65 * 1024 * 1024);
    await expect(produce(huge)).rejects.toMatchObject({ code: "REQUEST_TOO_LARGE" });
    expect((await produce(good())).error?.code).toBe("");
  });
});
