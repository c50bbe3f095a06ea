// The rules a drill and the chaos suite hold the cluster to, on hand-made histories: each test names
// the rule and the history that breaks it.
import { describe, expect, it } from "vitest";
import { audit, type PartitionRead } from "../src/drill/audit.js";
import { HighWatermarkCheck, LeaderlessTimer, percentile } from "../src/drill/health.js";
import { OffsetLedger } from "../src/drill/ledger.js";
import { parseRecordValue, recordValue } from "../src/drill/records.js";

const read = (partition: number, values: string[], startOffset = 0, endOffset?: number): PartitionRead => ({
  partition,
  startOffset,
  endOffset: endOffset ?? startOffset + values.length,
  complete: true,
  records: values.map((value, i) => ({ offset: startOffset + i, value })),
});

const acked = (entries: [string, number, number][]) =>
  new Map(entries.map(([value, partition, offset]) => [value, { partition, offset }]));

describe("audit", () => {
  const sent = new Map([
    [1, 4],
    [2, 2],
  ]);

  it("a clean history: every acknowledged record once, in order, no gaps", () => {
    const result = audit({
      valuePrefix: "",
      sentPerProducer: sent,
      acked: acked([
        ["p1-0", 0, 0],
        ["p2-0", 0, 1],
        ["p1-1", 0, 2],
      ]),
      reads: [read(0, ["p1-0", "p2-0", "p1-1", "p1-2"])], // p1-2 was sent, not acknowledged: allowed
    });
    expect(result).toMatchObject({
      acked: 3,
      readBack: 4,
      lost: 0,
      duplicates: 0,
      phantoms: 0,
      outOfOrder: 0,
      gaps: 0,
    });
  });

  it("an acknowledged record missing from the log is lost", () => {
    const result = audit({
      valuePrefix: "",
      sentPerProducer: sent,
      acked: acked([
        ["p1-0", 0, 0],
        ["p1-1", 0, 1],
      ]),
      reads: [read(0, ["p1-0"])],
    });
    expect(result.lost).toBe(1);
    expect(result.examples.lost[0]).toContain('"p1-1" acknowledged at partition 0 offset 1');
  });

  it("a second copy is a duplicate, not also out of order", () => {
    const result = audit({
      valuePrefix: "",
      sentPerProducer: sent,
      acked: acked([]),
      reads: [read(0, ["p1-0", "p1-1", "p1-0"])],
    });
    expect(result).toMatchObject({ duplicates: 1, outOfOrder: 0 });
  });

  it("a producer's later record before its earlier one in a partition is out of order", () => {
    const result = audit({
      valuePrefix: "",
      sentPerProducer: sent,
      acked: acked([]),
      reads: [read(0, ["p1-1", "p2-0", "p1-0"])],
    });
    expect(result.outOfOrder).toBe(1);
  });

  it("records of different partitions are not ordered against each other", () => {
    const result = audit({
      valuePrefix: "",
      sentPerProducer: sent,
      acked: acked([]),
      reads: [read(0, ["p1-1"]), read(1, ["p1-0"])],
    });
    expect(result.outOfOrder).toBe(0);
  });

  it("a value nobody sent, or a sequence number beyond what was sent, is a phantom", () => {
    const result = audit({
      valuePrefix: "",
      sentPerProducer: sent,
      acked: acked([]),
      reads: [read(0, ["p1-4", "p3-0", "garbage"])],
    });
    expect(result.phantoms).toBe(3);
  });

  it("with a prefix, other writers' records are skipped but still count for offset gaps", () => {
    const result = audit({
      valuePrefix: "drill-x-",
      sentPerProducer: sent,
      acked: acked([["drill-x-p1-0", 0, 11]]),
      reads: [
        {
          partition: 0,
          startOffset: 10,
          endOffset: 14,
          complete: true,
          records: [
            { offset: 10, value: "someone else" },
            { offset: 11, value: "drill-x-p1-0" },
            { offset: 13, value: "drill-x-p1-1" },
          ],
        },
      ],
    });
    expect(result).toMatchObject({ readBack: 2, lost: 0, phantoms: 0, gaps: 1 });
  });

  it("missing offsets at the end of a complete read are gaps; an incomplete read is reported instead", () => {
    const complete = audit({
      valuePrefix: "",
      sentPerProducer: sent,
      acked: acked([]),
      reads: [read(0, ["p1-0"], 0, 3)],
    });
    expect(complete.gaps).toBe(2);
    const cut = audit({
      valuePrefix: "",
      sentPerProducer: sent,
      acked: acked([]),
      reads: [{ ...read(0, ["p1-0"], 0, 3), complete: false }],
    });
    expect(cut).toMatchObject({ gaps: 0, incompletePartitions: [0] });
  });
});

describe("offset ledger", () => {
  it("an offset that held one record and later another is a conflict, counted once per offset", () => {
    const ledger = new OffsetLedger();
    ledger.note(0, 5, "p1-0", "ack");
    ledger.note(0, 5, "p1-0", "read");
    ledger.note(1, 5, "p2-0", "ack");
    expect(ledger.conflicts).toBe(0);
    ledger.note(0, 5, "p1-9", "read");
    ledger.note(0, 5, "p1-8", "tail");
    expect(ledger.conflicts).toBe(1);
    expect(ledger.conflictExamples[0]).toEqual({
      partition: 0,
      offset: 5,
      first: { value: "p1-0", source: "ack" },
      second: { value: "p1-9", source: "read" },
    });
  });
});

describe("high watermark check", () => {
  it("one observer seeing a lower high watermark is one regression per episode", () => {
    const check = new HighWatermarkCheck();
    check.observe(0, 10, "list-offsets", 1, 0);
    check.observe(0, 12, "list-offsets", 2, 0);
    check.observe(0, 8, "list-offsets", 3, 1);
    check.observe(0, 9, "list-offsets", 4, 1); // still below 12: the same episode
    check.observe(0, 12, "list-offsets", 5, 1);
    check.observe(0, 11, "list-offsets", 6, 1); // a new episode
    expect(check.regressions).toBe(2);
    expect(check.examples[0]).toMatchObject({ highest: 12, seen: 8, highestLeaderEpoch: 0, leaderEpoch: 1 });
  });

  it("observers are not compared with each other: their answers are not ordered", () => {
    const check = new HighWatermarkCheck();
    check.observe(0, 12, "consumer", 1);
    check.observe(0, 10, "list-offsets", 2);
    check.observe(1, 5, "list-offsets", 3);
    expect(check.regressions).toBe(0);
  });
});

describe("leaderless timer", () => {
  it("a period runs from the first poll without a serving leader to the first poll with one", () => {
    const timer = new LeaderlessTimer();
    timer.observe(0, true, 0);
    timer.observe(0, false, 100);
    timer.observe(0, false, 120);
    timer.observe(0, true, 1_600);
    timer.observe(1, false, 2_000);
    expect(timer.allPeriods(2_500)).toEqual([
      { partition: 0, fromMs: 100, toMs: 1_600 },
      { partition: 1, fromMs: 2_000, toMs: 2_500 },
    ]);
    expect(timer.leaderlessMs(0, 0, 3_000)).toBe(1_500);
    expect(timer.leaderlessMs(0, 1_000, 3_000)).toBe(600);
  });

  it("percentiles are nearest-rank", () => {
    expect(percentile([], 99)).toBe(0);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
  });
});

describe("record values", () => {
  it("round-trip, and tell other writers' values from malformed ones", () => {
    expect(parseRecordValue("d-", recordValue("d-", { producer: 3, seq: 42 }))).toEqual({
      producer: 3,
      seq: 42,
    });
    expect(parseRecordValue("d-", "other")).toBeUndefined();
    expect(parseRecordValue("d-", "d-oops")).toBeNull();
  });
});
