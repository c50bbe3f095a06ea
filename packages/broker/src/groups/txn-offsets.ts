// Offsets committed inside transactions (TxnOffsetCommit) on one partition
// of __consumer_offsets, waiting for their producer's marker: a commit
// marker makes them the groups' committed offsets, an abort marker drops
// them. Until then OffsetFetch does not see them. Kept per producer id, as
// a marker names only the producer: a producer has at most one transaction
// open, so everything pending under its id belongs to that transaction.

import { BrookError } from "@brook/protocol";
import type { TopicPartition } from "./assignor.js";
import { keyOf } from "./assignor.js";
import type { CommittedOffset } from "./base-group.js";

export interface PendingOffset extends TopicPartition {
  readonly group: string;
  readonly value: CommittedOffset;
}

export class PendingTxnOffsets {
  /** Producer id → (group, topic, partition) → the latest offset it committed there. */
  private readonly byProducer = new Map<number, Map<string, PendingOffset>>();
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
  }

  /** Removes and returns what the producer has pending (its transaction ended). */
  take(producerId: number): PendingOffset[] {
    const offsets = this.byProducer.get(producerId);
    if (offsets === undefined) return [];
    this.byProducer.delete(producerId);
    this.count -= offsets.size;
    return [...offsets.values()];
  }
}
