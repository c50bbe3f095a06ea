// Rule: whatever bytes arrive, decoding either succeeds or throws KafkaDecodeError (never a RangeError,
// a TypeError or a huge allocation): random bytes and mutated valid encodings, for every (api, version),
// and counts and lengths that claim more than the frame holds fail before anything is allocated.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ApiKeyNumber,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  KafkaDecodeError,
  type RequestHeader,
  type RequestInputs,
  type ResponseInputs,
} from "../src/index.js";
import { bodyArbitrary, type Direction, everyVersion } from "./arbitraries.js";

const RUNS = 30;

function headerFor(apiKey: number, apiVersion: number): RequestHeader {
  return { apiKey, apiVersion, correlationId: 1, clientId: null, headerVersion: 1, headerBytes: 0 };
}

/** Decodes a request body, or a response frame without its size prefix. */
function decodeAny(apiKey: number, version: number, direction: Direction, bytes: Buffer): void {
  if (direction === "request") decodeRequest(headerFor(apiKey, version), bytes);
  else decodeResponse(apiKey as ApiKeyNumber, version, bytes);
}

/** True when `run` succeeds or fails with KafkaDecodeError; anything else escapes and fails the test. */
function decodesOrRefuses(run: () => void): boolean {
  try {
    run();
  } catch (error) {
    if (!(error instanceof KafkaDecodeError)) throw error;
    expect(error.message).toMatch(/^cannot decode /);
  }
  return true;
}

function validEncoding(apiKey: number, version: number, direction: Direction, body: unknown): Buffer {
  const key = apiKey as ApiKeyNumber;
  if (direction === "response") {
    return Buffer.concat(encodeResponse(key, version, 1, body as ResponseInputs[ApiKeyNumber])).subarray(4);
  }
  const frame = Buffer.concat(encodeRequest(key, version, 1, null, body as RequestInputs[ApiKeyNumber]));
  return frame.subarray(4 + decodeRequestHeader(frame.subarray(4)).headerBytes);
}

const mutation = fc.record({
  writes: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
  // A length or count that claims everything: int32 max, or an unsigned varint of 2^32-1.
  bomb: fc.option(
    fc.tuple(fc.nat(), fc.constantFrom([0x7f, 0xff, 0xff, 0xff], [0xff, 0xff, 0xff, 0xff, 0x0f])),
  ),
  keepBytes: fc.option(fc.nat()),
});

type Mutation = typeof mutation extends fc.Arbitrary<infer Value> ? Value : never;

function mutate(bytes: Buffer, { writes, bomb, keepBytes }: Mutation): Buffer {
  const copy = Buffer.from(bytes);
  if (copy.length === 0) return copy;
  for (const [position, value] of writes) copy[position % copy.length] = value;
  if (bomb !== null) {
    const [position, pattern] = bomb;
    const fitted = pattern.slice(0, copy.length);
    copy.set(fitted, position % (copy.length - fitted.length + 1));
  }
  return keepBytes === null ? copy : copy.subarray(0, keepBytes % (copy.length + 1));
}

const cases = everyVersion().flatMap(({ schema, version }) =>
  (["request", "response"] as const).map((direction) => ({
    name: `${schema.name} v${version} ${direction}`,
    apiKey: schema.apiKey,
    schema,
    version,
    direction,
  })),
);

describe("decoding hostile bytes throws only KafkaDecodeError", () => {
  it.each(cases)("$name: random bytes", ({ apiKey, version, direction }) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) =>
        decodesOrRefuses(() => decodeAny(apiKey, version, direction, Buffer.from(bytes))),
      ),
      { numRuns: RUNS },
    );
  });

  it.each(cases)("$name: mutated valid encodings", ({ apiKey, schema, version, direction }) => {
    fc.assert(
      fc.property(bodyArbitrary(schema, version, direction), mutation, (body, change) => {
        const bytes = mutate(validEncoding(apiKey, version, direction, body), change);
        return decodesOrRefuses(() => decodeAny(apiKey, version, direction, bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it("request headers of random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) =>
        decodesOrRefuses(() => decodeRequestHeader(Buffer.from(bytes))),
      ),
      { numRuns: 500 },
    );
  });
});

describe("lengths and counts are checked against the bytes present before allocation", () => {
  function refusal(run: () => void): KafkaDecodeError {
    const started = performance.now();
    try {
      run();
    } catch (error) {
      expect(performance.now() - started).toBeLessThan(50);
      expect(error).toBeInstanceOf(KafkaDecodeError);
      return error as KafkaDecodeError;
    }
    throw new Error("expected a KafkaDecodeError");
  }

  it("an int32 array count of 2^31-1 with nothing behind it (Metadata v0 topics)", () => {
    const error = refusal(() => decodeRequest(headerFor(3, 0), Buffer.from([0x7f, 0xff, 0xff, 0xff])));
    expect(error.message).toMatch(/an array of 2147483647 needs at least/);
    expect(error).toMatchObject({ apiKey: 3, apiVersion: 0, path: "topics", offset: 0 });
  });

  it("a compact array count of 2^32-2 (Metadata v12 topics)", () => {
    const error = refusal(() => decodeRequest(headerFor(3, 12), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])));
    expect(error.message).toMatch(/an array of 4294967294 needs at least/);
  });

  it("a records length of 2^31-1 (Produce v3)", () => {
    // transactionalId null, acks 1, timeout 0, one topic "t" with one partition whose records claim 2 GiB.
    const body = Buffer.from(
      "ffff" + "0001" + "00000000" + "00000001" + "000174" + "00000001" + "00000000" + "7fffffff",
      "hex",
    );
    const error = refusal(() => decodeRequest(headerFor(0, 3), body));
    expect(error.message).toMatch(/a byte field needs 2147483647 bytes, 0 are left/);
    expect(error.path).toBe("topicData[0].partitionData[0].records");
  });

  it("a tagged-field count of 2^32-1 (ApiVersions v3 request)", () => {
    const error = refusal(() =>
      decodeRequest(headerFor(18, 3), Buffer.from([0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f])),
    );
    expect(error.message).toMatch(/a tagged-field count of 4294967295 needs at least/);
  });

  it("a varint longer than five bytes", () => {
    const error = refusal(() =>
      decodeRequest(headerFor(18, 3), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])),
    );
    expect(error.message).toMatch(/longer than 5 bytes/);
  });

  it("a null in a version where the field cannot be null (Metadata v0 topics)", () => {
    const error = refusal(() => decodeRequest(headerFor(3, 0), Buffer.from([0xff, 0xff, 0xff, 0xff])));
    expect(error.message).toMatch(/null where this version does not allow null/);
  });

  it("bytes after the body", () => {
    const error = refusal(() =>
      decodeRequest(headerFor(12, 0), Buffer.from("0001670000000100016d00", "hex")),
    );
    expect(error.message).toMatch(/1 bytes follow the end of the body/);
  });
});
