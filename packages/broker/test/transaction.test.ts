// Rule: a transactional id's state moves only along the table in transactions/transaction.ts; every
// other request is refused with the error a producer acts on (fenced, wrong producer, wrong state,
// completing), and an abort by timeout or by a new instance bumps the epoch.
import { BrookError } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import {
  addOffsets,
  addPartitions,
  complete,
  endTxn,
  fence,
  initProducerId,
  isTimedOut,
  producerEpochMax,
  type Transaction,
  type TransactionState,
  transactionStates,
  withNewProducerId,
} from "../src/transactions/transaction.js";

const limits = { partitionsPerTransactionMax: 3 };
const producer = { producerId: 7, producerEpoch: 0 };
const orders0 = { topic: "orders", partition: 0 };
const orders1 = { topic: "orders", partition: 1 };
const offsets4 = { topic: "__consumer_offsets", partition: 4 };

const empty = (): Transaction => withNewProducerId("app", 7, 60_000, 1_000);
const ongoing = (): Transaction => addPartitions(empty(), producer, [orders0], 2_000, limits);
const inState = (state: TransactionState): Transaction => {
  switch (state) {
    case "Empty":
      return empty();
    case "Ongoing":
      return ongoing();
    case "PrepareCommit":
    case "PrepareAbort": {
      const decision = endTxn(ongoing(), producer, state === "PrepareCommit", 3_000);
      if (decision.kind !== "prepare") throw new Error("expected a prepare");
      return decision.next;
    }
    case "CompleteCommit":
      return complete(inState("PrepareCommit"), 4_000);
    case "CompleteAbort":
      return complete(inState("PrepareAbort"), 4_000);
  }
};

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof BrookError) return error.code;
    return `not a BrookError: ${String(error)}`;
  }
  return "no error";
}

describe("InitProducerId", () => {
  it("takes a new producer id for an id never seen", () => {
    expect(initProducerId(undefined, 60_000, 0)).toEqual({ kind: "new-producer-id" });
    expect(withNewProducerId("app", 7, 30_000, 5)).toMatchObject({
      producerId: 7,
      producerEpoch: 0,
      state: "Empty",
      timeoutMs: 30_000,
      startTimeMs: -1,
    });
  });

  it.each(["Empty", "CompleteCommit", "CompleteAbort"] as const)("bumps the epoch from %s", (state) => {
    const decision = initProducerId(inState(state), 10_000, 9_000);
    expect(decision.kind).toBe("bump");
    if (decision.kind !== "bump") return;
    expect(decision.next).toMatchObject({
      producerId: 7,
      producerEpoch: 1,
      state: "Empty",
      timeoutMs: 10_000,
    });
    expect(decision.next.partitions).toEqual([]);
  });

  it("aborts what the previous instance left open, at a bumped epoch (fencing it)", () => {
    const decision = initProducerId(ongoing(), 60_000, 9_000);
    expect(decision.kind).toBe("abort-first");
    if (decision.kind !== "abort-first") return;
    expect(decision.next).toMatchObject({ state: "PrepareAbort", producerEpoch: 1, partitions: [orders0] });
  });

  it.each(["PrepareCommit", "PrepareAbort"] as const)("waits while %s completes", (state) => {
    expect(codeOf(() => initProducerId(inState(state), 60_000, 0))).toBe("CONCURRENT_TRANSACTIONS");
  });

  it("takes a new producer id when the epoch would reach the one kept for fencing", () => {
    const worn = { ...empty(), producerEpoch: producerEpochMax - 1 };
    expect(initProducerId(worn, 60_000, 0)).toEqual({ kind: "new-producer-id" });
    const almost = { ...empty(), producerEpoch: producerEpochMax - 2 };
    expect(initProducerId(almost, 60_000, 0)).toMatchObject({
      kind: "bump",
      next: { producerEpoch: 32_766 },
    });
  });
});

describe("AddPartitionsToTxn and AddOffsetsToTxn", () => {
  it.each(["Empty", "CompleteCommit", "CompleteAbort"] as const)("start a transaction from %s", (state) => {
    const next = addPartitions(inState(state), producer, [orders1, orders0, orders1], 5_000, limits);
    expect(next).toMatchObject({ state: "Ongoing", startTimeMs: 5_000, partitions: [orders0, orders1] });
  });

  it("adds to an open transaction, keeping its start; nothing new changes nothing", () => {
    const open = ongoing();
    const next = addPartitions(open, producer, [orders1], 6_000, limits);
    expect(next).toMatchObject({ startTimeMs: 2_000, partitions: [orders0, orders1] });
    expect(addPartitions(next, producer, [orders0], 7_000, limits)).toBe(next);
  });

  it("adds the group's offsets partition and names the group", () => {
    const next = addOffsets(ongoing(), producer, "billing", offsets4, 6_000, limits);
    expect(next.partitions).toEqual([offsets4, orders0]);
    expect(next.groups).toEqual(["billing"]);
    expect(addOffsets(next, producer, "billing", offsets4, 7_000, limits)).toBe(next);
  });

  it.each(["PrepareCommit", "PrepareAbort"] as const)("refuse while %s completes", (state) => {
    expect(codeOf(() => addPartitions(inState(state), producer, [orders1], 0, limits))).toBe(
      "CONCURRENT_TRANSACTIONS",
    );
  });

  it("refuse a transaction past partitionsPerTransactionMax", () => {
    const many = [0, 1, 2, 3].map((partition) => ({ topic: "orders", partition }));
    expect(codeOf(() => addPartitions(empty(), producer, many, 0, limits))).toBe("INVALID_REQUEST");
  });
});

describe("producer checks, in every state", () => {
  it.each(transactionStates)(
    "%s: unknown id or another producer id is INVALID_PRODUCER_ID_MAPPING",
    (state) => {
      const txn = inState(state);
      const stranger = { producerId: 8, producerEpoch: txn.producerEpoch };
      expect(codeOf(() => addPartitions(txn, stranger, [orders0], 0, limits))).toBe(
        "INVALID_PRODUCER_ID_MAPPING",
      );
      expect(codeOf(() => endTxn(txn, stranger, true, 0))).toBe("INVALID_PRODUCER_ID_MAPPING");
      expect(codeOf(() => endTxn(undefined, producer, true, 0))).toBe("INVALID_PRODUCER_ID_MAPPING");
    },
  );

  it.each(transactionStates)(
    "%s: an older epoch is PRODUCER_FENCED, a newer one INVALID_PRODUCER_EPOCH",
    (state) => {
      const txn = { ...inState(state), producerEpoch: 3 };
      const older = { producerId: 7, producerEpoch: 2 };
      const newer = { producerId: 7, producerEpoch: 4 };
      expect(codeOf(() => addPartitions(txn, older, [orders0], 0, limits))).toBe("PRODUCER_FENCED");
      expect(codeOf(() => endTxn(txn, older, false, 0))).toBe("PRODUCER_FENCED");
      expect(codeOf(() => endTxn(txn, newer, false, 0))).toBe("INVALID_PRODUCER_EPOCH");
    },
  );
});

describe("EndTxn", () => {
  it.each([true, false])("prepares an open transaction (commit: %s) at the same epoch", (commit) => {
    const decision = endTxn(ongoing(), producer, commit, 3_000);
    expect(decision).toMatchObject({
      kind: "prepare",
      next: { state: commit ? "PrepareCommit" : "PrepareAbort", producerEpoch: 0, partitions: [orders0] },
    });
  });

  it("a retry of the same EndTxn waits for completion, or succeeds once complete (as Kafka)", () => {
    expect(endTxn(inState("PrepareCommit"), producer, true, 0)).toEqual({ kind: "completing" });
    expect(endTxn(inState("PrepareAbort"), producer, false, 0)).toEqual({ kind: "completing" });
    expect(endTxn(inState("CompleteCommit"), producer, true, 0)).toEqual({ kind: "completed" });
    expect(endTxn(inState("CompleteAbort"), producer, false, 0)).toEqual({ kind: "completed" });
  });

  it("the other outcome, or nothing open, is INVALID_TXN_STATE", () => {
    expect(codeOf(() => endTxn(inState("PrepareCommit"), producer, false, 0))).toBe("INVALID_TXN_STATE");
    expect(codeOf(() => endTxn(inState("PrepareAbort"), producer, true, 0))).toBe("INVALID_TXN_STATE");
    expect(codeOf(() => endTxn(inState("CompleteCommit"), producer, false, 0))).toBe("INVALID_TXN_STATE");
    expect(codeOf(() => endTxn(inState("CompleteAbort"), producer, true, 0))).toBe("INVALID_TXN_STATE");
    expect(codeOf(() => endTxn(inState("Empty"), producer, true, 0))).toBe("INVALID_TXN_STATE");
    expect(codeOf(() => endTxn(inState("Empty"), producer, false, 0))).toBe("INVALID_TXN_STATE");
  });
});

describe("timeout, fencing and completion", () => {
  it("only an open transaction past its timeout times out", () => {
    const open = ongoing(); // started at 2_000, timeout 60_000
    expect(isTimedOut(open, 62_000)).toBe(false);
    expect(isTimedOut(open, 62_001)).toBe(true);
    for (const state of transactionStates.filter((s) => s !== "Ongoing")) {
      expect(isTimedOut(inState(state), 1e12)).toBe(false);
    }
  });

  it("fencing aborts at a bumped epoch, and the old epoch is then fenced", () => {
    const fenced = fence(ongoing(), 70_000);
    expect(fenced).toMatchObject({ state: "PrepareAbort", producerEpoch: 1, partitions: [orders0] });
    const done = complete(fenced, 71_000);
    expect(codeOf(() => endTxn(done, producer, false, 0))).toBe("PRODUCER_FENCED");
    expect(codeOf(() => addPartitions(done, producer, [orders0], 0, limits))).toBe("PRODUCER_FENCED");
  });

  it("fencing anything but an open transaction is a programming error", () => {
    for (const state of transactionStates.filter((s) => s !== "Ongoing")) {
      expect(codeOf(() => fence(inState(state), 0))).toMatch(/not a BrookError/);
    }
  });

  it("completion closes the transaction and keeps the producer", () => {
    expect(complete(inState("PrepareCommit"), 9_000)).toMatchObject({
      state: "CompleteCommit",
      partitions: [],
      groups: [],
      startTimeMs: -1,
      producerEpoch: 0,
    });
    expect(complete(inState("PrepareAbort"), 9_000).state).toBe("CompleteAbort");
    for (const state of ["Empty", "Ongoing", "CompleteCommit", "CompleteAbort"] as const) {
      expect(codeOf(() => complete(inState(state), 0))).toMatch(/not a BrookError/);
    }
  });
});
