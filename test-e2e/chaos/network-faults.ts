// The chaos suite's network faults: rules on the links of a cluster started with
// `network: "namespaces"` (each node in a network namespace of its own, @brook/testkit's NetworkLab) that
// hold for a while and are then lifted. Every fault heals the network when it ends, failed or not; the
// cluster's stop() deletes the namespaces, and with them any rule left behind.

import { type Cluster, type LinkRule, type NetworkLab, Random } from "@brook/testkit";

export const networkFaultKinds = [
  "isolate-leader",
  "split-leader",
  "split-controller",
  "one-way-leader",
  "lossy-leader",
  "flap-leader",
  "slow-leader",
] as const;
export type NetworkFaultKind = (typeof networkFaultKinds)[number];

export const networkFaultSettings = {
  /** lossy-leader: the share of packets dropped each way between the node and its peers. */
  lossPercent: 30,
  /** flap-leader: each cut and each healed spell lasts between these. */
  flapMsMin: 200,
  flapMsMax: 700,
  /** slow-leader: the node's link in each direction. */
  slowRateKbit: 256,
} as const;

/**
 * The link rules that cut `nodeId` off as `kind` says, among `nodeIds` (the clients live in the host's
 * namespace). Pure. slow-leader has none (it is a rate cap, not a rule); flap-leader's are its cut spells.
 */
export function linkRules(kind: NetworkFaultKind, nodeId: number, nodeIds: readonly number[]): LinkRule[] {
  const peers = nodeIds.filter((id) => id !== nodeId);
  const both = (lossPercent: number) =>
    peers.flatMap((peer) => [
      { from: nodeId, to: peer, lossPercent },
      { from: peer, to: nodeId, lossPercent },
    ]);
  switch (kind) {
    case "isolate-leader":
      return [
        ...both(100),
        { from: nodeId, to: "clients", lossPercent: 100 },
        { from: "clients", to: nodeId, lossPercent: 100 },
      ];
    case "split-leader":
    case "split-controller":
    case "flap-leader":
      return both(100);
    case "one-way-leader":
      return peers.map((peer) => ({ from: nodeId, to: peer, lossPercent: 100 }));
    case "lossy-leader":
      return both(networkFaultSettings.lossPercent);
    case "slow-leader":
      return [];
  }
}

/** Cuts the links `kind` names for `holdMs`, then heals them all (also when something fails). */
export async function applyNetworkFault(
  cluster: Cluster,
  kind: NetworkFaultKind,
  nodeId: number,
  holdMs: number,
): Promise<void> {
  const lab = cluster.network;
  if (lab === undefined) throw new Error(`${kind} needs a cluster started with network: "namespaces"`);
  const rules = linkRules(kind, nodeId, lab.nodeIds);
  try {
    if (kind === "slow-leader") await lab.setSlow(nodeId, networkFaultSettings.slowRateKbit);
    if (kind === "flap-leader") await flap(lab, rules, holdMs);
    else {
      await lab.setRules(rules);
      await sleepMs(holdMs);
    }
  } finally {
    await lab.heal();
  }
}

/**
 * Cut, heal, cut, ... in spells of flapMsMin..flapMsMax until `holdMs` has passed; the spells come from a
 * PRNG seeded with holdMs, so a replayed fault flaps the same way.
 */
async function flap(lab: NetworkLab, rules: readonly LinkRule[], holdMs: number): Promise<void> {
  const endMs = Date.now() + holdMs;
  const spells = new Random(holdMs);
  for (let cut = true; Date.now() < endMs; cut = !cut) {
    await lab.setRules(cut ? rules : []);
    const spellMs = spells.int(networkFaultSettings.flapMsMin, networkFaultSettings.flapMsMax);
    await sleepMs(Math.min(spellMs, Math.max(0, endMs - Date.now())));
  }
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
