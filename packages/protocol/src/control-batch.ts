// Transaction markers as Kafka writes them: a control batch (RecordBatch v2
// with the transactional and control attribute bits, base sequence -1) holding
// one control record. Its key is version 0 (int16) + type (int16: 0 abort,
// 1 commit); its value, Kafka's EndTransactionMarker, is version 0 (int16) +
// the coordinator epoch (int32). Byte for byte what Kafka's brokers write, so
// any Kafka client reading a Brook log recognises and skips the markers.

import type { BatchHeader } from "./batch-header.js";
import { BrookError } from "./errors.js";
import { decodeRecordBatch, encodeRecordBatch, type Record } from "./record-batch.js";

/** Kafka's ControlRecordType ids for transaction markers. */
export const CONTROL_TYPE_ABORT = 0;
export const CONTROL_TYPE_COMMIT = 1;
/** The only key and value version Kafka defines for markers. */
const CONTROL_RECORD_VERSION = 0;
const CONTROL_KEY_BYTES = 4;
const MARKER_VALUE_BYTES = 6;
const INT16_MAX = 0x7fff;
const INT32_MAX = 0x7fff_ffff;

/** What a coordinator asks a partition leader to append. */
export interface ControlBatchInput {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** true: a COMMIT marker; false: ABORT. */
  readonly committed: boolean;
  /** The transaction coordinator's epoch (its __transaction_state leader epoch). */
  readonly coordinatorEpoch: number;
  /** The marker's timestamp; the system clock's when absent. */
  readonly nowMs?: number;
}

/**
 * A decoded control record. `type` is "unknown" for control records other
 * than transaction markers (Kafka also writes leader-change and snapshot
 * records in KRaft logs); those carry no coordinator epoch.
 */
export type ControlRecord =
  | { readonly type: "abort" | "commit"; readonly coordinatorEpoch: number }
  | { readonly type: "unknown"; readonly typeId: number };

/** A marker as one control batch (baseOffset 0: the leader assigns it on append). */
export function encodeControlBatch(input: ControlBatchInput): Buffer {
  const { producerId, producerEpoch, committed, coordinatorEpoch } = input;
  // The wire's int32/int64 fields carry what the batch stores as int64, int16 and int32.
  const valid =
    Number.isSafeInteger(producerId) &&
    producerId >= 0 &&
    Number.isInteger(producerEpoch) &&
    producerEpoch >= 0 &&
    producerEpoch <= INT16_MAX &&
    Number.isInteger(coordinatorEpoch) &&
    coordinatorEpoch >= 0 &&
    coordinatorEpoch <= INT32_MAX;
  if (!valid) {
    throw new BrookError(
      "INVALID_REQUEST",
      `a transaction marker needs a producer id, producer epoch (at most ${INT16_MAX}) and coordinator epoch of 0 or more (got ${producerId}, ${producerEpoch}, ${coordinatorEpoch})`,
    );
  }
  const key = Buffer.alloc(CONTROL_KEY_BYTES);
  key.writeInt16BE(CONTROL_RECORD_VERSION, 0);
  key.writeInt16BE(committed ? CONTROL_TYPE_COMMIT : CONTROL_TYPE_ABORT, 2);
  const value = Buffer.alloc(MARKER_VALUE_BYTES);
  value.writeInt16BE(CONTROL_RECORD_VERSION, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return encodeRecordBatch([{ key, value }], {
    producerId,
    producerEpoch,
    baseSequence: -1,
    transactional: true,
    control: true,
    nowMs: input.nowMs,
  });
}

/**
 * Reads a control record. As Kafka does, a key version above 0 is read as
 * version 0 (later versions may only append fields); a key or marker value
 * shorter than version 0's is corrupt.
 */
export function decodeControlRecord(record: Pick<Record, "key" | "value">): ControlRecord {
  const { key, value } = record;
  if (key === null || key.length < CONTROL_KEY_BYTES) {
    throw new BrookError(
      "CORRUPT_BATCH",
      `a control record needs a ${CONTROL_KEY_BYTES}-byte key, got ${key?.length ?? "none"}`,
    );
  }
  const typeId = key.readInt16BE(2);
  if (typeId !== CONTROL_TYPE_ABORT && typeId !== CONTROL_TYPE_COMMIT) return { type: "unknown", typeId };
  if (value === null || value.length < MARKER_VALUE_BYTES) {
    throw new BrookError(
      "CORRUPT_BATCH",
      `a transaction marker needs a ${MARKER_VALUE_BYTES}-byte value, got ${value?.length ?? "none"}`,
    );
  }
  return {
    type: typeId === CONTROL_TYPE_COMMIT ? "commit" : "abort",
    coordinatorEpoch: value.readInt32BE(2),
  };
}

/**
 * The control record of the control batch at `header.position` in `buf`
 * (CRC checked: markers are a few dozen bytes, and one decode per
 * transaction and partition). Kafka puts exactly one record in a control
 * batch; anything else is corrupt.
 */
export function readControlRecord(
  buf: Buffer,
  header: Pick<BatchHeader, "position" | "isControl">,
): ControlRecord {
  if (!header.isControl) {
    throw new BrookError(
      "INVALID_REQUEST",
      `the batch at position ${header.position} is not a control batch`,
    );
  }
  const { records } = decodeRecordBatch(buf, header.position);
  if (records.length !== 1) {
    throw new BrookError(
      "CORRUPT_BATCH",
      `the control batch at position ${header.position} holds ${records.length} records; a marker holds one`,
    );
  }
  return decodeControlRecord(records[0]);
}
