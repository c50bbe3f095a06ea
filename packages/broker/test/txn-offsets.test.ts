// Rule: offsets committed inside a transaction (TxnOffsetCommit) are appended as the producer's
// transactional batch and stay invisible to OffsetFetch until the producer's marker lands on the
// group's __consumer_offsets partition: a commit marker makes them the group's offsets, an abort
// drops them. A coordinator replaying the partition reaches the same offsets from the log, and keeps
// offsets whose marker is not there yet pending.
import { decodeRecordBatches, ManualClock } from "@brook/protocol";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { GroupCoordinator, partitionForGroup } from "../src/groups/coordinator.js";
import { GroupHandlers } from "../src/groups/handlers.js";
import { OFFSETS_TOPIC } from "../src/groups/records.js";
import { brokerId, silentLogger, startTestBroker, type TestBroker, topicRecords } from "./helpers.js";

const groupId = "billing";
const offsetsTopicId = "offsets-topic-id";
const offsetsPartitions = 3;
const groupPartition = partitionForGroup(groupId, offsetsPartitions);

let broker: TestBroker;
let coordinator: GroupCoordinator;
let handlers: GroupHandlers;

async function startCoordinator(): Promise<void> {
  coordinator = new GroupCoordinator({
    brokerId: broker.ctx.brokerId,
    replicas: broker.replicas,
    metadata: broker.metadata,
    logger: silentLogger,
    clock: new ManualClock(),
  });
  const ctx = {
    ...broker.ctx,
    txnMarkerWritten: (topic: string, partition: number, producerId: number, committed: boolean) =>
      coordinator.onTxnMarker(topic, partition, producerId, committed),
  };
  handlers = new GroupHandlers(ctx, coordinator);
  coordinator.onImage(broker.metadata.image);
  await vi.waitFor(() => coordinator.locate(groupId), { timeout: 5_000, interval: 10 });
}

beforeEach(async () => {
  broker = startTestBroker();
  await broker.apply([
    ...topicRecords(OFFSETS_TOPIC, { partitions: offsetsPartitions, topicId: offsetsTopicId }),
    ...topicRecords("orders", { partitions: 2 }),
  ]);
  await startCoordinator();
});

afterEach(async () => {
  coordinator.close();
  await broker.close();
});

function txnCommit(
  producerId: number,
  offset: number,
  extra: { memberId?: string; memberEpoch?: number } = {},
) {
  return handlers.txnOffsetCommit({
    transactionalId: `app-${producerId}`,
    groupId,
    producerId,
    producerEpoch: 0,
    memberId: extra.memberId ?? "",
    memberEpoch: extra.memberEpoch ?? -1,
    topics: [{ topic: "orders", partitions: [{ partition: 0, offset, metadata: "" }] }],
  });
}

async function committedOffset(): Promise<number> {
  const fetched = await handlers.offsetFetch({ groupId, topics: [{ topic: "orders", partitions: [0] }] });
  return Number(fetched.topics?.[0].partitions?.[0].offset);
}

/** What txn-markers.ts does on the group's partition: append the marker, then tell the coordinator once durable. */
async function marker(producerId: number, committed: boolean, notify = true): Promise<void> {
  const partition = broker.replicas.local(OFFSETS_TOPIC, groupPartition)!;
  const result = partition.appendMarker({ producerId, producerEpoch: 0, committed, coordinatorEpoch: 0 });
  await partition.waitForHighWatermark(result.lastOffset + 1, 5_000);
  if (notify) coordinator.onTxnMarker(OFFSETS_TOPIC, groupPartition, producerId, committed);
}

describe("transactional offset commits", () => {
  it("are a transactional batch of the producer, invisible until its commit marker", async () => {
    expect((await txnCommit(5, 42)).error?.code).toBe("");
    const partition = broker.replicas.local(OFFSETS_TOPIC, groupPartition)!;
    const { records } = partition.log.read(0, 1 << 20, {
      maxOffset: partition.log.logEndOffset,
      minOneBatch: true,
    });
    const [batch] = decodeRecordBatches(records);
    expect(batch.header).toMatchObject({
      isTransactional: true,
      producerId: 5,
      producerEpoch: 0,
      baseSequence: -1,
    });
    expect(await committedOffset()).toBe(-1);
    await marker(5, true);
    expect(await committedOffset()).toBe(42);
  });

  it("are dropped by an abort marker; another producer's marker settles nothing of this one", async () => {
    await txnCommit(5, 42);
    await txnCommit(6, 43);
    await marker(6, false);
    expect(await committedOffset()).toBe(-1);
    await marker(5, true);
    expect(await committedOffset()).toBe(42);
  });

  it("are replayed: committed, aborted and still pending, as live", async () => {
    await txnCommit(5, 10);
    await txnCommit(6, 20);
    await txnCommit(7, 30);
    await marker(5, true, false);
    await marker(6, false, false);
    coordinator.close();
    await startCoordinator();
    expect(await committedOffset()).toBe(10);
    // Producer 7's transaction is still open on the log: its offset waits for the marker.
    await marker(7, true);
    expect(await committedOffset()).toBe(30);
  });

  it("check the member when one is named, as OffsetCommit does", async () => {
    expect((await txnCommit(5, 1, { memberId: "ghost", memberEpoch: 3 })).error?.code).toBe(
      "UNKNOWN_MEMBER_ID",
    );
    const joined = await handlers.heartbeat(
      {
        groupId,
        memberId: "m1",
        memberEpoch: 0,
        instanceId: "",
        rackId: "",
        rebalanceTimeoutMs: 0,
        subscribedTopicNames: ["orders"],
        subscribedTopicRegex: "",
        serverAssignor: "",
        ownedPartitions: [],
        clientId: "c",
        sessionTimeoutMs: 0,
      } as never,
      "host",
    );
    const epoch = joined.memberEpoch ?? 0;
    expect(
      (await txnCommit(5, 1, { memberId: joined.memberId ?? "", memberEpoch: epoch + 5 })).error?.code,
    ).toBe("FENCED_MEMBER_EPOCH");
  });

  it("of a shard unloaded meanwhile never reach the log, though this broker leads the partition again", async () => {
    const { shard: stale } = coordinator.locate(groupId); // as a request that located it, then waited
    const partition = broker.replicas.local(OFFSETS_TOPIC, groupPartition)!;
    await broker.apply([
      {
        type: "partition",
        topicId: offsetsTopicId,
        partition: groupPartition,
        replicas: [brokerId],
        isr: [brokerId],
        leader: brokerId,
        leaderEpoch: 1,
        partitionEpoch: 1,
      },
    ]);
    coordinator.onImage(broker.metadata.image);
    await vi.waitFor(() => coordinator.locate(groupId), { timeout: 5_000, interval: 10 });
    const end = partition.logEndOffset;
    const offsets = [{ topic: "orders", partition: 0, offset: 7, metadata: "" }];
    const producer = { producerId: 5, producerEpoch: 0 };
    await expect(coordinator.commitTxnOffsets(stale, groupId, producer, offsets)).rejects.toThrow(
      expect.objectContaining({ code: "NOT_COORDINATOR" }),
    );
    const group = coordinator.offsetsOnlyGroup(groupId);
    await expect(coordinator.commitOffsets(stale, group, offsets)).rejects.toThrow(
      expect.objectContaining({ code: "NOT_COORDINATOR" }),
    );
    expect(partition.logEndOffset).toBe(end);
  });

  it("refuse a request without producer id and epoch", async () => {
    const response = await handlers.txnOffsetCommit({
      transactionalId: "",
      groupId,
      producerId: -1,
      producerEpoch: -1,
      memberId: "",
      memberEpoch: -1,
      topics: [],
    });
    expect(response.error?.code).toBe("INVALID_REQUEST");
  });
});
