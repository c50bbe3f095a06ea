// The rules of one transactional id (Kafka's TransactionMetadata and the
// checks of its TransactionCoordinator), pure and synchronous: each function
// takes the id's state and a request and returns the next state, or throws
// the BrookError the producer should see. The coordinator (coordinator.ts)
// persists what these return before it answers, and writes the markers.
//
// Allowed transitions (anything else is refused):
//
//   from \ to       Empty  Ongoing  PrepareCommit  PrepareAbort  CompleteCommit  CompleteAbort
//   (none)          init
//   Empty           init   add
//   Ongoing                add      endTxn(commit) endTxn(abort), timeout, init (fences)
//   PrepareCommit                                                complete
//   PrepareAbort                                                                 complete
//   CompleteCommit  init   add
//   CompleteAbort   init   add
//
// "init" is InitProducerId (bumps the epoch), "add" AddPartitionsToTxn or
// AddOffsetsToTxn. Abort by timeout or by a new instance bumps the epoch
// too, so the producer that left the transaction open is fenced.

import {
  assert,
  BrookError,
  type TransactionStateName,
  transactionStates,
  unreachable,
} from "@brook/protocol";

export type TransactionState = TransactionStateName;
export { transactionStates };

export interface TxnPartition {
  readonly topic: string;
  readonly partition: number;
}

/** Everything the coordinator keeps of one transactional id; what its record in __transaction_state holds. */
export interface Transaction {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly state: TransactionState;
  readonly timeoutMs: number;
  /** The partitions written in the open (or completing) transaction, sorted; empty once complete. */
  readonly partitions: readonly TxnPartition[];
  /** Groups whose offsets the transaction commits (AddOffsetsToTxn); their offsets partitions are in `partitions`. */
  readonly groups: readonly string[];
  /** When the open transaction began (its first partition was added); -1 when none is open. */
  readonly startTimeMs: number;
  readonly lastUpdateMs: number;
}

export interface TransactionLimits {
  /** Partitions one transaction may write (markers go to each: the bound on EndTxn's work). */
  readonly partitionsPerTransactionMax: number;
}

/**
 * Producer epochs are int16. A producer is given at most 32766, so a fencing abort (which bumps once
 * more) still has 32767 to use; InitProducerId at 32766 takes a new producer id at epoch 0 (Kafka does
 * the same).
 */
export const producerEpochMax = 32_767;

/** What InitProducerId does to the id: take a fresh producer id, bump the epoch, or abort the open transaction first. */
export type InitDecision =
  | { readonly kind: "new-producer-id" }
  | { readonly kind: "bump"; readonly next: Transaction }
  | { readonly kind: "abort-first"; readonly next: Transaction };

/**
 * InitProducerId with this transactional id. An id never seen, or whose epoch would pass what a
 * producer may hold, needs a new producer id (`withNewProducerId`). An open transaction is aborted
 * first with a bumped epoch (the caller completes it and asks again); one completing refuses with
 * CONCURRENT_TRANSACTIONS.
 */
export function initProducerId(
  current: Transaction | undefined,
  timeoutMs: number,
  nowMs: number,
): InitDecision {
  if (current === undefined) return { kind: "new-producer-id" };
  switch (current.state) {
    case "Empty":
    case "CompleteCommit":
    case "CompleteAbort":
      if (current.producerEpoch >= producerEpochMax - 1) return { kind: "new-producer-id" };
      return {
        kind: "bump",
        next: {
          ...current,
          producerEpoch: current.producerEpoch + 1,
          state: "Empty",
          timeoutMs,
          partitions: [],
          groups: [],
          startTimeMs: -1,
          lastUpdateMs: nowMs,
        },
      };
    case "Ongoing":
      return { kind: "abort-first", next: fence(current, nowMs) };
    case "PrepareCommit":
    case "PrepareAbort":
      throw concurrent(current);
    default:
      return unreachable(current.state, "transaction state");
  }
}

/** The id's state after InitProducerId took a new producer id (first use, or epoch exhausted). */
export function withNewProducerId(
  transactionalId: string,
  producerId: number,
  timeoutMs: number,
  nowMs: number,
): Transaction {
  assert(Number.isSafeInteger(producerId) && producerId >= 0, "producer ids are non-negative integers");
  return {
    transactionalId,
    producerId,
    producerEpoch: 0,
    state: "Empty",
    timeoutMs,
    partitions: [],
    groups: [],
    startTimeMs: -1,
    lastUpdateMs: nowMs,
  };
}

/** The producer as a request names it. */
export interface ProducerIdentity {
  readonly producerId: number;
  readonly producerEpoch: number;
}

/**
 * AddPartitionsToTxn: the transaction is Ongoing with these partitions added (a completed or empty
 * one starts a new transaction). Returns `current` itself when nothing changes, so the caller knows
 * there is nothing to write.
 */
export function addPartitions(
  current: Transaction | undefined,
  producer: ProducerIdentity,
  partitions: readonly TxnPartition[],
  nowMs: number,
  limits: TransactionLimits,
): Transaction {
  const txn = checkProducer(current, producer);
  switch (txn.state) {
    case "Empty":
    case "CompleteCommit":
    case "CompleteAbort":
      return ongoing(txn, merge([], partitions), [], nowMs, nowMs, limits);
    case "Ongoing": {
      const merged = merge(txn.partitions, partitions);
      if (merged.length === txn.partitions.length) return txn;
      return ongoing(txn, merged, txn.groups, txn.startTimeMs, nowMs, limits);
    }
    case "PrepareCommit":
    case "PrepareAbort":
      throw concurrent(txn);
    default:
      return unreachable(txn.state, "transaction state");
  }
}

/**
 * AddOffsetsToTxn: the group's __consumer_offsets partition joins the transaction (its commit or
 * abort marker settles the group's pending offsets), and the group is named for DescribeTransactions.
 */
export function addOffsets(
  current: Transaction | undefined,
  producer: ProducerIdentity,
  groupId: string,
  offsetsPartition: TxnPartition,
  nowMs: number,
  limits: TransactionLimits,
): Transaction {
  const withPartition = addPartitions(current, producer, [offsetsPartition], nowMs, limits);
  if (withPartition.groups.includes(groupId)) return withPartition;
  return { ...withPartition, groups: [...withPartition.groups, groupId].sort(), lastUpdateMs: nowMs };
}

/** What EndTxn does: start completing (the Prepare state to persist), or nothing more to do. */
export type EndDecision =
  | { readonly kind: "prepare"; readonly next: Transaction }
  /** The same EndTxn is already being completed (a retry): wait for it. */
  | { readonly kind: "completing" }
  /** The same EndTxn already completed (a retry whose answer was lost): succeed, as Kafka does. */
  | { readonly kind: "completed" };

export function endTxn(
  current: Transaction | undefined,
  producer: ProducerIdentity,
  commit: boolean,
  nowMs: number,
): EndDecision {
  const txn = checkProducer(current, producer);
  switch (txn.state) {
    case "Ongoing":
      return {
        kind: "prepare",
        next: { ...txn, state: commit ? "PrepareCommit" : "PrepareAbort", lastUpdateMs: nowMs },
      };
    case "PrepareCommit":
    case "PrepareAbort":
      if ((txn.state === "PrepareCommit") === commit) return { kind: "completing" };
      throw invalidState(txn, commit ? "commit" : "abort");
    case "CompleteCommit":
    case "CompleteAbort":
      if ((txn.state === "CompleteCommit") === commit) return { kind: "completed" };
      throw invalidState(txn, commit ? "commit" : "abort");
    case "Empty":
      throw invalidState(txn, commit ? "commit" : "abort");
    default:
      return unreachable(txn.state, "transaction state");
  }
}

/** Whether the transaction has been open longer than its timeout: the coordinator aborts it. */
export function isTimedOut(txn: Transaction, nowMs: number): boolean {
  return txn.state === "Ongoing" && nowMs - txn.startTimeMs > txn.timeoutMs;
}

/**
 * The abort of an open transaction by the coordinator (timeout) or by a new instance
 * (InitProducerId): PrepareAbort at a bumped epoch, so the markers and the partitions fence the
 * producer that left it open.
 */
export function fence(txn: Transaction, nowMs: number): Transaction {
  assert(txn.state === "Ongoing", `only an open transaction is aborted by fencing, not one in ${txn.state}`);
  assert(txn.producerEpoch < producerEpochMax, "a producer never holds the last epoch, kept for fencing");
  return { ...txn, producerEpoch: txn.producerEpoch + 1, state: "PrepareAbort", lastUpdateMs: nowMs };
}

/** Every marker is written: the transaction is complete, and nothing is open. */
export function complete(txn: Transaction, nowMs: number): Transaction {
  switch (txn.state) {
    case "PrepareCommit":
    case "PrepareAbort":
      return {
        ...txn,
        state: txn.state === "PrepareCommit" ? "CompleteCommit" : "CompleteAbort",
        partitions: [],
        groups: [],
        startTimeMs: -1,
        lastUpdateMs: nowMs,
      };
    case "Empty":
    case "Ongoing":
    case "CompleteCommit":
    case "CompleteAbort":
      return assertNever(`only a prepared transaction completes, not one in ${txn.state}`);
    default:
      return unreachable(txn.state, "transaction state");
  }
}

/** Whether the transaction's decision is durable but its markers may be missing. */
export function isPrepared(txn: Transaction): boolean {
  return txn.state === "PrepareCommit" || txn.state === "PrepareAbort";
}

/**
 * The request's producer id and epoch against the id's: an unknown id or another producer id is
 * INVALID_PRODUCER_ID_MAPPING, an older epoch PRODUCER_FENCED (a newer instance started).
 */
function checkProducer(current: Transaction | undefined, producer: ProducerIdentity): Transaction {
  if (current === undefined || current.producerId !== producer.producerId) {
    throw new BrookError(
      "INVALID_PRODUCER_ID_MAPPING",
      current === undefined
        ? `transactional id has no producer yet; call InitProducerId first`
        : `transactional id '${current.transactionalId}' belongs to producer ${current.producerId}, not ${producer.producerId}`,
    );
  }
  if (producer.producerEpoch < current.producerEpoch) {
    throw new BrookError(
      "PRODUCER_FENCED",
      `transactional id '${current.transactionalId}' is at epoch ${current.producerEpoch}; the request has ${producer.producerEpoch}`,
    );
  }
  if (producer.producerEpoch > current.producerEpoch) {
    throw new BrookError(
      "INVALID_PRODUCER_EPOCH",
      `transactional id '${current.transactionalId}' is at epoch ${current.producerEpoch}; the request has the newer ${producer.producerEpoch}, which it was never given`,
    );
  }
  return current;
}

function ongoing(
  txn: Transaction,
  partitions: readonly TxnPartition[],
  groups: readonly string[],
  startTimeMs: number,
  nowMs: number,
  limits: TransactionLimits,
): Transaction {
  if (partitions.length > limits.partitionsPerTransactionMax) {
    throw new BrookError(
      "INVALID_REQUEST",
      `a transaction may write at most ${limits.partitionsPerTransactionMax} partitions; '${txn.transactionalId}' would write ${partitions.length}`,
    );
  }
  return { ...txn, state: "Ongoing", partitions, groups, startTimeMs, lastUpdateMs: nowMs };
}

/** `existing` and `added` without repeats, sorted by topic then partition (records and answers read the same). */
function merge(existing: readonly TxnPartition[], added: readonly TxnPartition[]): TxnPartition[] {
  const byKey = new Map<string, TxnPartition>();
  for (const tp of [...existing, ...added]) {
    byKey.set(`${tp.topic}\u0000${tp.partition}`, { topic: tp.topic, partition: tp.partition });
  }
  return [...byKey.values()].sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
  );
}

function concurrent(txn: Transaction): BrookError {
  return new BrookError(
    "CONCURRENT_TRANSACTIONS",
    `transactional id '${txn.transactionalId}' is completing its transaction (${txn.state}); retry shortly`,
  );
}

function invalidState(txn: Transaction, asked: string): BrookError {
  return new BrookError(
    "INVALID_TXN_STATE",
    `transactional id '${txn.transactionalId}' is ${txn.state}; it cannot ${asked}`,
  );
}

function assertNever(why: string): never {
  assert(false, why);
  throw new Error(why); // not reached: assert throws
}
