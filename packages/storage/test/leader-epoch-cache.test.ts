// The leader-epoch cache follows Kafka's LeaderEpochFileCache rules.

import { describe, expect, it } from "vitest";
import { formatEpochs, parseEpochs } from "../src/checkpoints.js";
import {
  assignEpoch,
  assignRecoveredEpoch,
  endOffsetForEpoch,
  truncateEpochsFromEnd,
  truncateEpochsFromStart,
} from "../src/leader-epoch-cache.js";

const entries = [
  { epoch: 1, startOffset: 0 },
  { epoch: 3, startOffset: 100 },
  { epoch: 4, startOffset: 250 },
];

describe("leader-epoch cache", () => {
  it("records only epochs newer than the latest", () => {
    expect(assignEpoch(entries, 4, 300)).toBe(entries);
    expect(assignEpoch(entries, 2, 300)).toBe(entries);
    expect(assignEpoch(entries, 5, 300).at(-1)).toEqual({ epoch: 5, startOffset: 300 });
  });

  it("answers end offsets as OffsetsForLeaderEpoch does", () => {
    expect(endOffsetForEpoch(entries, 4, 400)).toEqual({ leaderEpoch: 4, endOffset: 400 });
    expect(endOffsetForEpoch(entries, 3, 400)).toEqual({ leaderEpoch: 3, endOffset: 250 });
    // An epoch this log never saw ends where the next known one starts, reported as the largest one below it.
    expect(endOffsetForEpoch(entries, 2, 400)).toEqual({ leaderEpoch: 1, endOffset: 100 });
    expect(endOffsetForEpoch(entries, 0, 400)).toEqual({ leaderEpoch: 0, endOffset: 0 });
    expect(endOffsetForEpoch(entries, 5, 400)).toBeUndefined();
    expect(endOffsetForEpoch([], 1, 400)).toBeUndefined();
  });

  it("forgets epochs starting at or after a truncation point", () => {
    expect(truncateEpochsFromEnd(entries, 250)).toEqual(entries.slice(0, 2));
    expect(truncateEpochsFromEnd(entries, 251)).toBe(entries);
  });

  it("moves the first kept epoch's start up to a new log start offset", () => {
    expect(truncateEpochsFromStart(entries, 150)).toEqual([
      { epoch: 3, startOffset: 150 },
      { epoch: 4, startOffset: 250 },
    ]);
    expect(truncateEpochsFromStart(entries, 100)).toEqual(entries.slice(1));
    expect(truncateEpochsFromStart(entries, 0)).toBe(entries);
  });

  it("lets a recovered batch correct what it contradicts, and keeps what it does not", () => {
    // Agrees with the entries: nothing changes (a later leader's epoch with no batch yet stays too).
    expect(assignRecoveredEpoch(entries, 3, 120)).toBe(entries);
    expect(assignRecoveredEpoch(entries, 1, 50)).toBe(entries);
    // Epoch 3 said to start at 100, but a batch of epoch 1 sits at 180: epoch 3 never got there.
    expect(assignRecoveredEpoch(entries, 1, 180)).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 4, startOffset: 250 },
    ]);
    // A truncation's checkpoint lost its batches' epoch: the batch brings it back.
    expect(assignRecoveredEpoch([], 0, 0)).toEqual([{ epoch: 0, startOffset: 0 }]);
    // Epoch 4 began earlier than the checkpoint says: a batch of epoch 4 sits at 200.
    expect(assignRecoveredEpoch(entries, 4, 200)).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 100 },
      { epoch: 4, startOffset: 200 },
    ]);
  });

  it("round-trips Kafka's checkpoint format", () => {
    expect(formatEpochs(entries)).toBe("0\n3\n1 0\n3 100\n4 250\n");
    expect(parseEpochs(formatEpochs(entries))).toEqual(entries);
    expect(() => parseEpochs("0\n2\n1 0\n")).toThrow(/2 entries/);
  });
});
