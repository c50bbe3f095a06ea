// Transactions over the wire (issue 17), on three real node processes, driving the Broker gRPC API
// directly: FindCoordinator with a transactional id creates __transaction_state; InitProducerId,
// AddPartitionsToTxn and transactional batches on two partitions; a commit and an abort; a
// read_committed fetch sees the committed records and drops the aborted ones (the markers are never
// records); offsets committed in a transaction become the group's only with its commit; a second
// InitProducerId fences the first producer; Describe/ListTransactions show the coordinator's view.
import {
  decodeRecordBatches,
  encodeRecordBatch,
  type FetchResponse__Output,
  type FindCoordinatorResponse__Output,
  type InitProducerIdResponse__Output,
  type MetadataResponse__Output,
  type ProduceResponse__Output,
} from "@brook/protocol";
import { type Cluster, type NodeHandle, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawBroker, tryBrokerCall, tryMetadata } from "./grpc.js";
import { waitFor } from "./wait.js";

let cluster: Cluster;
const topic = "txn-out";

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
  await waitFor("three brokers", 20_000, async () =>
    (await tryMetadata(cluster.nodes[0]))?.brokers.length === 3 ? true : undefined,
  );
  const admin = rawBroker(`127.0.0.1:${cluster.nodes[0].brokerPort}`);
  await admin.call("CreateTopics", {
    topics: [{ name: topic, numPartitions: 2, replicationFactor: 3, configs: [] }],
  });
  admin.close();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

const nodeById = (id: number): NodeHandle => cluster.nodes.find((n) => n.id === id) as NodeHandle;
type WithError = { error?: { code: string; message?: string } | null };
/** Retriable answers while topics are created, shards load and leaders settle. */
const transient =
  /COORDINATOR|NOT_LEADER|NOT_ENOUGH_REPLICAS|TIMED_OUT|CONCURRENT_TRANSACTIONS|UNKNOWN_SERVER_ERROR/;

/** Calls `node()`'s broker until it answers without a transient error. */
async function call<Res>(
  what: string,
  node: () => Promise<NodeHandle>,
  method: string,
  request: unknown,
): Promise<Res> {
  return waitFor(what, 30_000, async () => {
    const answer = await tryBrokerCall<Res>(await node(), method, request);
    if (answer === undefined || transient.test((answer as WithError).error?.code ?? "")) return undefined;
    return answer;
  });
}

function coordinatorOf(key: { transactionalId: string } | { groupId: string }): Promise<NodeHandle> {
  return waitFor(`the coordinator of ${JSON.stringify(key)}`, 30_000, async () => {
    const answer = await tryBrokerCall<FindCoordinatorResponse__Output>(cluster.nodes[0], "FindCoordinator", {
      groupId: "",
      transactionalId: "",
      ...key,
    });
    return answer && !answer.error?.code ? nodeById(answer.nodeId) : undefined;
  });
}

async function leaderOf(partition: number): Promise<NodeHandle> {
  return waitFor(`a leader of ${topic}-${partition}`, 20_000, async () => {
    const metadata = await tryBrokerCall<MetadataResponse__Output>(cluster.nodes[0], "Metadata", {
      topics: [topic],
    });
    const leader = metadata?.topics[0]?.partitions.find((p) => p.partition === partition)?.leader ?? -1;
    return leader > 0 ? nodeById(leader) : undefined;
  });
}

interface Producer {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  /** The next sequence per partition. */
  readonly sequences: Map<number, number>;
}

async function initProducer(transactionalId: string): Promise<Producer> {
  const answer = await call<InitProducerIdResponse__Output>(
    `InitProducerId(${transactionalId})`,
    () => coordinatorOf({ transactionalId }),
    "InitProducerId",
    { transactionalId, transactionTimeoutMs: 60_000 },
  );
  expect(answer.error?.code ?? "").toBe("");
  return {
    transactionalId,
    producerId: Number(answer.producerId),
    producerEpoch: answer.producerEpoch,
    sequences: new Map(),
  };
}

function onCoordinator<Res>(producer: Producer, method: string, request: object): Promise<Res> {
  return call<Res>(`${method}(${producer.transactionalId})`, () => coordinatorOf(producer), method, {
    transactionalId: producer.transactionalId,
    producerId: producer.producerId,
    producerEpoch: producer.producerEpoch,
    ...request,
  });
}

/** One transactional batch of `values` to the partition's leader (acks=all). */
async function produce(producer: Producer, partition: number, values: string[]): Promise<void> {
  const baseSequence = producer.sequences.get(partition) ?? 0;
  const records = encodeRecordBatch(
    values.map((value) => ({ key: null, value })),
    {
      producerId: producer.producerId,
      producerEpoch: producer.producerEpoch,
      baseSequence,
      transactional: true,
    },
  );
  const answer = await call<ProduceResponse__Output & WithError>(
    `produce to ${topic}-${partition}`,
    () => leaderOf(partition),
    "Produce",
    { acks: -1, timeoutMs: 10_000, topics: [{ topic, partitions: [{ partition, records }] }] },
  );
  const error = answer.topics[0].partitions[0].error;
  expect(error?.code ?? "", error?.message).toBe("");
  producer.sequences.set(partition, baseSequence + values.length);
}

/** Values of `partition` as a read_committed reader delivers them: aborted transactions and markers dropped. */
async function readCommitted(partition: number): Promise<string[]> {
  const answer = await call<FetchResponse__Output & WithError>(
    `read_committed fetch of ${topic}-${partition}`,
    () => leaderOf(partition),
    "Fetch",
    {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 1,
      topics: [
        {
          topic,
          partitions: [{ partition, fetchOffset: 0, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 }],
        },
      ],
    },
  );
  const result = answer.topics[0].partitions[0];
  expect(result.error?.code ?? "").toBe("");
  // Kafka's reader: an aborted transaction starts at its first offset and ends at its producer's abort marker.
  const pending = [...(result.abortedTransactions ?? [])]
    .map((t) => ({ producerId: Number(t.producerId), firstOffset: Number(t.firstOffset) }))
    .sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedNow = new Set<number>();
  const values: string[] = [];
  for (const { header, records } of decodeRecordBatches(result.records)) {
    while (pending.length > 0 && pending[0].firstOffset <= header.lastOffset) {
      abortedNow.add(pending.shift()!.producerId);
    }
    if (header.isControl) {
      abortedNow.delete(header.producerId);
      continue;
    }
    if (header.isTransactional && abortedNow.has(header.producerId)) continue;
    for (const record of records) values.push(record.value?.toString("utf8") ?? "");
  }
  return values;
}

describe("transactions on three nodes", () => {
  it("commit is visible to read_committed readers, abort never is", async () => {
    const producer = await initProducer("tx-app");
    expect(producer.producerEpoch).toBe(0);

    const added = await onCoordinator<{ topics: { partitions: { error: { code: string } | null }[] }[] }>(
      producer,
      "AddPartitionsToTxn",
      { topics: [{ topic, partitions: [0, 1] }] },
    );
    expect(added.topics.flatMap((t) => t.partitions.map((p) => p.error?.code ?? ""))).toEqual(["", ""]);
    await produce(producer, 0, ["c0-a", "c0-b"]);
    await produce(producer, 1, ["c1-a"]);
    expect((await onCoordinator<WithError>(producer, "EndTxn", { committed: true })).error?.code ?? "").toBe(
      "",
    );

    await onCoordinator(producer, "AddPartitionsToTxn", { topics: [{ topic, partitions: [0, 1] }] });
    await produce(producer, 0, ["x0"]);
    await produce(producer, 1, ["x1"]);
    expect((await onCoordinator<WithError>(producer, "EndTxn", { committed: false })).error?.code ?? "").toBe(
      "",
    );

    await onCoordinator(producer, "AddPartitionsToTxn", { topics: [{ topic, partitions: [0] }] });
    await produce(producer, 0, ["c0-c"]);
    expect((await onCoordinator<WithError>(producer, "EndTxn", { committed: true })).error?.code ?? "").toBe(
      "",
    );

    expect(await readCommitted(0)).toEqual(["c0-a", "c0-b", "c0-c"]);
    expect(await readCommitted(1)).toEqual(["c1-a"]);
  }, 120_000);

  it("offsets committed in a transaction become the group's only with its commit", async () => {
    const groupId = "txn-group";
    const producer = await initProducer("tx-offsets");
    // The group's coordinator exists first (it creates __consumer_offsets).
    await coordinatorOf({ groupId });
    await onCoordinator(producer, "AddPartitionsToTxn", { topics: [{ topic, partitions: [1] }] });
    expect((await onCoordinator<WithError>(producer, "AddOffsetsToTxn", { groupId })).error?.code ?? "").toBe(
      "",
    );
    const committed = await call<WithError>(
      "TxnOffsetCommit",
      () => coordinatorOf({ groupId }),
      "TxnOffsetCommit",
      {
        transactionalId: producer.transactionalId,
        groupId,
        producerId: producer.producerId,
        producerEpoch: producer.producerEpoch,
        memberId: "",
        memberEpoch: -1,
        topics: [{ topic, partitions: [{ partition: 0, offset: 17, metadata: "" }] }],
      },
    );
    expect(committed.error?.code ?? "").toBe("");
    const fetchOffset = async () => {
      const answer = await call<{ topics: { partitions: { offset: number }[] }[] } & WithError>(
        "OffsetFetch",
        () => coordinatorOf({ groupId }),
        "OffsetFetch",
        { groupId, topics: [{ topic, partitions: [0] }] },
      );
      return Number(answer.topics[0]?.partitions[0]?.offset ?? -1);
    };
    expect(await fetchOffset()).toBe(-1);
    const described = await call<{ transactions: { state: string; groups: string[] }[] }>(
      "DescribeTransactions",
      () => coordinatorOf(producer),
      "DescribeTransactions",
      { transactionalIds: [producer.transactionalId] },
    );
    expect(described.transactions[0]).toMatchObject({ state: "Ongoing", groups: [groupId] });
    expect((await onCoordinator<WithError>(producer, "EndTxn", { committed: true })).error?.code ?? "").toBe(
      "",
    );
    expect(await fetchOffset()).toBe(17);
  }, 120_000);

  it("a second InitProducerId aborts the open transaction and fences the first producer", async () => {
    const first = await initProducer("tx-fence");
    await onCoordinator(first, "AddPartitionsToTxn", { topics: [{ topic, partitions: [1] }] });
    await produce(first, 1, ["zombie"]);
    const second = await initProducer("tx-fence");
    expect(second.producerId).toBe(first.producerId);
    expect(second.producerEpoch).toBe(first.producerEpoch + 2); // one bump to abort, one for the new instance
    const refused = await onCoordinator<WithError>(first, "EndTxn", { committed: true });
    expect(refused.error?.code).toBe("PRODUCER_FENCED");
    expect(await readCommitted(1)).not.toContain("zombie");

    const listed = await Promise.all(
      cluster.nodes.map((node) =>
        tryBrokerCall<{ transactions: { transactionalId: string; state: string }[] }>(
          node,
          "ListTransactions",
          {
            states: [],
          },
        ),
      ),
    );
    const states = Object.fromEntries(
      listed.flatMap((answer) => answer?.transactions ?? []).map((t) => [t.transactionalId, t.state]),
    );
    expect(states).toMatchObject({ "tx-app": "CompleteCommit", "tx-fence": "Empty" });
  }, 120_000);
});
