// The partition's side of transactions in the producer state
// (docs/transactions.md, "Markers and the partition"): a transactional batch
// opens its producer's transaction, a marker closes it (an abort joins the
// aborted list), the last stable offset is the oldest open or not yet stable
// transaction's first offset, epochs and coordinator epochs fence, and a
// table rebuilt from the log's headers equals the live one, whatever the
// schedule (checked on random schedules).
import { BrookError, type ControlRecord, ManualClock } from "@brook/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AppendOrigin,
  type ProducerBatchHeader,
  type ProducerStateOptions,
  ProducerStateTable,
  type StoredBatchHeader,
} from "../src/producer-state.js";

interface DataFields {
  producerId: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
}

function data(count: number, fields: DataFields): ProducerBatchHeader {
  return {
    producerId: fields.producerId,
    producerEpoch: fields.producerEpoch ?? 0,
    baseSequence: fields.baseSequence ?? 0,
    lastOffsetDelta: count - 1,
    isTransactional: fields.transactional ?? true,
    isControl: false,
  };
}

function marker(
  producerId: number,
  type: "commit" | "abort",
  fields: { producerEpoch?: number; coordinatorEpoch?: number } = {},
): ProducerBatchHeader & { control: ControlRecord } {
  return {
    producerId,
    producerEpoch: fields.producerEpoch ?? 0,
    baseSequence: -1,
    lastOffsetDelta: 0,
    isTransactional: true,
    isControl: true,
    control: { type, coordinatorEpoch: fields.coordinatorEpoch ?? 0 },
  };
}

/** A partition's log and table, appending what the table allows, as Partition does. */
class Log {
  readonly batches: StoredBatchHeader[] = [];
  readonly table: ProducerStateTable;

  constructor(options?: ProducerStateOptions) {
    this.table = new ProducerStateTable(options);
  }

  get end(): number {
    return (this.batches.at(-1)?.lastOffset ?? -1) + 1;
  }

  append(header: ProducerBatchHeader, origin: AppendOrigin = "client"): number {
    if (header.isControl) {
      this.table.checkMarker({ ...header, control: header.control! });
    } else {
      expect(this.table.check([header], origin).kind).toBe("append");
    }
    const baseOffset = this.end;
    this.batches.push({ ...header, baseOffset, lastOffset: baseOffset + header.lastOffsetDelta });
    this.table.record([header], baseOffset);
    return baseOffset;
  }

  /** Everything appended is committed: the high watermark is the log end. */
  commitAll(): void {
    this.table.updateHighWatermark(this.end);
  }

  rebuilt(highWatermark: number): ProducerStateTable {
    const table = new ProducerStateTable();
    table.updateHighWatermark(highWatermark);
    table.loadFromBatches(this.batches);
    return table;
  }
}

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof BrookError) return error.code;
    throw error;
  }
  return undefined;
}

function snapshot(table: ProducerStateTable) {
  return {
    lastStableOffset: table.lastStableOffset,
    open: [...table.openTransactions],
    aborted: table.abortedTransactionList,
    all: table.abortedTransactions(0, Number.MAX_SAFE_INTEGER),
    epochs: [7, 8, 9].map((id) => [table.entry(id)?.producerEpoch, table.entry(id)?.coordinatorEpoch]),
  };
}

describe("open and closed transactions", () => {
  it("a transactional batch opens its producer's transaction at its offset; later ones keep it", () => {
    const log = new Log();
    log.append(data(2, { producerId: 9, transactional: false })); // 0-1, not transactional
    log.append(data(3, { producerId: 7 })); // 2-4
    log.append(data(1, { producerId: 7, baseSequence: 3 })); // 5
    log.commitAll();
    expect([...log.table.openTransactions]).toEqual([[7, 2]]);
    expect(log.table.lastStableOffset).toBe(2);
  });

  it("the last stable offset is the high watermark when nothing is open, and never above it", () => {
    const log = new Log();
    log.append(data(2, { producerId: 9, transactional: false }));
    expect(log.table.lastStableOffset).toBe(0);
    log.commitAll();
    expect(log.table.lastStableOffset).toBe(2);
    log.append(data(2, { producerId: 7 })); // 2-3 opens at 2
    log.table.updateHighWatermark(1);
    expect(log.table.lastStableOffset).toBe(1);
  });

  it("a commit marker closes the transaction; the LSO moves once the high watermark covers the marker", () => {
    const log = new Log();
    log.append(data(2, { producerId: 7 })); // 0-1
    log.append(data(1, { producerId: 8 })); // 2
    const commit = log.append(marker(7, "commit")); // 3
    log.table.updateHighWatermark(3);
    // The marker is not committed: a new leader might not have it, so the transaction still holds the LSO.
    expect(log.table.lastStableOffset).toBe(0);
    log.table.updateHighWatermark(commit + 1);
    expect(log.table.lastStableOffset).toBe(2); // producer 8's transaction is still open
    expect(log.table.abortedTransactions(0, 100)).toEqual([]);
  });

  it("an abort marker adds {producer, first offset, marker offset} to the aborted list", () => {
    const log = new Log();
    log.append(data(2, { producerId: 7 })); // 0-1
    log.append(data(1, { producerId: 9, transactional: false })); // 2
    log.append(data(1, { producerId: 7, baseSequence: 2 })); // 3
    log.append(marker(7, "abort")); // 4
    log.commitAll();
    expect(log.table.abortedTransactionList).toEqual([{ producerId: 7, firstOffset: 0, lastOffset: 4 }]);
    expect(log.table.lastStableOffset).toBe(5);
    expect(log.table.openTransactions.size).toBe(0);
  });

  it("a table told to keep no aborted transactions (__consumer_offsets) adds none; the LSO is the same", () => {
    const log = new Log({ abortedTransactionsKept: false });
    log.append(data(2, { producerId: 7 })); // 0-1
    log.append(marker(7, "abort")); // 2
    log.commitAll();
    expect(log.table.abortedTransactionList).toEqual([]);
    expect(log.table.abortedTransactions(0, 100)).toEqual([]);
    expect(log.table.lastStableOffset).toBe(3);
  });

  it("a marker with nothing open (a retry, or a transaction that never wrote here) adds nothing", () => {
    const log = new Log();
    log.append(marker(7, "abort"));
    log.append(marker(7, "abort"));
    log.commitAll();
    expect(log.table.abortedTransactionList).toEqual([]);
    expect(log.table.lastStableOffset).toBe(2);
  });

  it("the next transactional batch after a marker opens a new transaction", () => {
    const log = new Log();
    log.append(data(1, { producerId: 7 })); // 0
    log.append(marker(7, "commit")); // 1
    log.append(data(1, { producerId: 7, baseSequence: 1 })); // 2
    log.commitAll();
    expect([...log.table.openTransactions]).toEqual([[7, 2]]);
  });

  it("abortedTransactions(from, to) returns those with a marker at or after `from` and a first offset before `to`, by first offset", () => {
    const log = new Log();
    log.append(data(1, { producerId: 7 })); // 0
    log.append(data(1, { producerId: 8 })); // 1
    log.append(marker(8, "abort")); // 2
    log.append(data(1, { producerId: 9 })); // 3
    log.append(marker(7, "abort")); // 4
    log.append(marker(9, "abort")); // 5
    log.commitAll();
    const ids = (from: number, to: number) =>
      log.table.abortedTransactions(from, to).map((t) => t.producerId);
    expect(ids(0, 100)).toEqual([7, 8, 9]); // sorted by first offset, not by marker
    expect(ids(3, 100)).toEqual([7, 9]); // 8's marker (2) is before the read
    expect(ids(0, 1)).toEqual([7]); // 8 and 9 start at or after the read's end
    expect(ids(6, 100)).toEqual([]);
  });

  it("abortedTransactions(from, to) does work for the aborts near its range, not for the whole list", () => {
    // 50,000 aborted transactions, one after another; a lookup at the head must not walk them all.
    const aborted = 50_000;
    const batches: StoredBatchHeader[] = [];
    for (let i = 0; i < aborted; i++) {
      batches.push({ ...data(1, { producerId: 7 }), baseOffset: 2 * i, lastOffset: 2 * i });
      batches.push({ ...marker(7, "abort"), baseOffset: 2 * i + 1, lastOffset: 2 * i + 1 });
    }
    const table = new ProducerStateTable();
    table.loadFromBatches(batches);
    const lookups = 5_000;
    const startedMs = performance.now();
    for (let i = 0; i < lookups; i++) table.abortedTransactions(2 * i, 2 * i + 1);
    // Walking the whole list is 2.5 * 10^8 steps (over a second); the bounded lookup takes milliseconds.
    expect(performance.now() - startedMs).toBeLessThan(250);
    expect(table.abortedTransactions(10, 13)).toEqual([
      { producerId: 7, firstOffset: 10, lastOffset: 11 },
      { producerId: 7, firstOffset: 12, lastOffset: 13 },
    ]);
  });
});

describe("fencing", () => {
  it("refuses a transactional batch or a marker with an older epoch (INVALID_PRODUCER_EPOCH)", () => {
    const log = new Log();
    log.append(data(1, { producerId: 7, producerEpoch: 3 }));
    expect(codeOf(() => log.table.check([data(1, { producerId: 7, producerEpoch: 2 })]))).toBe(
      "INVALID_PRODUCER_EPOCH",
    );
    expect(codeOf(() => log.table.checkMarker(marker(7, "abort", { producerEpoch: 2 })))).toBe(
      "INVALID_PRODUCER_EPOCH",
    );
  });

  it("a marker with a newer epoch bumps the producer's epoch, fencing its older batches still in flight", () => {
    const log = new Log();
    log.append(data(1, { producerId: 7, producerEpoch: 3 })); // 0
    log.append(marker(7, "abort", { producerEpoch: 4 })); // 1: the coordinator aborts with a bumped epoch
    expect(log.table.entry(7)?.producerEpoch).toBe(4);
    expect(
      codeOf(() => log.table.check([data(1, { producerId: 7, producerEpoch: 3, baseSequence: 1 })])),
    ).toBe("INVALID_PRODUCER_EPOCH");
    // The producer's next instance (epoch 4 or later) starts afresh.
    expect(log.table.check([data(1, { producerId: 7, producerEpoch: 4, baseSequence: 0 })]).kind).toBe(
      "append",
    );
  });

  it("refuses a marker from a coordinator epoch older than the last one seen for the producer", () => {
    const log = new Log();
    log.append(data(1, { producerId: 7 }));
    log.append(marker(7, "commit", { coordinatorEpoch: 5 }));
    expect(codeOf(() => log.table.checkMarker(marker(7, "abort", { coordinatorEpoch: 4 })))).toBe(
      "TRANSACTION_COORDINATOR_FENCED",
    );
    expect(codeOf(() => log.table.checkMarker(marker(7, "abort", { coordinatorEpoch: 5 })))).toBeUndefined();
    expect(codeOf(() => log.table.checkMarker(marker(8, "abort", { coordinatorEpoch: 0 })))).toBeUndefined();
  });

  it("refuses control batches in a produce, and transactional batches without a producer id (INVALID_REQUEST)", () => {
    const table = new ProducerStateTable();
    expect(codeOf(() => table.check([marker(7, "commit")]))).toBe("INVALID_REQUEST");
    expect(codeOf(() => table.check([marker(7, "commit")], "coordinator"))).toBe("INVALID_REQUEST");
    expect(codeOf(() => table.check([data(1, { producerId: -1 })]))).toBe("INVALID_REQUEST");
  });
});

describe("the coordinator's appends (AppendOrigin.Coordinator)", () => {
  it("skip the sequence check, still check the epoch and open the transaction", () => {
    const log = new Log();
    log.append(data(1, { producerId: 7, producerEpoch: 2, baseSequence: 0 })); // 0
    log.append(data(1, { producerId: 7, producerEpoch: 2, baseSequence: -1 }), "coordinator"); // 1
    log.append(data(1, { producerId: 7, producerEpoch: 2, baseSequence: -1 }), "coordinator"); // 2
    expect(log.table.openTransactions.get(7)).toBe(0);
    expect(
      codeOf(() =>
        log.table.check([data(1, { producerId: 7, producerEpoch: 1, baseSequence: -1 })], "coordinator"),
      ),
    ).toBe("INVALID_PRODUCER_EPOCH");
    // A client's batch without a sequence is still refused.
    expect(
      codeOf(() => log.table.check([data(1, { producerId: 7, producerEpoch: 2, baseSequence: -1 })])),
    ).toBe("INVALID_REQUEST");
    // The client's sequence continues from its own last batch.
    expect(log.table.check([data(1, { producerId: 7, producerEpoch: 2, baseSequence: 1 })]).kind).toBe(
      "append",
    );
  });

  it("opens a transaction for a producer that wrote nothing else here", () => {
    const log = new Log();
    log.append(data(1, { producerId: 8, transactional: false }));
    log.append(data(1, { producerId: 7, baseSequence: -1 }), "coordinator"); // 1
    log.append(marker(7, "commit")); // 2
    log.commitAll();
    expect(log.table.lastStableOffset).toBe(3);
    expect(log.table.entry(7)?.producerEpoch).toBe(0);
  });
});

describe("rebuild, retention and expiry", () => {
  it("a table rebuilt from the log has the same open transactions, aborted list, epochs and LSO", () => {
    const log = new Log();
    log.append(data(2, { producerId: 7 })); // 0-1
    log.append(data(1, { producerId: 8 })); // 2
    log.append(marker(7, "abort", { coordinatorEpoch: 2 })); // 3
    log.append(data(1, { producerId: 9, producerEpoch: 1 })); // 4
    log.append(marker(9, "commit", { producerEpoch: 2, coordinatorEpoch: 1 })); // 5
    log.append(data(1, { producerId: 7, baseSequence: 2 })); // 6
    for (const highWatermark of [0, 4, 5, 6, 7]) {
      log.table.updateHighWatermark(highWatermark);
      expect(snapshot(log.rebuilt(highWatermark))).toEqual(snapshot(log.table));
    }
  });

  it("a table rebuilt after the marker was cut off reopens the transaction", () => {
    const log = new Log();
    log.append(data(2, { producerId: 7 })); // 0-1
    log.append(marker(7, "abort")); // 2
    log.batches.splice(1); // a follower truncates to 2
    const table = log.rebuilt(2);
    expect([...table.openTransactions]).toEqual([[7, 0]]);
    expect(table.abortedTransactionList).toEqual([]);
    expect(table.lastStableOffset).toBe(0);
  });

  it("retention drops aborted transactions whose marker is gone, and keeps a producer whose transaction is open", () => {
    const log = new Log();
    log.append(data(1, { producerId: 7 })); // 0
    log.append(marker(7, "abort")); // 1
    log.append(data(1, { producerId: 8 })); // 2: open
    log.append(data(1, { producerId: 9, transactional: false })); // 3
    log.append(data(1, { producerId: 10 })); // 4
    log.append(marker(10, "abort")); // 5
    log.commitAll();
    log.table.forgetBefore(3);
    expect(log.table.abortedTransactionList.map((t) => t.producerId)).toEqual([10]);
    expect(log.table.entry(7)).toBeUndefined();
    expect(log.table.entry(8)?.openTxnFirstOffset).toBe(2);
    expect(log.table.lastStableOffset).toBe(2);
  });

  it("expiry keeps a producer whose transaction is open (its marker needs the entry)", () => {
    const clock = new ManualClock();
    const log = new Log({ abortedTransactionsKept: true, clock });
    log.append(data(1, { producerId: 7 }));
    log.append(data(1, { producerId: 8, transactional: false }));
    clock.advance(10_000);
    log.table.expire(1_000);
    expect(log.table.entry(7)).toBeDefined();
    expect(log.table.entry(8)).toBeUndefined();
  });
});

// ---- random schedules ----------------------------------------------------------
//
// Three transactional producers and one plain one write batches, commit and
// abort (sometimes with a bumped epoch), while the high watermark moves; a
// rebuild from the log at any point must equal the live table, and the LSO
// must be the oldest open or unstable transaction's first offset.

const action = fc.oneof(
  fc.record({
    kind: fc.constant("write" as const),
    producer: fc.nat({ max: 3 }),
    records: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    kind: fc.constant("end" as const),
    producer: fc.nat({ max: 2 }),
    commit: fc.boolean(),
    bump: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("commit-hw" as const),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
);

describe("random schedules", () => {
  it("the rebuilt table equals the live one, and the LSO is the oldest unstable transaction's start", () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 80 }), (actions) => {
        const log = new Log();
        const epochs = [0, 0, 0, 0];
        const sequences = [0, 0, 0, 0];
        const openAt: (number | undefined)[] = [undefined, undefined, undefined];
        /** Transactions finished: [first offset, marker offset]. */
        const finished: [number, number][] = [];
        let highWatermark = 0;
        for (const a of actions) {
          if (a.kind === "write") {
            const producerId = 7 + a.producer;
            const transactional = a.producer < 3;
            const offset = log.append(
              data(a.records, {
                producerId,
                producerEpoch: epochs[a.producer],
                baseSequence: sequences[a.producer],
                transactional,
              }),
            );
            sequences[a.producer] += a.records;
            if (transactional) openAt[a.producer] ??= offset;
          } else if (a.kind === "end") {
            const epoch = epochs[a.producer] + (a.bump ? 1 : 0);
            const offset = log.append(
              marker(7 + a.producer, a.commit ? "commit" : "abort", { producerEpoch: epoch }),
            );
            if (a.bump) {
              epochs[a.producer] = epoch;
              sequences[a.producer] = 0;
            }
            const first = openAt[a.producer];
            if (first !== undefined) finished.push([first, offset]);
            openAt[a.producer] = undefined;
          } else {
            highWatermark = Math.max(highWatermark, Math.floor(log.end * a.fraction));
            log.table.updateHighWatermark(highWatermark);
          }
          const expected = Math.min(
            highWatermark,
            ...openAt.filter((first) => first !== undefined),
            ...finished.filter(([, markerOffset]) => markerOffset >= highWatermark).map(([first]) => first),
          );
          expect(log.table.lastStableOffset).toBe(expected);
          expect(snapshot(log.rebuilt(highWatermark))).toEqual(snapshot(log.table));
          for (let from = 0; from <= log.end; from += 3) {
            for (const to of [from + 1, from + 4, log.end]) {
              const overlapping = log.table.abortedTransactionList
                .filter((t) => t.lastOffset >= from && t.firstOffset < to)
                .sort((a, b) => a.firstOffset - b.firstOffset);
              expect(log.table.abortedTransactions(from, to)).toEqual(overlapping);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
