// Predicates decide which records a transform applies to (Kafka's transforms.<name>.predicate) and which a
// filter drops. Each is built once from its spec, options checked, into a pure function of the record.

import { OptionReader, type SpecFields } from "./options.js";
import { type ConnectRecord, type PredicateType, predicateTypes, type Scalar, targets } from "./spec.js";

export type Predicate = (record: ConnectRecord) => boolean;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

/** Equal, or (flat configs having only strings) a number or boolean that prints as the string expected. */
export function scalarEquals(actual: unknown, expected: Scalar): boolean {
  if (actual === expected) return true;
  const printable = typeof actual === "number" || typeof actual === "boolean";
  return typeof expected === "string" && printable && String(actual) === expected;
}

function build(type: PredicateType, options: OptionReader): Predicate | undefined {
  switch (type) {
    case "topicMatches": {
      const pattern = options.wholeMatch("pattern");
      return pattern && ((record) => pattern.test(record.topic));
    }
    case "hasHeader": {
      const name = options.string("name");
      return name === undefined ? undefined : (record) => Object.hasOwn(record.headers, name);
    }
    case "fieldEquals": {
      const field = options.string("field");
      const expected = options.scalar("value");
      const target = options.oneOf("target", targets, "value");
      if (field === undefined || expected === undefined || target === undefined) return undefined;
      return (record) => {
        const operand = record[target];
        return (
          isPlainObject(operand) && Object.hasOwn(operand, field) && scalarEquals(operand[field], expected)
        );
      };
    }
    case "isTombstone":
      return (record) => record.value === null || record.value === undefined;
    default: {
      const unknown: never = type;
      throw new Error(`unhandled predicate type ${unknown}`);
    }
  }
}

/** The predicate a spec describes, or undefined after recording its errors under `prefix`. */
export function buildPredicate(
  spec: unknown,
  prefix: string,
  errors: OptionReader["errors"],
): Predicate | undefined {
  if (!isPlainObject(spec)) {
    errors.push({
      key: prefix,
      message: `must be a predicate object with a type, got ${JSON.stringify(spec)}`,
    });
    return undefined;
  }
  const options = new OptionReader(spec as SpecFields, prefix, errors);
  const type = options.oneOf("type", predicateTypes);
  return type === undefined ? undefined : build(type, options);
}
