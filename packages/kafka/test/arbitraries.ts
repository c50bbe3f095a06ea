// fast-check arbitraries derived from the message schemas: a random, valid body of any (api, version),
// with every field the version carries drawn at random and the others at their default, exactly as
// the decoder returns them. Also the walk that lists a body's values in wire order, for cross-checks.

import fc from "fast-check";
import { defaultFactory, type Struct } from "../src/codec/compile.js";
import {
  type ApiSchema,
  elementType,
  type FieldSchema,
  inRange,
  isArrayType,
  isStructType,
  type PrimitiveType,
} from "../src/codec/schema.js";
import { API_SCHEMAS } from "../src/generated/schemas.js";

export type Direction = "request" | "response";

interface Shape {
  version: number;
  flexible: boolean;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Tags past every known tag, so generated unknown tagged fields never collide with known ones. */
const UNKNOWN_TAG_MIN = 100;

const bytesArbitrary = fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes));

const PRIMITIVES: Record<PrimitiveType, fc.Arbitrary<unknown>> = {
  int8: fc.integer({ min: -128, max: 127 }),
  int16: fc.integer({ min: -32768, max: 32767 }),
  int32: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  int64: fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  uint16: fc.integer({ min: 0, max: 0xffff }),
  uint32: fc.integer({ min: 0, max: 0xffff_ffff }),
  varint: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  varlong: fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  float64: fc.double({ noNaN: true }),
  bool: fc.boolean(),
  uuid: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) =>
    Buffer.from(bytes)
      .toString("hex")
      .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5"),
  ),
  // Graphemes are well-formed UTF-16, so they survive UTF-8 both ways.
  string: fc.string({ unit: "grapheme", maxLength: 12 }),
  bytes: bytesArbitrary,
  records: bytesArbitrary,
};

export function schemaOf(apiKey: number): ApiSchema {
  const schema = API_SCHEMAS.find((candidate) => candidate.apiKey === apiKey);
  if (schema === undefined) throw new Error(`no schema for api ${apiKey}`);
  return schema;
}

export function isFlexibleVersion(schema: ApiSchema, version: number): boolean {
  return inRange(schema.flexibleVersions, version);
}

/** Every (api, version) the schemas describe. */
export function everyVersion(): { schema: ApiSchema; version: number }[] {
  return API_SCHEMAS.flatMap((schema) =>
    Array.from({ length: schema.versions.max - schema.versions.min + 1 }, (_, index) => ({
      schema,
      version: schema.versions.min + index,
    })),
  );
}

function typeArbitrary(field: FieldSchema, type: string, shape: Shape): fc.Arbitrary<unknown> {
  if (isArrayType(type)) return fc.array(typeArbitrary(field, elementType(type), shape), { maxLength: 3 });
  if (isStructType(type)) return structArbitrary(field.fields ?? [], shape);
  return PRIMITIVES[type as PrimitiveType];
}

function fieldArbitrary(field: FieldSchema, shape: Shape): fc.Arbitrary<unknown> {
  if (!inRange(field.versions, shape.version)) return fc.constant(null).map(defaultFactory(field));
  const value = typeArbitrary(field, field.type, shape);
  return inRange(field.nullableVersions, shape.version) ? fc.option(value, { nil: null }) : value;
}

const unknownTaggedFields = fc
  .uniqueArray(fc.integer({ min: UNKNOWN_TAG_MIN, max: 10_000 }), { maxLength: 2 })
  .chain((tags) =>
    fc
      .tuple(...tags.map((tag) => bytesArbitrary.map((data) => ({ tag, data }))))
      .map((fields) => fields.sort((a, b) => a.tag - b.tag)),
  );

export function structArbitrary(fields: readonly FieldSchema[], shape: Shape): fc.Arbitrary<Struct> {
  const members = Object.fromEntries(fields.map((field) => [field.name, fieldArbitrary(field, shape)]));
  const struct = fc.record(members) as fc.Arbitrary<Struct>;
  if (!shape.flexible) return struct;
  // Unknown tags ride along in flexible versions; the decoder reports them only when there are some.
  return fc
    .tuple(struct, unknownTaggedFields)
    .map(([value, unknown]) => (unknown.length === 0 ? value : { ...value, unknownTaggedFields: unknown }));
}

export function bodyArbitrary(
  schema: ApiSchema,
  version: number,
  direction: Direction,
): fc.Arbitrary<Struct> {
  return structArbitrary(schema[direction], { version, flexible: isFlexibleVersion(schema, version) });
}

/** A leaf value as kafkajs reports it: int64 as a decimal string, bytes as a Buffer. */
export type Leaf = string | number | boolean | null | Buffer;

function typeLeaves(field: FieldSchema, type: string, value: unknown, version: number, out: Leaf[]): void {
  if (isArrayType(type)) {
    for (const item of (value as unknown[] | null) ?? [])
      typeLeaves(field, elementType(type), item, version, out);
  } else if (isStructType(type)) {
    wireLeaves(field.fields ?? [], version, value as Struct, out);
  } else {
    out.push(typeof value === "bigint" ? value.toString() : (value as Leaf));
  }
}

/** The values of a (classic-version) struct in the order they go on the wire. */
export function wireLeaves(
  fields: readonly FieldSchema[],
  version: number,
  struct: Struct,
  out: Leaf[] = [],
): Leaf[] {
  for (const field of fields) {
    if (inRange(field.versions, version) && field.tag === null) {
      typeLeaves(field, field.type, struct[field.name], version, out);
    }
  }
  return out;
}
