// What the group and transaction coordinators share about the partitions of
// their internal topic they lead (shards): which partitions to load and
// unload as leadership moves; when leadership arrives, wait until the high
// watermark covers the log (everything the previous leader acknowledged is
// in it), then hand every batch to the coordinator in log order; afterwards,
// append only while the shard is still the current one, and answer once
// what it appended is replicated.

import { asBrookError, BrookError, type DecodedBatch, decodeRecordBatches } from "@brook/protocol";
import type { AppendResult, Partition } from "./partition.js";
import type { AppendOrigin } from "./producer-state.js";
import type { ReplicaManager } from "./replica-manager.js";

/** What a coordinator keeps of one partition of its internal topic. */
export interface CoordinatorShard {
  readonly index: number;
  readonly state: "loading" | "active" | "unloaded";
  readonly partition: Partition;
  /** The partition's leader epoch when this shard was loaded from it. */
  readonly leaderEpoch: number;
  /** The log end after this shard's last append: answers wait until the high watermark reaches it. */
  writtenEnd: number;
  /** `<topic>-<partition>`, for messages. */
  readonly name: string;
}

/**
 * Appends `batch` (acks=all) to the shard's partition, only if the shard is active and its partition
 * is led here in the epoch the shard was loaded in, checked in the same synchronous step as the
 * append. A job queued before the shard was unloaded (one waiting for a producer id, say) must not
 * reach the log once this broker leads the partition again under a newer epoch: its write would
 * land after, and override, what the newer shard wrote. Throws NOT_COORDINATOR otherwise.
 */
export function appendToShard(
  shard: CoordinatorShard,
  batch: Buffer,
  origin: AppendOrigin = "client",
): AppendResult {
  const { partition } = shard;
  if (shard.state !== "active" || !partition.isLeader || partition.leaderEpoch !== shard.leaderEpoch) {
    throw new BrookError(
      "NOT_COORDINATOR",
      `${shard.name} is no longer coordinated here in leader epoch ${shard.leaderEpoch} (shard ${shard.state}, partition ${partition.isLeader ? "led" : "not led"} here in epoch ${partition.leaderEpoch})`,
    );
  }
  const result = partition.append(batch, -1, origin);
  shard.writtenEnd = Math.max(shard.writtenEnd, result.lastOffset + 1);
  return result;
}

/**
 * Follows leadership of `topic`'s `partitionCount` partitions: unloads each shard whose partition is
 * gone, replaced, no longer led here or led in another epoch, then loads each partition led here
 * that has no shard.
 */
export function followLeadership<S extends CoordinatorShard>(
  topic: string,
  partitionCount: number,
  shards: ReadonlyMap<number, S>,
  replicas: Pick<ReplicaManager, "local">,
  actions: { unload(shard: S): void; load(index: number, partition: Partition): void },
): void {
  for (const [index, shard] of shards) {
    const local = replicas.local(topic, index);
    if (
      index >= partitionCount ||
      local !== shard.partition ||
      !local.isLeader ||
      local.leaderEpoch !== shard.leaderEpoch
    ) {
      actions.unload(shard);
    }
  }
  for (let index = 0; index < partitionCount; index++) {
    const local = replicas.local(topic, index);
    if (local?.isLeader && !shards.has(index)) actions.load(index, local);
  }
}

/**
 * Resolves once everything the shard has appended is replicated and the shard is still active:
 * what an answer may rely on. `what` names the state, for errors ("group state").
 */
export async function shardCommitted(
  shard: CoordinatorShard,
  timeoutMs: number,
  what: string,
): Promise<void> {
  try {
    await shard.partition.waitForHighWatermark(shard.writtenEnd, timeoutMs);
  } catch (error) {
    throw coordinatorError(error, shard, what);
  }
  if (shard.state !== "active") {
    throw new BrookError("NOT_COORDINATOR", `${shard.name} moved to another broker`);
  }
}

/** A write or wait that failed because of the partition, as the error a client of the coordinator acts on. */
export function coordinatorError(error: unknown, shard: CoordinatorShard, what: string): BrookError {
  const typed = asBrookError(error);
  switch (typed.code) {
    case "NOT_LEADER":
    case "FENCED_LEADER_EPOCH":
      return new BrookError("NOT_COORDINATOR", `${shard.name} moved: ${typed.message}`);
    case "NOT_ENOUGH_REPLICAS":
      return new BrookError(
        "COORDINATOR_NOT_AVAILABLE",
        `${shard.name} cannot replicate ${what}: ${typed.message}`,
      );
    default:
      return typed;
  }
}

/** Bytes read per step of a replay; the loop yields between steps so other shards' requests get through. */
const replayReadBytes = 1024 * 1024;
/** Pause between waits for the high watermark when it could not catch up (say, a follower is slow). */
const replayRetryMs = 200;

/**
 * Replays `partition` into `apply`, batch by batch, up to its log end (re-read after every step, so
 * what leaders of other partitions append meanwhile, as transaction markers, is included). Returns
 * false, having applied nothing more, once `loading()` turns false or the replica stops leading.
 */
export async function replayLeaderLog(
  partition: Partition,
  loading: () => boolean,
  writeTimeoutMs: number,
  apply: (batch: DecodedBatch) => void,
): Promise<boolean> {
  const end = partition.log.logEndOffset;
  while (loading()) {
    try {
      await partition.waitForHighWatermark(end, writeTimeoutMs);
      break;
    } catch (error) {
      if (asBrookError(error).code === "NOT_LEADER") return false;
      await new Promise((resolve) => setTimeout(resolve, replayRetryMs));
    }
  }
  let offset = partition.log.logStartOffset;
  while (loading() && offset < partition.log.logEndOffset) {
    const { records } = partition.log.read(offset, replayReadBytes, {
      maxOffset: partition.log.logEndOffset,
      minOneBatch: true,
    });
    const batches = decodeRecordBatches(records);
    if (batches.length === 0) break;
    for (const batch of batches) if (batch.header.lastOffset >= offset) apply(batch);
    offset = batches[batches.length - 1].header.lastOffset + 1;
    // Long partitions: let requests for other shards through.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return loading();
}
