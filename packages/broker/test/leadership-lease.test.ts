// The leadership lease: a session counted from the send of the last heartbeat the controller answered.

import { ManualClock } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import { LeadershipLease } from "../src/leadership-lease.js";
import type { Timers } from "../src/timers.js";

function lease(sessionTimeoutMs = 1_500) {
  const clock = new ManualClock(0);
  const pending = new Set<{ atMs: number; fire: () => void }>();
  const timers: Timers = {
    after(delayMs, fire) {
      const timer = { atMs: clock.nowMs() + delayMs, fire };
      pending.add(timer);
      return () => pending.delete(timer);
    },
  };
  const advance = (ms: number) => {
    clock.advance(ms);
    for (const timer of [...pending]) {
      if (timer.atMs > clock.nowMs()) continue;
      pending.delete(timer);
      timer.fire();
    }
  };
  return { lease: new LeadershipLease(sessionTimeoutMs, clock, timers), advance, pending };
}

describe("LeadershipLease", () => {
  it("has lapsed until the first answer, and holds for a session from that heartbeat's send", () => {
    const { lease: l, advance } = lease();
    expect(l.lapsed()?.code).toBe("NOT_LEADER");
    advance(200);
    l.renew(100); // sent at 100, answered at 200
    expect(l.lapsed()).toBeUndefined();
    advance(1_399);
    expect(l.lapsed()).toBeUndefined();
    advance(1);
    expect(l.lapsed()?.message).toMatch(/1500 ms/);
  });

  it("tells its listeners once, when it lapses, and not before a renewal's new end", () => {
    const { lease: l, advance, pending } = lease();
    l.renew(0);
    let told = 0;
    l.onLapse(() => told++);
    advance(1_000);
    l.renew(1_000); // now ends at 2500
    advance(600);
    expect(told).toBe(0);
    advance(900);
    expect(told).toBe(1);
    advance(5_000);
    expect(told).toBe(1);
    expect(pending.size).toBe(0); // no timer left behind
  });

  it("an older answer never shortens it; a revocation ends it at once", () => {
    const { lease: l } = lease();
    l.renew(1_000);
    l.renew(500);
    let told = false;
    l.onLapse(() => {
      told = true;
    });
    expect(l.lapsed()).toBeUndefined();
    l.revoke();
    expect(told).toBe(true);
    expect(l.lapsed()?.message).toMatch(/since it started or was fenced/);
  });

  it("a listener added after the lapse is told at once; a cancelled one never", () => {
    const { lease: l, advance } = lease();
    let early = 0;
    let late = 0;
    l.renew(0);
    l.onLapse(() => early++)();
    advance(1_500);
    l.onLapse(() => late++);
    expect([early, late]).toEqual([0, 1]);
  });
});
