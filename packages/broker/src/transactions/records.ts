// The records of __transaction_state: what a transaction coordinator writes
// and what a new one replays. Key and value are JSON, readable with
// `brook consume __transaction_state`; each record is the whole state of one
// transactional id, so the last record of an id is its state.
//   {"type":"transaction","transactionalId"} → a Transaction (transaction.ts)
// No tombstones yet: transactional ids are not expired (the shard's id
// count is bounded instead, see coordinator.ts).

import { BrookError, type Record as LogRecord, partitionForKey, type RecordInput } from "@brook/protocol";
import { type Transaction, transactionStates } from "./transaction.js";

export const TRANSACTION_STATE_TOPIC = "__transaction_state";

/** The partition of __transaction_state that holds `transactionalId` (murmur2, as groups and keys). */
export function partitionForTransactionalId(transactionalId: string, partitionCount: number): number {
  return partitionForKey(transactionalId, partitionCount);
}

export function validateTransactionalId(transactionalId: string): void {
  if (transactionalId.length === 0 || transactionalId.length > 255) {
    throw new BrookError(
      "INVALID_REQUEST",
      `a transactional id is 1-255 characters, got ${transactionalId.length}`,
    );
  }
}

export function transactionRecord(txn: Transaction): RecordInput {
  return {
    key: JSON.stringify({ type: "transaction", transactionalId: txn.transactionalId }),
    value: JSON.stringify(txn),
  };
}

/** Parses one record of the topic; anything it does not recognise is a corrupt partition, not a crash. */
export function parseTransactionRecord(record: LogRecord): Transaction {
  let key: unknown;
  let value: unknown;
  try {
    key = JSON.parse(record.key?.toString("utf8") ?? "null");
    value = record.value === null ? null : JSON.parse(record.value.toString("utf8"));
  } catch (error) {
    throw corrupt(record, `it is not JSON: ${String(error)}`);
  }
  const typedKey = key as { type?: unknown; transactionalId?: unknown } | null;
  if (typedKey?.type !== "transaction" || typeof typedKey.transactionalId !== "string") {
    throw corrupt(record, `its key is unknown: ${record.key?.toString("utf8")}`);
  }
  const txn = value as Transaction | null;
  if (
    txn === null ||
    txn.transactionalId !== typedKey.transactionalId ||
    !transactionStates.includes(txn.state) ||
    !Number.isSafeInteger(txn.producerId) ||
    !Number.isInteger(txn.producerEpoch) ||
    !Array.isArray(txn.partitions) ||
    !Array.isArray(txn.groups)
  ) {
    throw corrupt(record, `its value is not a transaction: ${record.value?.toString("utf8")}`);
  }
  return txn;
}

function corrupt(record: LogRecord, why: string): BrookError {
  return new BrookError(
    "CORRUPT_BATCH",
    `record at offset ${record.offset} of ${TRANSACTION_STATE_TOPIC} cannot be replayed: ${why}`,
  );
}
