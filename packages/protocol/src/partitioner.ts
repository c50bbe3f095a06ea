// Chooses a partition for each record exactly as Kafka's Java client does (DESIGN §5): keyed records by
// murmur2 of the key bytes, so a key lands on the same partition as with any Kafka client, and keyless
// records by a sticky choice (KIP-480) so they fill whole batches instead of spraying single records.

import murmurhash from "murmurhash";
import { assert } from "./errors.js";

/** Kafka's murmur2 seed (Utils.murmur2). */
const MURMUR2_SEED = 0x9747b28c;

/** A random number in [0, 1); injected so tests and simulations are deterministic. */
export type RandomSource = () => number;

export interface PartitionArgs {
  topic: string;
  key: Buffer | string | null | undefined;
  numPartitions: number;
}

/** Picks the partition for one record; the SDK accepts a custom one of these. */
export type Partitioner = (args: PartitionArgs) => number;

/** Kafka's Utils.murmur2 over the key's bytes, as a signed 32-bit integer like Java's `int`. */
export function murmur2(key: Uint8Array): number {
  // The package computes Kafka's murmur2 on bytes but returns it unsigned; `| 0` gives Java's int.
  return murmurhash.v2(key, MURMUR2_SEED) | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which differs for negative numbers). */
export function toPositive(hash: number): number {
  return hash & 0x7fffffff;
}

function assertPartitionCount(numPartitions: number): void {
  assert(Number.isInteger(numPartitions) && numPartitions > 0, "a topic has at least one partition");
}

/** Kafka's BuiltInPartitioner.partitionForKey; string keys are hashed as their UTF-8 bytes. */
export function partitionForKey(key: Buffer | string, numPartitions: number): number {
  assertPartitionCount(numPartitions);
  const bytes = typeof key === "string" ? Buffer.from(key, "utf8") : key;
  return toPositive(murmur2(bytes)) % numPartitions;
}

/**
 * Keyless records stick to one partition per topic until the batch for it is full or sent; then
 * `onNewBatch` lets the next call pick another partition at random, never the one just left when there
 * is a choice. This is Kafka's StickyPartitionCache (KIP-480).
 */
export class StickyPartitioner {
  private readonly current = new Map<string, number>();
  /** Topics whose sticky partition was released, with the partition to move away from. */
  private readonly released = new Map<string, number>();

  constructor(private readonly random: RandomSource) {}

  partition(topic: string, numPartitions: number): number {
    assertPartitionCount(numPartitions);
    const current = this.current.get(topic);
    // A topic that shrank in metadata (only ever a stale view) invalidates the sticky choice too.
    if (current !== undefined && current < numPartitions) return current;
    const next = this.pick(numPartitions, this.released.get(topic) ?? current);
    this.current.set(topic, next);
    this.released.delete(topic);
    return next;
  }

  /** The batch for `prevPartition` is full or sent; only that ends stickiness (a stale call is ignored). */
  onNewBatch(topic: string, prevPartition: number): void {
    if (this.current.get(topic) !== prevPartition) return;
    this.current.delete(topic);
    this.released.set(topic, prevPartition);
  }

  // One draw over the other partitions, shifted past the one being left: uniform, and no retry loop.
  private pick(numPartitions: number, leaving: number | undefined): number {
    if (leaving === undefined || leaving >= numPartitions || numPartitions === 1)
      return this.draw(numPartitions);
    const drawn = this.draw(numPartitions - 1);
    return drawn >= leaving ? drawn + 1 : drawn;
  }

  /** A uniform index below `count`, clamped in case a random source ever returns 1. */
  private draw(count: number): number {
    return Math.min(count - 1, Math.floor(this.random() * count));
  }
}

/** Kafka's default: murmur2 of the key when there is one, the sticky partition when there is not. */
export function createDefaultPartitioner(sticky: StickyPartitioner): Partitioner {
  return ({ topic, key, numPartitions }) =>
    key == null ? sticky.partition(topic, numPartitions) : partitionForKey(key, numPartitions);
}
