// Rule: every request and response of every described version survives encode → decode unchanged
// (every field the version carries, defaults for the rest, unknown tagged fields kept), and
// re-encoding a decoded message gives back the same bytes.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileStruct } from "../src/codec/compile.js";
import { Reader } from "../src/codec/reader.js";
import { Writer } from "../src/codec/writer.js";
import {
  type ApiKeyNumber,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type RequestInputs,
  type ResponseInputs,
} from "../src/index.js";
import { bodyArbitrary, type Direction, everyVersion } from "./arbitraries.js";

const RUNS = 25;

function encode(apiKey: number, version: number, direction: Direction, body: unknown): Buffer {
  const key = apiKey as ApiKeyNumber;
  const chunks =
    direction === "request"
      ? encodeRequest(key, version, 42, "round-trip", body as RequestInputs[ApiKeyNumber])
      : encodeResponse(key, version, 42, body as ResponseInputs[ApiKeyNumber]);
  return Buffer.concat(chunks);
}

/** Decodes a whole frame (size prefix included) back to its body. */
function decode(apiKey: number, version: number, direction: Direction, frame: Buffer): unknown {
  expect(frame.readInt32BE(0)).toBe(frame.length - 4);
  const body = frame.subarray(4);
  if (direction === "response") {
    const response = decodeResponse(apiKey as ApiKeyNumber, version, body);
    expect(response.correlationId).toBe(42);
    return response.body;
  }
  const header = decodeRequestHeader(body);
  expect(header).toMatchObject({ apiKey, apiVersion: version, correlationId: 42, clientId: "round-trip" });
  return decodeRequest(header, body.subarray(header.headerBytes)).body;
}

const cases = everyVersion().flatMap(({ schema, version }) =>
  (["request", "response"] as const).map((direction) => ({
    name: `${schema.name} v${version} ${direction}`,
    schema,
    version,
    direction,
  })),
);

describe("round trip of every message and version", () => {
  it.each(cases)("$name", ({ schema, version, direction }) => {
    fc.assert(
      fc.property(bodyArbitrary(schema, version, direction), (body) => {
        const frame = encode(schema.apiKey, version, direction, body);
        const decoded = decode(schema.apiKey, version, direction, frame);
        expect(decoded).toEqual(body);
        expect(encode(schema.apiKey, version, direction, decoded).equals(frame)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("the round trip can fail", () => {
  it("notices an encoder that leaves out one field the version carries", () => {
    const { schema } = cases.find((c) => c.schema.name === "Produce" && c.version === 9) ?? cases[0];
    const fields = schema.request.filter((field) => field.name !== "timeoutMs");
    const lossy = compileStruct(fields, { version: 9, flexible: true });
    const real = compileStruct(schema.request, { version: 9, flexible: true });
    const result = fc.check(
      fc.property(bodyArbitrary(schema, 9, "request"), (body) => {
        const writer = new Writer();
        lossy.write(writer, body);
        try {
          expect(real.read(new Reader(writer.toBuffer()))).toEqual(body);
        } catch {
          return false;
        }
        return true;
      }),
      { numRuns: RUNS },
    );
    expect(result.failed).toBe(true);
  });
});
