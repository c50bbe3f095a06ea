// The chaos suite's fault choice, without a cluster: a seed replays the same choices, and each kind of
// fault hits the node it names; and which runs CHAOS_CLIENT and CHAOS_KILLS ask for.
import type { ClusterView } from "@brook/cli";
import { describe, expect, it } from "vitest";
import { chaosRuns, chooseFault, kafkaKillsInSuite, pauseMsMax, pauseMsMin, Random } from "./faults.js";

const view: ClusterView = {
  atMs: 0,
  controllerId: 2,
  brokers: [1, 2, 3].map((id) => ({ id, address: `127.0.0.1:${9000 + id}` })),
  partitions: Array.from({ length: 6 }, (_, partition) => ({
    partition,
    leader: (partition % 3) + 1,
    leaderEpoch: 0,
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
    served: true,
    highWatermark: 0,
  })),
};

const choices = (seed: number, rounds: number) => {
  const random = new Random(seed);
  return Array.from({ length: rounds }, () => chooseFault(random, view));
};

describe("chaos fault choice", () => {
  it("one seed, one sequence of faults", () => {
    expect(choices(42, 50)).toEqual(choices(42, 50));
    expect(choices(42, 50)).not.toEqual(choices(43, 50));
  });

  it("every kind comes up, each aimed at the right node, pauses within their bounds", () => {
    const faults = choices(7, 400);
    expect(new Set(faults.map((f) => f.kind))).toEqual(
      new Set(["kill-leader", "kill-controller", "kill-follower", "pause-leader"]),
    );
    for (const fault of faults) {
      const partition = view.partitions.find((p) => p.partition === fault.partition);
      if (fault.kind === "kill-controller") expect(fault.nodeId).toBe(view.controllerId);
      if (fault.kind === "kill-leader" || fault.kind === "pause-leader")
        expect(fault.nodeId).toBe(partition?.leader);
      if (fault.kind === "kill-follower") {
        expect(partition?.replicas).toContain(fault.nodeId);
        expect(fault.nodeId).not.toBe(partition?.leader);
      }
      expect(fault.pauseMs).toBeGreaterThanOrEqual(pauseMsMin);
      expect(fault.pauseMs).toBeLessThanOrEqual(pauseMsMax);
    }
  });

  it("with no known controller, a controller kill falls back to a leader", () => {
    const random = new Random(1);
    const faults = Array.from({ length: 200 }, () => chooseFault(random, { ...view, controllerId: -1 }));
    expect(faults.some((f) => f.kind === "kill-controller")).toBe(false);
  });
});

describe("chaos runs", () => {
  it("unset (make test): Brook's SDK for CHAOS_KILLS faults, then a short kafkajs run", () => {
    expect(chaosRuns({})).toEqual([
      { client: "brook", kills: 5 },
      { client: "kafka", kills: kafkaKillsInSuite },
    ]);
    expect(chaosRuns({ CHAOS_KILLS: "8" })[0]).toEqual({ client: "brook", kills: 8 });
  });

  it("CHAOS_CLIENT names the one client that runs, for CHAOS_KILLS faults", () => {
    expect(chaosRuns({ CHAOS_CLIENT: "kafka", CHAOS_KILLS: "50" })).toEqual([{ client: "kafka", kills: 50 }]);
    expect(chaosRuns({ CHAOS_CLIENT: "brook" })).toEqual([{ client: "brook", kills: 5 }]);
  });

  it("refuses an unknown client or a kill count that is not a whole number ≥ 1, naming the variable", () => {
    expect(() => chaosRuns({ CHAOS_CLIENT: "rdkafka" })).toThrow(/CHAOS_CLIENT must be one of brook, kafka/);
    expect(() => chaosRuns({ CHAOS_KILLS: "0" })).toThrow(/CHAOS_KILLS/);
    expect(() => chaosRuns({ CHAOS_KILLS: "lots" })).toThrow(/CHAOS_KILLS/);
  });
});
