// Client quotas: the rate over a sliding window of samples, Kafka's throttle time, exemptions, the
// bounded table of principals; and a produce over quota through the broker: its answer says how long
// to wait, and on gRPC it comes that much later.

import { anonymousCaller, type Caller, type ProduceResponse } from "@brook/protocol";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { Broker } from "../src/broker.js";
import { ClientQuotas, RateQuota } from "../src/quotas.js";
import {
  brokerId,
  makeBatch,
  produceRequest,
  silentLogger,
  startTestBroker,
  stubController,
  type TestBroker,
  topicRecords,
} from "./helpers.js";

function manualClock(startMs = 1_000_000) {
  let now = startMs;
  return { nowMs: () => now, advance: (ms: number) => (now += ms) };
}

describe("RateQuota", () => {
  it("does not throttle within the quota, and throttles by (observed - quota) / quota * window past it", () => {
    const clock = manualClock(); // on a sample boundary: the window is 10 full samples
    const quota = new RateQuota(1_000, clock, { sampleMs: 1_000, samples: 11 });
    expect(quota.record("User:alice", 10_000)).toBe(0); // 10 000 B over 10 s: exactly the quota
    clock.advance(500);
    // 11 000 B over 10.5 s: 1047.6 B/s; (1047.6 - 1000) / 1000 * 10 500 = 500 ms
    expect(quota.record("User:alice", 1_000)).toBe(500);
  });

  it("waiting out the throttle time brings the rate back under the quota", () => {
    const clock = manualClock();
    const quota = new RateQuota(1_000, clock);
    const throttle = quota.record("User:alice", 50_000);
    expect(throttle).toBe(30_000); // 40 s by the formula, capped
    clock.advance(throttle);
    expect(quota.record("User:alice", 0)).toBe(0); // the burst has left the window
  });

  it("forgets samples older than the window", () => {
    const clock = manualClock();
    const quota = new RateQuota(1_000, clock, { throttleMsMax: 1_000_000 });
    expect(quota.record("User:alice", 20_000)).toBe(10_000);
    clock.advance(11_000);
    expect(quota.record("User:alice", 1_000)).toBe(0);
  });

  it("measures each principal on its own", () => {
    const clock = manualClock();
    const quota = new RateQuota(1_000, clock);
    expect(quota.record("User:alice", 20_000)).toBeGreaterThan(0);
    expect(quota.record("User:bob", 5_000)).toBe(0);
  });

  it("keeps at most principalsMax principals, dropping the least recently seen", () => {
    const clock = manualClock();
    const quota = new RateQuota(1_000, clock, { principalsMax: 2 });
    quota.record("User:a", 20_000);
    quota.record("User:b", 1);
    quota.record("User:a", 1); // a is now the most recent
    quota.record("User:c", 1); // drops b
    expect(quota.size).toBe(2);
    expect(quota.record("User:a", 0)).toBeGreaterThan(0); // a's bytes were kept
  });

  it("refuses a quota that is not positive", () => {
    expect(() => new RateQuota(0, manualClock())).toThrow(RangeError);
  });
});

describe("ClientQuotas", () => {
  const alice: Caller = { principal: "User:alice", host: "10.0.0.1" };

  it("never throttles the cluster's own nodes nor super users, and has no quota unless configured", () => {
    const clock = manualClock();
    const quotas = new ClientQuotas(
      { produceBytesPerSecond: 100, fetchBytesPerSecond: 100, superUsers: ["User:admin"] },
      clock,
    );
    expect(quotas.produced({ ...alice, nodeId: 2 }, () => 1_000_000)).toBe(0);
    expect(quotas.fetched({ principal: "User:admin", host: "h" }, () => 1_000_000)).toBe(0);
    expect(quotas.produced(alice, () => 1_000_000)).toBeGreaterThan(0);
    expect(quotas.fetched(alice, () => 1_000_000)).toBeGreaterThan(0);
    const none = new ClientQuotas({}, clock);
    expect(none.produced(alice, () => 1_000_000_000)).toBe(0);
    expect(none.fetched(alice, () => 1_000_000_000)).toBe(0);
  });
});

describe("a produce over quota", () => {
  let test: TestBroker;
  let broker: Broker | undefined;

  afterEach(async () => {
    await broker?.close();
    await test?.close();
  });

  it("is answered with a throttle time, and on gRPC that much later", async () => {
    test = startTestBroker();
    test.metadata.apply(topicRecords("orders"));
    broker = await Broker.start({
      brokerId,
      clusterId: "test-cluster",
      dataDir: `${test.dataDir}/node`,
      metadata: test.metadata,
      controller: stubController,
      logger: silentLogger,
      // Short samples, so the throttle is a fraction of a second: about bytes / 2 - (100..200) ms.
      quotas: {
        produceBytesPerSecond: 2_000,
        superUsers: ["User:admin"],
        options: { sampleMs: 100, samples: 2 },
      },
    });
    const batch = makeBatch(10, 200);
    const first = await broker.api.produce(
      produceRequest("orders", { 0: batch }, { acks: 1 }),
      anonymousCaller(),
    );
    expect(first.topics?.[0].partitions?.[0].error?.code).toBe("");
    expect(first.throttleTimeMs).toBeGreaterThan(0);
    const admin = { principal: "User:admin", host: "127.0.0.1" };
    expect(
      (await broker.api.produce(produceRequest("orders", { 0: batch }, { acks: 1 }), admin)).throttleTimeMs,
    ).toBe(0);

    // The gRPC handler waits out the throttle before it answers.
    const call = {
      request: produceRequest("orders", { 0: batch }, { acks: 1 }),
      metadata: new grpc.Metadata(),
      getPeer: () => "ipv4:127.0.0.1:50000",
    };
    const started = Date.now();
    const answer = await new Promise<ProduceResponse>((resolve, reject) => {
      const handler = broker!.handlers.Produce as unknown as (
        call: unknown,
        callback: (error: unknown, value?: ProduceResponse) => void,
      ) => void;
      handler(call, (error, value) => (error ? reject(error) : resolve(value!)));
    });
    const elapsed = Date.now() - started;
    expect(answer.throttleTimeMs).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThanOrEqual(answer.throttleTimeMs! - 5);
  });
});
