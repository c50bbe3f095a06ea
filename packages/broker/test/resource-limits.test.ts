// Bounds against abuse: a fetch's min_bytes is clamped to its max_bytes, the group coordinator
// coordinates at most groupsMax groups, and a partition tracks at most producersMax idempotent
// producers; each refusal is a typed RESOURCE_LIMIT_REACHED that names the limit.

import { ManualClock } from "@brook/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fetch } from "../src/fetch.js";
import { GroupCoordinator } from "../src/groups/coordinator.js";
import { GroupHandlers } from "../src/groups/handlers.js";
import { OFFSETS_TOPIC } from "../src/groups/records.js";
import { type ProducerBatchHeader, ProducerStateTable } from "../src/producer-state.js";
import {
  fetchRequest,
  makeBatch,
  silentLogger,
  startTestBroker,
  type TestBroker,
  topicRecords,
} from "./helpers.js";

let broker: TestBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

describe("fetch", () => {
  it("waits for at most max_bytes when min_bytes is larger", async () => {
    broker = startTestBroker();
    await broker.apply(topicRecords("orders"));
    const batch = makeBatch(4, 50);
    broker.replicas.get(broker.metadata.image, "orders", 0).append(batch, 1);
    await vi.waitFor(() =>
      expect(broker!.replicas.get(broker!.metadata.image, "orders", 0).highWatermark).toBe(4),
    );
    const started = Date.now();
    const response = await fetch(
      broker.ctx,
      fetchRequest(
        "orders",
        { 0: 0 },
        { maxWaitMs: 5_000, minBytes: 10 * 1024 * 1024, maxBytes: batch.length },
      ),
    );
    expect(Date.now() - started).toBeLessThan(1_000); // not the 5 s a min_bytes it could never reach would wait
    expect(response.topics[0].partitions[0].records).toHaveLength(batch.length);
  });
});

describe("group coordinator", () => {
  it("refuses a new group past groupsMax with RESOURCE_LIMIT_REACHED, and keeps serving the ones it has", async () => {
    broker = startTestBroker();
    await broker.apply(topicRecords(OFFSETS_TOPIC, { partitions: 1 }));
    const coordinator = new GroupCoordinator({
      brokerId: broker.ctx.brokerId,
      replicas: broker.replicas,
      metadata: broker.metadata,
      logger: silentLogger,
      clock: new ManualClock(),
      config: { groupsMax: 2, classicInitialRebalanceDelayMs: 0 },
    });
    try {
      coordinator.onImage(broker.metadata.image);
      await vi.waitFor(() => coordinator.locate("a"), { timeout: 5_000, interval: 10 });
      coordinator.consumerGroup("a", true);
      coordinator.classicGroup("b", true);
      expect(() => coordinator.consumerGroup("c", true)).toThrow(
        expect.objectContaining({
          code: "RESOURCE_LIMIT_REACHED",
          message: expect.stringContaining("groupsMax 2"),
        }),
      );
      expect(() => coordinator.classicGroup("c", true)).toThrow(
        expect.objectContaining({ code: "RESOURCE_LIMIT_REACHED" }),
      );
      expect(coordinator.consumerGroup("a", true).group?.groupId).toBe("a");
      // Through the handlers: a member joining a new group is answered with the error.
      const handlers = new GroupHandlers(broker.ctx, coordinator);
      const answer = await handlers.heartbeat(
        {
          groupId: "c",
          memberId: "m1",
          memberEpoch: 0,
          instanceId: "",
          clientId: "test",
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 30_000,
          subscribedTopicNames: ["orders"],
          subscribedTopicRegex: "",
          ownedPartitions: [],
          serverAssignor: "",
          memberMetadata: undefined,
        },
        "127.0.0.1",
      );
      expect(answer.error?.code).toBe("RESOURCE_LIMIT_REACHED");
    } finally {
      coordinator.close();
    }
  });
});

describe("producer state", () => {
  const header = (producerId: number, baseSequence = 0): ProducerBatchHeader => ({
    producerId,
    producerEpoch: 0,
    baseSequence,
    lastOffsetDelta: 0,
  });

  it("refuses a client's new producer past producersMax, never a known one nor a replicated batch", () => {
    const table = new ProducerStateTable({ abortedTransactionsKept: true, producersMax: 2 });
    table.record([header(1)], 0);
    table.record([header(2)], 1);
    expect(() => table.check([header(3)])).toThrow(
      expect.objectContaining({
        code: "RESOURCE_LIMIT_REACHED",
        message: expect.stringContaining("producersMax 2"),
      }),
    );
    expect(table.check([header(1, 1)])).toEqual({ kind: "append" });
    // Two new producers in one append when only one more fits.
    const roomy = new ProducerStateTable({ abortedTransactionsKept: true, producersMax: 2 });
    roomy.record([header(1)], 0);
    expect(() => roomy.check([header(2), header(3)])).toThrow(
      expect.objectContaining({ code: "RESOURCE_LIMIT_REACHED" }),
    );
    expect(roomy.check([header(2)])).toEqual({ kind: "append" });
    // What the log already holds is replayed whatever the limit.
    table.loadFromBatches([{ ...header(3), baseOffset: 2, lastOffset: 2 }]);
    expect(table.size).toBe(3);
  });

  it("expiry makes room again", () => {
    const clock = new ManualClock();
    const table = new ProducerStateTable({ abortedTransactionsKept: true, producersMax: 1, clock });
    table.record([header(1)], 0);
    expect(() => table.check([header(2)])).toThrow(
      expect.objectContaining({ code: "RESOURCE_LIMIT_REACHED" }),
    );
    clock.advance(24 * 60 * 60 * 1000);
    table.expire();
    expect(table.check([header(2)])).toEqual({ kind: "append" });
  });
});
