// Reads a transform's (or predicate's) options from its spec, which may come from untyped YAML or JSON, and
// records one error per bad option under its config key (transforms.<name>.<option>), so building a chain
// reports every mistake at once.

import type { ConfigKeyError } from "../config/config-def.js";
import type { Scalar } from "./spec.js";

export type SpecFields = Readonly<Record<string, unknown>>;

export class OptionReader {
  constructor(
    private readonly fields: SpecFields,
    /** The config key of the spec itself, e.g. transforms.addSource. */
    readonly prefix: string,
    readonly errors: ConfigKeyError[],
  ) {}

  fail(option: string, message: string): undefined {
    this.errors.push({ key: `${this.prefix}.${option}`, message });
    return undefined;
  }

  has(option: string): boolean {
    return this.fields[option] !== undefined;
  }

  raw(option: string): unknown {
    return this.fields[option];
  }

  /** A non-empty string; required unless `optional`. */
  string(option: string, optional = false): string | undefined {
    const value = this.fields[option];
    if (value === undefined) return optional ? undefined : this.fail(option, "is required");
    if (typeof value !== "string" || value.length === 0) {
      return this.fail(option, `must be a non-empty string, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  /** One of `choices`; `fallback` when absent, required when there is none. */
  oneOf<T extends string>(option: string, choices: readonly T[], fallback?: T): T | undefined {
    const value = this.fields[option];
    if (value === undefined && fallback !== undefined) return fallback;
    const found = choices.find((choice) => choice === value);
    if (found !== undefined) return found;
    if (value === undefined) return this.fail(option, "is required");
    const expected = choices.map((choice) => JSON.stringify(choice)).join(", ");
    return this.fail(option, `must be one of ${expected}, got ${JSON.stringify(value)}`);
  }

  boolean(option: string): boolean {
    const value = this.fields[option];
    if (value === undefined || typeof value === "boolean") return value ?? false;
    this.fail(option, `must be true or false, got ${JSON.stringify(value)}`);
    return false;
  }

  scalar(option: string): Scalar | undefined {
    const value = this.fields[option];
    if (value === null || ["string", "number", "boolean"].includes(typeof value)) return value as Scalar;
    return this.fail(option, `must be a string, number, boolean or null, got ${JSON.stringify(value)}`);
  }

  /** A non-empty array of non-empty strings. */
  stringList(option: string): string[] | undefined {
    const value = this.fields[option];
    if (value === undefined) return this.fail(option, "is required");
    const isList = Array.isArray(value) && value.length > 0;
    if (!isList || !value.every((item) => typeof item === "string" && item.length > 0)) {
      return this.fail(option, `must be a non-empty list of field names, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  /** A non-empty object whose values are non-empty strings. */
  stringMap(option: string): Record<string, string> | undefined {
    const value = this.fields[option];
    if (value === undefined) return this.fail(option, "is required");
    const entries =
      typeof value === "object" && value !== null && !Array.isArray(value) ? Object.entries(value) : [];
    if (entries.length === 0 || !entries.every(([, to]) => typeof to === "string" && to.length > 0)) {
      return this.fail(option, `must map field names to new names, got ${JSON.stringify(value)}`);
    }
    return Object.fromEntries(entries) as Record<string, string>;
  }

  /** A regular expression anchored to match a whole string, as Java's Matcher.matches. */
  wholeMatch(option: string): RegExp | undefined {
    const source = this.string(option);
    if (source === undefined) return undefined;
    try {
      return new RegExp(`^(?:${source})$`);
    } catch (error) {
      return this.fail(
        option,
        `is not a regular expression: ${error instanceof Error ? error.message : error}`,
      );
    }
  }
}
