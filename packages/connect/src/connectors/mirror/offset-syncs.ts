// Offset syncs, MirrorMaker 2's: a record in the target's offset-syncs topic saying that the source record
// at `upstream` of a topic-partition was mirrored to `downstream`. A task writes one when the distance
// downstream - upstream changes (a transaction marker or an aborted record is a gap on one side only), so
// that between two syncs offsets map one to one; and at least every syncRecordsMax records and
// syncIntervalMs, so that translation keeps up. Deciding when is pure (OffsetSyncTracker); the task writes.

import { mirrorLimits } from "./config.js";

export interface OffsetSync {
  /** The source topic. */
  topic: string;
  partition: number;
  upstream: number;
  downstream: number;
}

/** The record key: the alias first, so mirrors from several clusters may share one offset-syncs topic. */
export function offsetSyncKey(alias: string, { topic, partition }: Pick<OffsetSync, "topic" | "partition">) {
  return `${alias}:${topic}:${partition}`;
}

export function encodeOffsetSync({ topic, partition, upstream, downstream }: OffsetSync): Buffer {
  return Buffer.from(JSON.stringify({ topic, partition, upstream, downstream }));
}

/** The sync a record holds, or undefined for one that is not an offset sync (it is skipped). */
export function decodeOffsetSync(value: Buffer | null): OffsetSync | undefined {
  if (value === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString());
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { topic, partition, upstream, downstream } = parsed as Record<string, unknown>;
  if (typeof topic !== "string" || ![partition, upstream, downstream].every(isOffset)) return undefined;
  return { topic, partition, upstream, downstream } as OffsetSync;
}

function isOffset(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

interface PartitionSyncState {
  /** The last mirrored record's offsets. */
  latest: OffsetSync;
  /** The last sync handed out to be written. */
  synced: OffsetSync;
  syncedAtMs: number;
  recordsSinceSync: number;
}

export interface SyncPolicy {
  syncRecordsMax: number;
  syncIntervalMs: number;
}

/**
 * Per partition, which mirrored records need an offset sync. Holds one entry per partition the task
 * mirrors (the task drops a partition it no longer has with forget()).
 */
export class OffsetSyncTracker {
  private readonly partitions = new Map<string, PartitionSyncState>();

  constructor(private readonly policy: SyncPolicy = mirrorLimits) {}

  /** A record was mirrored (acknowledged by the target): the sync to write now, if one is due. */
  mirrored(mirrored: OffsetSync, nowMs: number): OffsetSync | undefined {
    const key = `${mirrored.topic}:${mirrored.partition}`;
    const state = this.partitions.get(key);
    if (state === undefined || this.needsSync(state, mirrored, nowMs)) {
      this.partitions.set(key, {
        latest: mirrored,
        synced: mirrored,
        syncedAtMs: nowMs,
        recordsSinceSync: 0,
      });
      return mirrored;
    }
    state.latest = mirrored;
    state.recordsSinceSync++;
    return undefined;
  }

  /** Syncs for partitions whose last mirrored record has waited syncIntervalMs for one (an idle source). */
  due(nowMs: number): OffsetSync[] {
    const syncs: OffsetSync[] = [];
    for (const state of this.partitions.values()) {
      if (state.latest !== state.synced && nowMs - state.syncedAtMs >= this.policy.syncIntervalMs) {
        state.synced = state.latest;
        state.syncedAtMs = nowMs;
        state.recordsSinceSync = 0;
        syncs.push(state.latest);
      }
    }
    return syncs;
  }

  forget(topic: string, partition: number): void {
    this.partitions.delete(`${topic}:${partition}`);
  }

  private needsSync(state: PartitionSyncState, mirrored: OffsetSync, nowMs: number): boolean {
    const { synced } = state;
    return (
      // Mirrored again from an earlier offset (a restart after records that were sent but not committed).
      mirrored.upstream <= synced.upstream ||
      mirrored.downstream - mirrored.upstream !== synced.downstream - synced.upstream ||
      state.recordsSinceSync + 1 >= this.policy.syncRecordsMax ||
      nowMs - state.syncedAtMs >= this.policy.syncIntervalMs
    );
  }
}
