// The default retry policy's pace through a leader failover: a send that finds its partition without a
// leader reaches the new one within about half a second of its election, not at the next of a growing
// series of backoffs. (With 2 s steps, a send failing from the fault retried at 1.5 s and then 3.1 s, so
// a failover of 1.7 s cost producers 3.1 s: most of what the chaos suite measured for a leader's death.)

import { afterEach, describe, expect, it } from "vitest";
import { Brook, defaultRetryPolicy, silentLogger } from "../src/index.js";
import type { FakeCluster } from "./fake-cluster.js";
import { startFake } from "./helpers.js";

let cluster: FakeCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
});

/** A broker session (1.5 s) and an election: when the new leader is known. */
const electedAfterMs = 1_700;

describe("default retry policy through a failover", () => {
  it("a send waiting for a leader succeeds within 600 ms of the election, and rides out about 14 s", async () => {
    cluster = await startFake(2);
    cluster.createTopic("failover", 1, () => 99); // no live leader, as after the leader's death
    const brook = new Brook({ brokers: cluster.bootstrap, logger: silentLogger });
    const producer = brook.producer({ acks: 1, lingerMs: 0 });
    try {
      await producer.connect();
      const startedMs = Date.now();
      const sent = producer.send({ topic: "failover", messages: [{ value: "x" }] });
      setTimeout(() => cluster?.moveLeader("failover", 0, 2), electedAfterMs);
      await sent;
      expect(Date.now() - startedMs).toBeLessThan(electedAfterMs + 600);
    } finally {
      await producer.close();
    }
    const { retries, initialRetryTimeMs, maxRetryTimeMs } = defaultRetryPolicy;
    const budgetMs = [...Array(retries).keys()].reduce(
      (sum, attempt) => sum + Math.min(maxRetryTimeMs, initialRetryTimeMs * 2 ** attempt),
      0,
    );
    expect(budgetMs).toBeGreaterThan(12_000);
  });
});
