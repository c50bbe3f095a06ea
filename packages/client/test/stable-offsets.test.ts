// Rule (KIP-447): a read_committed consumer reads its group's committed offsets as stable ones only. It
// sends require_stable, and a partition answered UNSTABLE_OFFSET_COMMIT (a transaction holding an offset
// of the group there has not ended) is asked again with the client's backoff until it is stable, so the
// consumer never starts at the offset the transaction is about to replace. The wait is bounded by the
// consumer's rebalanceTimeoutMs: committed() and assign() then reject with UNSTABLE_OFFSET_COMMIT; a group
// member fails the step and tries it again (never with the stale offset), and gives the wait up at once
// when the partition is no longer its to take or it closes. A read_uncommitted consumer never asks.

import { afterEach, describe, expect, it } from "vitest";
import type { Brook, ConsumedMessage, Consumer, ConsumerOptions } from "../src/index.js";
import type { FakeCluster } from "./fake-cluster.js";
import { brookFor, eventually, startFake } from "./helpers.js";

let cluster: FakeCluster;
let brook: Brook;
const consumers: Consumer[] = [];

afterEach(async () => {
  for (const consumer of consumers.splice(0)) await consumer.close();
  await cluster?.stop();
});

/** Topic "log" with `partitions` partitions of 6 records each; group "g" committed 2 on every one. */
async function setup(partitions: number) {
  cluster = await startFake();
  cluster.createTopic("log", partitions);
  brook = brookFor(cluster);
  const producer = brook.producer({ acks: 1, lingerMs: 0 });
  for (let partition = 0; partition < partitions; partition++) {
    const messages = Array.from({ length: 6 }, (_, index) => ({ value: `v${index}`, partition }));
    await producer.send({ topic: "log", messages });
    cluster.groups.committed.set(`g/log-${partition}`, 2);
  }
  await producer.close();
}

function member(options: Partial<ConsumerOptions> = {}): Consumer {
  const consumer = brook.consumer({
    groupId: "g",
    maxWaitMs: 20,
    fromBeginning: true,
    autoCommitIntervalMs: 60_000,
    isolationLevel: "read_committed",
    ...options,
  });
  consumers.push(consumer);
  return consumer;
}

/** A transaction commits offset `offset` of group "g" on log-`partition`: stable from now on. */
function transactionCommits(partition: number, offset: number) {
  cluster.groups.committed.set(`g/log-${partition}`, offset);
  cluster.groups.pendingTxnOffsets.delete(`g/log-${partition}`);
}

async function take(source: AsyncIterable<ConsumedMessage>, count: number): Promise<ConsumedMessage[]> {
  const messages: ConsumedMessage[] = [];
  for await (const message of source) {
    messages.push(message);
    if (messages.length === count) break;
  }
  return messages;
}

const fetches = () => cluster.groups.offsetFetches;
const asked = (index: number) =>
  fetches()[index].topics.flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}-${p}`));

describe("stable committed offsets (KIP-447)", () => {
  it("a group member taking a partition waits for the transaction holding its offset, then starts at the new offset", async () => {
    await setup(1);
    cluster.groups.pendingTxnOffsets.add("g/log-0");
    cluster.groups.assignment = ["log-0"];
    const consumer = member();
    const assigned: string[] = [];
    await consumer.subscribe({ topic: "log", onAssigned: () => void assigned.push("log-0") });
    await eventually(() => fetches().length >= 3);
    expect(assigned).toEqual([]); // not taken on while unstable
    transactionCommits(0, 4);

    expect((await take(consumer, 2)).map(({ offset }) => offset)).toEqual([4, 5]);
    expect(assigned).toEqual(["log-0"]);
    expect(fetches().every((request) => request.requireStable)).toBe(true);
  });

  it("committed() asks again only for the unstable partitions, with the client's backoff", async () => {
    await setup(2);
    cluster.groups.pendingTxnOffsets.add("g/log-0");
    const consumer = member();
    const committed = consumer.committed([
      { topic: "log", partition: 0 },
      { topic: "log", partition: 1 },
    ]);
    await eventually(() => fetches().length >= 3);
    transactionCommits(0, 5);

    expect(await committed).toEqual([
      { topic: "log", partition: 0, offset: 5 },
      { topic: "log", partition: 1, offset: 2 },
    ]);
    expect(asked(0)).toEqual(["log-0", "log-1"]);
    expect(
      fetches()
        .slice(1)
        .every((_, index) => asked(index + 1).join() === "log-0"),
    ).toBe(true);
  });

  it("gives up after rebalanceTimeoutMs with UNSTABLE_OFFSET_COMMIT naming the partitions, never answering the stale offset", async () => {
    await setup(2);
    cluster.groups.pendingTxnOffsets.add("g/log-1");
    const consumer = member({ rebalanceTimeoutMs: 300 });
    const started = Date.now();
    const committed = consumer.committed([
      { topic: "log", partition: 0 },
      { topic: "log", partition: 1 },
    ]);
    await expect(committed).rejects.toMatchObject({
      code: "UNSTABLE_OFFSET_COMMIT",
      retriable: true,
      message: expect.stringMatching(/group 'g' on log-1 has not committed or aborted after \d+ ms/),
    });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2_000);
    // Backoff 5, 10, 20, 20, ... ms (the test client's policy): many asks, each a backoff apart.
    expect(fetches().length).toBeGreaterThan(5);
    // assign() reads the same way, and refuses too rather than start at 2.
    await expect(consumer.assign([{ topic: "log", partition: 1 }])).rejects.toMatchObject({
      code: "UNSTABLE_OFFSET_COMMIT",
    });
    expect(consumer.assignments()).toEqual([]);
  });

  it("a group member past the bound tries the step again, and still starts at the new offset", async () => {
    await setup(1);
    cluster.groups.pendingTxnOffsets.add("g/log-0");
    cluster.groups.assignment = ["log-0"];
    const consumer = member({ rebalanceTimeoutMs: 100 });
    await consumer.subscribe({ topic: "log" });
    await new Promise((resolve) => setTimeout(resolve, 400)); // several bounds
    expect(consumer.assignments()).toEqual([]);
    transactionCommits(0, 3);

    expect((await take(consumer, 3)).map(({ offset }) => offset)).toEqual([3, 4, 5]);
  });

  it("a group member stops waiting once the partition is no longer its to take, and on close()", async () => {
    await setup(2);
    cluster.groups.pendingTxnOffsets.add("g/log-0");
    cluster.groups.assignment = ["log-0"];
    const consumer = member(); // a bound of 60 s
    await consumer.subscribe({ topic: "log" });
    await eventually(() => fetches().length >= 2);
    // The coordinator gives log-1 instead: the member takes it at once.
    cluster.groups.assignment = ["log-1"];
    cluster.groups.bumpEpoch();
    await eventually(() => consumer.assignments().length === 1);
    expect(consumer.assignments()).toEqual([{ topic: "log", partition: 1 }]);
    const afterMove = fetches().length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fetches().length).toBe(afterMove); // log-0 is no longer asked for

    // Waiting again for log-0, close() does not wait the bound out.
    cluster.groups.assignment = ["log-0", "log-1"];
    cluster.groups.bumpEpoch();
    await eventually(() => fetches().length >= afterMove + 2);
    const closing = Date.now();
    await consumer.close();
    expect(Date.now() - closing).toBeLessThan(2_000);
  });

  it("a read_uncommitted consumer does not ask for stable offsets, and starts at the committed one", async () => {
    await setup(1);
    cluster.groups.pendingTxnOffsets.add("g/log-0");
    cluster.groups.assignment = ["log-0"];
    const consumer = member({ isolationLevel: "read_uncommitted" });
    expect(await consumer.committed([{ topic: "log", partition: 0 }])).toEqual([
      { topic: "log", partition: 0, offset: 2 },
    ]);
    await consumer.subscribe({ topic: "log" });
    expect((await take(consumer, 1)).map(({ offset }) => offset)).toEqual([2]);
    expect(fetches().map((request) => request.requireStable)).toEqual([false, false]);
  });

  it("committed() needs a groupId, and answers -1 where the group has no offset", async () => {
    await setup(2);
    cluster.groups.committed.delete("g/log-1");
    const consumer = member();
    expect(await consumer.committed([{ topic: "log", partition: 1 }])).toEqual([
      { topic: "log", partition: 1, offset: -1 },
    ]);
    const plain = brook.consumer({});
    consumers.push(plain);
    await expect(plain.committed([{ topic: "log", partition: 0 }])).rejects.toMatchObject({
      code: "INVALID_REQUEST",
    });
  });
});
