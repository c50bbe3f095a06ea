// Single message transforms as data: what a transform or a predicate is, as a plain object with a `type`
// (the short names below, after Kafka's InsertField, ReplaceField, Filter, RegexRouter, TimestampConverter
// and predicates). Specs come from code or from a connector's flat config (from-config.ts); chain.ts checks
// them and turns them into functions over records.

import type { Headers } from "../api.js";

/** A record as transforms see it: a source record before the converters, a sink record after them. */
export interface ConnectRecord {
  topic: string;
  partition?: number;
  /** Sink records only: the record's offset in its Brook partition. */
  offset?: number;
  key: unknown;
  value: unknown;
  headers: Headers;
  /** ms since the epoch. */
  timestamp?: number;
}

/** Which side of a record a transform works on, as Kafka's $Key and $Value variants. */
export type Target = "value" | "key";
export const targets: readonly Target[] = ["value", "key"];

/** Where insertField takes its value from (Kafka's topic.field, partition.field, offset.field, timestamp.field). */
export type FieldSource = "topic" | "partition" | "offset" | "timestamp";
export const fieldSources: readonly FieldSource[] = ["topic", "partition", "offset", "timestamp"];

/** What a unix timestamp counts (Kafka's unix.precision). */
export type UnixPrecision = "seconds" | "milliseconds" | "microseconds" | "nanoseconds";
export const unixPrecisions: readonly UnixPrecision[] = [
  "seconds",
  "milliseconds",
  "microseconds",
  "nanoseconds",
];

/** A JSON scalar, as a static field value or a value compared with. */
export type Scalar = string | number | boolean | null;

/** Holds when the topic matches `pattern` entirely (Kafka's TopicNameMatches). */
export interface TopicMatchesSpec {
  type: "topicMatches";
  pattern: string;
}

/** Holds when the record has a header `name` (Kafka's HasHeaderKey). */
export interface HasHeaderSpec {
  type: "hasHeader";
  name: string;
}

/**
 * Holds when the top-level `field` of the value (or key) equals `value`; a string `value` also equals a
 * number or boolean field that prints as it (flat configs only have strings).
 */
export interface FieldEqualsSpec {
  type: "fieldEquals";
  field: string;
  value: Scalar;
  target?: Target;
}

/** Holds when the value is null (Kafka's RecordIsTombstone). */
export interface IsTombstoneSpec {
  type: "isTombstone";
}

export type PredicateSpec = TopicMatchesSpec | HasHeaderSpec | FieldEqualsSpec | IsTombstoneSpec;
export type PredicateType = PredicateSpec["type"];
export const predicateTypes: readonly PredicateType[] = [
  "topicMatches",
  "hasHeader",
  "fieldEquals",
  "isTombstone",
];

/**
 * What every transform may have. `name` names it in errors (its alias in a flat config; its place in the
 * chain when omitted). With a predicate, a transform applies only to records it holds for (or, with
 * `negate`, does not hold for), as Kafka's transforms.<name>.predicate and negate.
 */
interface TransformBase {
  name?: string;
  predicate?: PredicateSpec;
  negate?: boolean;
}

/**
 * Adds `field` to an object value (or key): a static `value`, or the record's topic, partition, offset or
 * timestamp (`from`). Exactly one of the two. A null passes unchanged; any other non-object is an error.
 */
export interface InsertFieldSpec extends TransformBase {
  type: "insertField";
  field: string;
  value?: Scalar;
  from?: FieldSource;
  target?: Target;
}

/** Removes `fields` from an object value (or key) (ReplaceField's exclude). */
export interface DropFieldSpec extends TransformBase {
  type: "dropField";
  fields: string[];
  target?: Target;
}

/** Renames fields of an object value (or key), from → to (ReplaceField's renames). */
export interface RenameSpec extends TransformBase {
  type: "rename";
  renames: Record<string, string>;
  target?: Target;
}

/** Drops the records its predicate holds for, or every record without one (Kafka's Filter). */
export interface FilterSpec extends TransformBase {
  type: "filter";
}

/**
 * When `regex` matches the whole topic, the topic becomes topic.replace(regex, replacement), $1 naming a
 * group (Kafka's RegexRouter).
 */
export interface RouteSpec extends TransformBase {
  type: "route";
  regex: string;
  replacement: string;
}

/**
 * Converts a timestamp between unix time (a number at `unixPrecision`, ms by default) and an ISO 8601
 * string (Kafka's TimestampConverter with target.type unix or string). It converts the value's (or key's)
 * `field`, or the whole value (or key) when `field` is omitted, as Kafka's does. `format` may only name ISO
 * 8601 ("iso", or the SimpleDateFormat patterns that write it): no date library, no other patterns.
 */
export interface TimestampSpec extends TransformBase {
  type: "timestamp";
  to: "unix" | "string";
  field?: string;
  format?: string;
  unixPrecision?: UnixPrecision;
  target?: Target;
}

export type TransformSpec =
  | InsertFieldSpec
  | DropFieldSpec
  | RenameSpec
  | FilterSpec
  | RouteSpec
  | TimestampSpec;
export type TransformType = TransformSpec["type"];
export const transformTypes: readonly TransformType[] = [
  "insertField",
  "dropField",
  "rename",
  "filter",
  "route",
  "timestamp",
];

/**
 * A transform failed on a record (a non-object where fields are needed, a timestamp that does not parse).
 * The runtime applies errors.tolerance to it.
 */
export class TransformError extends Error {
  override readonly name = "TransformError";

  constructor(
    /** The transform's name: its alias in the config. */
    readonly transform: string,
    readonly transformType: TransformType,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`transform "${transform}" (${transformType}): ${detail}`, options);
  }
}
