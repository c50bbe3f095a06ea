// The timestamp transform, after Kafka's TimestampConverter: unix time (a number at some precision) to an
// ISO 8601 string in UTC and back, on a field of the value or key or on the whole of it. Without a date
// library the only string format is ISO 8601, which is what Kafka users mostly give as `format` anyway.

import { type Apply, editObject } from "./fields.js";
import type { OptionReader } from "./options.js";
import { targets, type UnixPrecision, unixPrecisions } from "./spec.js";

/** `format` values that mean ISO 8601 in UTC with ms: ours, and the SimpleDateFormat patterns that write it. */
export const isoFormats: readonly string[] = [
  "iso",
  "yyyy-MM-dd'T'HH:mm:ss.SSSX",
  "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
  "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
];

/** A date, or a date and time with an optional fraction and offset (no offset: UTC, as Kafka's default). */
const isoPattern = /^(\d{4}|[+-]\d{6})-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const offsetPattern = /(Z|[+-]\d{2}:?\d{2})$/;

/** A unit of each precision as a fraction of a ms, [numerator, denominator]: integers, so scaling is exact. */
const msPerUnit: Record<UnixPrecision, [number, number]> = {
  seconds: [1000, 1],
  milliseconds: [1, 1],
  microseconds: [1, 1000],
  nanoseconds: [1, 1_000_000],
};

/** ms since the epoch of an ISO 8601 string, or NaN. */
export function parseIso(text: string): number {
  if (!isoPattern.test(text)) return Number.NaN;
  const utc = text.includes("T") && !offsetPattern.test(text) ? `${text}Z` : text;
  return Date.parse(utc);
}

/** ms since the epoch of a unix number or an ISO string; throws for anything else. */
export function toMs(input: unknown, precision: UnixPrecision): number {
  if (typeof input === "number" && Number.isFinite(input)) {
    const [numerator, denominator] = msPerUnit[precision];
    return Math.floor((input * numerator) / denominator);
  }
  if (input instanceof Date) return input.getTime();
  if (typeof input === "string") {
    const ms = parseIso(input);
    if (Number.isNaN(ms)) throw new Error(`${JSON.stringify(input)} is not an ISO 8601 timestamp`);
    return ms;
  }
  throw new Error(`a timestamp must be a unix number or an ISO 8601 string, got ${JSON.stringify(input)}`);
}

export function fromMs(ms: number, to: "unix" | "string", precision: UnixPrecision): number | string {
  if (to === "string") return new Date(ms).toISOString();
  const [numerator, denominator] = msPerUnit[precision];
  return Math.floor((ms * denominator) / numerator);
}

export function buildTimestamp(options: OptionReader): Apply | undefined {
  const to = options.oneOf("to", ["unix", "string"] as const);
  const field = options.string("field", true);
  const precision = options.oneOf("unixPrecision", unixPrecisions, "milliseconds");
  const target = options.oneOf("target", targets, "value");
  const format = options.oneOf("format", isoFormats, "iso");
  if (to === undefined || precision === undefined || target === undefined || format === undefined)
    return undefined;
  const convert = (input: unknown): unknown =>
    input === null || input === undefined ? input : fromMs(toMs(input, precision), to, precision);
  if (field === undefined) {
    return (record) =>
      target === "key"
        ? { ...record, key: convert(record.key) }
        : { ...record, value: convert(record.value) };
  }
  return (record) =>
    editObject(record, target, (fields) =>
      Object.hasOwn(fields, field) ? { ...fields, [field]: convert(fields[field]) } : fields,
    );
}
