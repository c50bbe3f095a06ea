// The faults of a chaos round, chosen from a seeded PRNG (CHAOS_SEED) so a failing run can be replayed
// as far as real processes allow: the same seed picks the same kinds, partitions and pause lengths, but
// which broker leads what at the moment of the pick depends on timing.
// Also which runs the environment asks for (CHAOS_CLIENT, CHAOS_KILLS).

import { type ClientKind, type ClusterView, clientKinds } from "@brook/cli";
import { type Cluster, Random } from "@brook/testkit";

export { Random };

export type FaultKind = "kill-leader" | "kill-controller" | "kill-follower" | "pause-leader";

export interface Fault {
  kind: FaultKind;
  /** The node the fault hits. */
  nodeId: number;
  /** The partition whose leader or follower was chosen (none for kill-controller). */
  partition: number | undefined;
  /** How long a paused node stays stopped. */
  pauseMs: number;
}

/** Mostly what the issue is about (a partition's leader dies), and sometimes the others. */
const faultWeights: readonly [FaultKind, number][] = [
  ["kill-leader", 0.5],
  ["kill-controller", 0.2],
  ["kill-follower", 0.15],
  ["pause-leader", 0.15],
];

/**
 * Pauses from well under a broker session (1.5 s: the leader is not fenced, clients just wait) to well
 * over it (fenced and replaced, then it wakes up believing it still leads).
 */
export const pauseMsMin = 300;
export const pauseMsMax = 4_000;

/** A chaos run: which client produces the load, and how many faults it survives. */
export interface ChaosRun {
  client: ClientKind;
  kills: number;
}

/** Faults of the short kafkajs run that `make test` adds to Brook's SDK run (CHAOS_CLIENT unset). */
export const kafkaKillsInSuite = 3;

/**
 * The runs CHAOS_CLIENT and CHAOS_KILLS ask for. CHAOS_CLIENT=brook or kafka: that client alone, for
 * CHAOS_KILLS faults (default 5; `make chaos` passes 50). Unset (`make test`): Brook's SDK for
 * CHAOS_KILLS faults, then kafkajs for kafkaKillsInSuite, each on a cluster of its own.
 */
export function chaosRuns(env: NodeJS.ProcessEnv = process.env): ChaosRun[] {
  const kills = Number(env.CHAOS_KILLS ?? 5);
  if (!Number.isSafeInteger(kills) || kills < 1) {
    throw new Error(`CHAOS_KILLS must be a whole number ≥ 1, got '${env.CHAOS_KILLS}'`);
  }
  const client = env.CHAOS_CLIENT;
  if (client === undefined || client === "") {
    return [
      { client: "brook", kills },
      { client: "kafka", kills: kafkaKillsInSuite },
    ];
  }
  if (!(clientKinds as readonly string[]).includes(client)) {
    throw new Error(`CHAOS_CLIENT must be one of ${clientKinds.join(", ")}, got '${client}'`);
  }
  return [{ client: client as ClientKind, kills }];
}

/** The seed from CHAOS_SEED, or a fresh one (printed, so the run can be replayed). */
export function chaosSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.CHAOS_SEED;
  if (given !== undefined && /^\d+$/.test(given)) return Number(given);
  return Math.floor(Date.now() % 2 ** 31);
}

/**
 * Picks the next fault from the cluster as a client sees it now. Pure. Every random draw happens
 * whatever the view holds, so a seed draws the same sequence of numbers in every replay.
 */
export function chooseFault(random: Random, view: ClusterView): Fault {
  const roll = random.next();
  const partitionIndex = random.int(0, Math.max(0, view.partitions.length - 1));
  const followerRoll = random.next();
  const pauseMs = random.int(pauseMsMin, pauseMsMax);
  let kind = pickWeighted(roll);
  const watched = view.partitions[partitionIndex];
  if (kind === "kill-controller" && view.controllerId > 0) {
    return { kind, nodeId: view.controllerId, partition: undefined, pauseMs };
  }
  if (kind === "kill-controller") kind = "kill-leader"; // nobody knows the controller: hit a leader
  if (kind === "kill-follower") {
    const followers = watched.replicas.filter((id) => id !== watched.leader);
    const nodeId = followers[Math.floor(followerRoll * followers.length)];
    if (nodeId !== undefined) return { kind, nodeId, partition: watched.partition, pauseMs };
    kind = "kill-leader";
  }
  return { kind, nodeId: watched.leader, partition: watched.partition, pauseMs };
}

function pickWeighted(roll: number): FaultKind {
  let sum = 0;
  for (const [kind, weight] of faultWeights) {
    sum += weight;
    if (roll < sum) return kind;
  }
  return faultWeights[0][0];
}

export function describeFault(fault: Fault): string {
  const where = fault.partition === undefined ? "" : ` (partition ${fault.partition})`;
  switch (fault.kind) {
    case "kill-leader":
      return `SIGKILL node ${fault.nodeId}, the leader${where}`;
    case "kill-controller":
      return `SIGKILL node ${fault.nodeId}, the active controller`;
    case "kill-follower":
      return `SIGKILL node ${fault.nodeId}, a follower${where}`;
    case "pause-leader":
      return `SIGSTOP node ${fault.nodeId}, the leader${where}, for ${fault.pauseMs} ms`;
  }
}

/**
 * Applies the fault. A kill returns with the node dead (the caller restarts it once the cluster has
 * reacted); a pause returns with the node running again after its pause.
 */
export async function applyFault(cluster: Cluster, fault: Fault): Promise<void> {
  const node = cluster.nodes.find((n) => n.id === fault.nodeId);
  if (node === undefined) throw new Error(`no node ${fault.nodeId} in the cluster`);
  if (fault.kind !== "pause-leader") {
    await node.kill();
    return;
  }
  node.pause();
  try {
    await new Promise((resolve) => setTimeout(resolve, fault.pauseMs));
  } finally {
    node.resume();
  }
}
