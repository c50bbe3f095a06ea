// A connector's transform chain: specs checked once, when the connector starts, into functions applied in
// order to every record. Building reports every bad option as a ConfigError under its config key; applying
// turns any failure into a TransformError naming the transform, for the runtime's errors.tolerance.

import type { ConfigKeyError } from "../config/config-def.js";
import { ConfigError } from "../config/validate.js";
import { type Apply, buildDropField, buildInsertField, buildRename } from "./fields.js";
import { OptionReader, type SpecFields } from "./options.js";
import { buildPredicate, isPlainObject, type Predicate } from "./predicates.js";
import {
  type ConnectRecord,
  TransformError,
  type TransformSpec,
  type TransformType,
  transformTypes,
} from "./spec.js";
import { buildTimestamp } from "./timestamp.js";

export interface Transform {
  readonly name: string;
  readonly type: TransformType;
  /** Whether the transform acts on a record: its predicate (negated if asked), or always. */
  readonly appliesTo: Predicate;
  readonly apply: Apply;
}

export type TransformChain = readonly Transform[];

const always: Predicate = () => true;
const drop: Apply = () => null;

function buildRoute(options: OptionReader): Apply | undefined {
  const regex = options.wholeMatch("regex");
  const replacement = options.string("replacement");
  if (regex === undefined || replacement === undefined) return undefined;
  return (record) =>
    regex.test(record.topic) ? { ...record, topic: record.topic.replace(regex, replacement) } : record;
}

function buildApply(type: TransformType, options: OptionReader): Apply | undefined {
  switch (type) {
    case "insertField":
      return buildInsertField(options);
    case "dropField":
      return buildDropField(options);
    case "rename":
      return buildRename(options);
    case "filter":
      return drop;
    case "route":
      return buildRoute(options);
    case "timestamp":
      return buildTimestamp(options);
    default: {
      const unknown: never = type;
      throw new Error(`unhandled transform type ${unknown}`);
    }
  }
}

function buildCondition(options: OptionReader): Predicate | undefined {
  const negate = options.boolean("negate");
  if (!options.has("predicate")) return negate ? options.fail("negate", "needs a predicate") : always;
  const predicate = buildPredicate(options.raw("predicate"), `${options.prefix}.predicate`, options.errors);
  return predicate && (negate ? (record) => !predicate(record) : predicate);
}

function buildOne(spec: SpecFields, name: string, errors: ConfigKeyError[]): Transform | undefined {
  const options = new OptionReader(spec, `transforms.${name}`, errors);
  const type = options.oneOf("type", transformTypes);
  const appliesTo = buildCondition(options);
  const apply = type && buildApply(type, options);
  return type && appliesTo && apply && { name, type, appliesTo, apply };
}

/**
 * The chain for a list of specs (in order). Throws a ConfigError naming every bad option by its config key,
 * transforms.<name>.<option>; a spec without a name is named by its place in the list.
 */
export function buildTransforms(specs: readonly TransformSpec[]): TransformChain {
  const errors: ConfigKeyError[] = [];
  const chain: Transform[] = [];
  specs.forEach((spec: unknown, index) => {
    if (!isPlainObject(spec)) {
      errors.push({
        key: `transforms.${index}`,
        message: `must be an object with a type, got ${JSON.stringify(spec)}`,
      });
      return;
    }
    const name = typeof spec.name === "string" && spec.name.length > 0 ? spec.name : String(index);
    const transform = buildOne(spec, name, errors);
    if (transform) chain.push(transform);
  });
  if (errors.length > 0) throw new ConfigError(errors);
  return chain;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs a record through the chain: the transformed record (of the same shape: other fields are kept), or null
 * when a transform dropped it. Throws TransformError when a transform fails.
 */
export function applyTransforms<R extends ConnectRecord>(chain: TransformChain, record: R): R | null {
  let current = record;
  for (const transform of chain) {
    let next: R | null;
    try {
      next = transform.appliesTo(current) ? transform.apply(current) : current;
    } catch (error) {
      throw new TransformError(transform.name, transform.type, reason(error), { cause: error });
    }
    if (next === null) return null;
    current = next;
  }
  return current;
}
