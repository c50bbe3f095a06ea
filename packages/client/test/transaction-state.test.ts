// The transactional producer's state table (src/producer/transaction-state.ts), as pure decisions: what
// each state refuses, which moves exist, and which errors end the producer for good.
import { BrookError } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import type { Cluster } from "../src/cluster/cluster.js";
import type { Idempotence } from "../src/producer/idempotence.js";
import { TransactionManager } from "../src/producer/transaction-manager.js";
import {
  isActive,
  isFatal,
  refusal,
  type TransactionState,
  transition,
} from "../src/producer/transaction-state.js";

describe("transaction states", () => {
  it("allow a transaction to begin only when none is open, and the rest only inside one", () => {
    expect(refusal("Ready", "begin", undefined)).toBeUndefined();
    expect(refusal("Ready", "commit", undefined)?.message).toMatch(/producer.transaction\(\) first/);
    expect(refusal("InTransaction", "begin", undefined)?.message).toMatch(/already open/);
    expect(refusal("InTransaction", "sendOffsets", undefined)).toBeUndefined();
    expect(refusal("Committing", "send", undefined)?.message).toMatch(/being committed/);
  });

  it("after a failed step allow only abort, naming the failure", () => {
    const failure = new BrookError("RECORD_TOO_LARGE", "too big");
    expect(refusal("AbortableError", "abort", failure)).toBeUndefined();
    expect(refusal("AbortableError", "commit", failure)?.message).toMatch(/too big.*call abort\(\)/);
  });

  it("once fenced refuse everything with the fencing error", () => {
    const fenced = new BrookError("PRODUCER_FENCED", "newer epoch");
    for (const action of ["begin", "send", "sendOffsets", "commit", "abort"] as const) {
      expect(refusal("Fatal", action, fenced)).toMatchObject({ code: "PRODUCER_FENCED" });
    }
    expect(isFatal(fenced)).toBe(true);
    expect(isFatal(new BrookError("INVALID_PRODUCER_EPOCH"))).toBe(true);
    expect(isFatal(new BrookError("CONCURRENT_TRANSACTIONS"))).toBe(false);
  });

  it("move only along the table", () => {
    expect(transition("Ready", "InTransaction")).toBe("InTransaction");
    expect(() => transition("Ready", "Committing")).toThrow(/never moves from Ready to Committing/);
    expect(() => transition("Fatal", "Ready")).toThrow(/never moves/);
    expect(isActive("AbortableError")).toBe(true);
    expect(isActive("Ready")).toBe(false);
  });

  it("fail closed on a state no case handles, instead of allowing the call", () => {
    // A state added to TransactionState without a case is a compile error; one that arrives anyway
    // (a cast, a stale build) must not read as "allowed" (undefined).
    const unknown = "Paused" as TransactionState;
    expect(() => refusal(unknown, "send", undefined)).toThrow(
      /unhandled transactional producer state "Paused"/,
    );
    const manager = new TransactionManager({} as Cluster, {} as Idempotence, {
      transactionalId: "t",
      transactionTimeoutMs: 1_000,
    });
    Object.assign(manager, { state: unknown });
    expect(() => manager.sendingRefusal()).toThrow(/unhandled transactional producer state/);
    expect(() => manager.failed(new BrookError("RECORD_TOO_LARGE"))).toThrow(/unhandled/);
  });
});
