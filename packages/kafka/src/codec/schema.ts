// The shape of Brook's Kafka message schemas (packages/kafka/schema/*.yaml, described in
// docs/kafka-protocol.md) and the one function that checks a parsed file and normalises it.
// The generator runs it at build time; the codec reads only the normalised result.

/** An inclusive range of versions; `max` is VERSION_MAX for an open range such as "3+". */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

/** Versions are int16 on the wire. */
export const VERSION_MAX = 0x7fff;

export const PRIMITIVE_TYPES = [
  "int8",
  "int16",
  "int32",
  "int64",
  "uint16",
  "uint32",
  "varint",
  "varlong",
  "float64",
  "bool",
  "uuid",
  "string",
  "bytes",
  "records",
] as const;
export type PrimitiveType = (typeof PRIMITIVE_TYPES)[number];

/** A field's value when the wire does not carry it: a JSON scalar; int64 defaults become bigint. */
export type DefaultValue = string | number | boolean | null;

export interface FieldSchema {
  readonly name: string;
  /** A primitive type or a struct name (capitalised), either followed by `[]` for an array. */
  readonly type: string;
  readonly versions: VersionRange;
  readonly nullableVersions: VersionRange | null;
  /** Set for a tagged field (KIP-482): tagged in every version it exists in, all of them flexible. */
  readonly tag: number | null;
  readonly default?: DefaultValue;
  readonly about?: string;
  /** The fields of a struct type. */
  readonly fields?: readonly FieldSchema[];
}

export interface ApiSchema {
  readonly name: string;
  readonly apiKey: number;
  readonly versions: VersionRange;
  readonly flexibleVersions: VersionRange | null;
  /** Set when the response header version does not follow flexibility (ApiVersions: always 0, KIP-511). */
  readonly responseHeaderVersion: number | null;
  readonly request: readonly FieldSchema[];
  readonly response: readonly FieldSchema[];
}

export function inRange(range: VersionRange | null, version: number): boolean {
  return range !== null && version >= range.min && version <= range.max;
}

export function isArrayType(type: string): boolean {
  return type.endsWith("[]");
}

export function elementType(type: string): string {
  return type.slice(0, -2);
}

export function isStructType(type: string): boolean {
  return /^[A-Z]/.test(type);
}

/** A schema file that breaks the format; the message names the file and the field. */
export class SchemaError extends Error {
  constructor(where: string, detail: string) {
    super(`${where}: ${detail}`);
    this.name = "SchemaError";
  }
}

const VERSION_RANGE_PATTERN = /^(\d+)(\+|-(\d+))?$/;

/** Parses "none", "5", "3+" or "0-7". */
export function parseVersionRange(text: unknown, where: string): VersionRange | null {
  const spec = String(text);
  if (spec === "none") return null;
  const match = VERSION_RANGE_PATTERN.exec(spec);
  if (!match) throw new SchemaError(where, `"${spec}" is not a version range (none, 5, 3+ or 0-7)`);
  const min = Number(match[1]);
  const max = match[2] === "+" ? VERSION_MAX : match[3] !== undefined ? Number(match[3]) : min;
  if (max < min || max > VERSION_MAX) throw new SchemaError(where, `"${spec}" is an empty or too wide range`);
  return { min, max };
}

function intersect(a: VersionRange, b: VersionRange): VersionRange | null {
  const min = Math.max(a.min, b.min);
  const max = Math.min(a.max, b.max);
  return min <= max ? { min, max } : null;
}

function within(inner: VersionRange, outer: VersionRange | null): boolean {
  return outer !== null && inner.min >= outer.min && inner.max <= outer.max;
}

interface ParseContext {
  readonly file: string;
  readonly versions: VersionRange;
  readonly flexibleVersions: VersionRange | null;
  readonly structNames: Set<string>;
}

/** Decoded structs keep tags the schema does not know under this name. */
const RESERVED_FIELD_NAME = "unknownTaggedFields";
const FIELD_KEYS = new Set(["type", "versions", "nullable", "tag", "default", "about", "fields"]);
const FILE_KEYS = new Set(["api", "key", "versions", "flexible", "responseHeader", "request", "response"]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One entry of a field list: `- name: type` or `- name: {type: ..., versions: ...}`. */
function fieldEntry(entry: unknown, where: string): [string, Record<string, unknown>] {
  if (!isPlainObject(entry) || Object.keys(entry).length !== 1) {
    throw new SchemaError(where, "each field is a one-key map: `- name: type` or `- name: {type: ...}`");
  }
  const [name, spec] = Object.entries(entry)[0];
  if (!/^[a-z][A-Za-z0-9]*$/.test(name))
    throw new SchemaError(where, `field name "${name}" is not camelCase`);
  if (name === RESERVED_FIELD_NAME)
    throw new SchemaError(where, `${name} is where decoding keeps unknown tags`);
  if (typeof spec === "string") return [name, { type: spec }];
  if (!isPlainObject(spec)) throw new SchemaError(`${where}.${name}`, "expected a type or a map");
  for (const key of Object.keys(spec)) {
    if (!FIELD_KEYS.has(key)) throw new SchemaError(`${where}.${name}`, `unknown key "${key}"`);
  }
  return [name, spec];
}

function checkType(type: unknown, hasFields: boolean, where: string): string {
  if (typeof type !== "string") throw new SchemaError(where, "every field needs a type");
  const base = isArrayType(type) ? elementType(type) : type;
  if (isStructType(base)) {
    if (!/^[A-Z][A-Za-z0-9]*$/.test(base))
      throw new SchemaError(where, `struct name "${base}" is not PascalCase`);
    if (!hasFields) throw new SchemaError(where, `struct type ${base} needs fields`);
  } else {
    if (!(PRIMITIVE_TYPES as readonly string[]).includes(base)) {
      throw new SchemaError(where, `unknown type "${base}"`);
    }
    if (hasFields) throw new SchemaError(where, `a ${base} has no fields`);
    if (isArrayType(type) && base === "records") throw new SchemaError(where, "records cannot form an array");
  }
  return type;
}

function parseNullable(spec: unknown, versions: VersionRange, type: string, where: string) {
  if (spec === undefined || spec === false) return null;
  if (!isArrayType(type) && isStructType(type)) throw new SchemaError(where, "a struct cannot be nullable");
  const base = isArrayType(type) ? "array" : type;
  if (!["string", "bytes", "records", "array"].includes(base)) {
    throw new SchemaError(where, `a ${type} cannot be null`);
  }
  if (spec === true) return versions;
  const range = parseVersionRange(spec, where);
  const clipped = range === null ? null : intersect(range, versions);
  if (clipped === null) throw new SchemaError(where, "nullable names no version the field exists in");
  return clipped;
}

function parseTag(spec: unknown, versions: VersionRange, context: ParseContext, where: string) {
  if (spec === undefined) return null;
  if (!Number.isInteger(spec) || (spec as number) < 0)
    throw new SchemaError(where, "a tag is a whole number");
  if (!within(versions, context.flexibleVersions)) {
    throw new SchemaError(where, "a tagged field may exist only in flexible versions");
  }
  return spec as number;
}

function parseDefault(spec: unknown, where: string): DefaultValue | undefined {
  if (spec === undefined) return undefined;
  if (spec === null || ["string", "number", "boolean"].includes(typeof spec)) return spec as DefaultValue;
  throw new SchemaError(where, "a default is a number, string, boolean or null");
}

function parseField(entry: unknown, context: ParseContext, parent: string): FieldSchema | null {
  const [name, spec] = fieldEntry(entry, parent);
  const where = `${context.file}: ${parent}.${name}`;
  const declared = spec.versions === undefined ? context.versions : parseVersionRange(spec.versions, where);
  const versions = declared === null ? null : intersect(declared, context.versions);
  // A field from versions the file does not describe (say v0 of Produce) is left out entirely.
  if (versions === null) return null;
  const type = checkType(spec.type, spec.fields !== undefined, where);
  const field: FieldSchema = {
    name,
    type,
    versions,
    nullableVersions: parseNullable(spec.nullable, versions, type, where),
    tag: parseTag(spec.tag, versions, context, where),
    ...(spec.default !== undefined && { default: parseDefault(spec.default, where) }),
    ...(typeof spec.about === "string" && { about: spec.about }),
  };
  if (spec.fields === undefined) return field;
  const structName = isArrayType(type) ? elementType(type) : type;
  if (context.structNames.has(structName))
    throw new SchemaError(where, `struct ${structName} is named twice`);
  context.structNames.add(structName);
  return { ...field, fields: parseFields(spec.fields, context, `${parent}.${name}`) };
}

function parseFields(list: unknown, context: ParseContext, parent: string): FieldSchema[] {
  if (!Array.isArray(list)) throw new SchemaError(`${context.file}: ${parent}`, "expected a list of fields");
  const fields = list
    .map((entry) => parseField(entry, context, parent))
    .filter((field): field is FieldSchema => field !== null);
  checkUnique(
    fields.map((field) => field.name),
    `${context.file}: ${parent}`,
    "field",
  );
  checkUnique(
    fields.filter((field) => field.tag !== null).map((field) => String(field.tag)),
    `${context.file}: ${parent}`,
    "tag",
  );
  return fields;
}

function checkUnique(values: string[], where: string, what: string): void {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) throw new SchemaError(where, `${what} ${value} appears twice`);
    seen.add(value);
  }
}

/** Checks one parsed schema file and returns its normalised form; throws SchemaError naming the fault. */
export function parseApiSchema(document: unknown, file: string): ApiSchema {
  if (!isPlainObject(document)) throw new SchemaError(file, "expected a map at the top");
  for (const key of Object.keys(document)) {
    if (!FILE_KEYS.has(key)) throw new SchemaError(file, `unknown key "${key}"`);
  }
  const { api, key } = document;
  if (typeof api !== "string" || !/^[A-Z][A-Za-z]*$/.test(api))
    throw new SchemaError(file, "api: a PascalCase name");
  if (!Number.isInteger(key) || (key as number) < 0)
    throw new SchemaError(file, "key: the api key, a whole number");
  const versions = parseVersionRange(document.versions, `${file}: versions`);
  if (versions === null) throw new SchemaError(file, "versions: at least one version");
  const flexibleVersions = parseVersionRange(document.flexible ?? "none", `${file}: flexible`);
  const header = document.responseHeader;
  if (header !== undefined && header !== 0 && header !== 1)
    throw new SchemaError(file, "responseHeader: 0 or 1");
  const base = { file, versions, flexibleVersions };
  return {
    name: api,
    apiKey: key as number,
    versions,
    flexibleVersions,
    responseHeaderVersion: (header as number | undefined) ?? null,
    request: parseFields(document.request ?? [], { ...base, structNames: new Set() }, "request"),
    response: parseFields(document.response ?? [], { ...base, structNames: new Set() }, "response"),
  };
}
