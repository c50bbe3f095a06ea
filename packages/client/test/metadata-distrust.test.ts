// A broker that refused a send with NOT_LEADER is asked for metadata last for a while: it may be a leader
// cut off from the controller, whose own metadata still names itself. One that says its metadata may be
// stale (its lease lapsed) is passed over for another broker's answer, and used only when none answers.

import { ManualClock } from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { MetadataCache } from "../src/cluster/metadata-cache.js";
import { metadataLimits } from "../src/config.js";
import type { FakeCluster } from "./fake-cluster.js";
import { brookFor, startFake } from "./helpers.js";

const never = () => Promise.reject(new Error("not asked in this test"));

describe("MetadataCache asking order", () => {
  it("puts a distrusted broker last until distrustMs has passed", () => {
    const clock = new ManualClock(0);
    const cache = new MetadataCache(never, clock);
    const brokers = ["a:1", "b:2", "c:3"];
    expect(cache.inAskingOrder(brokers)).toEqual(brokers);
    cache.distrust("a:1");
    expect(cache.inAskingOrder(brokers)).toEqual(["b:2", "c:3", "a:1"]);
    clock.advance(metadataLimits.distrustMs);
    expect(cache.inAskingOrder(brokers)).toEqual(brokers);
  });

  it("remembers at most distrustedMax addresses, forgetting the oldest", () => {
    const cache = new MetadataCache(never, new ManualClock(0));
    for (let i = 0; i <= metadataLimits.distrustedMax; i++) cache.distrust(`h:${i}`);
    // h:0 was forgotten (trusted again); h:1 is still distrusted.
    expect(cache.inAskingOrder(["h:1", "h:0"])).toEqual(["h:0", "h:1"]);
  });
});

describe("a Metadata answer that says it may be stale", () => {
  let cluster: FakeCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
  });

  it("is passed over for another broker's: the producer never sends to the cut-off leader", async () => {
    cluster = await startFake(2);
    cluster.createTopic("t", 1, () => 1);
    cluster.moveLeader("t", 0, 2);
    // Broker 1, asked first, was cut off before the move: its image still names itself, at epoch 0.
    cluster.staleImages.set(1, { leader: 1, leaderEpoch: 0 });
    const producer = brookFor(cluster).producer({ acks: 1 });
    await producer.send({ topic: "t", messages: [{ value: "v" }] });
    expect(cluster.callsOf("Metadata")[0].brokerId).toBe(1);
    expect(cluster.callsOf("Produce").map((call) => call.brokerId)).toEqual([2]);
    await producer.close();
  });

  it("is used when no broker gives a better one", async () => {
    cluster = await startFake(1);
    cluster.createTopic("t", 1);
    cluster.staleImages.set(1, { leader: 1, leaderEpoch: 0 });
    const admin = brookFor(cluster).admin();
    expect(await admin.listTopics()).toEqual(["t"]);
    await admin.close();
  });
});
