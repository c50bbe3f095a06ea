// One-line setup for the SDK tests: a fake cluster, a Brook pointed at it with quick retries and no log
// noise, and a reader of what the fake stored.

import { decodeRecordBatches } from "@brook/protocol";
import { Brook, type BrookConfig, silentLogger } from "../src/index.js";
import { FakeCluster } from "./fake-cluster.js";

export async function startFake(brokers = 1): Promise<FakeCluster> {
  return FakeCluster.start(brokers);
}

export function brookFor(cluster: FakeCluster, config: Partial<BrookConfig> = {}): Brook {
  return new Brook({
    brokers: cluster.bootstrap,
    logger: silentLogger,
    retry: { initialRetryTimeMs: 5, maxRetryTimeMs: 20, retries: 5 },
    ...config,
  });
}

/** The records the fake stored for a partition, decoded: [offset, key, value]. */
export function storedRecords(cluster: FakeCluster, topic: string, partition: number) {
  const state = cluster.partition(topic, partition)!;
  return state.batches.flatMap(({ bytes }) =>
    decodeRecordBatches(bytes).flatMap(({ records }) =>
      records.map((record) => ({
        offset: record.offset,
        key: record.key?.toString() ?? null,
        value: record.value?.toString() ?? null,
      })),
    ),
  );
}

/** Waits until `condition` holds, checking every few ms, for at most `timeoutMs`. */
export async function eventually(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Whether `promise` is still pending after the current I/O turn. */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  const result = await Promise.race([
    promise.then(
      () => "settled",
      () => "settled",
    ),
    new Promise((resolve) => setImmediate(() => resolve(marker))),
  ]);
  return result === marker;
}
