// What every group id has whichever protocol its members speak: the offsets it committed. Brook's own
// groups (group.ts, KIP-848 style) and Kafka clients' classic groups (classic-group.ts) both extend
// this, so a commit by either protocol is the same record and the same answer to OffsetFetch,
// `brook group describe` and the lag metric; a group id that changes protocol keeps its offsets.

import type { TopicPartition } from "./assignor.js";
import { keyOf } from "./assignor.js";

export interface CommittedOffset {
  offset: number;
  metadata: string;
  commitTimestampMs: number;
  /** The leader epoch of the last record consumed (Kafka's OffsetCommit v6+); absent when not given. */
  leaderEpoch?: number;
}

export type PartitionOffset = TopicPartition & CommittedOffset;

/** Which protocol a group's members speak: Brook's ConsumerGroupHeartbeat, or Kafka's JoinGroup/SyncGroup. */
export type GroupType = "consumer" | "classic";

export abstract class BaseGroup {
  abstract readonly type: GroupType;
  private readonly offsets = new Map<string, PartitionOffset>();

  constructor(readonly groupId: string) {}

  abstract get memberCount(): number;

  /** A group with neither members nor offsets need not exist. */
  get isEmpty(): boolean {
    return this.memberCount === 0 && this.offsets.size === 0;
  }

  /** Records a committed offset (`null`: forgets it). */
  setOffset(tp: TopicPartition, committed: CommittedOffset | null): void {
    if (committed === null) this.offsets.delete(keyOf(tp));
    else this.offsets.set(keyOf(tp), { topic: tp.topic, partition: tp.partition, ...committed });
  }

  committedOffset(tp: TopicPartition): CommittedOffset | undefined {
    return this.offsets.get(keyOf(tp));
  }

  committedOffsets(): IterableIterator<PartitionOffset> {
    return this.offsets.values();
  }

  /** Takes over `other`'s committed offsets: a group record replaces membership, never offsets. */
  keepOffsetsOf(other: BaseGroup | undefined): this {
    for (const [key, value] of other?.offsets ?? []) this.offsets.set(key, value);
    return this;
  }
}
