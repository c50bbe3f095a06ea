// Turns a message schema and one version into a codec: the fields that version carries, in order,
// each with its type's codec chosen once (classic or flexible, nullable or not), and the tagged-field
// section of flexible versions. Fields the version lacks decode to their default.

import { KafkaEncodeError, withPath } from "./errors.js";
import { arrayCodec, bytesMin, type Codec, primitiveCodec, ZERO_UUID } from "./primitives.js";
import { Reader } from "./reader.js";
import {
  type DefaultValue,
  elementType,
  type FieldSchema,
  inRange,
  isArrayType,
  isStructType,
  type PrimitiveType,
} from "./schema.js";
import { Writer } from "./writer.js";

/** A tagged field this codec does not know, kept byte for byte so a re-encoding carries it along. */
export interface TaggedField {
  tag: number;
  data: Buffer;
}

export type Struct = Record<string, unknown> & { unknownTaggedFields?: TaggedField[] };

/** Each tagged field takes at least a tag byte and a size byte. */
const TAGGED_FIELD_BYTES_MIN = 2;
const EMPTY_BYTES = Buffer.alloc(0);

interface VersionShape {
  readonly version: number;
  readonly flexible: boolean;
}

interface FieldPlan {
  readonly name: string;
  /** null when the version does not carry the field: it decodes to its default. */
  readonly codec: Codec | null;
  readonly tag: number | null;
  readonly makeDefault: () => unknown;
  /** One default value to compare against; never handed out, so never mutated. */
  readonly defaultValue: unknown;
}

function isNullableEverywhere(field: FieldSchema): boolean {
  const nullable = field.nullableVersions;
  return nullable !== null && nullable.min <= field.versions.min && nullable.max >= field.versions.max;
}

function declaredDefault(field: FieldSchema, value: DefaultValue): () => unknown {
  const base = isArrayType(field.type) ? "array" : field.type;
  const constant = base === "int64" || base === "varlong" ? BigInt(value as string | number) : value;
  return () => constant;
}

const ZERO_VALUES: Record<PrimitiveType, unknown> = {
  int8: 0,
  int16: 0,
  int32: 0,
  int64: 0n,
  uint16: 0,
  uint32: 0,
  varint: 0,
  varlong: 0n,
  float64: 0,
  bool: false,
  uuid: ZERO_UUID,
  string: "",
  bytes: EMPTY_BYTES,
  records: EMPTY_BYTES,
};

/** A field's value when the wire does not carry it, or the caller leaves it out. */
export function defaultFactory(field: FieldSchema): () => unknown {
  if (field.default !== undefined) return declaredDefault(field, field.default);
  if (isNullableEverywhere(field)) return () => null;
  if (isArrayType(field.type)) return () => [];
  if (field.fields !== undefined) {
    const members = field.fields.map((member) => [member.name, defaultFactory(member)] as const);
    return () => Object.fromEntries(members.map(([name, make]) => [name, make()]));
  }
  const zero = ZERO_VALUES[field.type as PrimitiveType];
  return () => zero;
}

/** Whether `value` equals a default, so a tagged field may be left off the wire (as Kafka does). */
function isDefaultValue(value: unknown, fallback: unknown): boolean {
  if (value === undefined || value === fallback) return true;
  if (Buffer.isBuffer(value)) return Buffer.isBuffer(fallback) && value.equals(fallback);
  if (Array.isArray(value)) {
    return (
      Array.isArray(fallback) &&
      value.length === fallback.length &&
      value.every((item, index) => isDefaultValue(item, fallback[index]))
    );
  }
  if (typeof value !== "object" || value === null || typeof fallback !== "object" || fallback === null)
    return false;
  const struct = value as Struct;
  if (struct.unknownTaggedFields !== undefined && struct.unknownTaggedFields.length > 0) return false;
  return Object.entries(fallback).every(([key, item]) => isDefaultValue(struct[key], item));
}

/** The fewest bytes one value of the field's type takes in this version. */
function typeBytesMin(field: FieldSchema, type: string, shape: VersionShape): number {
  if (isArrayType(type)) return shape.flexible ? 1 : 4;
  if (!isStructType(type)) return bytesMin(type as PrimitiveType, shape.flexible);
  const present = (field.fields ?? []).filter(
    (member) => inRange(member.versions, shape.version) && member.tag === null,
  );
  const fieldsMin = present.reduce((sum, member) => sum + typeBytesMin(member, member.type, shape), 0);
  // At least one byte per element, so even a struct with no fields in a version (none of the schemas
  // has one) cannot make a large count cheap.
  return Math.max(1, fieldsMin + (shape.flexible ? 1 : 0));
}

function typeCodec(field: FieldSchema, type: string, nullable: boolean, shape: VersionShape): Codec {
  if (isArrayType(type)) {
    const element = elementType(type);
    const elementCodec = typeCodec(field, element, false, shape);
    return arrayCodec(elementCodec, typeBytesMin(field, element, shape), shape.flexible, nullable);
  }
  if (isStructType(type)) return compileStruct(field.fields ?? [], shape);
  return primitiveCodec(type as PrimitiveType, shape.flexible, nullable);
}

function planField(field: FieldSchema, shape: VersionShape): FieldPlan {
  const present = inRange(field.versions, shape.version);
  const makeDefault = defaultFactory(field);
  return {
    name: field.name,
    codec: present
      ? typeCodec(field, field.type, inRange(field.nullableVersions, shape.version), shape)
      : null,
    tag: present ? field.tag : null,
    makeDefault,
    defaultValue: makeDefault(),
  };
}

function readTaggedFields(reader: Reader, struct: Struct, byTag: ReadonlyMap<number, FieldPlan>): void {
  const offset = reader.pos;
  const count = reader.unsignedVarint();
  reader.checkCount(count, TAGGED_FIELD_BYTES_MIN, "a tagged-field count", offset);
  let previousTag = -1;
  for (let index = 0; index < count; index++) {
    const tagOffset = reader.pos;
    const tag = reader.unsignedVarint();
    if (tag <= previousTag)
      throw reader.fail(`tag ${tag} follows tag ${previousTag}; tags must ascend`, tagOffset);
    previousTag = tag;
    const size = reader.unsignedVarint();
    const start = reader.take(size, `tagged field ${tag}`);
    const plan = byTag.get(tag);
    if (plan === undefined) {
      struct.unknownTaggedFields ??= [];
      struct.unknownTaggedFields.push({ tag, data: reader.buf.subarray(start, start + size) });
      continue;
    }
    struct[plan.name] = readTaggedValue(reader, plan, start, size);
  }
}

function readTaggedValue(reader: Reader, plan: FieldPlan, start: number, size: number): unknown {
  const window = new Reader(reader.buf, start, start + size);
  try {
    const value = (plan.codec as Codec).read(window);
    if (window.remaining !== 0)
      throw window.fail(`${window.remaining} bytes follow the value of tagged field ${plan.tag}`);
    return value;
  } catch (error) {
    throw withPath(error, plan.name);
  }
}

function encodeTagged(plan: FieldPlan, value: unknown): TaggedField {
  const writer = new Writer(64);
  try {
    (plan.codec as Codec).write(writer, value);
  } catch (error) {
    throw withPath(error, plan.name);
  }
  return { tag: plan.tag as number, data: writer.toBuffer() };
}

function writeTaggedFields(writer: Writer, struct: Struct, tagged: readonly FieldPlan[]): void {
  const unknown = struct.unknownTaggedFields;
  if (tagged.length === 0 && (unknown === undefined || unknown.length === 0)) {
    writer.unsignedVarint(0);
    return;
  }
  const entries: TaggedField[] = [];
  for (const plan of tagged) {
    const value = struct[plan.name];
    if (!isDefaultValue(value, plan.defaultValue)) entries.push(encodeTagged(plan, value));
  }
  if (unknown !== undefined) entries.push(...unknown);
  entries.sort((a, b) => a.tag - b.tag);
  writer.unsignedVarint(entries.length);
  for (let index = 0; index < entries.length; index++) {
    const { tag, data } = entries[index];
    if (index > 0 && entries[index - 1].tag === tag) throw new KafkaEncodeError(`tag ${tag} is set twice`);
    writer.unsignedVarint(tag);
    writer.unsignedVarint(data.length);
    writer.bytes(data);
  }
}

/** Compiles the fields of a struct (or of a whole message body) for one version. */
export function compileStruct(fields: readonly FieldSchema[], shape: VersionShape): Codec<Struct> {
  const plans = fields.map((field) => planField(field, shape));
  const regular = plans.filter((plan) => plan.codec !== null && plan.tag === null);
  const tagged = plans.filter((plan) => plan.codec !== null && plan.tag !== null);
  const byTag = new Map(tagged.map((plan) => [plan.tag as number, plan]));
  return {
    read(reader) {
      const struct: Struct = {};
      for (const plan of plans) {
        if (plan.codec === null || plan.tag !== null) {
          struct[plan.name] = plan.makeDefault();
          continue;
        }
        try {
          struct[plan.name] = plan.codec.read(reader);
        } catch (error) {
          throw withPath(error, plan.name);
        }
      }
      if (shape.flexible) readTaggedFields(reader, struct, byTag);
      return struct;
    },
    write(writer, struct) {
      if (typeof struct !== "object" || struct === null)
        throw new KafkaEncodeError("a struct takes an object");
      for (const plan of regular) {
        const value = struct[plan.name];
        try {
          (plan.codec as Codec).write(writer, value === undefined ? plan.makeDefault() : value);
        } catch (error) {
          throw withPath(error, plan.name);
        }
      }
      if (shape.flexible) writeTaggedFields(writer, struct, tagged);
    },
  };
}
