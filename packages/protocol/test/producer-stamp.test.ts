// Rule: an idempotent producer numbers a batch after encoding it (when it first sends it), so stamping
// producer id, epoch and base sequence into encoded bytes must give exactly the batch the encoder would
// have written with them: the same bytes, a valid CRC, the header fields readable by the broker.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeRecordBatch, readBatchHeader, stampProducer, validateBatch } from "../src/index.js";
import { recordArbitrary } from "./helpers.js";

const stampArbitrary = fc.record({
  producerId: fc.maxSafeNat(),
  producerEpoch: fc.integer({ min: 0, max: 0x7fff }),
  baseSequence: fc.integer({ min: 0, max: 0x7fff_ffff }),
});

describe("stampProducer", () => {
  it("gives the bytes the encoder writes when given the same producer fields", () => {
    fc.assert(
      fc.property(
        fc.array(recordArbitrary, { minLength: 1, maxLength: 5 }),
        stampArbitrary,
        fc.constantFrom("none" as const, "gzip" as const),
        (records, stamp, compression) => {
          const nowMs = 1_700_000_000_000;
          const stamped = encodeRecordBatch(records, { nowMs, compression });
          stampProducer(stamped, 0, stamp);
          expect(stamped).toEqual(encodeRecordBatch(records, { nowMs, compression, ...stamp }));
          const header = validateBatch(stamped);
          expect([header.producerId, header.producerEpoch, header.baseSequence]).toEqual([
            stamp.producerId,
            stamp.producerEpoch,
            stamp.baseSequence,
          ]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("stamps a batch where it sits in a larger buffer, leaving its neighbours alone", () => {
    const first = encodeRecordBatch([{ value: "a" }], { nowMs: 1 });
    const second = encodeRecordBatch([{ value: "b" }, { value: "c" }], { nowMs: 1 });
    const both = Buffer.concat([first, second]);
    stampProducer(both, first.length, { producerId: 9, producerEpoch: 0, baseSequence: 41 });
    expect(both.subarray(0, first.length)).toEqual(first);
    expect(readBatchHeader(both, first.length).baseSequence).toBe(41);
    expect(() => validateBatch(both, first.length)).not.toThrow();
  });
});
