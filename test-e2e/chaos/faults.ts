// The faults of a chaos round, chosen from a seeded PRNG (CHAOS_SEED) so a failing run can be replayed
// as far as real processes allow: the same seed picks the same kinds, partitions, pause and hold lengths,
// but which broker leads what at the moment of the pick depends on timing.
// Also which runs the environment asks for (CHAOS_CLIENT, CHAOS_KILLS).

import { type ClientKind, type ClusterView, clientKinds } from "@brook/cli";
import { type Cluster, Random } from "@brook/testkit";
import { flipBitInSealedSegment } from "./disk-faults.js";
import { fillDiskFor } from "./disk-full.js";
import { applyNetworkFault, type NetworkFaultKind, networkFaultKinds } from "./network-faults.js";

export { Random };

/**
 * Faults on processes and their disks: SIGKILL one node (or every node at once), SIGSTOP one for a while,
 * or flip a bit in a sealed segment of one replica. A full disk needs each node's data on a disk of its own.
 */
export const processFaultKinds = [
  "kill-leader",
  "kill-controller",
  "kill-follower",
  "pause-leader",
  "power-loss",
  "bit-flip",
] as const;
export type ProcessFaultKind = (typeof processFaultKinds)[number];
/** Fill the data disk of a partition's leader for a while (disk-full.ts). */
export const diskFullFaultKinds = ["disk-full-leader"] as const;
export type DiskFullFaultKind = (typeof diskFullFaultKinds)[number];
export type FaultKind = ProcessFaultKind | DiskFullFaultKind | NetworkFaultKind;
export const faultKinds: readonly FaultKind[] = [
  ...processFaultKinds,
  ...diskFullFaultKinds,
  ...networkFaultKinds,
];

export interface Fault {
  kind: FaultKind;
  /** The node the fault hits (power-loss: every node; this one is only named). */
  nodeId: number;
  /** The partition whose leader or follower was chosen (none for the controller and power-loss). */
  partition: number | undefined;
  /** How long a paused node stays stopped. */
  pauseMs: number;
  /** How long a network fault lasts before the links heal, or a full disk before it is freed. */
  holdMs: number;
  /** bit-flip: seeds the choice of segment, byte and bit. */
  flipSeed: number;
}

/** Mostly what the issue is about (a partition's leader dies or is cut off), and sometimes the others. */
const faultWeights: Readonly<Record<FaultKind, number>> = {
  "kill-leader": 0.2,
  "kill-controller": 0.1,
  "kill-follower": 0.05,
  "pause-leader": 0.1,
  "power-loss": 0.05,
  "bit-flip": 0.05,
  "disk-full-leader": 0.05,
  "isolate-leader": 0.1,
  "split-leader": 0.07,
  "split-controller": 0.07,
  "one-way-leader": 0.06,
  "lossy-leader": 0.05,
  "flap-leader": 0.05,
  "slow-leader": 0.05,
};

/**
 * Pauses from well under a broker session (1.5 s: the leader is not fenced, clients just wait) to well
 * over it (fenced and replaced, then it wakes up believing it still leads).
 */
export const pauseMsMin = 300;
export const pauseMsMax = 4_000;
/** Network faults and full disks last from about one broker session to several. */
export const holdMsMin = 1_500;
export const holdMsMax = 5_000;

/** A chaos run: which client produces the load, how many faults it survives, and of which kinds. */
export interface ChaosRun {
  client: ClientKind;
  kills: number;
  kinds: readonly FaultKind[];
}

/** Faults of the short kafkajs run that `make test` adds to Brook's SDK run (CHAOS_CLIENT unset). */
export const kafkaKillsInSuite = 3;
/** Power losses of the run that `make test` adds (CHAOS_CLIENT unset); CHAOS_POWER_LOSSES changes it. */
export const powerLossesInSuite = 5;

/**
 * The runs CHAOS_CLIENT, CHAOS_KILLS and CHAOS_KINDS ask for, among the kinds this machine can do
 * (`available`). CHAOS_CLIENT=brook or kafka: that client alone, for CHAOS_KILLS faults (default: one of
 * each kind; `make chaos` passes 50) of the CHAOS_KINDS given (comma-separated; default all). Unset
 * (`make test`): Brook's SDK for CHAOS_KILLS faults, kafkajs for kafkaKillsInSuite, and Brook's SDK through
 * CHAOS_POWER_LOSSES power losses (default powerLossesInSuite), each on a cluster of its own.
 */
export function chaosRuns(
  env: NodeJS.ProcessEnv = process.env,
  available: readonly FaultKind[] = faultKinds,
): ChaosRun[] {
  const kinds = chosenKinds(env.CHAOS_KINDS, available);
  const kills = wholeNumber(env, "CHAOS_KILLS", kinds.length);
  const client = env.CHAOS_CLIENT;
  if (client === undefined || client === "") {
    return [
      { client: "brook", kills, kinds },
      { client: "kafka", kills: kafkaKillsInSuite, kinds },
      {
        client: "brook",
        kills: wholeNumber(env, "CHAOS_POWER_LOSSES", powerLossesInSuite),
        kinds: ["power-loss"],
      },
    ];
  }
  if (!(clientKinds as readonly string[]).includes(client)) {
    throw new Error(`CHAOS_CLIENT must be one of ${clientKinds.join(", ")}, got '${client}'`);
  }
  return [{ client: client as ClientKind, kills, kinds }];
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const n = Number(env[name] ?? fallback);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`${name} must be a whole number ≥ 1, got '${env[name]}'`);
  return n;
}

function chosenKinds(given: string | undefined, available: readonly FaultKind[]): readonly FaultKind[] {
  if (given === undefined || given === "") return available;
  const names = given.split(",").map((name) => name.trim());
  const unknown = names.filter((name) => !(faultKinds as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new Error(`CHAOS_KINDS: unknown ${unknown.join(", ")}; the kinds are ${faultKinds.join(", ")}`);
  }
  const kinds = available.filter((kind) => names.includes(kind));
  if (kinds.length === 0) throw new Error(`CHAOS_KINDS: none of ${given} can run on this machine`);
  return kinds;
}

/** The seed from CHAOS_SEED, or a fresh one (printed, so the run can be replayed). */
export function chaosSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.CHAOS_SEED;
  if (given !== undefined && /^\d+$/.test(given)) return Number(given);
  return Math.floor(Date.now() % 2 ** 31);
}

/**
 * The kinds of a run, in order: every kind the run can do once first, in a seeded shuffle (so a short run
 * covers as many kinds as it has rounds), then by weight. Pure apart from its PRNG.
 */
export class FaultPlan {
  private readonly firstRounds: FaultKind[];
  private round = 0;

  constructor(
    private readonly random: Random,
    readonly kinds: readonly FaultKind[],
  ) {
    this.firstRounds = [...kinds];
    for (let i = this.firstRounds.length - 1; i > 0; i--) {
      const j = random.int(0, i);
      [this.firstRounds[i], this.firstRounds[j]] = [this.firstRounds[j], this.firstRounds[i]];
    }
  }

  /** The next fault, aimed by the cluster as a client sees it now. */
  next(view: ClusterView): Fault {
    const roll = this.random.next();
    const kind = this.round < this.firstRounds.length ? this.firstRounds[this.round] : this.weighted(roll);
    this.round++;
    return aimFault(this.random, kind, view);
  }

  private weighted(roll: number): FaultKind {
    const total = this.kinds.reduce((sum, kind) => sum + faultWeights[kind], 0);
    let sum = 0;
    for (const kind of this.kinds) {
      sum += faultWeights[kind] / total;
      if (roll < sum) return kind;
    }
    return this.kinds[0];
  }
}

/**
 * Aims a fault of `kind` at a node of the cluster as a client sees it now. Pure. Every random draw happens
 * whatever the view holds, so a seed draws the same sequence of numbers in every replay.
 */
export function aimFault(random: Random, kind: FaultKind, view: ClusterView): Fault {
  const partitionIndex = random.int(0, Math.max(0, view.partitions.length - 1));
  const followerRoll = random.next();
  const pauseMs = random.int(pauseMsMin, pauseMsMax);
  const holdMs = random.int(holdMsMin, holdMsMax);
  const flipSeed = random.int(1, 2 ** 31 - 1);
  const watched = view.partitions[partitionIndex];
  const atLeader = { kind, nodeId: watched.leader, partition: watched.partition, pauseMs, holdMs, flipSeed };
  const atController = { kind, nodeId: view.controllerId, partition: undefined, pauseMs, holdMs, flipSeed };
  switch (kind) {
    case "kill-controller":
    case "split-controller":
      // Nobody knows the controller: hit a leader the same way.
      return view.controllerId > 0 ? atController : { ...atLeader, kind: leaderTwin(kind) };
    case "power-loss":
      return { ...atController, nodeId: Math.max(1, view.controllerId) };
    case "bit-flip": {
      const nodeId = watched.replicas[Math.floor(followerRoll * watched.replicas.length)];
      return nodeId === undefined ? atLeader : { ...atLeader, nodeId };
    }
    case "kill-follower": {
      const followers = watched.replicas.filter((id) => id !== watched.leader);
      const nodeId = followers[Math.floor(followerRoll * followers.length)];
      return nodeId === undefined ? { ...atLeader, kind: "kill-leader" } : { ...atLeader, nodeId };
    }
    case "kill-leader":
    case "pause-leader":
    case "disk-full-leader":
    case "isolate-leader":
    case "split-leader":
    case "one-way-leader":
    case "lossy-leader":
    case "flap-leader":
    case "slow-leader":
      return atLeader;
  }
}

function leaderTwin(kind: "kill-controller" | "split-controller"): FaultKind {
  return kind === "kill-controller" ? "kill-leader" : "split-leader";
}

export function describeFault(fault: Fault): string {
  const where = fault.partition === undefined ? "" : ` (partition ${fault.partition})`;
  const node = `node ${fault.nodeId}`;
  const hold = `for ${fault.holdMs} ms`;
  switch (fault.kind) {
    case "kill-leader":
      return `SIGKILL ${node}, the leader${where}`;
    case "kill-controller":
      return `SIGKILL ${node}, the active controller`;
    case "kill-follower":
      return `SIGKILL ${node}, a follower${where}`;
    case "pause-leader":
      return `SIGSTOP ${node}, the leader${where}, for ${fault.pauseMs} ms`;
    case "power-loss":
      return "SIGKILL every node at once (power loss), then start them all";
    case "bit-flip":
      return `flip a bit in a sealed segment of ${node}'s replica${where}`;
    case "disk-full-leader":
      return `fill the data disk of ${node}, the leader${where}, ${hold}, then free it`;
    case "isolate-leader":
      return `cut ${node}, the leader${where}, off from every node and client ${hold}`;
    case "split-leader":
      return `split ${node}, the leader${where}, from the other nodes (clients reach all) ${hold}`;
    case "split-controller":
      return `split ${node}, the active controller, from the other nodes (clients reach all) ${hold}`;
    case "one-way-leader":
      return `drop what ${node}, the leader${where}, sends the other nodes (it still hears them) ${hold}`;
    case "lossy-leader":
      return `drop 30% of packets between ${node}, the leader${where}, and the other nodes ${hold}`;
    case "flap-leader":
      return `cut and heal the links of ${node}, the leader${where}, to the other nodes every few hundred ms ${hold}`;
    case "slow-leader":
      return `cap ${node}'s link, the leader${where}, at 256 kbit/s ${hold}`;
  }
}

/** Which nodes a fault leaves dead, to be started again once the cluster has reacted. */
export function nodesToRestart(cluster: Cluster, fault: Fault): number[] {
  switch (fault.kind) {
    case "power-loss":
      return cluster.nodes.map((n) => n.id);
    case "kill-leader":
    case "kill-controller":
    case "kill-follower":
      return [fault.nodeId];
    default:
      return [];
  }
}

/**
 * Applies the fault to the cluster serving `topic`. A kill returns with the node (every node, for
 * power-loss) dead: the caller restarts it once the cluster has reacted. A pause, a full disk or a network
 * fault returns once it is over (the node running, the disk freed, the links healed), even when it fails. Returns what a bit-flip did.
 */
export async function applyFault(cluster: Cluster, fault: Fault, topic: string): Promise<string | undefined> {
  const node = cluster.nodes.find((n) => n.id === fault.nodeId);
  if (node === undefined) throw new Error(`no node ${fault.nodeId} in the cluster`);
  switch (fault.kind) {
    case "kill-leader":
    case "kill-controller":
    case "kill-follower":
      await node.kill();
      return undefined;
    case "power-loss":
      // Every SIGKILL is sent before any exit is awaited: the nodes die in the same instant.
      await Promise.all(cluster.nodes.map((n) => n.kill()));
      return undefined;
    case "bit-flip": {
      const flip = flipBitInSealedSegment(node, topic, fault.partition ?? 0, fault.flipSeed);
      return "skipped" in flip
        ? `nothing flipped: ${flip.skipped}`
        : `flipped bit ${flip.bit} of byte ${flip.byte} of ${flip.file}`;
    }
    case "pause-leader":
      node.pause();
      try {
        await new Promise((resolve) => setTimeout(resolve, fault.pauseMs));
      } finally {
        node.resume();
      }
      return undefined;
    case "disk-full-leader":
      await fillDiskFor(node.dataDir, fault.holdMs);
      return undefined;
    default:
      await applyNetworkFault(cluster, fault.kind, fault.nodeId, fault.holdMs);
  }
}
