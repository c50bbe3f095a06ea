// Rule: metadata is dispatched on record type exhaustively. A record of a type this version does not
// know is an error where it is decoded and where it is replayed, never skipped: an image that went
// without it would differ from every other node's.
import { isAssertionError } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import {
  applyRecords,
  decodeMetadataRecord,
  encodeMetadataRecord,
  MetadataImage,
  type MetadataRecord,
} from "../src/index.js";

const unknownRecord = {
  type: "broker-quota",
  brokerId: 1,
  bytesPerSecond: 1024,
} as unknown as MetadataRecord;

describe("metadata record types", () => {
  it("replaying a record of an unknown type fails an assertion instead of leaving the image as it was", () => {
    let thrown: unknown;
    try {
      applyRecords(MetadataImage.empty, [unknownRecord], 0);
    } catch (error) {
      thrown = error;
    }
    expect(isAssertionError(thrown)).toBe(true);
    expect(String(thrown)).toContain("broker-quota");
  });

  it("decoding a stored record of an unknown type fails, naming the type", () => {
    expect(() => decodeMetadataRecord(encodeMetadataRecord(unknownRecord))).toThrow(
      /unknown metadata record type "broker-quota"/,
    );
  });
});
