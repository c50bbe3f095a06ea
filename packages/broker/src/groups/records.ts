// The records of __consumer_offsets: what a coordinator writes and what a new
// coordinator replays. Keys and values are JSON, small and readable with
// `brook consume __consumer_offsets`; a null value deletes what its key names.
//   {"type":"offset","group","topic","partition"} → {"offset","metadata","commitTimestampMs","leaderEpoch"?}
//   {"type":"group","group"}                      → a GroupSnapshot (group.ts, Brook's protocol), or a
//                                                   ClassicGroupSnapshot (classic-group.ts, "type":"classic")
// Offsets are the same records whichever protocol committed them.

import { BrookError, type Record as LogRecord, type RecordInput } from "@brook/protocol";
import { TRANSACTION_STATE_TOPIC } from "../transactions/records.js";
import type { CommittedOffset } from "./base-group.js";
import type { ClassicGroupSnapshot } from "./classic-group.js";
import type { StoredGroupSnapshot } from "./group.js";

/**
 * What a group record holds: a Brook group has no "type" (records written before classic groups existed),
 * and may lack what was added later (server assignors, member metadata).
 */
export type StoredGroup = (StoredGroupSnapshot & { type?: "consumer" }) | ClassicGroupSnapshot;

export const OFFSETS_TOPIC = "__consumer_offsets";

/** Topics only the broker writes: producers, deletes and regex subscriptions leave them alone. */
export function isInternalTopic(topic: string): boolean {
  return topic === OFFSETS_TOPIC || topic === TRANSACTION_STATE_TOPIC;
}

export type GroupRecord =
  | { kind: "offset"; group: string; topic: string; partition: number; value: CommittedOffset | null }
  | { kind: "group"; group: string; value: StoredGroup | null };

export function offsetRecord(
  group: string,
  topic: string,
  partition: number,
  value: CommittedOffset | null,
): RecordInput {
  return {
    key: JSON.stringify({ type: "offset", group, topic, partition }),
    value: value === null ? null : JSON.stringify(value),
  };
}

export function groupRecord(group: string, value: StoredGroup | null): RecordInput {
  return {
    key: JSON.stringify({ type: "group", group }),
    value: value === null ? null : JSON.stringify(value),
  };
}

/** Parses one record of the topic; anything it does not recognise is a corrupt partition, not a crash. */
export function parseGroupRecord(record: LogRecord): GroupRecord {
  try {
    const key = JSON.parse(record.key?.toString("utf8") ?? "null") as Record<string, unknown>;
    const value = record.value === null ? null : JSON.parse(record.value.toString("utf8"));
    if (key?.type === "offset" && typeof key.group === "string" && typeof key.topic === "string") {
      return {
        kind: "offset",
        group: key.group,
        topic: key.topic,
        partition: Number(key.partition),
        value: value as CommittedOffset | null,
      };
    }
    if (key?.type === "group" && typeof key.group === "string") {
      return { kind: "group", group: key.group, value: value as StoredGroup | null };
    }
  } catch (error) {
    throw new BrookError(
      "CORRUPT_BATCH",
      `record at offset ${record.offset} of ${OFFSETS_TOPIC} is not JSON: ${String(error)}`,
    );
  }
  throw new BrookError(
    "CORRUPT_BATCH",
    `record at offset ${record.offset} of ${OFFSETS_TOPIC} has an unknown key: ${record.key?.toString("utf8")}`,
  );
}
