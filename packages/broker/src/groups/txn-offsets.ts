// Offsets committed inside transactions (TxnOffsetCommit) on one partition
// of __consumer_offsets, waiting for their producer's marker: a commit
// marker makes them the groups' committed offsets, an abort marker drops
// them. Until then OffsetFetch does not see them, and one that asks for
// stable offsets (KIP-447's RequireStable) is told the partition is unstable.
// Kept per producer id, as a marker names only the producer: a producer has
// at most one transaction open, so everything pending under its id belongs
// to that transaction. Indexed by group too, so that OffsetFetch finds
// whether anything is pending on a partition without scanning the producers.

import { BrookError } from "@brook/protocol";
import type { TopicPartition } from "./assignor.js";
import { keyOf } from "./assignor.js";
import type { CommittedOffset } from "./base-group.js";

export interface PendingOffset extends TopicPartition {
  readonly group: string;
  readonly value: CommittedOffset;
}

/** A partition of a group with offsets pending, and the producers whose transactions hold them. */
interface PendingPartition extends TopicPartition {
  readonly producers: Set<number>;
}

export class PendingTxnOffsets {
  /** Producer id → (group, topic, partition) → the latest offset it committed there. */
  private readonly byProducer = new Map<number, Map<string, PendingOffset>>();
  /** Group → (topic, partition) → who has an offset pending there; never holds an empty entry. */
  private readonly byGroup = new Map<string, Map<string, PendingPartition>>();
  private count = 0;

  /** `entriesMax` bounds what one partition keeps pending across producers (live commits are refused past it). */
  constructor(private readonly entriesMax: number) {}

  get size(): number {
    return this.count;
  }

  /** Refuses a live commit that would pass the bound; replay never calls it (the log was accepted under it). */
  requireRoom(entries: number): void {
    if (this.count + entries > this.entriesMax) {
      throw new BrookError(
        "COORDINATOR_NOT_AVAILABLE",
        `${this.count} transactional offsets are pending on this partition, the most it keeps; retry once transactions complete`,
      );
    }
  }

  add(producerId: number, offset: PendingOffset): void {
    const offsets = this.byProducer.get(producerId) ?? new Map<string, PendingOffset>();
    const key = `${offset.group}\u0000${keyOf(offset)}`;
    if (!offsets.has(key)) this.count++;
    offsets.set(key, offset);
    this.byProducer.set(producerId, offsets);
    const partitions = this.byGroup.get(offset.group) ?? new Map<string, PendingPartition>();
    const partitionKey = keyOf(offset);
    const pending = partitions.get(partitionKey) ?? {
      topic: offset.topic,
      partition: offset.partition,
      producers: new Set<number>(),
    };
    pending.producers.add(producerId);
    partitions.set(partitionKey, pending);
    this.byGroup.set(offset.group, partitions);
  }

  /** Removes and returns what the producer has pending (its transaction ended). */
  take(producerId: number): PendingOffset[] {
    const offsets = this.byProducer.get(producerId);
    if (offsets === undefined) return [];
    this.byProducer.delete(producerId);
    this.count -= offsets.size;
    for (const offset of offsets.values()) {
      const partitions = this.byGroup.get(offset.group);
      const partitionKey = keyOf(offset);
      const pending = partitions?.get(partitionKey);
      if (partitions === undefined || pending === undefined) continue;
      pending.producers.delete(producerId);
      if (pending.producers.size > 0) continue;
      partitions.delete(partitionKey);
      if (partitions.size === 0) this.byGroup.delete(offset.group);
    }
    return [...offsets.values()];
  }

  /** Whether a transaction not ended yet (of any producer) holds an offset of `group` on the partition. */
  isPending(group: string, tp: TopicPartition): boolean {
    return this.byGroup.get(group)?.has(keyOf(tp)) ?? false;
  }

  /** The partitions on which `group` has offsets pending: what an OffsetFetch of all its offsets adds. */
  *pendingPartitions(group: string): Generator<TopicPartition> {
    for (const { topic, partition } of this.byGroup.get(group)?.values() ?? []) yield { topic, partition };
  }
}
