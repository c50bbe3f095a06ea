// Rule: DescribeAcls, CreateAcls, DeleteAcls (v0-3), DescribeUserScramCredentials and
// AlterUserScramCredentials (v0) go on the wire byte for byte as Kafka's message JSON lays them out:
// v0 of the ACL apis has no pattern type (it decodes as LITERAL, 3), v1 adds it, v2 is the first
// flexible version (compact strings and arrays, tagged fields, request header v2, response header v1),
// v3 changes nothing on the wire; the user apis are flexible from v0. The expected bytes are put
// together here field by field from those layouts, independently of the schema files; each is
// encoded, decoded back and re-encoded to the same bytes.

import { describe, expect, it } from "vitest";
import {
  ApiKey,
  type ApiKeyNumber,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type RequestInputs,
  type ResponseInputs,
} from "../src/index.js";

// ---- the primitives, by hand ---------------------------------------------------------------

const int = (bytes: number) => (value: number) => {
  const buffer = Buffer.alloc(bytes);
  buffer.writeIntBE(value, 0, bytes);
  return buffer.toString("hex");
};
const i8 = int(1);
const i16 = int(2);
const i32 = int(4);
const utf8 = (text: string) => Buffer.from(text, "utf8").toString("hex");
function uvarint(value: number): string {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  out.push(rest);
  return Buffer.from(out).toString("hex");
}
/** Classic: int16 length, -1 for null. */
const str = (text: string | null) => (text === null ? "ffff" : i16(Buffer.byteLength(text)) + utf8(text));
/** Flexible: unsigned varint of length + 1, 0 for null. */
const cstr = (text: string | null) =>
  text === null ? "00" : uvarint(Buffer.byteLength(text) + 1) + utf8(text);
const cbytes = (data: Buffer) => uvarint(data.length + 1) + data.toString("hex");
const arr = (items: string[]) => i32(items.length) + items.join("");
const carr = (items: string[] | null) => (items === null ? "00" : uvarint(items.length + 1) + items.join(""));
/** An empty tagged-field section. */
const TAGS = "00";

const CORRELATION = 0x0102;
const CLIENT = "acl-tool";

function frame(hex: string): string {
  return i32(hex.length / 2) + hex;
}

function requestFrame(apiKey: number, version: number, flexible: boolean, body: string): string {
  return frame(i16(apiKey) + i16(version) + i32(CORRELATION) + str(CLIENT) + (flexible ? TAGS : "") + body);
}

function responseFrame(flexible: boolean, body: string): string {
  return frame(i32(CORRELATION) + (flexible ? TAGS : "") + body);
}

/** Encodes `body`, compares with `expected`, decodes `expected` back to `decoded` and re-encodes it. */
function checkRequest(
  apiKey: ApiKeyNumber,
  version: number,
  body: unknown,
  expected: string,
  decoded: unknown,
) {
  const encoded = Buffer.concat(
    encodeRequest(apiKey, version, CORRELATION, CLIENT, body as RequestInputs[ApiKeyNumber]),
  );
  expect(encoded.toString("hex")).toBe(expected);
  const bytes = Buffer.from(expected, "hex").subarray(4);
  const header = decodeRequestHeader(bytes);
  expect(header).toMatchObject({ apiKey, apiVersion: version, correlationId: CORRELATION, clientId: CLIENT });
  const request = decodeRequest(header, bytes.subarray(header.headerBytes));
  expect(request.body).toEqual(decoded);
  const again = encodeRequest(
    apiKey,
    version,
    CORRELATION,
    CLIENT,
    request.body as RequestInputs[ApiKeyNumber],
  );
  expect(Buffer.concat(again).toString("hex")).toBe(expected);
}

function checkResponse(
  apiKey: ApiKeyNumber,
  version: number,
  body: unknown,
  expected: string,
  decoded: unknown,
) {
  const encoded = Buffer.concat(
    encodeResponse(apiKey, version, CORRELATION, body as ResponseInputs[ApiKeyNumber]),
  );
  expect(encoded.toString("hex")).toBe(expected);
  const response = decodeResponse(apiKey, version, Buffer.from(expected, "hex").subarray(4));
  expect(response.correlationId).toBe(CORRELATION);
  expect(response.body).toEqual(decoded);
  const again = encodeResponse(apiKey, version, CORRELATION, response.body as ResponseInputs[ApiKeyNumber]);
  expect(Buffer.concat(again).toString("hex")).toBe(expected);
}

const ACL_VERSIONS = [0, 1, 2, 3];
/** What a version's pattern type field holds: v0 carries none and decodes LITERAL (3). */
const pattern = (version: number, value: number) => (version >= 1 ? value : 3);

// ---- DescribeAcls (29) ---------------------------------------------------------------------------

describe("DescribeAcls on the wire", () => {
  it.each(ACL_VERSIONS)("v%i request: type, name, [pattern], principal, host, operation, permission", (v) => {
    const flexible = v >= 2;
    const s = flexible ? cstr : str;
    const body = {
      resourceTypeFilter: 2,
      resourceNameFilter: "orders",
      patternTypeFilter: pattern(v, 4),
      principalFilter: null,
      hostFilter: "*",
      operation: 1,
      permissionType: 3,
    };
    const wire =
      i8(2) + s("orders") + (v >= 1 ? i8(4) : "") + s(null) + s("*") + i8(1) + i8(3) + (flexible ? TAGS : "");
    checkRequest(ApiKey.DescribeAcls, v, body, requestFrame(29, v, flexible, wire), body);
  });

  it.each(ACL_VERSIONS)("v%i response: error, then resources with their acls", (v) => {
    const flexible = v >= 2;
    const s = flexible ? cstr : str;
    const a = flexible ? carr : arr;
    const tags = flexible ? TAGS : "";
    const acl = { principal: "User:alice", host: "*", operation: 3, permissionType: 3 };
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      resources: [{ resourceType: 2, resourceName: "orders.", patternType: pattern(v, 4), acls: [acl] }],
    };
    const wire =
      i32(0) +
      i16(0) +
      s(null) +
      a([
        i8(2) +
          s("orders.") +
          (v >= 1 ? i8(4) : "") +
          a([s("User:alice") + s("*") + i8(3) + i8(3) + tags]) +
          tags,
      ]) +
      tags;
    checkResponse(ApiKey.DescribeAcls, v, body, responseFrame(flexible, wire), body);
  });

  it("v1 response with an error and a message", () => {
    const body = { throttleTimeMs: 5, errorCode: 31, errorMessage: "denied", resources: [] };
    checkResponse(
      ApiKey.DescribeAcls,
      1,
      body,
      responseFrame(false, i32(5) + i16(31) + str("denied") + arr([])),
      body,
    );
  });
});

// ---- CreateAcls (30) -----------------------------------------------------------------------------

describe("CreateAcls on the wire", () => {
  it.each(ACL_VERSIONS)("v%i request: the creations", (v) => {
    const flexible = v >= 2;
    const s = flexible ? cstr : str;
    const a = flexible ? carr : arr;
    const tags = flexible ? TAGS : "";
    const creation = (name: string, patternType: number, operation: number) => ({
      resourceType: 2,
      resourceName: name,
      resourcePatternType: pattern(v, patternType),
      principal: "User:alice",
      host: "*",
      operation,
      permissionType: 3,
    });
    const body = { creations: [creation("orders.", 4, 4), creation("audit", 3, 3)] };
    const wireCreation = (name: string, patternType: number, operation: number) =>
      i8(2) +
      s(name) +
      (v >= 1 ? i8(patternType) : "") +
      s("User:alice") +
      s("*") +
      i8(operation) +
      i8(3) +
      tags;
    const wire = a([wireCreation("orders.", 4, 4), wireCreation("audit", 3, 3)]) + tags;
    checkRequest(ApiKey.CreateAcls, v, body, requestFrame(30, v, flexible, wire), body);
  });

  it.each(ACL_VERSIONS)("v%i response: one result per creation", (v) => {
    const flexible = v >= 2;
    const s = flexible ? cstr : str;
    const a = flexible ? carr : arr;
    const tags = flexible ? TAGS : "";
    const body = {
      throttleTimeMs: 0,
      results: [
        { errorCode: 0, errorMessage: null },
        { errorCode: 42, errorMessage: "Invalid operation UNKNOWN" },
      ],
    };
    const wire =
      i32(0) + a([i16(0) + s(null) + tags, i16(42) + s("Invalid operation UNKNOWN") + tags]) + tags;
    checkResponse(ApiKey.CreateAcls, v, body, responseFrame(flexible, wire), body);
  });
});

// ---- DeleteAcls (31) -----------------------------------------------------------------------------

describe("DeleteAcls on the wire", () => {
  it.each(ACL_VERSIONS)("v%i request: the filters", (v) => {
    const flexible = v >= 2;
    const s = flexible ? cstr : str;
    const a = flexible ? carr : arr;
    const tags = flexible ? TAGS : "";
    const body = {
      filters: [
        {
          resourceTypeFilter: 1,
          resourceNameFilter: null,
          patternTypeFilter: pattern(v, 1),
          principalFilter: "User:bob",
          hostFilter: null,
          operation: 1,
          permissionType: 1,
        },
      ],
    };
    const wire =
      a([i8(1) + s(null) + (v >= 1 ? i8(1) : "") + s("User:bob") + s(null) + i8(1) + i8(1) + tags]) + tags;
    checkRequest(ApiKey.DeleteAcls, v, body, requestFrame(31, v, flexible, wire), body);
  });

  it.each(ACL_VERSIONS)(
    "v%i response: per filter its error and the matching acls, each with its own",
    (v) => {
      const flexible = v >= 2;
      const s = flexible ? cstr : str;
      const a = flexible ? carr : arr;
      const tags = flexible ? TAGS : "";
      const matching = {
        errorCode: 0,
        errorMessage: null,
        resourceType: 3,
        resourceName: "etl",
        patternType: pattern(v, 4),
        principal: "User:bob",
        host: "10.0.0.1",
        operation: 3,
        permissionType: 2,
      };
      const body = {
        throttleTimeMs: 0,
        filterResults: [
          { errorCode: 0, errorMessage: null, matchingAcls: [matching] },
          { errorCode: 42, errorMessage: "Invalid resourceType USER", matchingAcls: [] },
        ],
      };
      const wireMatching =
        i16(0) +
        s(null) +
        i8(3) +
        s("etl") +
        (v >= 1 ? i8(4) : "") +
        s("User:bob") +
        s("10.0.0.1") +
        i8(3) +
        i8(2) +
        tags;
      const wire =
        i32(0) +
        a([
          i16(0) + s(null) + a([wireMatching]) + tags,
          i16(42) + s("Invalid resourceType USER") + a([]) + tags,
        ]) +
        tags;
      checkResponse(ApiKey.DeleteAcls, v, body, responseFrame(flexible, wire), body);
    },
  );
});

// ---- DescribeUserScramCredentials (50) -----------------------------------------------------------

describe("DescribeUserScramCredentials on the wire", () => {
  it("v0 request: null users (every user) is a compact null array", () => {
    const body = { users: null };
    checkRequest(
      ApiKey.DescribeUserScramCredentials,
      0,
      body,
      requestFrame(50, 0, true, carr(null) + TAGS),
      body,
    );
  });

  it("v0 request: named users", () => {
    const body = { users: [{ name: "alice" }, { name: "bob" }] };
    const wire = carr([cstr("alice") + TAGS, cstr("bob") + TAGS]) + TAGS;
    checkRequest(ApiKey.DescribeUserScramCredentials, 0, body, requestFrame(50, 0, true, wire), body);
  });

  it("v0 response: per user its error and mechanisms with iterations", () => {
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      results: [
        {
          user: "alice",
          errorCode: 0,
          errorMessage: null,
          credentialInfos: [
            { mechanism: 1, iterations: 8192 },
            { mechanism: 2, iterations: 4096 },
          ],
        },
        { user: "carol", errorCode: 91, errorMessage: "no such user", credentialInfos: [] },
      ],
    };
    const wire =
      i32(0) +
      i16(0) +
      cstr(null) +
      carr([
        cstr("alice") +
          i16(0) +
          cstr(null) +
          carr([i8(1) + i32(8192) + TAGS, i8(2) + i32(4096) + TAGS]) +
          TAGS,
        cstr("carol") + i16(91) + cstr("no such user") + carr([]) + TAGS,
      ]) +
      TAGS;
    checkResponse(ApiKey.DescribeUserScramCredentials, 0, body, responseFrame(true, wire), body);
  });
});

// ---- AlterUserScramCredentials (51) --------------------------------------------------------------

describe("AlterUserScramCredentials on the wire", () => {
  it("v0 request: deletions, then upsertions with the client's salt and salted password", () => {
    const salt = Buffer.from("0123456789abcdef", "hex");
    const saltedPassword = Buffer.alloc(32, 0xab);
    const body = {
      deletions: [{ name: "bob", mechanism: 2 }],
      upsertions: [{ name: "alice", mechanism: 1, iterations: 8192, salt, saltedPassword }],
    };
    const wire =
      carr([cstr("bob") + i8(2) + TAGS]) +
      carr([cstr("alice") + i8(1) + i32(8192) + cbytes(salt) + cbytes(saltedPassword) + TAGS]) +
      TAGS;
    checkRequest(ApiKey.AlterUserScramCredentials, 0, body, requestFrame(51, 0, true, wire), body);
  });

  it("v0 response: one result per user", () => {
    const body = {
      throttleTimeMs: 0,
      results: [
        { user: "alice", errorCode: 0, errorMessage: null },
        { user: "", errorCode: 93, errorMessage: "Username must not be empty" },
      ],
    };
    const wire =
      i32(0) +
      carr([
        cstr("alice") + i16(0) + cstr(null) + TAGS,
        cstr("") + i16(93) + cstr("Username must not be empty") + TAGS,
      ]) +
      TAGS;
    checkResponse(ApiKey.AlterUserScramCredentials, 0, body, responseFrame(true, wire), body);
  });
});
