// Shared arbitraries and expectations for the record-batch tests.
import fc from "fast-check";
import { expect } from "vitest";
import { ATTRIBUTES_OFFSET, CRC_OFFSET, crc32c, type RecordHeader, type RecordInput } from "../src/index.js";

export const bytesArbitrary = fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes));

/** Keys and values: null, empty, binary, and any Unicode text (lone surrogates included). */
export const dataArbitrary = fc.oneof(
  fc.constant(null),
  fc.constant(""),
  bytesArbitrary,
  fc.string({ unit: "binary", maxLength: 24 }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
);

/** Header keys are strings on the wire and come back as strings, so they must be well-formed UTF-16. */
const headerKeyArbitrary = fc.string({ unit: "grapheme", maxLength: 12 });

export const headersArbitrary = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(
    headerKeyArbitrary,
    fc.oneof(bytesArbitrary, fc.string({ unit: "grapheme", maxLength: 12 })),
    {
      maxKeys: 4,
    },
  ),
  fc.array(fc.record({ key: headerKeyArbitrary, value: fc.option(bytesArbitrary, { nil: null }) }), {
    maxLength: 4,
  }),
);

/** Offsets up to 2^52, so baseOffset + offsetDelta stays an exact JS number. */
export const offsetArbitrary = fc.maxSafeNat().map((offset) => Math.floor(offset / 2));

export const timestampArbitrary = fc.oneof(
  fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);

export const recordArbitrary: fc.Arbitrary<RecordInput> = fc.record(
  {
    key: dataArbitrary,
    value: dataArbitrary,
    headers: headersArbitrary,
    timestamp: timestampArbitrary,
  },
  { requiredKeys: ["value"] },
);

export function asBytes(data: Buffer | string | null | undefined): Buffer | null {
  if (data == null) return null;
  return typeof data === "string" ? Buffer.from(data, "utf8") : data;
}

export function expectedHeaders(headers: RecordInput["headers"]): RecordHeader[] {
  if (headers === undefined) return [];
  const list = Array.isArray(headers)
    ? headers
    : Object.entries(headers).map(([key, value]) => ({ key, value }));
  return list.map(({ key, value }) => ({ key, value: asBytes(value) }));
}

export function expectBytes(actual: Buffer | null, expected: Buffer | null): void {
  expect(actual === null ? null : actual.toString("hex")).toEqual(
    expected === null ? null : expected.toString("hex"),
  );
}

/** Recomputes a batch's CRC after a test tampers with it, so the tampering reaches the record decoder. */
export function refreshCrc(batch: Buffer, position = 0): Buffer {
  const end = position + batch.readInt32BE(position + 8) + 12;
  batch.writeUInt32BE(crc32c(batch.subarray(position + ATTRIBUTES_OFFSET, end)), position + CRC_OFFSET);
  return batch;
}

export function brookErrorCode(action: () => unknown): string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    expect(error).toMatchObject({ name: "BrookError" });
    return (error as { code: string }).code;
  }
}
