// Rule: offsets committed inside a transaction (TxnOffsetCommit) are appended as the producer's
// transactional batch and stay invisible to OffsetFetch until the producer's marker lands on the
// group's __consumer_offsets partition: a commit marker makes them the group's offsets, an abort
// drops them. A coordinator replaying the partition reaches the same offsets from the log, and keeps
// offsets whose marker is not there yet pending. An OffsetFetch that requires stable offsets (KIP-447)
// is answered UNSTABLE_OFFSET_COMMIT on exactly the partitions where some transaction holds an offset of
// that group, and the committed offset everywhere else.
import { decodeRecordBatches, ManualClock } from "@brook/protocol";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { GroupCoordinator, partitionForGroup } from "../src/groups/coordinator.js";
import { GroupHandlers } from "../src/groups/handlers.js";
import { OFFSETS_TOPIC } from "../src/groups/records.js";
import { PendingTxnOffsets } from "../src/groups/txn-offsets.js";
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
  extra: { memberId?: string; memberEpoch?: number; group?: string; partition?: number } = {},
) {
  return handlers.txnOffsetCommit({
    transactionalId: `app-${producerId}`,
    groupId: extra.group ?? groupId,
    producerId,
    producerEpoch: 0,
    memberId: extra.memberId ?? "",
    memberEpoch: extra.memberEpoch ?? -1,
    topics: [{ topic: "orders", partitions: [{ partition: extra.partition ?? 0, offset, metadata: "" }] }],
  });
}

function plainCommit(offsets: Record<number, number>, group = groupId) {
  return handlers.offsetCommit({
    groupId: group,
    memberId: "",
    memberEpoch: -1,
    topics: [
      {
        topic: "orders",
        partitions: Object.entries(offsets).map(([partition, offset]) => ({
          partition: Number(partition),
          offset,
          metadata: "",
        })),
      },
    ],
  });
}

/** Each partition of "orders" asked for, as "offset" or its error code, with stability required. */
async function stableOffsets(group = groupId, partitions = [0, 1]): Promise<string[]> {
  const fetched = await handlers.offsetFetch({
    groupId: group,
    topics: [{ topic: "orders", partitions }],
    requireStable: true,
  });
  expect(fetched.error?.code).toBe("");
  return (fetched.topics ?? []).flatMap(({ partitions }) =>
    (partitions ?? []).map(({ offset, error }) => (error?.code ? String(error.code) : String(offset))),
  );
}

/** Another group id stored in the same partition of __consumer_offsets (the same shard) as `groupId`. */
const neighbour = (() => {
  for (let index = 0; ; index++) {
    const candidate = `neighbour-${index}`;
    if (partitionForGroup(candidate, offsetsPartitions) === groupPartition) return candidate;
  }
})();

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

describe("OffsetFetch requiring stable offsets (KIP-447)", () => {
  it("answers UNSTABLE_OFFSET_COMMIT for the partition with an offset pending, the committed offset elsewhere", async () => {
    await plainCommit({ 0: 10, 1: 20 });
    await txnCommit(5, 42);
    expect(await stableOffsets()).toEqual(["UNSTABLE_OFFSET_COMMIT", "20"]);
    // Without the flag, as before: the committed offset the transaction is about to replace.
    expect(await committedOffset()).toBe(10);
    const fetched = await handlers.offsetFetch({
      groupId,
      topics: [{ topic: "orders", partitions: [0] }],
      requireStable: true,
    });
    expect(fetched.topics?.[0].partitions?.[0]).toMatchObject({
      offset: -1,
      metadata: "",
      error: { code: "UNSTABLE_OFFSET_COMMIT", message: expect.stringContaining("orders-0") },
    });
  });

  it("answers the new offset once the commit marker lands", async () => {
    await plainCommit({ 0: 10 });
    await txnCommit(5, 42);
    await marker(5, true);
    expect(await stableOffsets()).toEqual(["42", "-1"]);
  });

  it("answers the old offset once the abort marker lands", async () => {
    await plainCommit({ 0: 10 });
    await txnCommit(5, 42);
    await marker(5, false);
    expect(await stableOffsets()).toEqual(["10", "-1"]);
  });

  it("stays unstable until every producer with an offset pending there has ended its transaction", async () => {
    await txnCommit(5, 42);
    await txnCommit(6, 43);
    await marker(5, true);
    expect(await stableOffsets()).toEqual(["UNSTABLE_OFFSET_COMMIT", "-1"]);
    await marker(6, false);
    expect(await stableOffsets()).toEqual(["42", "-1"]);
  });

  it("leaves other groups alone, those of the same __consumer_offsets partition too", async () => {
    await plainCommit({ 0: 7 }, neighbour);
    await txnCommit(5, 42);
    await txnCommit(6, 99, { group: neighbour, partition: 1 });
    expect(await stableOffsets(neighbour)).toEqual(["7", "UNSTABLE_OFFSET_COMMIT"]);
    expect(await stableOffsets()).toEqual(["UNSTABLE_OFFSET_COMMIT", "-1"]);
    await marker(6, true);
    expect(await stableOffsets(neighbour)).toEqual(["7", "99"]);
    expect(await stableOffsets()).toEqual(["UNSTABLE_OFFSET_COMMIT", "-1"]);
  });

  it("lists partitions with only a pending offset in a fetch of every offset of the group", async () => {
    await plainCommit({ 0: 10 });
    await txnCommit(5, 30, { partition: 1 });
    const everything = async (requireStable: boolean) =>
      (await handlers.offsetFetch({ groupId, topics: [], requireStable })).topics?.flatMap(
        ({ topic, partitions }) =>
          (partitions ?? []).map(
            ({ partition, offset, error }) => `${topic}-${partition}:${error?.code || offset}`,
          ),
      );
    expect(await everything(true)).toEqual(["orders-0:10", "orders-1:UNSTABLE_OFFSET_COMMIT"]);
    expect(await everything(false)).toEqual(["orders-0:10"]);
    await marker(5, true);
    expect(await everything(true)).toEqual(["orders-0:10", "orders-1:30"]);
  });

  it("holds for offsets a new coordinator found pending in the log", async () => {
    await plainCommit({ 0: 10 });
    await txnCommit(5, 42);
    coordinator.close();
    await startCoordinator();
    expect(await stableOffsets()).toEqual(["UNSTABLE_OFFSET_COMMIT", "-1"]);
    await marker(5, true);
    expect(await stableOffsets()).toEqual(["42", "-1"]);
  });

  it("is what Kafka clients get through the classic handlers (OffsetFetch v7+ RequireStable)", async () => {
    await plainCommit({ 0: 10 });
    await txnCommit(5, 42);
    const fetch = (requireStable: boolean) =>
      handlers.classic.offsetFetch({
        groupId,
        topics: [{ topic: "orders", partitions: [0, 1] }],
        requireStable,
      });
    const stable = await fetch(true);
    expect(stable.topics[0].partitions[0]).toMatchObject({
      partition: 0,
      offset: -1,
      error: expect.objectContaining({ code: "UNSTABLE_OFFSET_COMMIT", retriable: true }),
    });
    expect(stable.topics[0].partitions[1]).toEqual({
      partition: 1,
      offset: -1,
      leaderEpoch: -1,
      metadata: "",
    });
    expect((await fetch(false)).topics[0].partitions[0]).toEqual({
      partition: 0,
      offset: 10,
      leaderEpoch: -1,
      metadata: "",
    });
  });
});

describe("PendingTxnOffsets", () => {
  it("finds a partition pending exactly when some producer's offset there has not been taken, for any history", () => {
    const action = fc.oneof(
      fc.record({
        kind: fc.constant("add" as const),
        producer: fc.integer({ min: 1, max: 4 }),
        group: fc.constantFrom("a", "b"),
        partition: fc.integer({ min: 0, max: 2 }),
      }),
      fc.record({ kind: fc.constant("take" as const), producer: fc.integer({ min: 1, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), (actions) => {
        const pending = new PendingTxnOffsets(1_000);
        // The model: every (producer, group, partition) with an offset not taken yet.
        const model = new Set<string>();
        for (const step of actions) {
          if (step.kind === "add") {
            pending.add(step.producer, {
              group: step.group,
              topic: "t",
              partition: step.partition,
              value: { offset: 1, metadata: "", commitTimestampMs: 0 },
            });
            model.add(`${step.producer}/${step.group}/${step.partition}`);
          } else {
            pending.take(step.producer);
            for (const key of [...model]) if (key.startsWith(`${step.producer}/`)) model.delete(key);
          }
          expect(pending.size).toBe(model.size);
          for (const group of ["a", "b"]) {
            const expected = [0, 1, 2].filter((partition) =>
              [...model].some((key) => key.endsWith(`/${group}/${partition}`)),
            );
            for (const partition of [0, 1, 2]) {
              expect(pending.isPending(group, { topic: "t", partition })).toBe(expected.includes(partition));
            }
            expect([...pending.pendingPartitions(group)].map(({ partition }) => partition).sort()).toEqual(
              expected,
            );
          }
        }
      }),
    );
  });
});
