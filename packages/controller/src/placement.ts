// Where a new topic's replicas go: pure functions of the live brokers and of
// how many partitions each already leads, so whichever controller is active
// places a topic the same way. This is Kafka's rack-aware assignment
// (AdminUtils.assignReplicasToBrokersRackAware): brokers are ordered by
// taking one from each rack in turn, partition p's leader is the broker at
// (start + p) in that order, so leaders spread evenly over brokers and racks,
// and its followers are found walking on from the leader, skipping a broker
// whose rack already holds a copy while some rack holds none. When no broker
// names a rack they all share one, and this is plain round-robin.

import { assert, BrookError } from "@brook/protocol";

export const partitionsPerTopicMax = 10_000;

/** What placement needs to know of a broker; a BrokerImage is one. */
export interface PlacementBroker {
  readonly brokerId: number;
  /** Absent or "" (the wire's default) when the broker names no rack. */
  readonly rack?: string;
}

/**
 * The replicas of each partition, leader first. Refuses a partition count out
 * of range, a replication factor above the broker count, and brokers of
 * which only some name a rack (as Kafka does: placing copies by rack is
 * meaningless when a rackless broker may sit in any rack).
 */
export function assignReplicas(
  brokers: readonly PlacementBroker[],
  numPartitions: number,
  replicationFactor: number,
  preferredLeaderCounts: ReadonlyMap<number, number>,
): number[][] {
  checkPartitionCount(numPartitions);
  checkReplicationFactor(replicationFactor, brokers.length);
  const racks = racksOf(brokers);
  const order = rackAlternatedOrder(racks);
  const rackCount = new Set(racks.values()).size;
  const start = placementStart(order, preferredLeaderCounts);
  const assignment: number[][] = [];
  for (let p = 0; p < numPartitions; p++) {
    // Each full round of leaders shifts the followers, so a broker's copies
    // are not always followed by the same brokers (Kafka's replica shift);
    // by whole rack counts, so the next broker is still in another rack.
    const shift = Math.floor(p / order.length) * rackCount;
    const first = (start + p) % order.length;
    assignment.push(partitionReplicas({ order, racks, rackCount }, first, shift, replicationFactor));
  }
  return assignment;
}

/**
 * Where placement starts, as an index into the placement order: the broker
 * that is the preferred leader (first replica) of the fewest partitions, the
 * earliest in the order on a tie. So leaders keep spreading across topics,
 * and after deletions refill the brokers that lost some.
 */
export function placementStart(
  order: readonly number[],
  preferredLeaderCounts: ReadonlyMap<number, number>,
): number {
  let start = 0;
  for (let i = 1; i < order.length; i++) {
    const count = preferredLeaderCounts.get(order[i]) ?? 0;
    if (count < (preferredLeaderCounts.get(order[start]) ?? 0)) start = i;
  }
  return start;
}

/**
 * Broker ids taking one from each rack in turn, racks in name order and
 * brokers in id order within a rack: [a1, b1, c1, a2, b2, c2, a3, a4] for
 * racks a (4 brokers), b and c (2 each). Consecutive brokers then sit in
 * different racks for as long as every rack has brokers left.
 */
export function rackAlternatedOrder(racks: ReadonlyMap<number, string>): number[] {
  const byRack = new Map<string, number[]>();
  for (const [brokerId, rack] of racks) byRack.set(rack, [...(byRack.get(rack) ?? []), brokerId]);
  const columns = [...byRack.keys()].sort().map((rack) => (byRack.get(rack) ?? []).sort((a, b) => a - b));
  const order: number[] = [];
  const depth = Math.max(0, ...columns.map((brokers) => brokers.length));
  for (let row = 0; row < depth; row++) {
    for (const brokers of columns) if (row < brokers.length) order.push(brokers[row]);
  }
  return order;
}

/**
 * Broker id → rack. When no broker names a rack they all share the rack "",
 * which makes the rack-aware walk plain round-robin.
 */
function racksOf(brokers: readonly PlacementBroker[]): Map<number, string> {
  const rackless = brokers.filter((broker) => !broker.rack).map((broker) => broker.brokerId);
  if (rackless.length > 0 && rackless.length < brokers.length) {
    throw new BrookError(
      "INVALID_REQUEST",
      `broker(s) ${rackless.sort((a, b) => a - b).join(", ")} name no rack while others do: ` +
        "give every broker a rack, or none",
    );
  }
  return new Map(brokers.map((broker) => [broker.brokerId, broker.rack ?? ""]));
}

/** The brokers in placement order, with their racks. */
interface Layout {
  readonly order: readonly number[];
  readonly racks: ReadonlyMap<number, string>;
  readonly rackCount: number;
}

/**
 * One partition's replicas: the leader at `first`, then brokers walking on
 * from it (Kafka's replicaIndex), taking one only if its rack holds no copy
 * yet or every rack already does, and it holds no copy itself. The walk
 * visits every other broker within order.length - 1 steps, and a rack with no
 * copy always has a broker with none, so each replica is found in that bound.
 */
function partitionReplicas(
  { order, racks, rackCount }: Layout,
  first: number,
  shift: number,
  replicationFactor: number,
): number[] {
  const rackOf = (brokerId: number) => racks.get(brokerId) ?? "";
  const replicas = [order[first]];
  const racksWithReplicas = new Set([rackOf(order[first])]);
  const stepsMax = order.length - 1;
  let step = 0;
  while (replicas.length < replicationFactor) {
    let placed = false;
    for (let tries = 0; tries < stepsMax && !placed; tries++, step++) {
      const broker = order[(first + 1 + ((shift + step) % stepsMax)) % order.length];
      const rack = rackOf(broker);
      const rackWanted = !racksWithReplicas.has(rack) || racksWithReplicas.size === rackCount;
      if (rackWanted && !replicas.includes(broker)) {
        replicas.push(broker);
        racksWithReplicas.add(rack);
        placed = true;
      }
    }
    assert(placed, "a broker without a copy, in a rack without one while any lacks one, is in reach");
  }
  return replicas;
}

function checkPartitionCount(numPartitions: number): void {
  if (!Number.isInteger(numPartitions) || numPartitions < 1 || numPartitions > partitionsPerTopicMax) {
    throw new BrookError(
      "INVALID_PARTITIONS",
      `partition count ${numPartitions} is out of range: use 1 to ${partitionsPerTopicMax}`,
    );
  }
}

function checkReplicationFactor(replicationFactor: number, liveBrokerCount: number): void {
  if (liveBrokerCount === 0) {
    throw new BrookError(
      "INVALID_REPLICATION_FACTOR",
      "no broker is alive (registered and unfenced) to place replicas on",
    );
  }
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > liveBrokerCount) {
    throw new BrookError(
      "INVALID_REPLICATION_FACTOR",
      `replication factor ${replicationFactor} is out of range: ${liveBrokerCount} broker(s) are alive (registered and unfenced)`,
    );
  }
}
