// The failover clock without a cluster: only sends made after the fault count, each partition's first
// such acknowledgement is its failover time, and a partition never served again counts at the bound.
import { describe, expect, it } from "vitest";
import { FailoverClock, TimedLedger } from "./failover.js";

describe("failover clock", () => {
  it("counts a partition served by its first acknowledgement of a send made after the fault", () => {
    const clock = new FailoverClock([0, 1], 10_000);
    clock.start("kill-leader", 1_000, new Map([[1, 20]]));
    clock.noteAck(0, "p1-19", 1_100); // in flight at the fault: the old leader's answer, not a failover
    expect(clock.allServed).toBe(false);
    clock.noteAck(0, "p1-20", 2_400);
    clock.noteAck(0, "p1-21", 2_500); // later acks change nothing
    clock.noteAck(1, "p2-0", 1_300); // producer 2 had sent nothing before the fault
    expect(clock.allServed).toBe(true);
    clock.finish();
    expect(clock.stats()).toEqual([
      {
        kind: "kill-leader",
        samples: 2,
        timedOut: 0,
        p50Ms: 300,
        p99Ms: 1_400,
        maxMs: 1_400,
        slowest: { round: 1, partition: 0 },
      },
    ]);
  });

  it("a partition not produced to again counts at the bound, as timed out; kinds are kept apart", () => {
    const clock = new FailoverClock([0, 1], 5_000);
    clock.start("isolate-leader", 0, new Map());
    clock.noteAck(0, "p1-0", 700);
    clock.start("power-loss", 10_000, new Map([[1, 1]])); // closes the first
    clock.noteAck(0, "p1-1", 14_000);
    clock.noteAck(1, "p1-2", 14_500);
    clock.start("split-leader", 20_000, new Map([[1, 3]]));
    clock.noteAck(0, "p1-3", 26_000); // later than the bound: timed out too
    clock.finish();
    const byKind = Object.fromEntries(clock.stats().map((s) => [s.kind, s]));
    expect(byKind["isolate-leader"]).toMatchObject({ samples: 1, timedOut: 1, p99Ms: 5_000 });
    expect(byKind["power-loss"]).toMatchObject({ samples: 2, timedOut: 0, p50Ms: 4_000, p99Ms: 4_500 });
    expect(byKind["split-leader"]).toMatchObject({
      samples: 0,
      timedOut: 2,
      p99Ms: 5_000,
      slowest: { round: 3, partition: 0 },
    });
  });

  it("the timed ledger tells the clock of acknowledgements only, not of records read", () => {
    const clock = new FailoverClock([0], 1_000);
    let nowMs = 50;
    const ledger = new TimedLedger(clock, () => nowMs);
    clock.start("slow-leader", 0, new Map());
    ledger.note(0, 0, "p1-0", "tail");
    expect(clock.allServed).toBe(false);
    nowMs = 80;
    ledger.note(0, 0, "p1-0", "ack");
    expect(clock.allServed).toBe(true);
    clock.finish();
    expect(clock.stats()[0].p50Ms).toBe(80);
  });
});
