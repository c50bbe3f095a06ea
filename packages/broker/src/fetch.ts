// Fetch with long polling: consumers read whole batches below each
// partition's high watermark (read_committed: its last stable offset, with
// the aborted transactions in the returned range), followers (replica_id ≥ 0)
// up to the leader's log end, their fetch offset reporting how far they have come. If fewer
// than `min_bytes` are ready, wait until a partition's high watermark or log
// end moves or `max_wait_ms` passes, then read again (`min_bytes` is clamped to
// `max_bytes`, which is clamped to the broker's fetchBytesMax). Bytes are returned
// exactly as stored: no record is decoded here.

import {
  asBrookError,
  BrookError,
  type FetchPartitionResponse,
  type FetchRequest__Output,
  type FetchResponse,
  noError,
  scanBatches,
  toWireError,
} from "@brook/protocol";
import type { Refusals } from "./access.js";
import type { BrokerContext } from "./context.js";
import type { IsolationLevel, Partition } from "./partition.js";
import type { Timers } from "./timers.js";

interface Pass {
  readonly response: FetchResponse;
  readonly bytes: number;
  readonly failed: boolean;
  readonly partitions: Partition[];
}

/** `refused`: topics the caller may not read, each with its refusal (every partition of one answers it). */
export async function fetch(
  ctx: BrokerContext,
  request: FetchRequest__Output,
  refused: Refusals = new Map(),
): Promise<FetchResponse> {
  if (request.maxBytes <= 0) throw new BrookError("INVALID_REQUEST", "max_bytes must be positive");
  const isolation = isolationLevel(request.isolationLevel);
  const maxBytes = Math.min(request.maxBytes, ctx.limits.fetchBytesMax);
  // A min_bytes above max_bytes could never be met: the fetch waits for at most max_bytes.
  const minBytes = Math.min(request.minBytes, maxBytes);
  const waitMs = Math.min(Math.max(request.maxWaitMs, 0), ctx.limits.fetchWaitMsMax);
  const poll = new LongPoll(ctx.replicas.waitTimers, waitMs);
  try {
    for (;;) {
      const pass = readOnce(ctx, request, maxBytes, isolation, refused);
      if (pass.bytes >= minBytes || pass.failed || poll.expired || pass.partitions.length === 0) {
        if (request.replicaId <= 0 && pass.bytes > 0) observeConsumerFetch(ctx, request, pass.response);
        return pass.response;
      }
      await poll.nextChange(pass.partitions);
    }
  } finally {
    poll.end();
  }
}

/** Records and bytes a consumer fetch returns, per topic; records below the fetch offset are not counted. */
function observeConsumerFetch(
  ctx: BrokerContext,
  request: FetchRequest__Output,
  response: FetchResponse,
): void {
  for (const [t, topic] of (response.topics ?? []).entries()) {
    let records = 0;
    let bytes = 0;
    for (const [p, answer] of (topic.partitions ?? []).entries()) {
      const data = answer.records as Buffer | undefined;
      if (!data || data.length === 0) continue;
      const fetchOffset = request.topics[t].partitions[p].fetchOffset;
      bytes += data.length;
      for (const header of scanBatches(data, { validateCrc: false, acceptCompacted: true }).batches) {
        records += header.lastOffset - Math.max(header.baseOffset, fetchOffset) + 1;
      }
    }
    if (bytes > 0) ctx.observer.fetched(topic.topic ?? "", records, bytes);
  }
}

/**
 * The wire's isolation level (Kafka's numbers); anything else is refused.
 * Absent is proto3's default, 0 (an in-process caller may leave it out).
 */
export function isolationLevel(wire: number | undefined): IsolationLevel {
  if (wire === 0 || wire === undefined) return "read_uncommitted";
  if (wire === 1) return "read_committed";
  throw new BrookError(
    "INVALID_REQUEST",
    `isolation_level must be 0 (read_uncommitted) or 1 (read_committed), got ${wire}`,
  );
}

function readOnce(
  ctx: BrokerContext,
  request: FetchRequest__Output,
  maxBytes: number,
  isolation: IsolationLevel,
  refused: Refusals,
): Pass {
  const image = ctx.metadata.image;
  let bytes = 0;
  let failed = false;
  const partitions: Partition[] = [];

  const topics = request.topics.map((fetchTopic) => ({
    topic: fetchTopic.topic,
    partitions: fetchTopic.partitions.map((fetchPartition): FetchPartitionResponse => {
      try {
        if (fetchPartition.partitionMaxBytes <= 0) {
          throw new BrookError("INVALID_REQUEST", "partition_max_bytes must be positive");
        }
        const refusal = refused.get(fetchTopic.topic);
        if (refusal !== undefined) throw refusal;
        const partition = ctx.replicas.get(image, fetchTopic.topic, fetchPartition.partition);
        partitions.push(partition);
        // Only the response's first batch may be larger than the budget
        // (KIP-74: one big batch cannot stall a consumer); after that,
        // batches that do not fit wait for the next fetch, so the response
        // stays within max_bytes. Once it is full, partitions report only
        // their offsets.
        const budget = Math.min(fetchPartition.partitionMaxBytes, maxBytes - bytes);
        const epoch = fetchPartition.currentLeaderEpoch;
        const result =
          request.replicaId > 0
            ? // A follower: even with no room left, its fetch offset reports its progress.
              partition.readForReplica(
                request.replicaId,
                fetchPartition.fetchOffset,
                budget,
                bytes === 0,
                epoch,
              )
            : budget > 0
              ? partition.read(fetchPartition.fetchOffset, budget, bytes === 0, epoch, isolation)
              : partition.offsets(epoch);
        bytes += result.records.length;
        return {
          partition: fetchPartition.partition,
          error: noError,
          highWatermark: result.highWatermark,
          logStartOffset: result.logStartOffset,
          records: result.records,
          lastStableOffset: result.lastStableOffset,
          abortedTransactions: result.abortedTransactions.map(({ producerId, firstOffset }) => ({
            producerId,
            firstOffset,
          })),
        };
      } catch (error) {
        failed = true;
        return {
          partition: fetchPartition.partition,
          error: toWireError(asBrookError(error)),
          highWatermark: -1,
          logStartOffset: -1,
          records: Buffer.alloc(0),
          lastStableOffset: -1,
          abortedTransactions: [],
        };
      }
    }),
  }));
  return { response: { topics }, bytes, failed, partitions };
}

/** A fetch's max_wait_ms: one timer for the whole poll, which also ends the wait for a change in progress. */
class LongPoll {
  expired: boolean;
  private wake: (() => void) | undefined;
  private readonly cancelTimer: () => void;

  constructor(timers: Timers, waitMs: number) {
    this.expired = waitMs <= 0;
    this.cancelTimer = this.expired
      ? () => undefined
      : timers.after(waitMs, () => {
          this.expired = true;
          this.wake?.();
        });
  }

  /** Until one of `partitions` changes (see Partition.onNextChange) or the poll expires. */
  nextChange(partitions: readonly Partition[]): Promise<void> {
    return new Promise((resolve) => {
      const unsubscribes: Array<() => void> = [];
      const done = () => {
        this.wake = undefined;
        for (const unsubscribe of unsubscribes) unsubscribe();
        resolve();
      };
      this.wake = done;
      for (const partition of partitions) unsubscribes.push(partition.onNextChange(done));
    });
  }

  end(): void {
    this.cancelTimer();
  }
}
