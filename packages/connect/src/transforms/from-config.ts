// Transform specs from a connector's flat config, Kafka Connect's form:
//
//   transforms=addSource,toArchive
//   transforms.addSource.type=insertField        (or org.apache.kafka.connect.transforms.InsertField$Value)
//   transforms.addSource.field=source
//   transforms.addSource.value=db1
//   transforms.toArchive.type=route
//   transforms.toArchive.regex=(.*)-live
//   transforms.toArchive.replacement=$1-archive
//
// With a short type, transforms.<name>.<option> are the spec's own options (spec.ts): `fields` is a comma-
// separated list, `renames` is `from:to,from2:to2` (as ReplaceField's), everything else a string. Kafka's
// class names work with Kafka's option names: InsertField$Value/$Key (static.field + static.value,
// topic.field, partition.field, offset.field, timestamp.field: one insertField each), ReplaceField$Value/$Key
// (exclude, renames; include is not supported), RegexRouter, TimestampConverter$Value/$Key (field,
// target.type unix or string, format, unix.precision), Filter.
//
// Predicates, as Kafka's: `predicates=isLog`, `predicates.isLog.type=topicMatches` (or TopicNameMatches),
// `predicates.isLog.pattern=log-.*`, then `transforms.<name>.predicate=isLog` and optionally
// `transforms.<name>.negate=true` on any transform. A filter may also name a predicate type directly and
// give its options beside its own: `transforms.f.type=filter`, `transforms.f.predicate=topicMatches`,
// `transforms.f.pattern=tmp-.*` (a name listed in `predicates` wins). Predicate types: topicMatches
// (pattern), hasHeader (name), fieldEquals (field, value, target), isTombstone; Kafka's TopicNameMatches,
// HasHeaderKey and RecordIsTombstone too.
//
// Option values are checked by buildTransforms; this only reads the form, and throws ConfigError naming every
// key it cannot read.

import type { ConfigKeyError, RawConfig } from "../config/config-def.js";
import { parseBoolean, parseList } from "../config/parse-value.js";
import { ConfigError } from "../config/validate.js";
import {
  type PredicateSpec,
  type PredicateType,
  predicateTypes,
  type Target,
  type TransformSpec,
  type TransformType,
  transformTypes,
} from "./spec.js";

const kafkaTransforms = "org.apache.kafka.connect.transforms.";
const kafkaPredicates = "org.apache.kafka.connect.transforms.predicates.";

const kafkaPredicateTypes: Record<string, PredicateType> = {
  TopicNameMatches: "topicMatches",
  HasHeaderKey: "hasHeader",
  RecordIsTombstone: "isTombstone",
};

type Keys = Record<string, string>;
type Fields = Record<string, unknown>;

/** The keys under `prefix.`, with the prefix taken off. */
function keysUnder(raw: RawConfig, prefix: string): Keys {
  const keys: Keys = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith(`${prefix}.`)) keys[key.slice(prefix.length + 1)] = value;
  }
  return keys;
}

function withoutPackage(className: string, packageName: string): string {
  const trimmed = className.trim();
  return trimmed.startsWith(packageName) ? trimmed.slice(packageName.length) : trimmed;
}

/** ReplaceField's renames: `from:to,from2:to2`. */
function parseRenames(text: string, key: string, errors: ConfigKeyError[]): Record<string, string> {
  const renames: Record<string, string> = {};
  for (const pair of parseList(text)) {
    const [from, to, ...rest] = pair.split(":").map((part) => part.trim());
    if (!from || !to || rest.length > 0) errors.push({ key, message: `"${pair}" is not from:to` });
    else renames[from] = to;
  }
  return renames;
}

/** A short-form spec: the keys as options, lists and renames parsed. */
function shortForm(type: TransformType, keys: Keys, at: string, errors: ConfigKeyError[]): Fields {
  // A filter has no options of its own: the keys beside its type are an inline predicate's.
  if (type === "filter") return { type };
  const fields: Fields = {};
  for (const [option, value] of Object.entries(keys)) {
    if (option === "fields") fields.fields = parseList(value);
    else if (option === "renames") fields.renames = parseRenames(value, `${at}.renames`, errors);
    else if (option !== "predicate" && option !== "negate") fields[option] = value;
  }
  return { ...fields, type };
}

/** Kafka's field names may end in ! (required) or ? (optional), which mean nothing without a schema. */
function kafkaFieldName(name: string): string {
  return name.trim().replace(/[!?]$/, "");
}

function kafkaInsertField(keys: Keys, target: Target, at: string, errors: ConfigKeyError[]): Fields[] {
  const specs: Fields[] = [];
  if (keys["static.field"] !== undefined) {
    if (keys["static.value"] === undefined)
      errors.push({ key: `${at}.static.value`, message: "is required" });
    specs.push({ field: kafkaFieldName(keys["static.field"]), value: keys["static.value"] });
  }
  for (const from of ["topic", "partition", "offset", "timestamp"]) {
    const field = keys[`${from}.field`];
    if (field !== undefined) specs.push({ field: kafkaFieldName(field), from });
  }
  if (specs.length === 0) {
    errors.push({ key: at, message: "InsertField needs static.field, topic.field, partition.field, ..." });
  }
  return specs.map((spec) => ({ type: "insertField", target, ...spec }));
}

function kafkaReplaceField(keys: Keys, target: Target, at: string, errors: ConfigKeyError[]): Fields[] {
  const include = keys.include ?? keys.whitelist;
  if (include !== undefined) errors.push({ key: `${at}.include`, message: "is not supported; use exclude" });
  const specs: Fields[] = [];
  const exclude = keys.exclude ?? keys.blacklist;
  if (exclude !== undefined && parseList(exclude).length > 0) {
    specs.push({ type: "dropField", fields: parseList(exclude), target });
  }
  if (keys.renames !== undefined && parseList(keys.renames).length > 0) {
    specs.push({ type: "rename", renames: parseRenames(keys.renames, `${at}.renames`, errors), target });
  }
  return specs;
}

function kafkaTimestampConverter(keys: Keys, target: Target, at: string, errors: ConfigKeyError[]): Fields[] {
  const to = keys["target.type"]?.trim();
  if (to !== "unix" && to !== "string") {
    errors.push({
      key: `${at}.target.type`,
      message: `must be unix or string, got ${JSON.stringify(to ?? null)}`,
    });
  }
  const field = keys.field?.trim();
  const spec: Fields = { type: "timestamp", to, target, field: field ? field : undefined };
  if (keys.format !== undefined) spec.format = keys.format;
  if (keys["unix.precision"] !== undefined) spec.unixPrecision = keys["unix.precision"].trim();
  return [spec];
}

/** The specs a Kafka transform class stands for, or undefined for a class we do not know. */
function kafkaForm(
  className: string,
  keys: Keys,
  at: string,
  errors: ConfigKeyError[],
): Fields[] | undefined {
  const [name, variant] = withoutPackage(className, kafkaTransforms).split("$");
  const target: Target | undefined = variant === "Key" ? "key" : variant === "Value" ? "value" : undefined;
  if (target !== undefined && name === "InsertField") return kafkaInsertField(keys, target, at, errors);
  if (target !== undefined && name === "ReplaceField") return kafkaReplaceField(keys, target, at, errors);
  if (target !== undefined && name === "TimestampConverter")
    return kafkaTimestampConverter(keys, target, at, errors);
  if (variant === undefined && name === "RegexRouter") {
    return [{ type: "route", regex: keys.regex, replacement: keys.replacement }];
  }
  if (variant === undefined && name === "Filter") return [{ type: "filter" }];
  return undefined;
}

function predicateType(text: string): PredicateType | undefined {
  const name = withoutPackage(text, kafkaPredicates);
  return predicateTypes.find((type) => type === name) ?? kafkaPredicateTypes[name];
}

/** A predicate spec of a type and the options beside it. */
function predicateOf(type: PredicateType, keys: Keys): PredicateSpec {
  const fields: Fields = {};
  for (const [option, value] of Object.entries(keys)) {
    if (!["type", "predicate", "negate"].includes(option)) fields[option] = value;
  }
  return { ...fields, type } as PredicateSpec;
}

interface Reading {
  raw: RawConfig;
  predicateNames: Set<string>;
  errors: ConfigKeyError[];
}

function namedPredicate(name: string, reading: Reading): PredicateSpec | undefined {
  const keys = keysUnder(reading.raw, `predicates.${name}`);
  const type = keys.type === undefined ? undefined : predicateType(keys.type);
  if (type !== undefined) return predicateOf(type, keys);
  const message =
    keys.type === undefined ? "is required" : `names no predicate type: ${JSON.stringify(keys.type)}`;
  reading.errors.push({ key: `predicates.${name}.type`, message });
  return undefined;
}

/** A transform's predicate and negate, from its keys. */
function conditionOf(keys: Keys, at: string, isFilter: boolean, reading: Reading): Fields {
  const condition: Fields = {};
  if (keys.negate !== undefined) {
    condition.negate = parseBoolean(keys.negate);
    if (condition.negate === undefined) {
      reading.errors.push({
        key: `${at}.negate`,
        message: `must be true or false, got ${JSON.stringify(keys.negate)}`,
      });
    }
  }
  const reference = keys.predicate?.trim();
  if (reference === undefined) return condition;
  const inlineType = isFilter ? predicateType(reference) : undefined;
  if (reading.predicateNames.has(reference)) condition.predicate = namedPredicate(reference, reading);
  else if (inlineType !== undefined) condition.predicate = predicateOf(inlineType, keys);
  else {
    const message = `names no predicate listed in "predicates"${isFilter ? " nor a predicate type" : ""}`;
    reading.errors.push({ key: `${at}.predicate`, message: `${message}: ${JSON.stringify(reference)}` });
  }
  return condition;
}

function specsOf(name: string, reading: Reading): Fields[] {
  const at = `transforms.${name}`;
  const keys = keysUnder(reading.raw, at);
  if (keys.type === undefined) {
    reading.errors.push({ key: `${at}.type`, message: "is required" });
    return [];
  }
  const shortType = transformTypes.find((type) => type === keys.type.trim());
  const specs = shortType
    ? [shortForm(shortType, keys, at, reading.errors)]
    : kafkaForm(keys.type, keys, at, reading.errors);
  if (specs === undefined) {
    const message = `must be one of ${transformTypes.join(", ")} or a Kafka transform class, got ${JSON.stringify(keys.type)}`;
    reading.errors.push({ key: `${at}.type`, message });
    return [];
  }
  const condition = conditionOf(keys, at, specs.length > 0 && specs[0].type === "filter", reading);
  return specs.map((spec) => ({ ...spec, ...condition, name }));
}

/**
 * The transform specs of a connector's flat config (`transforms=a,b` and `transforms.a.*`, see above), in
 * order; none without `transforms`. Build the chain with buildTransforms, which checks the options.
 */
export function transformsFromConfig(raw: RawConfig): TransformSpec[] {
  const reading: Reading = { raw, predicateNames: new Set(parseList(raw.predicates ?? "")), errors: [] };
  const names = parseList(raw.transforms ?? "");
  const repeated = names.filter((name, index) => names.indexOf(name) !== index);
  if (repeated.length > 0)
    reading.errors.push({ key: "transforms", message: `names ${repeated.join(", ")} twice` });
  const specs = [...new Set(names)].flatMap((name) => specsOf(name, reading));
  if (reading.errors.length > 0) throw new ConfigError(reading.errors);
  return specs as unknown as TransformSpec[];
}
