// Rule: the transaction coordinator persists every state change to __transaction_state (acks=all)
// before it answers, writes a prepared transaction's markers to each partition's leader with its
// leader epoch as coordinator epoch, and completes it; a new leader of the shard replays the
// partition and completes what was prepared; an open transaction past its timeout, or left open by
// a producer that restarts, is aborted at a bumped epoch (fencing the old producer).
import type { MetadataRecord } from "@brook/metadata";
import {
  BrookError,
  decodeRecordBatches,
  ManualClock,
  type WriteTxnMarkersRequest__Output,
  type WriteTxnMarkersResponse,
} from "@brook/protocol";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TxnMarkerChannel } from "../src/context.js";
import { OFFSETS_TOPIC } from "../src/groups/records.js";
import { initProducerId } from "../src/producer-ids.js";
import {
  TransactionCoordinator,
  type TransactionCoordinatorConfig,
} from "../src/transactions/coordinator.js";
import { TransactionHandlers } from "../src/transactions/handlers.js";
import { parseTransactionRecord, TRANSACTION_STATE_TOPIC } from "../src/transactions/records.js";
import { brokerId, silentLogger, startTestBroker, type TestBroker, topicRecords } from "./helpers.js";

const txnStateTopicId = "txn-state-topic-id";
const config: Partial<TransactionCoordinatorConfig> = {
  completionWaitMsMax: 200,
  markerRetryBackoffMsMin: 5,
  markerRetryBackoffMsMax: 20,
};

/** A marker channel that records what it is sent and answers as `answer` says (success by default). */
class FakeMarkers implements TxnMarkerChannel {
  readonly sent: { brokerId: number; request: WriteTxnMarkersRequest__Output }[] = [];
  failing: string | undefined;

  async writeTxnMarkers(
    to: number,
    request: WriteTxnMarkersRequest__Output,
  ): Promise<WriteTxnMarkersResponse> {
    this.sent.push({ brokerId: to, request });
    const error =
      this.failing === undefined ? { code: "", message: "" } : { code: this.failing, message: "test" };
    return {
      markers: request.markers.map((marker) => ({
        producerId: marker.producerId,
        topics: marker.topics.map(({ topic, partitions }) => ({
          topic,
          partitions: partitions.map((partition) => ({ partition, error })),
        })),
      })),
    };
  }

  markers() {
    return this.sent.flatMap(({ brokerId: to, request }) =>
      request.markers.map((marker) => ({ to, ...marker })),
    );
  }
}

let broker: TestBroker;
let clock: ManualClock;
let markers: FakeMarkers;
let coordinator: TransactionCoordinator;
let nextId: number;

async function startCoordinator(
  options: { nextProducerId?: () => Promise<number>; config?: Partial<TransactionCoordinatorConfig> } = {},
): Promise<void> {
  coordinator = new TransactionCoordinator({
    brokerId,
    replicas: broker.replicas,
    metadata: broker.metadata,
    logger: silentLogger,
    clock,
    markers,
    nextProducerId: options.nextProducerId ?? (async () => nextId++),
    config: { ...config, ...options.config },
  });
  coordinator.onImage(broker.metadata.image);
  await vi.waitFor(() => coordinator.locate("app"), { timeout: 5_000, interval: 10 });
}

beforeEach(async () => {
  clock = new ManualClock();
  markers = new FakeMarkers();
  nextId = 1_000;
  broker = startTestBroker({ clock });
  await broker.apply([
    ...topicRecords(TRANSACTION_STATE_TOPIC, { partitions: 1, topicId: txnStateTopicId }),
    ...topicRecords(OFFSETS_TOPIC, { partitions: 3 }),
    ...topicRecords("orders", { partitions: 2 }),
  ]);
  await startCoordinator();
});

afterEach(async () => {
  coordinator.close();
  await broker.close();
});

/** This broker leads the shard again, in a new leader epoch (as after a failover and return). */
async function leadShardAtEpoch(leaderEpoch: number): Promise<void> {
  await broker.apply([
    {
      type: "partition",
      topicId: txnStateTopicId,
      partition: 0,
      replicas: [brokerId],
      isr: [brokerId],
      leader: brokerId,
      leaderEpoch,
      partitionEpoch: leaderEpoch,
    },
  ]);
}

/** The states the shard's log holds, in order. */
function storedStates(): string[] {
  const partition = broker.replicas.local(TRANSACTION_STATE_TOPIC, 0)!;
  const { records } = partition.log.read(0, 1 << 20, {
    maxOffset: partition.log.logEndOffset,
    minOneBatch: true,
  });
  return decodeRecordBatches(records).flatMap(({ records: rs }) =>
    rs.map((r) => {
      const txn = parseTransactionRecord(r);
      return `${txn.state}@${txn.producerEpoch}`;
    }),
  );
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "no error";
  } catch (error) {
    return error instanceof BrookError ? error.code : String(error);
  }
}

const orders0 = { topic: "orders", partition: 0 };
const orders1 = { topic: "orders", partition: 1 };

describe("a transaction's life on its coordinator", () => {
  it("init, add, commit: each step persisted; markers to the leader with the coordinator epoch", async () => {
    const producer = await coordinator.initProducerId("app", 60_000);
    expect(producer).toEqual({ producerId: 1_000, producerEpoch: 0 });
    await coordinator.addPartitions("app", producer, [orders1, orders0]);
    await coordinator.addPartitions("app", producer, [orders0]); // nothing new: nothing written
    await coordinator.endTxn("app", producer, true);
    expect(markers.markers()).toEqual([
      {
        to: brokerId,
        producerId: 1_000,
        producerEpoch: 0,
        committed: true,
        coordinatorEpoch: 0,
        topics: [{ topic: "orders", partitions: [0, 1] }],
      },
    ]);
    expect(storedStates()).toEqual(["Empty@0", "Ongoing@0", "PrepareCommit@0", "CompleteCommit@0"]);
    const { transaction } = await coordinator.describe("app");
    expect(transaction).toMatchObject({ state: "CompleteCommit", partitions: [], startTimeMs: -1 });
    // A retried EndTxn for the completed commit succeeds; an abort of it does not.
    await coordinator.endTxn("app", producer, true);
    expect(await codeOf(coordinator.endTxn("app", producer, false))).toBe("INVALID_TXN_STATE");
  });

  it("AddOffsetsToTxn puts the group's __consumer_offsets partition in the markers", async () => {
    const producer = await coordinator.initProducerId("app", 60_000);
    await coordinator.addPartitions("app", producer, [orders0]);
    await coordinator.addOffsets("app", producer, "billing");
    const { transaction } = await coordinator.describe("app");
    expect(transaction.groups).toEqual(["billing"]);
    await coordinator.endTxn("app", producer, false);
    const [marker] = markers.markers();
    expect(marker.committed).toBe(false);
    expect(marker.topics.map((t) => t.topic).sort()).toEqual([OFFSETS_TOPIC, "orders"]);
  });

  it("a second InitProducerId aborts the open transaction at a bumped epoch and fences the first producer", async () => {
    const first = await coordinator.initProducerId("app", 60_000);
    await coordinator.addPartitions("app", first, [orders0]);
    const second = await coordinator.initProducerId("app", 60_000);
    expect(second).toEqual({ producerId: 1_000, producerEpoch: 2 });
    expect(markers.markers()).toMatchObject([{ producerEpoch: 1, committed: false }]);
    expect(storedStates()).toEqual(["Empty@0", "Ongoing@0", "PrepareAbort@1", "CompleteAbort@1", "Empty@2"]);
    expect(await codeOf(coordinator.endTxn("app", first, true))).toBe("PRODUCER_FENCED");
    expect(await codeOf(coordinator.addPartitions("app", first, [orders0]))).toBe("PRODUCER_FENCED");
    expect(await codeOf(coordinator.addPartitions("app", { ...second, producerId: 5 }, [orders0]))).toBe(
      "INVALID_PRODUCER_ID_MAPPING",
    );
  });

  it("an open transaction past its timeout is aborted at a bumped epoch", async () => {
    const producer = await coordinator.initProducerId("app", 10_000);
    await coordinator.addPartitions("app", producer, [orders0]);
    clock.advance(10_000);
    coordinator.abortTimedOut();
    expect(markers.sent).toHaveLength(0); // not past it yet
    clock.advance(1);
    coordinator.abortTimedOut();
    await vi.waitFor(async () =>
      expect((await coordinator.describe("app")).transaction.state).toBe("CompleteAbort"),
    );
    expect(markers.markers()).toMatchObject([{ producerEpoch: 1, committed: false }]);
    expect(await codeOf(coordinator.endTxn("app", producer, true))).toBe("PRODUCER_FENCED");
  });

  it("a timed-out transaction gets one abort at a time, however many ticks its PrepareAbort waits", async () => {
    coordinator.close();
    await startCoordinator({ config: { writeTimeoutMs: 100 } });
    const producer = await coordinator.initProducerId("app", 10_000);
    await coordinator.addPartitions("app", producer, [orders0]);
    // An ISR member that never fetches: the shard's high watermark stops, and every write times out.
    await broker.apply([
      {
        type: "partition",
        topicId: txnStateTopicId,
        partition: 0,
        replicas: [brokerId, 2],
        isr: [brokerId, 2],
        leader: brokerId,
        leaderEpoch: 0,
        partitionEpoch: 1,
      },
    ]);
    clock.advance(10_001);
    for (let tick = 0; tick < 5; tick++) coordinator.abortTimedOut();
    await new Promise((resolve) => setTimeout(resolve, 700)); // five 100 ms writes would be done
    expect(storedStates()).toEqual(["Empty@0", "Ongoing@0", "PrepareAbort@1"]);
  });

  it("EndTxn answers after a bounded wait while a leader is away; the retries complete it", async () => {
    const producer = await coordinator.initProducerId("app", 60_000);
    await coordinator.addPartitions("app", producer, [orders0]);
    markers.failing = "NOT_LEADER";
    await coordinator.endTxn("app", producer, true); // after completionWaitMsMax
    expect((await coordinator.describe("app")).transaction.state).toBe("PrepareCommit");
    expect(markers.sent.length).toBeGreaterThan(1);
    // The producer's next transaction waits for this one.
    expect(await codeOf(coordinator.addPartitions("app", producer, [orders1]))).toBe(
      "CONCURRENT_TRANSACTIONS",
    );
    markers.failing = undefined;
    await vi.waitFor(async () =>
      expect((await coordinator.describe("app")).transaction.state).toBe("CompleteCommit"),
    );
  });

  it("skips partitions of a topic deleted before its markers were written", async () => {
    await broker.apply(topicRecords("gone", { partitions: 1, topicId: "gone-id" }));
    const producer = await coordinator.initProducerId("app", 60_000);
    await coordinator.addPartitions("app", producer, [orders0, { topic: "gone", partition: 0 }]);
    await broker.apply([{ type: "remove-topic", topicId: "gone-id" } as MetadataRecord]);
    await coordinator.endTxn("app", producer, true);
    expect(markers.markers()).toMatchObject([{ topics: [{ topic: "orders", partitions: [0] }] }]);
    expect((await coordinator.describe("app")).transaction.state).toBe("CompleteCommit");
  });
});

describe("leadership of the shard", () => {
  it("a new leader epoch replays the shard and completes a prepared transaction with its own epoch", async () => {
    const producer = await coordinator.initProducerId("app", 60_000);
    await coordinator.addPartitions("app", producer, [orders0, orders1]);
    markers.failing = "NOT_LEADER";
    await coordinator.endTxn("app", producer, true);
    expect((await coordinator.describe("app")).transaction.state).toBe("PrepareCommit");

    // Leadership moves (here: back to this broker at a new epoch, as after a failover and return).
    markers.sent.length = 0;
    markers.failing = undefined;
    await leadShardAtEpoch(1);
    coordinator.onImage(broker.metadata.image);
    await vi.waitFor(async () =>
      expect((await coordinator.describe("app")).transaction.state).toBe("CompleteCommit"),
    );
    expect(markers.markers()).toMatchObject([{ coordinatorEpoch: 1, committed: true, producerEpoch: 0 }]);
  });

  it("a job of an unloaded shard never reaches the log, though this broker leads the partition again", async () => {
    let grantProducerId: ((id: number) => void) | undefined;
    coordinator.close();
    await startCoordinator({
      nextProducerId: () =>
        new Promise((resolve) => {
          grantProducerId = resolve;
        }),
    });
    const waiting = coordinator.initProducerId("app", 60_000);
    await vi.waitFor(() => expect(grantProducerId).toBeDefined()); // it waits for its producer id
    await leadShardAtEpoch(1);
    coordinator.onImage(broker.metadata.image); // the old shard is unloaded, the new one loads
    grantProducerId!(1_000);
    expect(await codeOf(waiting)).toBe("NOT_COORDINATOR");
    expect(storedStates()).toEqual([]);
  });

  it("a coordinator started on the replayed log knows every id, and fences the old epoch", async () => {
    const producer = await coordinator.initProducerId("app", 60_000);
    await coordinator.addPartitions("app", producer, [orders0]);
    coordinator.close();
    await startCoordinator();
    expect((await coordinator.describe("app")).transaction).toMatchObject({
      state: "Ongoing",
      producerId: 1_000,
      partitions: [orders0],
    });
    const next = await coordinator.initProducerId("app", 60_000);
    expect(next).toEqual({ producerId: 1_000, producerEpoch: 2 });
  });

  it("answers NOT_COORDINATOR for an id whose shard another broker leads", async () => {
    await broker.apply([
      {
        type: "partition",
        topicId: txnStateTopicId,
        partition: 0,
        replicas: [brokerId, 2],
        isr: [2],
        leader: 2,
        leaderEpoch: 1,
        partitionEpoch: 1,
      },
    ]);
    coordinator.onImage(broker.metadata.image);
    expect(await codeOf(coordinator.initProducerId("app", 60_000))).toBe("NOT_COORDINATOR");
    const handlers = new TransactionHandlers(broker.ctx, coordinator);
    const described = await handlers.describeTransactions({ transactionalIds: ["app"] });
    expect(described.transactions?.[0].error?.code).toBe("NOT_COORDINATOR");
  });
});

describe("the RPCs", () => {
  it("InitProducerId validates the timeout and goes to the coordinator with a transactional id", async () => {
    const tooLong = await initProducerId(
      broker.ctx,
      { transactionalId: "app", transactionTimeoutMs: 900_001 },
      coordinator,
    );
    expect(tooLong.error?.code).toBe("INVALID_TRANSACTION_TIMEOUT");
    const ok = await initProducerId(
      broker.ctx,
      { transactionalId: "app", transactionTimeoutMs: 0 },
      coordinator,
    );
    expect(ok).toMatchObject({ producerId: 1_000, producerEpoch: 0 });
    expect((await coordinator.describe("app")).transaction.timeoutMs).toBe(60_000);
  });

  it("AddPartitionsToTxn refuses unknown and internal partitions, all or nothing", async () => {
    const handlers = new TransactionHandlers(broker.ctx, coordinator);
    const producer = await coordinator.initProducerId("app", 60_000);
    const response = await handlers.addPartitionsToTxn({
      transactionalId: "app",
      ...producer,
      topics: [
        { topic: "orders", partitions: [0, 7] },
        { topic: OFFSETS_TOPIC, partitions: [0] },
      ],
    });
    const codes = response.topics?.flatMap((t) =>
      t.partitions?.map((p) => `${t.topic}-${p.partition}:${p.error?.code}`),
    );
    expect(codes).toEqual([
      "orders-0:OPERATION_NOT_ATTEMPTED",
      "orders-7:UNKNOWN_PARTITION",
      `${OFFSETS_TOPIC}-0:INVALID_TOPIC`,
    ]);
    expect((await coordinator.describe("app")).transaction.state).toBe("Empty");
  });

  it("ListTransactions filters by state; DescribeTransactions shows partitions and groups", async () => {
    const handlers = new TransactionHandlers(broker.ctx, coordinator);
    const a = await coordinator.initProducerId("app", 60_000);
    await coordinator.initProducerId("other", 60_000);
    await coordinator.addPartitions("app", a, [orders0]);
    const ongoing = await handlers.listTransactions({ states: ["Ongoing"] });
    expect(ongoing.transactions?.map((t) => t.transactionalId)).toEqual(["app"]);
    expect((await handlers.listTransactions({ states: [] })).transactions).toHaveLength(2);
    expect((await handlers.listTransactions({ states: ["Nope"] })).error?.code).toBe("INVALID_REQUEST");
    const described = await handlers.describeTransactions({ transactionalIds: ["app", "missing"] });
    expect(described.transactions?.[0]).toMatchObject({
      state: "Ongoing",
      producerId: 1_000,
      partitions: [{ topic: "orders", partitions: [0] }],
      coordinator: brokerId,
    });
    expect(described.transactions?.[1].error?.code).toBe("TRANSACTIONAL_ID_NOT_FOUND");
  });
});
