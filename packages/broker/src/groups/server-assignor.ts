// The server-side assignors a Brook group member may name (KIP-848's ServerAssignor) and how the group
// picks one: "uniform" spreads every partition evenly (assignor.ts); "range" co-partitions, giving
// partition p of every topic the same members subscribe to to one member (range-assignor.ts). The group
// uses the assignor most of its members name, a tie going to uniform, as Kafka's coordinator does.

import { BrookError, unreachable } from "@brook/protocol";
import { assignPartitions, type GroupMember, type TopicPartition } from "./assignor.js";
import { assignCoPartitioned } from "./range-assignor.js";

export const SERVER_ASSIGNORS = ["uniform", "range"] as const;
export type ServerAssignor = (typeof SERVER_ASSIGNORS)[number];

/** What a member that names no assignor (an empty server_assignor) asks for, and what wins a tie. */
export const DEFAULT_SERVER_ASSIGNOR: ServerAssignor = "uniform";

/** How much of an unknown assignor's name an error repeats. */
const assignorNameCharsShown = 64;

/**
 * A heartbeat's server_assignor: "" is the default (and so is a request built by hand without one); an
 * unknown name is UNSUPPORTED_ASSIGNOR.
 */
export function parseServerAssignor(name: string | undefined): ServerAssignor {
  if (name === undefined || name === "") return DEFAULT_SERVER_ASSIGNOR;
  const known = SERVER_ASSIGNORS.find((assignor) => assignor === name);
  if (known !== undefined) return known;
  const names = SERVER_ASSIGNORS.map((assignor) => `'${assignor}'`).join(" or ");
  throw new BrookError(
    "UNSUPPORTED_ASSIGNOR",
    `server assignor '${name.slice(0, assignorNameCharsShown)}' is not supported; use ${names} (or none for '${DEFAULT_SERVER_ASSIGNOR}')`,
  );
}

/** The assignor a group uses: the one most members name, a tie going to the default. */
export function chooseServerAssignor(named: Iterable<ServerAssignor>): ServerAssignor {
  const votes = new Map<ServerAssignor, number>();
  for (const assignor of named) votes.set(assignor, (votes.get(assignor) ?? 0) + 1);
  let chosen = DEFAULT_SERVER_ASSIGNOR;
  for (const assignor of SERVER_ASSIGNORS) {
    if ((votes.get(assignor) ?? 0) > (votes.get(chosen) ?? 0)) chosen = assignor;
  }
  return chosen;
}

/** The target assignment by `assignor`: member id → its partitions, sorted. */
export function assignWith(
  assignor: ServerAssignor,
  members: readonly GroupMember[],
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, TopicPartition[]> {
  switch (assignor) {
    case "uniform":
      return assignPartitions(members, partitionCounts);
    case "range":
      return assignCoPartitioned(members, partitionCounts);
    default:
      return unreachable(assignor, "server assignor");
  }
}
