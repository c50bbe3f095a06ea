// RaftLog: the core's view of the log (stable storage + unstable tail).

import { describe, expect, it } from "vitest";
import { type Entry, MemoryLogStorage } from "../src/index.js";
import { RaftLog } from "../src/raft-log.js";

function entries(first: number, terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: first + i, type: "normal", data: new Uint8Array(10) }));
}

function logWith(stableTerms: number[], unstableTerms: number[] = []): RaftLog {
  const storage = new MemoryLogStorage({ voters: [1], learners: [] });
  storage.append(entries(1, stableTerms));
  const log = new RaftLog(storage);
  if (unstableTerms.length > 0) log.append(entries(stableTerms.length + 1, unstableTerms));
  return log;
}

describe("RaftLog", () => {
  it("rule: terms come from the unstable tail first, then storage; unknown indexes have no term", () => {
    const log = logWith([1, 1], [2, 3]);
    expect([0, 1, 2, 3, 4].map((i) => log.term(i))).toEqual([0, 1, 1, 2, 3]);
    expect(log.term(5)).toBeUndefined();
    expect(log.lastIndex()).toBe(4);
    expect(log.lastTerm()).toBe(3);
  });

  it("rule: findConflict returns the first entry that differs or is missing", () => {
    const log = logWith([1, 2, 3]);
    expect(log.findConflict(entries(1, [1, 2, 3]))).toBe(0);
    expect(log.findConflict(entries(2, [2, 4]))).toBe(3);
    expect(log.findConflict(entries(3, [3, 3]))).toBe(4);
  });

  it("rule: log matching — maybeAppend accepts entries only after a matching (index, term)", () => {
    const log = logWith([1, 1, 2]);
    expect(log.maybeAppend(3, 1, 3, entries(4, [2]))).toBeUndefined();
    expect(log.maybeAppend(2, 1, 2, entries(3, [3, 3]))).toBe(4);
    expect([3, 4].map((i) => log.term(i))).toEqual([3, 3]);
    // The commit index follows the leader's, but never past what the message proves we hold.
    expect(log.committed).toBe(2);
    expect(log.maybeAppend(2, 1, 100, [])).toBe(2);
    expect(log.committed).toBe(2);
  });

  it("rule: a conflict with a committed entry is a bug, never a truncation", () => {
    const log = logWith([1, 1, 1]);
    log.commitTo(3);
    expect(() => log.maybeAppend(1, 1, 3, entries(2, [2]))).toThrow(/conflicts with committed/);
  });

  it("rule: election restriction — a log is up to date if its last term is higher, or equal and it is as long", () => {
    const log = logWith([1, 2, 2]);
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(10, 1)).toBe(false);
  });

  it("rule: fast back-off — findConflictByTerm skips every entry of a higher term", () => {
    const log = logWith([1, 1, 4, 4, 5, 5, 6, 6]);
    expect(log.findConflictByTerm(8, 5)).toEqual({ index: 6, term: 5 });
    expect(log.findConflictByTerm(8, 3)).toEqual({ index: 2, term: 1 });
    expect(log.findConflictByTerm(20, 9)).toEqual({ index: 8, term: 6 });
  });

  it("rule: slices span stable and unstable entries and stop at maxBytes (at least one entry)", () => {
    const log = logWith([1, 1], [2, 2]);
    expect(log.slice(1, 5, Number.POSITIVE_INFINITY)?.map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(log.slice(2, 5, 2 * 34)?.map((e) => e.index)).toEqual([2, 3]);
    expect(log.slice(1, 5, 1)?.map((e) => e.index)).toEqual([1]);
  });

  it("rule: leaders commit only through an entry of their own term", () => {
    const log = logWith([1, 1, 2]);
    expect(log.maybeCommit(2, 2)).toBe(false);
    expect(log.committed).toBe(0);
    expect(log.maybeCommit(3, 2)).toBe(true);
    expect(log.committed).toBe(3);
  });

  it("rule: stableTo ignores entries replaced since they were handed out", () => {
    const log = logWith([1], [1, 1]);
    log.append(entries(3, [2]));
    log.stableTo(3, 1);
    expect(log.unstableEntries().map((e) => `${e.index}/${e.term}`)).toEqual(["2/1", "3/2"]);
    log.stableTo(3, 2);
    expect(log.unstableEntries()).toEqual([]);
  });

  it("rule: no committed entries are handed out while a snapshot is pending", () => {
    const log = logWith([1, 1]);
    log.commitTo(2);
    expect(log.nextCommittedEntries(1000).map((e) => e.index)).toEqual([1, 2]);
    log.restore({
      metadata: { index: 5, term: 2, membership: { voters: [1], learners: [] } },
      data: new Uint8Array(),
    });
    expect(log.nextCommittedEntries(1000)).toEqual([]);
    expect(log.firstIndex()).toBe(6);
    expect(log.term(5)).toBe(2);
  });
});
