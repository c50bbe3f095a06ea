// MemoryLogStorage: the in-memory LogStorage the simulator and the driver's cache use.

import { describe, expect, it } from "vitest";
import { CompactedError, type Entry, MemoryLogStorage } from "../src/index.js";

const membership = { voters: [1, 2, 3], learners: [] };

function entries(first: number, terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: first + i, type: "normal", data: new Uint8Array(10) }));
}

describe("MemoryLogStorage", () => {
  it("rule: a fresh storage is empty at index 0 with the initial membership", () => {
    const storage = new MemoryLogStorage(membership);
    expect(storage.firstIndex()).toBe(1);
    expect(storage.lastIndex()).toBe(0);
    expect(storage.term(0)).toBe(0);
    expect(storage.initialState()).toEqual({ hardState: { term: 0, vote: 0, commit: 0 }, membership });
  });

  it("rule: append overwrites a conflicting suffix and drops what followed it", () => {
    const storage = new MemoryLogStorage(membership);
    storage.append(entries(1, [1, 1, 1, 1]));
    storage.append(entries(3, [2]));
    expect(storage.lastIndex()).toBe(3);
    expect([1, 2, 3].map((i) => storage.term(i))).toEqual([1, 1, 2]);
  });

  it("rule: append refuses a gap", () => {
    const storage = new MemoryLogStorage(membership);
    storage.append(entries(1, [1]));
    expect(() => storage.append(entries(3, [1]))).toThrow(/gap/);
  });

  it("rule: entries() honours maxBytes but always returns at least one entry", () => {
    const storage = new MemoryLogStorage(membership);
    storage.append(entries(1, [1, 1, 1, 1]));
    expect(storage.entries(1, 5, 1)).toHaveLength(1);
    expect(storage.entries(1, 5, 2 * 34)).toHaveLength(2);
    expect(storage.entries(1, 5, Number.POSITIVE_INFINITY)).toHaveLength(4);
  });

  it("rule: compaction drops entries the latest snapshot covers; reading them throws CompactedError", () => {
    const storage = new MemoryLogStorage(membership);
    storage.append(entries(1, [1, 1, 2, 2, 2]));
    expect(() => storage.compact(3)).toThrow(/past the latest snapshot/);
    const snapshot = storage.createSnapshot(4, new Uint8Array([7]), membership);
    expect(snapshot.metadata).toEqual({ index: 4, term: 2, membership });
    storage.compact(3);
    expect(storage.firstIndex()).toBe(4);
    expect(storage.term(3)).toBe(2);
    expect(() => storage.term(2)).toThrow(CompactedError);
    expect(() => storage.entries(3, 5, 100)).toThrow(CompactedError);
    expect(storage.entries(4, 6, 1000).map((entry) => entry.index)).toEqual([4, 5]);
  });

  it("rule: applying a leader's snapshot replaces the whole log and the membership", () => {
    const storage = new MemoryLogStorage(membership);
    storage.append(entries(1, [1, 1]));
    const newMembership = { voters: [1, 2, 3], learners: [4] };
    storage.applySnapshot({
      metadata: { index: 10, term: 3, membership: newMembership },
      data: new Uint8Array(),
    });
    expect(storage.firstIndex()).toBe(11);
    expect(storage.lastIndex()).toBe(10);
    expect(storage.term(10)).toBe(3);
    expect(storage.initialState().membership).toEqual(newMembership);
    expect(() =>
      storage.applySnapshot({ metadata: { index: 9, term: 3, membership }, data: new Uint8Array() }),
    ).toThrow(/not newer/);
  });
});
