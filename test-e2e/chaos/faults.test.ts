// The chaos suite's fault choice, without a cluster: a seed replays the same choices, the first rounds
// cover every kind, and each kind of fault hits the node it names; the link rules of each network fault;
// and which runs CHAOS_CLIENT and CHAOS_KILLS ask for.
import type { ClusterView } from "@brook/cli";
import { describe, expect, it } from "vitest";
import {
  chaosRuns,
  type FaultKind,
  FaultPlan,
  faultKinds,
  holdMsMax,
  holdMsMin,
  kafkaKillsInSuite,
  pauseMsMax,
  pauseMsMin,
  powerLossesInSuite,
  processFaultKinds,
  Random,
} from "./faults.js";
import { linkRules, networkFaultSettings } from "./network-faults.js";

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

const choices = (seed: number, rounds: number, kinds: readonly FaultKind[] = faultKinds, at = view) => {
  const plan = new FaultPlan(new Random(seed), kinds);
  return Array.from({ length: rounds }, () => plan.next(at));
};

describe("chaos fault choice", () => {
  it("one seed, one sequence of faults", () => {
    expect(choices(42, 50)).toEqual(choices(42, 50));
    expect(choices(42, 50)).not.toEqual(choices(43, 50));
  });

  it("the first rounds go through every kind once, in an order the seed shuffles", () => {
    for (const seed of [1, 2, 3]) {
      const first = choices(seed, faultKinds.length).map((f) => f.kind);
      expect(new Set(first)).toEqual(new Set(faultKinds));
    }
    expect(choices(1, faultKinds.length).map((f) => f.kind)).not.toEqual(
      choices(2, faultKinds.length).map((f) => f.kind),
    );
    const short = choices(5, 5).map((f) => f.kind);
    expect(new Set(short).size).toBe(5);
  });

  it("every kind comes up, each aimed at the right node, pauses and holds within their bounds", () => {
    const faults = choices(7, 400);
    expect(new Set(faults.slice(faultKinds.length).map((f) => f.kind))).toEqual(new Set(faultKinds));
    for (const fault of faults) {
      const partition = view.partitions.find((p) => p.partition === fault.partition);
      if (fault.kind === "kill-controller" || fault.kind === "split-controller")
        expect(fault.nodeId).toBe(view.controllerId);
      if (fault.kind === "kill-follower") {
        expect(partition?.replicas).toContain(fault.nodeId);
        expect(fault.nodeId).not.toBe(partition?.leader);
      } else if (fault.kind === "bit-flip") {
        expect(partition?.replicas).toContain(fault.nodeId);
      } else if (fault.partition !== undefined) {
        expect(fault.nodeId).toBe(partition?.leader);
      }
      expect(fault.pauseMs).toBeGreaterThanOrEqual(pauseMsMin);
      expect(fault.pauseMs).toBeLessThanOrEqual(pauseMsMax);
      expect(fault.holdMs).toBeGreaterThanOrEqual(holdMsMin);
      expect(fault.holdMs).toBeLessThanOrEqual(holdMsMax);
    }
  });

  it("a run without network faults (the machine cannot make them) draws none", () => {
    const faults = choices(9, 300, processFaultKinds);
    expect(new Set(faults.map((f) => f.kind))).toEqual(new Set(processFaultKinds));
  });

  it("with no known controller, the controller's faults fall back to a leader's", () => {
    const faults = choices(1, 200, faultKinds, { ...view, controllerId: -1 });
    expect(faults.some((f) => f.kind === "kill-controller" || f.kind === "split-controller")).toBe(false);
    expect(faults.every((f) => f.nodeId > 0)).toBe(true);
  });
});

describe("network fault link rules (node 2 of 1,2,3)", () => {
  const nodes = [1, 2, 3];
  const cut = (from: number | "clients", to: number | "clients") => ({ from, to, lossPercent: 100 });

  it("isolate-leader cuts the node off from its peers and the clients, both ways", () => {
    expect(linkRules("isolate-leader", 2, nodes)).toEqual(
      expect.arrayContaining([
        cut(2, 1),
        cut(1, 2),
        cut(2, 3),
        cut(3, 2),
        cut(2, "clients"),
        cut("clients", 2),
      ]),
    );
    expect(linkRules("isolate-leader", 2, nodes)).toHaveLength(6);
  });

  it("a split cuts the node from its peers only: the clients reach every node", () => {
    for (const kind of ["split-leader", "split-controller", "flap-leader"] as const) {
      const rules = linkRules(kind, 2, nodes);
      expect(rules).toEqual(expect.arrayContaining([cut(2, 1), cut(1, 2), cut(2, 3), cut(3, 2)]));
      expect(rules.some((r) => r.from === "clients" || r.to === "clients")).toBe(false);
    }
  });

  it("one-way drops only what the node sends; lossy drops a share both ways; slow has no rule", () => {
    expect(linkRules("one-way-leader", 2, nodes)).toEqual([cut(2, 1), cut(2, 3)]);
    const lossy = linkRules("lossy-leader", 2, nodes);
    expect(lossy).toHaveLength(4);
    expect(lossy.every((r) => r.lossPercent === networkFaultSettings.lossPercent)).toBe(true);
    expect(linkRules("slow-leader", 2, nodes)).toEqual([]);
  });
});

describe("chaos runs", () => {
  it("unset (make test): Brook's SDK for one fault of each kind, then a short kafkajs run", () => {
    expect(chaosRuns({})).toEqual([
      { client: "brook", kills: faultKinds.length, kinds: faultKinds },
      { client: "kafka", kills: kafkaKillsInSuite, kinds: faultKinds },
      { client: "brook", kills: powerLossesInSuite, kinds: ["power-loss"] },
    ]);
    expect(chaosRuns({ CHAOS_POWER_LOSSES: "40" })[2].kills).toBe(40);
    expect(chaosRuns({ CHAOS_KILLS: "8" })[0]).toEqual({ client: "brook", kills: 8, kinds: faultKinds });
  });

  it("CHAOS_CLIENT names the one client that runs, for CHAOS_KILLS faults", () => {
    expect(chaosRuns({ CHAOS_CLIENT: "kafka", CHAOS_KILLS: "50" })).toEqual([
      { client: "kafka", kills: 50, kinds: faultKinds },
    ]);
    expect(chaosRuns({ CHAOS_CLIENT: "brook" })).toEqual([
      { client: "brook", kills: faultKinds.length, kinds: faultKinds },
    ]);
  });

  it("CHAOS_KINDS picks kinds among those the machine can do; without namespaces, no network kind", () => {
    expect(chaosRuns({ CHAOS_CLIENT: "brook", CHAOS_KINDS: "power-loss" })).toEqual([
      { client: "brook", kills: 1, kinds: ["power-loss"] },
    ]);
    expect(chaosRuns({ CHAOS_CLIENT: "brook" }, processFaultKinds)[0].kinds).toEqual(processFaultKinds);
    expect(() =>
      chaosRuns({ CHAOS_CLIENT: "brook", CHAOS_KINDS: "split-leader" }, processFaultKinds),
    ).toThrow(/none of split-leader can run/);
    expect(() => chaosRuns({ CHAOS_KINDS: "meteor" })).toThrow(/CHAOS_KINDS: unknown meteor/);
  });

  it("refuses an unknown client or a kill count that is not a whole number ≥ 1, naming the variable", () => {
    expect(() => chaosRuns({ CHAOS_CLIENT: "rdkafka" })).toThrow(/CHAOS_CLIENT must be one of brook, kafka/);
    expect(() => chaosRuns({ CHAOS_KILLS: "0" })).toThrow(/CHAOS_KILLS/);
    expect(() => chaosRuns({ CHAOS_KILLS: "lots" })).toThrow(/CHAOS_KILLS/);
  });
});
