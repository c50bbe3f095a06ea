// A broker that refused a send with NOT_LEADER is asked for metadata last for a while: it may be a leader
// cut off from the controller, whose own metadata still names itself.

import { ManualClock } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import { MetadataCache } from "../src/cluster/metadata-cache.js";
import { metadataLimits } from "../src/config.js";

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
