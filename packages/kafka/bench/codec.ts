// Micro benchmark of the codec on the data path: what encoding a Fetch response and decoding a Produce
// request cost with MiB-sized record data (which must not be copied), plus a large Metadata response.
//   node --conditions=source --import tsx packages/kafka/bench/codec.ts

import {
  ApiKey,
  decodeRequest,
  decodeRequestHeader,
  encodeRequest,
  encodeResponse,
  type FetchResponseInput,
  type MetadataResponseInput,
} from "@brook/kafka";

const WARMUP_ITERATIONS = 500;
const MEASURED_ITERATIONS = 5000;
const MIB = 1024 * 1024;

function measure(name: string, run: () => unknown): void {
  for (let index = 0; index < WARMUP_ITERATIONS; index++) run();
  const samplesNs = new Float64Array(MEASURED_ITERATIONS);
  for (let index = 0; index < MEASURED_ITERATIONS; index++) {
    const started = process.hrtime.bigint();
    run();
    samplesNs[index] = Number(process.hrtime.bigint() - started);
  }
  samplesNs.sort();
  const medianNs = samplesNs[Math.floor(samplesNs.length / 2)];
  const p99Ns = samplesNs[Math.floor(samplesNs.length * 0.99)];
  const micros = (ns: number) => `${(ns / 1000).toFixed(1).padStart(7)} µs`;
  console.log(`${name.padEnd(58)} median ${micros(medianNs)}   p99 ${micros(p99Ns)}`);
}

function fetchResponse(partitionRecords: Buffer[]): FetchResponseInput {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 1,
    responses: [
      {
        topic: "orders",
        partitions: partitionRecords.map((records, partitionIndex) => ({
          partitionIndex,
          errorCode: 0,
          highWatermark: 1_000_000n,
          lastStableOffset: 1_000_000n,
          logStartOffset: 0n,
          abortedTransactions: null,
          currentLeader: { leaderId: 1, leaderEpoch: 5 },
          records,
        })),
      },
    ],
  };
}

const oneMiB = [Buffer.alloc(MIB, 1)];
const sixteenBy64KiB = Array.from({ length: 16 }, () => Buffer.alloc(64 * 1024, 2));

measure("encode Fetch v12 response, 1 partition x 1 MiB", () =>
  encodeResponse(ApiKey.Fetch, 12, 1, fetchResponse(oneMiB)),
);
measure("encode Fetch v11 response, 1 partition x 1 MiB", () =>
  encodeResponse(ApiKey.Fetch, 11, 1, fetchResponse(oneMiB)),
);
measure("encode Fetch v12 response, 16 partitions x 64 KiB", () =>
  encodeResponse(ApiKey.Fetch, 12, 1, fetchResponse(sixteenBy64KiB)),
);
measure("  for comparison: Buffer.concat of that 1 MiB response", () =>
  Buffer.concat(encodeResponse(ApiKey.Fetch, 12, 1, fetchResponse(oneMiB))),
);

const produceFrame = Buffer.concat(
  encodeRequest(ApiKey.Produce, 9, 1, "bench", {
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: "orders", partitionData: [{ index: 0, records: Buffer.alloc(MIB, 3) }] }],
  }),
).subarray(4);
measure("decode Produce v9 request (header + body), 1 MiB records", () => {
  const header = decodeRequestHeader(produceFrame);
  return decodeRequest(header, produceFrame.subarray(header.headerBytes));
});

const metadata: MetadataResponseInput = {
  throttleTimeMs: 0,
  brokers: [1, 2, 3].map((nodeId) => ({ nodeId, host: `broker-${nodeId}.example`, port: 9094, rack: null })),
  clusterId: "brook-cluster",
  controllerId: 1,
  topics: Array.from({ length: 100 }, (_, topic) => ({
    errorCode: 0,
    name: `topic-${topic}`,
    topicId: "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    isInternal: false,
    partitions: Array.from({ length: 10 }, (_, partitionIndex) => ({
      errorCode: 0,
      partitionIndex,
      leaderId: (partitionIndex % 3) + 1,
      leaderEpoch: 4,
      replicaNodes: [1, 2, 3],
      isrNodes: [1, 2, 3],
      offlineReplicas: [],
    })),
  })),
};
measure("encode Metadata v12 response, 100 topics x 10 partitions", () =>
  encodeResponse(ApiKey.Metadata, 12, 1, metadata),
);
