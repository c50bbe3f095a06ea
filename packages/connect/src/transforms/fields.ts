// The transforms that edit fields of an object value or key: insertField (Kafka's InsertField), dropField and
// rename (ReplaceField's exclude and renames). As Kafka's do without a schema, they pass a null (a tombstone)
// unchanged and refuse any other non-object; they copy, never mutate, the record they are given.

import type { OptionReader } from "./options.js";
import { isPlainObject } from "./predicates.js";
import {
  type ConnectRecord,
  type FieldSource,
  fieldSources,
  type Scalar,
  type Target,
  targets,
} from "./spec.js";

/** A transform as a function: the new record, or null to drop it. May throw; the chain names the transform. */
export type Apply = <R extends ConnectRecord>(record: R) => R | null;

function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "bytes";
  return `a ${typeof value}`;
}

function withOperand<R extends ConnectRecord>(record: R, target: Target, operand: unknown): R {
  return target === "key" ? { ...record, key: operand } : { ...record, value: operand };
}

/** Replaces the object at `target` by `edit(object)`; a null passes, anything else but an object throws. */
export function editObject<R extends ConnectRecord>(
  record: R,
  target: Target,
  edit: (fields: Record<string, unknown>) => Record<string, unknown>,
): R {
  const operand = record[target];
  if (operand === null || operand === undefined) return record;
  if (!isPlainObject(operand)) throw new Error(`the ${target} must be an object, got ${describe(operand)}`);
  return withOperand(record, target, edit(operand));
}

function sourceValue(record: ConnectRecord, from: FieldSource): Scalar {
  switch (from) {
    case "topic":
      return record.topic;
    case "partition":
      return record.partition ?? null;
    case "offset":
      if (record.offset === undefined) throw new Error("a record has an offset only in a sink connector");
      return record.offset;
    case "timestamp":
      return record.timestamp ?? null;
    default: {
      const unknown: never = from;
      throw new Error(`unhandled field source ${unknown}`);
    }
  }
}

export function buildInsertField(options: OptionReader): Apply | undefined {
  const field = options.string("field");
  const target = options.oneOf("target", targets, "value");
  const from = options.has("from") ? options.oneOf("from", fieldSources) : undefined;
  const staticValue = options.has("value") ? options.scalar("value") : undefined;
  if (options.has("from") && options.has("value"))
    return options.fail("value", "give a value or from, not both");
  if (!options.has("from") && !options.has("value")) return options.fail("value", "is required (or from)");
  if (field === undefined || target === undefined || (from === undefined && staticValue === undefined)) {
    return undefined;
  }
  return (record) =>
    editObject(record, target, (fields) => ({
      ...fields,
      [field]: from === undefined ? staticValue : sourceValue(record, from),
    }));
}

export function buildDropField(options: OptionReader): Apply | undefined {
  const fields = options.stringList("fields");
  const target = options.oneOf("target", targets, "value");
  if (fields === undefined || target === undefined) return undefined;
  const dropped = new Set(fields);
  return (record) =>
    editObject(record, target, (object) =>
      Object.fromEntries(Object.entries(object).filter(([name]) => !dropped.has(name))),
    );
}

export function buildRename(options: OptionReader): Apply | undefined {
  const renames = options.stringMap("renames");
  const target = options.oneOf("target", targets, "value");
  if (renames === undefined || target === undefined) return undefined;
  const renamed = new Map(Object.entries(renames));
  return (record) =>
    editObject(record, target, (object) =>
      Object.fromEntries(Object.entries(object).map(([name, value]) => [renamed.get(name) ?? name, value])),
    );
}
