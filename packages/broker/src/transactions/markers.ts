// Which broker gets which transaction markers, and what its answer settles:
// pure functions of the metadata image and WriteTxnMarkers responses. The
// coordinator (coordinator.ts) sends and retries.

import type { MetadataImage } from "@brook/metadata";
import {
  fromWireError,
  type WriteTxnMarkersRequest__Output,
  type WriteTxnMarkersResponse,
} from "@brook/protocol";
import type { Transaction, TxnPartition } from "./transaction.js";

export interface MarkerPlan {
  /** Partitions by the broker that leads them now: one WriteTxnMarkers each. */
  readonly byLeader: ReadonlyMap<number, readonly TxnPartition[]>;
  /** Partitions whose topic was deleted (or shrank, which never happens): nothing to mark. */
  readonly deleted: readonly TxnPartition[];
  /** Partitions with no leader right now: tried again after a backoff. */
  readonly leaderless: readonly TxnPartition[];
}

export function planMarkers(image: MetadataImage, partitions: readonly TxnPartition[]): MarkerPlan {
  const byLeader = new Map<number, TxnPartition[]>();
  const deleted: TxnPartition[] = [];
  const leaderless: TxnPartition[] = [];
  for (const tp of partitions) {
    const state = image.partition(tp.topic, tp.partition);
    if (state === undefined) deleted.push(tp);
    else if (state.leader < 0) leaderless.push(tp);
    else byLeader.set(state.leader, [...(byLeader.get(state.leader) ?? []), tp]);
  }
  return { byLeader, deleted, leaderless };
}

/** The WriteTxnMarkers request for one leader: the transaction's outcome on its partitions. */
export function markerRequest(
  txn: Transaction,
  partitions: readonly TxnPartition[],
  coordinatorEpoch: number,
): WriteTxnMarkersRequest__Output {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions)
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  return {
    markers: [
      {
        producerId: txn.producerId,
        producerEpoch: txn.producerEpoch,
        committed: txn.state === "PrepareCommit",
        coordinatorEpoch,
        topics: [...byTopic].map(([topic, list]) => ({ topic, partitions: list })),
      },
    ],
  };
}

/** What one leader's answer settles: partitions done, to retry, and whether this coordinator was fenced. */
export interface MarkerOutcome {
  readonly written: readonly TxnPartition[];
  readonly retry: readonly TxnPartition[];
  /**
   * A leader has heard from a newer coordinator of this transactional id, or knows the producer at a
   * newer epoch: this coordinator is stale, and whoever is current completes the transaction.
   */
  readonly fenced: boolean;
}

export function markerOutcome(
  sent: readonly TxnPartition[],
  response: WriteTxnMarkersResponse,
): MarkerOutcome {
  const errors = new Map<string, string>();
  const answered = new Set<string>();
  for (const marker of response.markers ?? []) {
    for (const topic of marker.topics ?? []) {
      for (const result of topic.partitions ?? []) {
        const key = keyOf({ topic: topic.topic ?? "", partition: result.partition ?? 0 });
        answered.add(key);
        const error = fromWireError(
          result.error ? { code: result.error.code ?? "", message: result.error.message ?? "" } : null,
        );
        if (error !== undefined) errors.set(key, error.code);
      }
    }
  }
  const written: TxnPartition[] = [];
  const retry: TxnPartition[] = [];
  let fenced = false;
  for (const tp of sent) {
    const key = keyOf(tp);
    const code = errors.get(key);
    if (answered.has(key) && code === undefined) written.push(tp);
    else if (code === "TRANSACTION_COORDINATOR_FENCED" || code === "INVALID_PRODUCER_EPOCH") fenced = true;
    // NOT_LEADER, NOT_ENOUGH_REPLICAS, timeouts, UNKNOWN_TOPIC (the image decides whether it is gone),
    // no answer for the partition: all worth another try.
    else retry.push(tp);
  }
  return { written, retry, fenced };
}

function keyOf(tp: TxnPartition): string {
  return `${tp.topic}\u0000${tp.partition}`;
}
