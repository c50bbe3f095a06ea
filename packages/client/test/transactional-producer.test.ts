// The transactional producer (docs/transactions.md): it gets its producer id from its coordinator,
// adds each partition to the transaction before the partition's first batch, flushes on commit, drops
// what is unsent on abort, refuses to commit a transaction with a failed send, retries what the
// coordinator asks it to, and stops for good once fenced. Checked against the fake cluster's transaction
// coordinator, whose transcript (cluster.txns.log) says what reached it in which order.
import {
  type ProduceRequest__Output,
  readBatchHeader,
  readControlRecord,
  splitBatches,
  transactionStates as wireTransactionStates,
} from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { type Brook, type Producer, transactionStates } from "../src/index.js";
import type { FakeCluster } from "./fake-cluster.js";
import { brookFor, eventually, isPending, startFake, storedRecords } from "./helpers.js";

let cluster: FakeCluster;
let brook: Brook;
const producers: Producer[] = [];

afterEach(async () => {
  for (const producer of producers.splice(0)) await producer.close().catch(() => {});
  await cluster?.stop();
});

async function setup(partitions = 2) {
  cluster = await startFake();
  cluster.createTopic("out", partitions);
  brook = brookFor(cluster);
}

function transactional(transactionalId = "tx", options: { lingerMs?: number } = {}): Producer {
  const producer = brook.producer({ transactionalId, lingerMs: options.lingerMs ?? 0 });
  producers.push(producer);
  return producer;
}

/** Values the fake stored on a partition, markers left out. */
function values(topic: string, partition: number): string[] {
  const dataOffsets = new Set(
    cluster
      .partition(topic, partition)!
      .batches.filter(({ bytes }) => !readBatchHeader(bytes).isControl)
      .flatMap(({ baseOffset, lastOffset }) =>
        Array.from({ length: lastOffset - baseOffset + 1 }, (_, i) => baseOffset + i),
      ),
  );
  return storedRecords(cluster, topic, partition)
    .filter(({ offset }) => dataOffsets.has(offset))
    .map(({ value }) => value ?? "");
}

/** The markers on a partition: "commit" or "abort", in log order. */
function markers(topic: string, partition: number): string[] {
  return cluster
    .partition(topic, partition)!
    .batches.filter(({ bytes }) => readBatchHeader(bytes).isControl)
    .map(({ bytes }) => readControlRecord(bytes, { position: 0, isControl: true }).type);
}

/** Gives a call that should have waited (and did not) the time to reach the fake cluster. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50));
}

/** The position of each call to `method` (and of each Produce to `key`) in the order they arrived. */
function order(): string[] {
  return cluster.calls.flatMap(({ method, request }) => {
    if (method !== "Produce") return [method];
    return (request as ProduceRequest__Output).topics.flatMap(({ topic, partitions }) =>
      partitions.map(({ partition }) => `Produce ${topic}-${partition}`),
    );
  });
}

describe("transactional producer: the happy path", () => {
  it("inits at the coordinator, adds partitions, writes transactional batches, commits", async () => {
    await setup();
    const producer = transactional("sum-app");
    const txn = await producer.transaction();
    expect(txn.isActive()).toBe(true);

    await txn.send({
      topic: "out",
      messages: [
        { value: "a", partition: 0 },
        { value: "b", partition: 1 },
      ],
    });
    await txn.commit();

    expect(txn.isActive()).toBe(false);
    expect(cluster.txns.log).toEqual([
      "init sum-app -> producer 7000 epoch 0",
      "add-partitions sum-app out-0,out-1",
      "end sum-app commit [out-0,out-1]",
    ]);
    expect(values("out", 0)).toEqual(["a"]);
    expect(values("out", 1)).toEqual(["b"]);
    expect(markers("out", 0)).toEqual(["commit"]);
    const header = readBatchHeader(cluster.partition("out", 0)!.batches[0].bytes);
    expect(header).toMatchObject({ isTransactional: true, producerId: 7000, producerEpoch: 0 });
    // The coordinator was found by transactional id, and nothing asked a plain InitProducerId.
    expect(cluster.callsOf("FindCoordinator")[0].request).toMatchObject({ transactionalId: "sum-app" });
    expect(cluster.callsOf("InitProducerId").map(({ request }) => request)).toEqual([
      { transactionalId: "sum-app", transactionTimeoutMs: 60_000 },
    ]);
  });

  it("adds a partition before its first batch of the transaction, once, and only the new ones later", async () => {
    await setup(3);
    const producer = transactional();
    const txn = await producer.transaction();
    await txn.send({ topic: "out", messages: [{ value: "1", partition: 0 }] });
    await txn.send({ topic: "out", messages: [{ value: "2", partition: 0 }] });
    await txn.send({
      topic: "out",
      messages: [
        { value: "3", partition: 1 },
        { value: "4", partition: 2 },
      ],
    });
    await txn.commit();

    expect(order()).toEqual([
      "FindCoordinator",
      "InitProducerId",
      "Metadata",
      "AddPartitionsToTxn",
      "Produce out-0",
      "Produce out-0",
      "AddPartitionsToTxn",
      "Produce out-1",
      "Produce out-2",
      "EndTxn",
    ]);
    expect(cluster.txns.log.filter((line) => line.startsWith("add-partitions"))).toEqual([
      "add-partitions tx out-0",
      "add-partitions tx out-1,out-2",
    ]);
  });

  it("commit sends what is still lingering and waits for it before EndTxn", async () => {
    await setup();
    const producer = transactional("tx", { lingerMs: 60_000 });
    const txn = await producer.transaction();
    const sent = txn.send({ topic: "out", messages: [{ value: "late", partition: 1 }] });
    expect(await isPending(sent)).toBe(true);

    await txn.commit();

    await expect(sent).resolves.toMatchObject([{ partition: 1, baseOffset: 0 }]);
    expect(values("out", 1)).toEqual(["late"]);
    expect(markers("out", 1)).toEqual(["commit"]);
    expect(order().indexOf("EndTxn")).toBeGreaterThan(order().indexOf("Produce out-1"));
  });

  it("runs one transaction after another under the same producer id and epoch", async () => {
    await setup();
    const producer = transactional();
    for (const value of ["x", "y"]) {
      const txn = await producer.transaction();
      await txn.send({ topic: "out", messages: [{ value, partition: 0 }] });
      await txn.commit();
    }
    expect(values("out", 0)).toEqual(["x", "y"]);
    expect(markers("out", 0)).toEqual(["commit", "commit"]);
    expect(cluster.txns.log.filter((line) => line.startsWith("init"))).toHaveLength(1);
  });
});

describe("transactional producer: abort", () => {
  it("drops the batches not sent, aborts what was written, and the next transaction goes on", async () => {
    await setup();
    const producer = transactional("tx", { lingerMs: 60_000 });
    const txn = await producer.transaction();
    const written = txn.send({ topic: "out", messages: [{ value: "written", partition: 0 }] });
    await producer.flush();
    await written;
    const unsent = txn.send({ topic: "out", messages: [{ value: "unsent", partition: 1 }] });

    await txn.abort();

    await expect(unsent).rejects.toMatchObject({ code: "INVALID_TXN_STATE", message: /aborted before/ });
    expect(values("out", 0)).toEqual(["written"]);
    expect(markers("out", 0)).toEqual(["abort"]);
    expect(values("out", 1)).toEqual([]);
    expect(cluster.txns.log.at(-1)).toBe("end tx abort [out-0]");
    expect(txn.isActive()).toBe(false);

    const next = await producer.transaction();
    const again = next.send({ topic: "out", messages: [{ value: "again", partition: 1 }] });
    await next.commit();
    await again;
    expect(values("out", 1)).toEqual(["again"]);
  });

  it("aborts without EndTxn when nothing reached the coordinator", async () => {
    await setup();
    const producer = transactional("tx", { lingerMs: 60_000 });
    const txn = await producer.transaction();
    const unsent = txn.send({ topic: "out", messages: [{ value: "never", partition: 0 }] });
    await txn.abort();
    await expect(unsent).rejects.toMatchObject({ code: "INVALID_TXN_STATE" });
    expect(cluster.callsOf("EndTxn")).toEqual([]);
    expect(cluster.callsOf("AddPartitionsToTxn")).toEqual([]);
  });
});

describe("transactional producer: failures", () => {
  it("refuses to commit a transaction in which a send failed; abort, then a new epoch", async () => {
    await setup();
    const producer = transactional();
    const txn = await producer.transaction();
    cluster.produceErrors.set("out-0", ["RECORD_TOO_LARGE"]);
    await expect(
      txn.send({ topic: "out", messages: [{ value: "bad", partition: 0 }] }),
    ).rejects.toMatchObject({
      code: "RECORD_TOO_LARGE",
    });

    await expect(txn.commit()).rejects.toMatchObject({
      code: "INVALID_TXN_STATE",
      message: /call abort\(\)/,
    });
    await expect(txn.send({ topic: "out", messages: [{ value: "more" }] })).rejects.toMatchObject({
      code: "INVALID_TXN_STATE",
      message: /call abort\(\)/,
    });
    await txn.abort();

    // The failed batch was numbered: its partition's sequence is uncertain, so the epoch is bumped, and
    // the transactional id keeps its producer id.
    const next = await producer.transaction();
    await next.send({ topic: "out", messages: [{ value: "good", partition: 0 }] });
    await next.commit();
    expect(cluster.txns.log.filter((line) => line.startsWith("init"))).toEqual([
      "init tx -> producer 7000 epoch 0",
      "init tx -> producer 7000 epoch 1",
    ]);
    expect(values("out", 0)).toEqual(["good"]);
  });

  it("is fenced for good when another instance starts with the same transactional id", async () => {
    await setup();
    const old = transactional("shared");
    const txn = await old.transaction();
    await txn.send({ topic: "out", messages: [{ value: "before", partition: 0 }] });

    const successor = transactional("shared");
    await successor.connect();

    await expect(
      txn.send({ topic: "out", messages: [{ value: "zombie", partition: 0 }] }),
    ).rejects.toMatchObject({
      code: "PRODUCER_FENCED",
    });
    await expect(txn.commit()).rejects.toMatchObject({ code: "PRODUCER_FENCED", message: /only be closed/ });
    await expect(txn.abort()).rejects.toMatchObject({ code: "PRODUCER_FENCED" });
    await expect(old.transaction()).rejects.toMatchObject({ code: "PRODUCER_FENCED" });
    // The fenced producer never takes a new producer id or epoch on its own.
    expect(cluster.txns.log.filter((line) => line.startsWith("init"))).toEqual([
      "init shared -> producer 7000 epoch 0",
      "init shared -> producer 7000 epoch 1",
    ]);
    expect(values("out", 0)).toEqual(["before"]);
    expect(markers("out", 0)).toEqual(["abort"]);
  });

  it("a commit fenced while it flushes rejects with the fencing error, not with 'call abort()'", async () => {
    await setup();
    const old = transactional("shared", { lingerMs: 60_000 });
    const txn = await old.transaction();
    const lingering = txn.send({ topic: "out", messages: [{ value: "zombie", partition: 0 }] });
    lingering.catch(() => {});
    await transactional("shared").connect();

    // commit() flushes the lingering batch; its AddPartitionsToTxn is fenced.
    await expect(txn.commit()).rejects.toMatchObject({ code: "PRODUCER_FENCED", message: /only be closed/ });
    await expect(lingering).rejects.toMatchObject({ code: "PRODUCER_FENCED" });
    expect(txn.isActive()).toBe(false);
    await expect(txn.abort()).rejects.toMatchObject({ code: "PRODUCER_FENCED" });
    expect(cluster.callsOf("EndTxn")).toEqual([]);
  });

  it("is fenced for good when the coordinator fences it at EndTxn", async () => {
    await setup();
    const producer = transactional();
    const txn = await producer.transaction();
    await txn.send({ topic: "out", messages: [{ value: "v", partition: 0 }] });
    cluster.txns.errors.set("EndTxn", ["PRODUCER_FENCED"]);
    await expect(txn.commit()).rejects.toMatchObject({ code: "PRODUCER_FENCED" });
    await expect(producer.transaction()).rejects.toMatchObject({ code: "PRODUCER_FENCED" });
    await expect(producer.send({ topic: "out", messages: [{ value: "w" }] })).rejects.toMatchObject({
      code: "PRODUCER_FENCED",
    });
  });

  it("retries CONCURRENT_TRANSACTIONS and a moved coordinator, finding it again", async () => {
    await setup();
    cluster.txns.errors.set("InitProducerId", ["NOT_COORDINATOR", "COORDINATOR_LOAD_IN_PROGRESS"]);
    cluster.txns.errors.set("AddPartitionsToTxn", ["CONCURRENT_TRANSACTIONS"]);
    cluster.txns.errors.set("EndTxn", ["CONCURRENT_TRANSACTIONS", "CONCURRENT_TRANSACTIONS"]);
    const producer = transactional();
    const txn = await producer.transaction();
    await txn.send({ topic: "out", messages: [{ value: "v", partition: 0 }] });
    await txn.commit();

    expect(cluster.txns.log).toEqual([
      "init tx -> NOT_COORDINATOR",
      "init tx -> COORDINATOR_LOAD_IN_PROGRESS",
      "init tx -> producer 7000 epoch 0",
      "add-partitions tx out-0 -> CONCURRENT_TRANSACTIONS",
      "add-partitions tx out-0",
      "end tx commit -> CONCURRENT_TRANSACTIONS",
      "end tx commit -> CONCURRENT_TRANSACTIONS",
      "end tx commit [out-0]",
    ]);
    // NOT_COORDINATOR made it look the coordinator up again.
    expect(cluster.callsOf("FindCoordinator")).toHaveLength(2);
    expect(markers("out", 0)).toEqual(["commit"]);
  });

  it("fails the transaction, not the producer, when AddPartitionsToTxn is refused", async () => {
    await setup();
    const producer = transactional();
    const txn = await producer.transaction();
    cluster.txns.errors.set("AddPartitionsToTxn", ["INVALID_TXN_STATE"]);
    await expect(txn.send({ topic: "out", messages: [{ value: "v", partition: 0 }] })).rejects.toMatchObject({
      code: "INVALID_TXN_STATE",
    });
    expect(cluster.callsOf("Produce")).toEqual([]);
    await expect(txn.commit()).rejects.toMatchObject({ code: "INVALID_TXN_STATE", message: /abort/ });
    await txn.abort();
    const next = await producer.transaction();
    await next.send({ topic: "out", messages: [{ value: "w", partition: 0 }] });
    await next.commit();
    expect(values("out", 0)).toEqual(["w"]);
  });
});

describe("transactional producer: offsets", () => {
  it("sendOffsets adds the group, commits the offsets with the member's identity, visible on commit only", async () => {
    await setup();
    const producer = transactional();
    const consumer = { groupMetadata: () => ({ groupId: "g", memberId: "m-1", memberEpoch: 4 }) };

    const aborted = await producer.transaction();
    await aborted.sendOffsets({
      consumerGroupId: "g",
      topics: [{ topic: "in", partitions: [{ partition: 0, offset: 5 }] }],
    });
    await aborted.abort();
    expect(cluster.groups.committed.get("g/in-0")).toBeUndefined();

    const txn = await producer.transaction();
    await txn.send({ topic: "out", messages: [{ value: "sum", partition: 0 }] });
    await txn.sendOffsets({
      consumerGroupId: "g",
      consumer,
      topics: [{ topic: "in", partitions: [{ partition: 0, offset: 7 }] }],
    });
    expect(cluster.groups.committed.get("g/in-0")).toBeUndefined();
    await txn.commit();

    expect(cluster.groups.committed.get("g/in-0")).toBe(7);
    expect(cluster.txns.log.slice(-3)).toEqual([
      "add-offsets tx g",
      "txn-offset-commit tx g member=m-1 epoch=4 in-0@7",
      "end tx commit [out-0]",
    ]);
  });

  it("commit waits for a sendOffsets not awaited: its TxnOffsetCommit lands before EndTxn", async () => {
    await setup();
    const producer = transactional();
    const txn = await producer.transaction();
    await txn.send({ topic: "out", messages: [{ value: "sum", partition: 0 }] });
    const releaseOffsets = cluster.holdCalls("TxnOffsetCommit");
    const offsets = txn.sendOffsets({
      consumerGroupId: "g",
      topics: [{ topic: "in", partitions: [{ partition: 0, offset: 7 }] }],
    });
    await eventually(() => cluster.callsOf("TxnOffsetCommit").length === 1);

    const committed = txn.commit();
    await settle();
    expect(await isPending(committed)).toBe(true);
    expect(cluster.callsOf("EndTxn")).toEqual([]);
    releaseOffsets();
    await offsets;
    await committed;

    expect(cluster.txns.log.slice(-3)).toEqual([
      "add-offsets tx g",
      "txn-offset-commit tx g in-0@7",
      "end tx commit [out-0]",
    ]);
    expect(cluster.groups.committed.get("g/in-0")).toBe(7);
  });

  it("commit waits for an AddOffsetsToTxn in flight, then the offsets go out before EndTxn", async () => {
    await setup();
    const producer = transactional();
    const txn = await producer.transaction();
    const releaseAdd = cluster.holdCalls("AddOffsetsToTxn");
    const offsets = txn.sendOffsets({
      consumerGroupId: "g",
      topics: [{ topic: "in", partitions: [{ partition: 0, offset: 3 }] }],
    });
    await eventually(() => cluster.callsOf("AddOffsetsToTxn").length === 1);

    const committed = txn.commit();
    await settle();
    expect(cluster.callsOf("EndTxn")).toEqual([]);
    releaseAdd();
    await offsets;
    await committed;

    expect(cluster.txns.log.slice(1)).toEqual([
      "add-offsets tx g",
      "txn-offset-commit tx g in-0@3",
      "end tx commit []",
    ]);
    expect(cluster.groups.committed.get("g/in-0")).toBe(3);
  });

  it("abort waits for an AddOffsetsToTxn in flight and sends no offsets after it: nothing is left open", async () => {
    await setup();
    const producer = transactional();
    const txn = await producer.transaction();
    const releaseAdd = cluster.holdCalls("AddOffsetsToTxn");
    const offsets = txn.sendOffsets({
      consumerGroupId: "g",
      topics: [{ topic: "in", partitions: [{ partition: 0, offset: 3 }] }],
    });
    offsets.catch(() => {});
    await eventually(() => cluster.callsOf("AddOffsetsToTxn").length === 1);

    const aborted = txn.abort();
    await settle();
    expect(cluster.callsOf("EndTxn")).toEqual([]);
    releaseAdd();
    await aborted;

    await expect(offsets).rejects.toMatchObject({
      code: "INVALID_TXN_STATE",
      message: /aborted before the offsets/,
    });
    expect(cluster.txns.log.slice(1)).toEqual(["add-offsets tx g", "end tx abort []"]);
    expect(cluster.txns.transactions.get("tx")?.state).toBe("CompleteAbort");
  });

  it("refuses to commit when a sendOffsets not awaited fails; abort waits for it too", async () => {
    await setup();
    const producer = transactional();
    const txn = await producer.transaction();
    await txn.send({ topic: "out", messages: [{ value: "sum", partition: 0 }] });
    cluster.txns.errors.set("TxnOffsetCommit", ["FENCED_MEMBER_EPOCH"]);
    const releaseOffsets = cluster.holdCalls("TxnOffsetCommit");
    const offsets = txn.sendOffsets({
      consumerGroupId: "g",
      topics: [{ topic: "in", partitions: [{ partition: 0, offset: 7 }] }],
    });
    offsets.catch(() => {});
    await eventually(() => cluster.callsOf("TxnOffsetCommit").length === 1);

    const committed = txn.commit();
    releaseOffsets();
    await expect(offsets).rejects.toMatchObject({ code: "FENCED_MEMBER_EPOCH" });
    await expect(committed).rejects.toMatchObject({ code: "INVALID_TXN_STATE", message: /call abort\(\)/ });
    expect(cluster.callsOf("EndTxn")).toEqual([]);

    await txn.abort();
    expect(cluster.txns.log.at(-1)).toBe("end tx abort [out-0]");
    expect(cluster.groups.committed.get("g/in-0")).toBeUndefined();
  });

  it("refuses a consumer of another group", async () => {
    await setup();
    const producer = transactional();
    const txn = await producer.transaction();
    const consumer = { groupMetadata: () => ({ groupId: "other", memberId: "m", memberEpoch: 1 }) };
    await expect(txn.sendOffsets({ consumerGroupId: "g", consumer, topics: [] })).rejects.toMatchObject({
      code: "INVALID_REQUEST",
      message: /group 'other'/,
    });
  });
});

describe("transactional producer: what it refuses", () => {
  it("one transaction at a time, no sends outside one, and an ended transaction stays ended", async () => {
    await setup();
    const producer = transactional();
    await expect(producer.send({ topic: "out", messages: [{ value: "v" }] })).rejects.toMatchObject({
      code: "INVALID_TXN_STATE",
      message: /producer.transaction\(\) first/,
    });
    const txn = await producer.transaction();
    await expect(producer.transaction()).rejects.toMatchObject({
      code: "INVALID_TXN_STATE",
      message: /already open/,
    });
    await txn.commit();
    await producer.transaction();
    await expect(txn.send({ topic: "out", messages: [{ value: "v" }] })).rejects.toMatchObject({
      code: "INVALID_TXN_STATE",
      message: /already ended/,
    });
  });

  it("needs acks all and idempotence; a plain producer has no transactions", async () => {
    await setup();
    expect(() => brook.producer({ transactionalId: "t", acks: 1 })).toThrow(/INVALID_CONFIG.*transactional/);
    expect(() => brook.producer({ transactionalId: "t", idempotent: false })).toThrow(/INVALID_CONFIG/);
    expect(() => brook.producer({ transactionalId: "" })).toThrow(/must not be empty/);
    const plain = brook.producer();
    producers.push(plain);
    await expect(plain.transaction()).rejects.toMatchObject({ code: "INVALID_CONFIG" });
  });

  it("a plain idempotent producer writes no transactional batches", async () => {
    await setup();
    const plain = brook.producer({ lingerMs: 0 });
    producers.push(plain);
    await plain.send({ topic: "out", messages: [{ value: "v", partition: 0 }] });
    const [header] = splitBatches(
      (cluster.callsOf("Produce")[0].request as ProduceRequest__Output).topics[0].partitions[0].records,
    );
    expect(header.isTransactional).toBe(false);
    expect(cluster.callsOf("AddPartitionsToTxn")).toEqual([]);
  });
});

describe("admin: transactions", () => {
  it("lists transactional ids from every broker and describes one from its coordinator", async () => {
    cluster = await startFake(2);
    cluster.createTopic("out", 2);
    brook = brookFor(cluster);
    const producer = transactional("sum-app");
    const txn = await producer.transaction();
    await txn.send({ topic: "out", messages: [{ value: "v", partition: 1 }] });
    const admin = brook.admin();
    try {
      expect(await admin.listTransactions()).toEqual([
        { transactionalId: "sum-app", producerId: 7000, state: "Ongoing", coordinator: 1 },
      ]);
      expect(await admin.listTransactions(["CompleteCommit"])).toEqual([]);
      expect(await admin.describeTransaction("sum-app")).toMatchObject({
        state: "Ongoing",
        producerId: 7000,
        producerEpoch: 0,
        timeoutMs: 60_000,
        partitions: [{ topic: "out", partitions: [1] }],
        groups: [],
      });
      expect((await admin.describeTransaction("sum-app")).startTimeMs).toBeGreaterThan(0);
      await expect(admin.describeTransaction("nobody")).rejects.toMatchObject({
        code: "TRANSACTIONAL_ID_NOT_FOUND",
        message: /transactional id "nobody"/,
      });
      await txn.commit();
      expect(await admin.describeTransaction("sum-app")).toMatchObject({
        state: "CompleteCommit",
        startTimeMs: null,
      });
    } finally {
      await admin.close();
    }
  });

  it("names the coordinator's states from the wire contract's one list (@brook/protocol), not a copy", () => {
    expect(transactionStates).toBe(wireTransactionStates);
  });
});
