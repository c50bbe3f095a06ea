// The leader's rules for idempotent producers (Kafka's ProducerStateManager):
// a retry of an appended batch is answered, not appended; a gap or an old
// epoch is refused; a producer the partition does not know may start anywhere;
// several batches of one append are checked in order; and the table rebuilt
// from the log decides exactly as the live one did (a leader change).
import { type BatchHeader, BrookError, type Clock, incrementSequence, ManualClock } from "@brook/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  lastSequenceOf,
  type ProducerBatchHeader,
  type ProducerCheck,
  ProducerStateTable,
  producerBatchesRetained,
  type StoredBatchHeader,
} from "../src/producer-state.js";

const int32Max = 0x7fff_ffff;

/** A batch header of `count` records: producer id -1 unless given, epoch 0, timestamp 1000 (the client's clock). */
function batch(
  count: number,
  fields: Partial<Pick<BatchHeader, "producerId" | "producerEpoch" | "baseSequence" | "maxTimestamp">> = {},
): ProducerBatchHeader & Pick<BatchHeader, "maxTimestamp"> {
  return {
    producerId: fields.producerId ?? -1,
    producerEpoch: fields.producerEpoch ?? 0,
    baseSequence: fields.baseSequence ?? 0,
    lastOffsetDelta: count - 1,
    maxTimestamp: fields.maxTimestamp ?? 1_000,
  };
}

/** A partition: its log (headers with offsets) and the table, appending what the table allows. */
class Leader {
  readonly log: StoredBatchHeader[] = [];
  table: ProducerStateTable;

  constructor(private readonly clock: Clock = new ManualClock()) {
    this.table = new ProducerStateTable({ abortedTransactionsKept: true, clock });
  }

  get logEndOffset(): number {
    return (this.log.at(-1)?.lastOffset ?? -1) + 1;
  }

  /** One append as the Partition would run it: check, then append and record, or answer the duplicate. */
  produce(...headers: ProducerBatchHeader[]): ProducerCheck & { baseOffset: number; lastOffset: number } {
    const verdict = this.table.check(headers);
    if (verdict.kind === "duplicate") return verdict;
    const baseOffset = this.logEndOffset;
    let offset = baseOffset;
    for (const header of headers) {
      this.log.push({ ...header, baseOffset: offset, lastOffset: offset + header.lastOffsetDelta });
      offset += header.lastOffsetDelta + 1;
    }
    this.table.record(headers, baseOffset);
    return { kind: "append", baseOffset, lastOffset: offset - 1 };
  }

  /** A new leader (or a restart): the table from the log alone. */
  failover(): void {
    this.table = new ProducerStateTable({ abortedTransactionsKept: true, clock: this.clock });
    this.table.loadFromBatches(this.log);
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

describe("sequence arithmetic", () => {
  it("wraps from 2^31 - 1 to 0, as Kafka's incrementSequence", () => {
    expect(incrementSequence(5, 3)).toBe(8);
    expect(incrementSequence(int32Max, 1)).toBe(0);
    expect(incrementSequence(int32Max - 2, 5)).toBe(2);
    expect(lastSequenceOf(batch(4, { producerId: 1, baseSequence: int32Max - 1 }))).toBe(1);
  });
});

describe("one batch at a time", () => {
  it("always appends a batch without a producer id, even the same one twice", () => {
    const leader = new Leader();
    expect(leader.produce(batch(3)).kind).toBe("append");
    expect(leader.produce(batch(3)).kind).toBe("append");
    expect(leader.table.size).toBe(0);
  });

  it("lets a producer it does not know start at any sequence (Kafka since 2.5: its state may have gone with retention)", () => {
    const leader = new Leader();
    expect(leader.produce(batch(2, { producerId: 7, baseSequence: 40 })).kind).toBe("append");
    expect(leader.produce(batch(1, { producerId: 7, baseSequence: 42 })).kind).toBe("append");
  });

  it("takes the next sequence, refuses a gap or a step back with OUT_OF_ORDER_SEQUENCE_NUMBER", () => {
    const leader = new Leader();
    leader.produce(batch(3, { producerId: 7, baseSequence: 0 }));
    expect(codeOf(() => leader.table.check([batch(1, { producerId: 7, baseSequence: 4 })]))).toBe(
      "OUT_OF_ORDER_SEQUENCE_NUMBER",
    );
    expect(codeOf(() => leader.table.check([batch(1, { producerId: 7, baseSequence: 2 })]))).toBe(
      "OUT_OF_ORDER_SEQUENCE_NUMBER",
    );
    expect(leader.produce(batch(1, { producerId: 7, baseSequence: 3 })).kind).toBe("append");
  });

  it("continues at 0 after sequence 2^31 - 1", () => {
    const leader = new Leader();
    leader.produce(batch(2, { producerId: 7, baseSequence: int32Max - 1 }));
    expect(codeOf(() => leader.table.check([batch(1, { producerId: 7, baseSequence: int32Max + 1 })]))).toBe(
      "OUT_OF_ORDER_SEQUENCE_NUMBER",
    );
    expect(leader.produce(batch(1, { producerId: 7, baseSequence: 0 })).kind).toBe("append");
  });

  it("answers a retry of any of the last five batches with where it landed, and appends nothing", () => {
    const leader = new Leader();
    leader.produce(batch(1)); // someone else's record at offset 0
    const first = leader.produce(batch(2, { producerId: 7, baseSequence: 0 }));
    for (let i = 1; i < producerBatchesRetained; i++)
      leader.produce(batch(2, { producerId: 7, baseSequence: 2 * i }));

    const retry = leader.produce(batch(2, { producerId: 7, baseSequence: 0 }));
    expect(retry).toEqual({ kind: "duplicate", baseOffset: first.baseOffset, lastOffset: first.lastOffset });
    expect(leader.logEndOffset).toBe(1 + 2 * producerBatchesRetained);

    // A sixth batch pushes the first out of memory: its retry is now only out of order.
    leader.produce(batch(2, { producerId: 7, baseSequence: 2 * producerBatchesRetained }));
    expect(codeOf(() => leader.produce(batch(2, { producerId: 7, baseSequence: 0 })))).toBe(
      "OUT_OF_ORDER_SEQUENCE_NUMBER",
    );
  });

  it("is not fooled by a batch covering part of a remembered one", () => {
    const leader = new Leader();
    leader.produce(batch(3, { producerId: 7, baseSequence: 0 }));
    expect(codeOf(() => leader.produce(batch(2, { producerId: 7, baseSequence: 0 })))).toBe(
      "OUT_OF_ORDER_SEQUENCE_NUMBER",
    );
  });

  it("refuses an older epoch with INVALID_PRODUCER_EPOCH; a newer one must start at sequence 0", () => {
    const leader = new Leader();
    leader.produce(batch(2, { producerId: 7, producerEpoch: 1, baseSequence: 0 }));
    expect(codeOf(() => leader.produce(batch(1, { producerId: 7, producerEpoch: 0, baseSequence: 2 })))).toBe(
      "INVALID_PRODUCER_EPOCH",
    );
    expect(codeOf(() => leader.produce(batch(1, { producerId: 7, producerEpoch: 2, baseSequence: 2 })))).toBe(
      "OUT_OF_ORDER_SEQUENCE_NUMBER",
    );
    expect(leader.produce(batch(1, { producerId: 7, producerEpoch: 2, baseSequence: 0 })).kind).toBe(
      "append",
    );
    // The old epoch's batches are forgotten with it: their retry is fenced, not answered.
    expect(codeOf(() => leader.produce(batch(2, { producerId: 7, producerEpoch: 1, baseSequence: 0 })))).toBe(
      "INVALID_PRODUCER_EPOCH",
    );
    expect(leader.table.entry(7)?.batches).toHaveLength(1);
  });

  it("refuses an idempotent batch without an epoch or a sequence as INVALID_REQUEST", () => {
    const table = new ProducerStateTable();
    expect(codeOf(() => table.check([batch(1, { producerId: 7, baseSequence: -1 })]))).toBe(
      "INVALID_REQUEST",
    );
    expect(codeOf(() => table.check([batch(1, { producerId: 7, producerEpoch: -1 })]))).toBe(
      "INVALID_REQUEST",
    );
  });
});

describe("several batches in one append", () => {
  it("checks each against the state the ones before it leave, for one or several producers", () => {
    const leader = new Leader();
    const result = leader.produce(
      batch(3, { producerId: 7, baseSequence: 0 }),
      batch(1),
      batch(2, { producerId: 8, baseSequence: 0 }),
      batch(2, { producerId: 7, baseSequence: 3 }),
    );
    expect(result).toEqual({ kind: "append", baseOffset: 0, lastOffset: 7 });
    expect(leader.table.entry(7)?.batches.map((b) => [b.firstSequence, b.baseOffset, b.lastOffset])).toEqual([
      [0, 0, 2],
      [3, 6, 7],
    ]);
    expect(leader.table.entry(8)?.batches.map((b) => [b.baseOffset, b.lastOffset])).toEqual([[4, 5]]);
  });

  it("refuses the whole append when a later batch leaves a gap after an earlier one, and changes nothing", () => {
    const leader = new Leader();
    leader.produce(batch(1, { producerId: 7, baseSequence: 0 }));
    expect(
      codeOf(() =>
        leader.produce(
          batch(2, { producerId: 7, baseSequence: 1 }),
          batch(1, { producerId: 7, baseSequence: 4 }),
        ),
      ),
    ).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
    expect(leader.logEndOffset).toBe(1);
    expect(leader.produce(batch(1, { producerId: 7, baseSequence: 1 })).kind).toBe("append");
  });

  it("answers a retry of a whole append with its first and last offsets", () => {
    const leader = new Leader();
    const a = batch(2, { producerId: 7, baseSequence: 0 });
    const b = batch(3, { producerId: 7, baseSequence: 2 });
    leader.produce(batch(1));
    expect(leader.produce(a, b)).toEqual({ kind: "append", baseOffset: 1, lastOffset: 5 });
    expect(leader.produce(a, b)).toEqual({ kind: "duplicate", baseOffset: 1, lastOffset: 5 });
  });

  it("refuses a retry regrouped with new batches (INVALID_REQUEST): one base offset cannot answer it", () => {
    const leader = new Leader();
    const a = batch(2, { producerId: 7, baseSequence: 0 });
    leader.produce(a);
    expect(codeOf(() => leader.produce(a, batch(1, { producerId: 7, baseSequence: 2 })))).toBe(
      "INVALID_REQUEST",
    );
    expect(codeOf(() => leader.produce(a, batch(1)))).toBe("INVALID_REQUEST");
    expect(leader.logEndOffset).toBe(2);
  });

  it("refuses a retry of batches that do not lie back to back in the log", () => {
    const leader = new Leader();
    const a = batch(1, { producerId: 7, baseSequence: 0 });
    const b = batch(1, { producerId: 7, baseSequence: 1 });
    leader.produce(a);
    leader.produce(batch(1)); // another producer's record between them
    leader.produce(b);
    expect(codeOf(() => leader.produce(a, b))).toBe("INVALID_REQUEST");
  });
});

describe("state from the log", () => {
  it("a table rebuilt from the log's batch headers recognises the same retries and gaps", () => {
    const leader = new Leader();
    const first = leader.produce(batch(2, { producerId: 7, baseSequence: 0 }));
    leader.produce(batch(1));
    leader.produce(batch(1, { producerId: 8, producerEpoch: 3, baseSequence: 10 }));
    leader.failover();
    expect(leader.produce(batch(2, { producerId: 7, baseSequence: 0 }))).toEqual({
      kind: "duplicate",
      baseOffset: first.baseOffset,
      lastOffset: first.lastOffset,
    });
    expect(
      codeOf(() => leader.produce(batch(1, { producerId: 8, producerEpoch: 3, baseSequence: 12 }))),
    ).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
    expect(codeOf(() => leader.produce(batch(1, { producerId: 8, producerEpoch: 2, baseSequence: 0 })))).toBe(
      "INVALID_PRODUCER_EPOCH",
    );
  });

  it("a table rebuilt from a truncated log forgets batches at and above the cut, and producers left with none", () => {
    const leader = new Leader();
    leader.produce(batch(2, { producerId: 7, baseSequence: 0 })); // 0-1
    leader.produce(batch(2, { producerId: 8, baseSequence: 0 })); // 2-3
    leader.produce(batch(2, { producerId: 7, baseSequence: 2 })); // 4-5
    leader.log.splice(1);
    leader.failover();
    expect(leader.table.entry(8)).toBeUndefined();
    expect(leader.table.entry(7)?.batches.map((b) => b.lastSequence)).toEqual([1]);
    expect(leader.table.check([batch(1, { producerId: 7, baseSequence: 2 })]).kind).toBe("append");
  });

  it("forgets producers whose last batch retention deleted, and producers idle past the expiration", () => {
    const clock = new ManualClock(1_000);
    const leader = new Leader(clock);
    leader.produce(batch(2, { producerId: 7, baseSequence: 0 })); // 0-1
    clock.advance(4_000);
    leader.produce(batch(2, { producerId: 8, baseSequence: 0 })); // 2-3
    leader.table.forgetBefore(2);
    expect([leader.table.entry(7), leader.table.size]).toEqual([undefined, 1]);
    clock.advance(999);
    leader.table.expire(1_000);
    expect(leader.table.size).toBe(1);
    clock.advance(1);
    leader.table.expire(1_000);
    expect(leader.table.size).toBe(0);
  });

  it("expires by the broker's clock, not the batch timestamps of a client whose clock runs behind", () => {
    const clock = new ManualClock(1_700_000_000_000);
    const leader = new Leader(clock);
    const dayMs = 24 * 60 * 60 * 1000;
    const clientMs = clock.nowMs() - 2 * dayMs; // the client's clock, two days behind
    leader.produce(batch(1, { producerId: 7, baseSequence: 0, maxTimestamp: clientMs }));
    leader.table.expire(dayMs);
    clock.advance(60_000);
    leader.produce(batch(1, { producerId: 7, baseSequence: 1, maxTimestamp: clientMs + 60_000 }));
    leader.table.expire(dayMs);
    expect(leader.table.entry(7)?.batches.map((b) => b.lastSequence)).toEqual([0, 1]);
    // A rebuild (a new leader, a restart) stamps what it replays with its own time.
    clock.advance(dayMs - 1);
    leader.failover();
    leader.table.expire(dayMs);
    expect(leader.table.entry(7)).toBeDefined();
    clock.advance(dayMs);
    leader.table.expire(dayMs);
    expect(leader.table.entry(7)).toBeUndefined();
  });
});

// ---- random schedules ----------------------------------------------------------
//
// Producers send batches one at a time, each retried until acknowledged (the
// SDK's rule: one batch per partition in flight). A delivery may be lost on the
// way in, appended with its answer lost, or appended and answered; old batches
// may arrive again late; leadership may move (the table rebuilt from the log).

const step = fc.oneof(
  fc.record({
    kind: fc.constant("deliver" as const),
    producer: fc.nat({ max: 2 }),
    records: fc.integer({ min: 1, max: 4 }),
    outcome: fc.constantFrom("lost" as const, "unanswered" as const, "answered" as const),
  }),
  fc.record({ kind: fc.constant("late" as const), producer: fc.nat({ max: 2 }), pick: fc.nat() }),
  fc.record({ kind: fc.constant("failover" as const) }),
);

interface SimProducer {
  producerId: number;
  nextSequence: number;
  /** The batch in flight, resent as it is until answered. */
  inFlight: ProducerBatchHeader | undefined;
  /** Every batch answered, with the offsets the answer gave. */
  answered: { header: ProducerBatchHeader; baseOffset: number; lastOffset: number }[];
}

describe("random retry, duplicate and failover schedules", () => {
  it("never admit a duplicate record and never refuse a fresh in-order batch or its retry", () => {
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 120 }),
        fc.integer({ min: int32Max - 10, max: int32Max }),
        (steps, wrapStart) => {
          const leader = new Leader();
          // Producer 2 starts near 2^31 - 1, so its sequences wrap to 0.
          const producers: SimProducer[] = [0, 1, 2].map((i) => ({
            producerId: 100 + i,
            nextSequence: i === 2 ? wrapStart : 0,
            inFlight: undefined,
            answered: [],
          }));
          for (const s of steps) {
            if (s.kind === "failover") leader.failover();
            else if (s.kind === "deliver") {
              const producer = producers[s.producer];
              producer.inFlight ??= batch(s.records, {
                producerId: producer.producerId,
                baseSequence: producer.nextSequence,
              });
              if (s.outcome === "lost") continue;
              const result = leader.produce(producer.inFlight); // must not throw
              if (s.outcome === "answered") {
                producer.answered.push({ header: producer.inFlight, ...result });
                producer.nextSequence = incrementSequence(lastSequenceOf(producer.inFlight), 1);
                producer.inFlight = undefined;
              }
            } else {
              const producer = producers[s.producer];
              const old = producer.answered[s.pick % Math.max(1, producer.answered.length)];
              if (old === undefined) continue;
              const endBefore = leader.logEndOffset;
              let verdict: ProducerCheck | undefined;
              const code = codeOf(() => {
                verdict = leader.produce(old.header);
              });
              // A late copy is answered as the original was, or refused; it is never appended.
              if (code === undefined) {
                expect(verdict).toEqual({
                  kind: "duplicate",
                  baseOffset: old.baseOffset,
                  lastOffset: old.lastOffset,
                });
              } else expect(code).toBe("OUT_OF_ORDER_SEQUENCE_NUMBER");
              expect(leader.logEndOffset).toBe(endBefore);
            }
          }
          // Each producer's records are in the log once each, in order, and every answer points at them.
          for (const producer of producers) {
            const mine = leader.log.filter((stored) => stored.producerId === producer.producerId);
            const sequences = mine.map((stored) => stored.baseSequence);
            expect(new Set(sequences).size).toBe(sequences.length);
            for (let i = 1; i < mine.length; i++) {
              expect(mine[i].baseSequence).toBe(incrementSequence(lastSequenceOf(mine[i - 1]), 1));
            }
            for (const { header, baseOffset } of producer.answered) {
              const stored = leader.log.find((candidate) => candidate.baseOffset === baseOffset);
              expect([stored?.producerId, stored?.baseSequence]).toEqual([
                header.producerId,
                header.baseSequence,
              ]);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
