// Produce: acks=1 answers after the append, acks=all once the high watermark
// covers the batch, and every failure comes back as a typed per-partition error.

import { anonymousCaller, ManualClock } from "@brook/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { metadata } from "../src/admin.js";
import { LeadershipLease } from "../src/leadership-lease.js";
import { produce } from "../src/produce.js";
import type { Timers } from "../src/timers.js";
import { makeBatch, produceRequest, startTestBroker, type TestBroker, topicRecords } from "./helpers.js";

let broker: TestBroker;

beforeEach(async () => {
  broker = startTestBroker();
  await broker.apply(topicRecords("orders", { partitions: 2 }));
});

afterEach(async () => {
  await broker.close();
});

function partitionOf(topic: string, partition = 0) {
  return broker.replicas.get(broker.metadata.image, topic, partition);
}

function errorCodes(response: Awaited<ReturnType<typeof produce>>): string[] {
  return response.topics.flatMap((topic) => topic.partitions.map((partition) => partition.error.code));
}

describe("acks", () => {
  it("acks=all answers once the batch is below the high watermark", async () => {
    const response = await produce(
      broker.ctx,
      produceRequest("orders", { 0: makeBatch(3), 1: makeBatch(2) }),
    );
    expect(response.topics[0].partitions).toMatchObject([
      { partition: 0, error: { code: "" }, baseOffset: 0, logStartOffset: 0 },
      { partition: 1, error: { code: "" }, baseOffset: 0, logStartOffset: 0 },
    ]);
    expect(partitionOf("orders", 0).highWatermark).toBe(3);
    expect(partitionOf("orders", 1).highWatermark).toBe(2);
  });

  it("acks=1 answers after the append, before the fsync makes it visible", async () => {
    const response = await produce(broker.ctx, produceRequest("orders", { 0: makeBatch(3) }, { acks: 1 }));
    expect(response.topics[0].partitions[0]).toMatchObject({ error: { code: "" }, baseOffset: 0 });
    expect(partitionOf("orders").log.logEndOffset).toBe(3);
    expect(partitionOf("orders").highWatermark).toBe(0);
  });

  it("assigns consecutive base offsets across requests", async () => {
    await produce(broker.ctx, produceRequest("orders", { 0: makeBatch(3) }, { acks: 1 }));
    const response = await produce(broker.ctx, produceRequest("orders", { 0: makeBatch(1) }, { acks: 0 }));
    expect(response.topics[0].partitions[0].baseOffset).toBe(3);
  });

  it("refuses acks other than -1, 0 and 1", async () => {
    await expect(
      produce(broker.ctx, produceRequest("orders", { 0: makeBatch(1) }, { acks: 2 })),
    ).rejects.toMatchObject({
      code: "INVALID_REQUEST",
    });
    expect(partitionOf("orders").log.logEndOffset).toBe(0);
  });
});

describe("errors", () => {
  it("maps a missing topic, partition or leadership to typed errors", async () => {
    await broker.apply(topicRecords("elsewhere", { leader: broker.ctx.brokerId + 1 }));
    const responses = await Promise.all([
      produce(broker.ctx, produceRequest("nope", { 0: makeBatch(1) })),
      produce(broker.ctx, produceRequest("orders", { 7: makeBatch(1) })),
      produce(broker.ctx, produceRequest("elsewhere", { 0: makeBatch(1) })),
    ]);
    expect(responses.map(errorCodes)).toEqual([["UNKNOWN_TOPIC"], ["UNKNOWN_PARTITION"], ["NOT_LEADER"]]);
    expect(responses[0].topics[0].partitions[0]).toMatchObject({ baseOffset: -1, logStartOffset: -1 });
  });

  it("refuses a corrupt batch and writes nothing, while other partitions succeed", async () => {
    const corrupt = makeBatch(2);
    corrupt[corrupt.length - 1] ^= 0xff;
    const response = await produce(broker.ctx, produceRequest("orders", { 0: corrupt, 1: makeBatch(1) }));
    expect(errorCodes(response)).toEqual(["CORRUPT_BATCH", ""]);
    expect(partitionOf("orders", 0).log.logEndOffset).toBe(0);
    expect(partitionOf("orders", 1).log.logEndOffset).toBe(1);
  });

  it("refuses a batch over max.message.bytes with RECORD_TOO_LARGE", async () => {
    await broker.apply(topicRecords("small", { configs: { "max.message.bytes": "200" } }));
    const response = await produce(broker.ctx, produceRequest("small", { 0: makeBatch(10, 100) }));
    expect(errorCodes(response)).toEqual(["RECORD_TOO_LARGE"]);
  });

  it("refuses a partition with no records and a request with no topic name", async () => {
    const empty = await produce(broker.ctx, produceRequest("orders", { 0: Buffer.alloc(0) }));
    const unnamed = await produce(broker.ctx, produceRequest("", { 0: makeBatch(1) }));
    expect([errorCodes(empty), errorCodes(unnamed)]).toEqual([["INVALID_REQUEST"], ["INVALID_REQUEST"]]);
  });

  it("answers acks=all with NOT_LEADER when leadership moves before the batch is committed", async () => {
    const [topic] = broker.metadata.image.topics();
    const produced = produce(
      broker.ctx,
      produceRequest("orders", { 0: makeBatch(1) }, { timeoutMs: 10_000 }),
    );
    // The append happened synchronously; the fsync that would commit it has not completed yet.
    await broker.apply([
      {
        type: "partition",
        topicId: topic.topicId,
        partition: 0,
        replicas: [broker.ctx.brokerId],
        isr: [],
        leader: -1,
        leaderEpoch: 1,
        partitionEpoch: 1,
      },
    ]);
    const response = await produced;
    expect(errorCodes(response)).toEqual(["NOT_LEADER"]);
  });
});

describe("a broker whose lease has lapsed (no answer from the active controller for a session)", () => {
  /** Timers the test fires by hand, with a clock it moves. */
  function manualTime() {
    const clock = new ManualClock(0);
    const pending: { atMs: number; fire: () => void }[] = [];
    const timers: Timers = {
      after(delayMs, fire) {
        const timer = { atMs: clock.nowMs() + delayMs, fire };
        pending.push(timer);
        return () => {
          const index = pending.indexOf(timer);
          if (index >= 0) pending.splice(index, 1);
        };
      },
    };
    const advance = (ms: number) => {
      clock.advance(ms);
      for (const timer of pending.filter((t) => t.atMs <= clock.nowMs())) {
        pending.splice(pending.indexOf(timer), 1);
        timer.fire();
      }
    };
    return { clock, timers, advance };
  }

  let leased: TestBroker;
  afterEach(async () => {
    await leased?.close();
  });

  it("refuses produce with NOT_LEADER and appends nothing", async () => {
    const time = manualTime();
    const lease = new LeadershipLease(1_500, time.clock, time.timers);
    leased = startTestBroker({ lease });
    await leased.apply(topicRecords("orders"));
    const partition = leased.replicas.get(leased.metadata.image, "orders", 0);

    const before = await produce(leased.ctx, produceRequest("orders", { 0: makeBatch(1) }));
    expect(errorCodes(before)).toEqual(["NOT_LEADER"]); // never answered yet
    lease.renew(0);
    expect(errorCodes(await produce(leased.ctx, produceRequest("orders", { 0: makeBatch(1) })))).toEqual([
      "",
    ]);
    time.advance(1_500);
    const after = await produce(leased.ctx, produceRequest("orders", { 0: makeBatch(1) }, { acks: 1 }));
    expect(errorCodes(after)).toEqual(["NOT_LEADER"]);
    expect(after.topics[0].partitions[0].error.message).toMatch(/active controller/);
    expect(partition.log.logEndOffset).toBe(1);
  });

  it("says in its Metadata answers that its image may be stale while the lease is lapsed", async () => {
    const time = manualTime();
    const lease = new LeadershipLease(1_500, time.clock, time.timers);
    leased = startTestBroker({ lease });
    await leased.apply(topicRecords("orders"));
    const mayBeStale = () => metadata(leased.ctx, { topics: ["orders"] }, anonymousCaller()).mayBeStale;

    expect(mayBeStale()).toBe(true); // never answered yet
    lease.renew(0);
    expect(mayBeStale()).toBe(false);
    time.advance(1_500);
    expect(mayBeStale()).toBe(true);
  });

  it("ends an acks=all wait with NOT_LEADER the moment the lease lapses", async () => {
    const time = manualTime();
    const lease = new LeadershipLease(1_500, time.clock, time.timers);
    lease.renew(0);
    leased = startTestBroker({ lease });
    const [record] = topicRecords("orders", { topicId: "t-1" }).slice(1);
    // A follower (broker 2) in the ISR that never fetches: the high watermark cannot reach the batch.
    await leased.apply([
      { type: "topic", name: "orders", topicId: "t-1" },
      { ...record, replicas: [leased.ctx.brokerId, 2], isr: [leased.ctx.brokerId, 2] } as typeof record,
    ]);
    let answered = false;
    const produced = produce(
      leased.ctx,
      produceRequest("orders", { 0: makeBatch(1) }, { timeoutMs: 30_000 }),
    );
    void produced.then(() => {
      answered = true;
    });
    time.advance(1_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    time.advance(500);
    expect(errorCodes(await produced)).toEqual(["NOT_LEADER"]);
  });
});
