// The transactional producer's states and the decisions about them, with no I/O: which transitions are
// allowed, what a call made in each state is refused with, and which errors end the producer for good.
// The TransactionManager (transaction-manager.ts) does the calls and moves through these states.
//
//   from \ to        Initializing Ready InTransaction Committing Aborting AbortableError Fatal
//   Uninitialized         x                                                                x
//   Initializing                    x                                                      x
//   Ready                 x                   x                                            x
//   InTransaction                                         x          x          x          x
//   Committing                      x                                           x          x
//   Aborting                        x                                                      x
//   AbortableError                                                   x                     x
//   Fatal                (none: the producer can only be closed)
//
// Initializing also goes back to Uninitialized when InitProducerId could not be done (the next
// transaction() tries again); Ready goes to Initializing when the epoch must be bumped (see
// TransactionManager.begin).

import { assert, BrookError, type ErrorCode, unreachable } from "@brook/protocol";

export type TransactionState =
  | "Uninitialized"
  | "Initializing"
  | "Ready"
  | "InTransaction"
  | "Committing"
  | "Aborting"
  | "AbortableError"
  | "Fatal";

const allowedSources: Record<TransactionState, readonly TransactionState[]> = {
  Uninitialized: ["Initializing"],
  Initializing: ["Uninitialized", "Ready"],
  Ready: ["Initializing", "Committing", "Aborting"],
  InTransaction: ["Ready"],
  Committing: ["InTransaction"],
  Aborting: ["InTransaction", "AbortableError"],
  AbortableError: ["InTransaction", "Committing"],
  Fatal: [
    "Uninitialized",
    "Initializing",
    "Ready",
    "InTransaction",
    "Committing",
    "Aborting",
    "AbortableError",
  ],
};

/** The next state; asserts the move is in the table (callers check user-facing refusals first). */
export function transition(from: TransactionState, to: TransactionState): TransactionState {
  assert(allowedSources[to].includes(from), `a transactional producer never moves from ${from} to ${to}`);
  return to;
}

/** What the application asks of a transactional producer. */
export type TransactionAction = "begin" | "send" | "sendOffsets" | "commit" | "abort";

/**
 * Why `action` cannot be done in `state`, or undefined when it can. `failure` is the error that put the
 * producer in AbortableError or Fatal.
 */
export function refusal(
  state: TransactionState,
  action: TransactionAction,
  failure: BrookError | undefined,
): BrookError | undefined {
  switch (state) {
    case "Uninitialized":
    case "Ready":
      return action === "begin"
        ? undefined
        : invalidState(`${action}() needs an open transaction: call producer.transaction() first`);
    case "Initializing":
      return invalidState(
        `${action}() while the producer is still getting its producer id; await transaction()`,
      );
    case "InTransaction":
      return action === "begin"
        ? invalidState("a transaction is already open on this producer; commit or abort it first")
        : undefined;
    case "Committing":
      return invalidState(`${action}() while the transaction is being committed; await commit()`);
    case "Aborting":
      return invalidState(`${action}() while the transaction is being aborted; await abort()`);
    case "AbortableError":
      return action === "abort"
        ? undefined
        : new BrookError(
            "INVALID_TXN_STATE",
            `${action}() refused: a step of this transaction failed (${failure?.message ?? "unknown"}); call abort(), then start a new transaction`,
            { cause: failure },
          );
    case "Fatal":
      return new BrookError(
        failure?.code ?? "PRODUCER_FENCED",
        `this transactional producer can only be closed: ${failure?.detail ?? "it was fenced"}`,
        { cause: failure },
      );
    default:
      return unreachable(state, "transactional producer state");
  }
}

/** Whether a transaction is open: begun and neither committed nor aborted yet. */
export function isActive(state: TransactionState): boolean {
  switch (state) {
    case "InTransaction":
    case "Committing":
    case "Aborting":
    case "AbortableError":
      return true;
    case "Uninitialized":
    case "Initializing":
    case "Ready":
    case "Fatal":
      return false;
  }
}

/**
 * Errors after which the producer can do nothing but close: another instance took the transactional id
 * (its epoch is newer), or the coordinator no longer maps this producer id to it. Anything else fails
 * only the transaction, which the application aborts.
 */
const fatalCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "PRODUCER_FENCED",
  "INVALID_PRODUCER_EPOCH",
  "INVALID_PRODUCER_ID_MAPPING",
  "TRANSACTION_COORDINATOR_FENCED",
  "INVALID_TRANSACTION_TIMEOUT",
]);

export function isFatal(error: BrookError): boolean {
  return fatalCodes.has(error.code);
}

function invalidState(detail: string): BrookError {
  return new BrookError("INVALID_TXN_STATE", detail);
}
