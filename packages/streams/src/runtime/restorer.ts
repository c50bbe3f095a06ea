// Reads changelog partitions into stores: from a starting offset (the log's start, or where a standby
// copy got to) up to the end the partition has when the restore begins (under exactly-once its last
// stable offset, once no earlier owner's transaction is open on it, so records of open or aborted
// transactions never reach a store and no committed record past an open transaction is missed). One
// reader for every partition being restored; progress is logged every few seconds.

import type { Brook, ConsumedMessage, IsolationLevel, Logger } from "@brook/client";
import type { ChangelogRecord } from "../stores/state-store.js";
import { partitionKey } from "./task-id.js";

export interface RestoreTarget {
  topic: string;
  partition: number;
  /** The first offset not in the store yet. */
  fromOffset: number;
  apply(records: ChangelogRecord[]): void;
  /** Told how many offsets the restore has to cover, once the end is known. */
  onEnd?(offsets: number): void;
}

export interface RestoreResult {
  topic: string;
  partition: number;
  /** The offset after the last one read: where a standby copy goes on from. */
  nextOffset: number;
  restored: number;
}

const progressLogIntervalMs = 5_000;
const positionPollMs = 50;
/** Longer than a transaction may stay open (Kafka Streams' 10 s), with room for the abort's markers. */
const stableWaitMaxMs = 30_000;
const stablePollMs = 100;

export async function restore(
  brook: Brook,
  targets: readonly RestoreTarget[],
  isolationLevel: IsolationLevel,
  logger: Logger,
): Promise<RestoreResult[]> {
  if (targets.length === 0) return [];
  const reader = brook.consumer({ isolationLevel, maxWaitMs: 100, autoOffsetReset: "earliest" });
  try {
    await reader.assign(
      targets.map(({ topic, partition, fromOffset }) => ({ topic, partition, offset: fromOffset })),
    );
    const ends =
      isolationLevel === "read_committed"
        ? await stableEnds(brook, reader, logger)
        : new Map((await reader.endOffsets()).map((each) => [partitionKey(each), each.offset]));
    for (const target of targets)
      target.onEnd?.(Math.max(0, (ends.get(partitionKey(target)) ?? 0) - target.fromOffset));
    const byPartition = new Map(targets.map((target) => [partitionKey(target), target]));
    const restored = new Map(targets.map((target) => [partitionKey(target), 0]));
    const done = () =>
      targets.every(
        (target) => (reader.position(target) ?? target.fromOffset) >= (ends.get(partitionKey(target)) ?? 0),
      );
    if (!done()) await readUntil(reader, done, byPartition, restored, logger);
    return targets.map((target) => ({
      topic: target.topic,
      partition: target.partition,
      nextOffset: reader.position(target) ?? target.fromOffset,
      restored: restored.get(partitionKey(target)) ?? 0,
    }));
  } finally {
    await reader.close();
  }
}

/**
 * Under exactly-once, where each changelog partition's committed records end, once no transaction of
 * an earlier owner is open on it. A changelog partition is written by its task's owner only, and this
 * instance writes nothing before the restore is done; so a transaction open now belongs to an owner that
 * crashed (the coordinator aborts it when it times out) or is a zombie (it commits or aborts). Its
 * records hold the last stable offset back, and a later owner's committed records can sit past it:
 * stopping there would miss them. So the restore waits until the last stable offset reaches the high
 * watermark seen now, bounded by stableWaitMaxMs (then it warns and restores to where it stands).
 */
async function stableEnds(
  brook: Brook,
  reader: ReturnType<Brook["consumer"]>,
  logger: Logger,
): Promise<Map<string, number>> {
  const admin = brook.admin();
  try {
    const topics = [...new Set(reader.assignments().map((each) => each.topic))];
    const highs = new Map<string, number>();
    for (const topic of topics) {
      for (const { partition, high } of await admin.fetchTopicOffsets(topic))
        highs.set(partitionKey({ topic, partition }), high);
    }
    const deadline = Date.now() + stableWaitMaxMs;
    for (;;) {
      const stable = new Map((await reader.endOffsets()).map((each) => [partitionKey(each), each.offset]));
      const open = [...stable].filter(([name, end]) => end < (highs.get(name) ?? 0));
      if (open.length === 0) return stable;
      if (Date.now() >= deadline) {
        logger.warn(
          { partitions: open.map(([name]) => name.replace("\u0000", "-")) },
          "restoring past a transaction still open",
        );
        return stable;
      }
      await new Promise((resolve) => setTimeout(resolve, stablePollMs));
    }
  } finally {
    await admin.close();
  }
}

async function readUntil(
  reader: ReturnType<Brook["consumer"]>,
  done: () => boolean,
  byPartition: ReadonlyMap<string, RestoreTarget>,
  restored: Map<string, number>,
  logger: Logger,
): Promise<void> {
  let lastLogMs = Date.now();
  const check = setInterval(() => {
    if (done()) void reader.stop();
    if (Date.now() - lastLogMs >= progressLogIntervalMs) {
      lastLogMs = Date.now();
      logger.info({ restored: Object.fromEntries(restored) }, "restoring state stores");
    }
  }, positionPollMs);
  try {
    await reader.run({
      eachBatch: async ({ batch }) => {
        const target = byPartition.get(partitionKey(batch)) as RestoreTarget;
        target.apply(batch.messages.flatMap(toChangelogRecord));
        restored.set(partitionKey(batch), (restored.get(partitionKey(batch)) ?? 0) + batch.messages.length);
        if (done()) await reader.stop();
      },
    });
  } finally {
    clearInterval(check);
  }
}

/** A changelog message as a store write; a message with no key is none. */
export function toChangelogRecord(message: ConsumedMessage): ChangelogRecord[] {
  if (message.key === null) return []; // not a store write: changelogs are keyed
  // Copies: a message's bytes are views into the whole fetch response, which a store must not pin.
  const value = message.value === null ? null : Buffer.from(message.value);
  return [{ topic: message.topic, key: Buffer.from(message.key), value, timestamp: message.timestamp }];
}
