// Single message transforms behave as Kafka's (InsertField, ReplaceField, Filter with predicates,
// RegexRouter, TimestampConverter) on schemaless data, are checked when the chain is built with errors under
// their config keys, fail records with a TransformError naming the transform, and read Kafka's flat config.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/config/validate.js";
import {
  applyTransforms,
  buildTransforms,
  type ConnectRecord,
  TransformError,
  type TransformSpec,
  type TransformType,
  transformsFromConfig,
} from "../src/transforms/index.js";

function record(overrides: Partial<ConnectRecord> = {}): ConnectRecord {
  return {
    topic: "orders",
    partition: 2,
    key: { id: 7 },
    value: { id: 7, amount: 12, status: "paid" },
    headers: { trace: "abc" },
    timestamp: 1_704_164_645_123,
    ...overrides,
  };
}

function run(specs: TransformSpec[], input: ConnectRecord = record()): ConnectRecord | null {
  return applyTransforms(buildTransforms(specs), input);
}

function configErrorOf(build: () => unknown): ConfigError {
  try {
    build();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

function transformErrorOf(apply: () => unknown): TransformError {
  try {
    apply();
  } catch (error) {
    if (error instanceof TransformError) return error;
    throw error;
  }
  throw new Error("expected a TransformError");
}

describe("the chain", () => {
  it("of zero transforms is the identity (property)", () => {
    const anyRecord = fc.record({
      topic: fc.string(),
      key: fc.jsonValue(),
      value: fc.jsonValue(),
      headers: fc.dictionary(fc.string(), fc.string()),
    });
    fc.assert(
      fc.property(anyRecord, (input) => {
        expect(applyTransforms(buildTransforms([]), input)).toBe(input);
      }),
    );
  });

  it("applies transforms in order and stops at the first that drops the record", () => {
    const specs: TransformSpec[] = [
      { type: "rename", renames: { amount: "total" } },
      { type: "insertField", field: "total", value: "overwritten" },
    ];
    expect(run(specs)?.value).toEqual({ id: 7, total: "overwritten", status: "paid" });
    expect(run([{ type: "filter" }, { type: "insertField", field: "x", value: 1 }])).toBeNull();
  });

  it("keeps the record's other fields and never mutates its input", () => {
    const input = { ...record(), offset: 41 };
    const frozen = structuredClone(input);
    const output = applyTransforms(buildTransforms([{ type: "dropField", fields: ["status"] }]), input);
    expect(output).toMatchObject({ offset: 41, partition: 2, headers: { trace: "abc" } });
    expect(input).toEqual(frozen);
  });

  it("builds every transform type (a new type needs a sample here)", () => {
    const samples: Record<TransformType, TransformSpec> = {
      insertField: { type: "insertField", field: "f", value: "v" },
      dropField: { type: "dropField", fields: ["f"] },
      rename: { type: "rename", renames: { a: "b" } },
      filter: { type: "filter" },
      route: { type: "route", regex: "x", replacement: "y" },
      timestamp: { type: "timestamp", to: "unix" },
    };
    expect(buildTransforms(Object.values(samples)).map((transform) => transform.type)).toEqual(
      Object.keys(samples),
    );
  });
});

describe("insertField", () => {
  it("adds a static value or the record's topic, partition, offset or timestamp", () => {
    const output = run([
      { type: "insertField", field: "source", value: "db1" },
      { type: "insertField", field: "topic", from: "topic" },
      { type: "insertField", field: "partition", from: "partition" },
      { type: "insertField", field: "ts", from: "timestamp" },
    ]);
    expect(output?.value).toMatchObject({
      source: "db1",
      topic: "orders",
      partition: 2,
      ts: 1_704_164_645_123,
    });
    const sink = applyTransforms(buildTransforms([{ type: "insertField", field: "at", from: "offset" }]), {
      ...record(),
      offset: 99,
    });
    expect(sink?.value).toMatchObject({ at: 99 });
  });

  it("works on the key with target key, and passes a tombstone", () => {
    expect(run([{ type: "insertField", field: "region", value: "eu", target: "key" }])?.key).toEqual({
      id: 7,
      region: "eu",
    });
    expect(run([{ type: "insertField", field: "x", value: "y" }], record({ value: null }))?.value).toBeNull();
  });

  it("fails a non-object value, or an offset outside a sink, with a TransformError naming the transform", () => {
    const error = transformErrorOf(() =>
      run([{ name: "addSource", type: "insertField", field: "s", value: "v" }], record({ value: "text" })),
    );
    expect(error.transform).toBe("addSource");
    expect(error.message).toBe(
      'transform "addSource" (insertField): the value must be an object, got a string',
    );
    expect(() => run([{ type: "insertField", field: "o", from: "offset" }])).toThrow(
      /only in a sink connector/,
    );
  });

  it("is checked when the chain is built, each bad option under its config key", () => {
    const error = configErrorOf(() =>
      buildTransforms([
        { name: "addSource", type: "insertField", field: "", value: "x" },
        { name: "both", type: "insertField", field: "f", value: "x", from: "topic" },
        { name: "neither", type: "insertField", field: "f" } as TransformSpec,
        { name: "badFrom", type: "insertField", field: "f", from: "moon" } as unknown as TransformSpec,
      ]),
    );
    expect(error.errors.map((e) => e.key)).toEqual([
      "transforms.addSource.field",
      "transforms.both.value",
      "transforms.neither.value",
      "transforms.badFrom.from",
    ]);
    expect(error.message).toContain('config "transforms.addSource.field": must be a non-empty string');
  });
});

describe("dropField and rename", () => {
  it("drop and rename fields of an object, keeping the order of the rest", () => {
    const dropped = run([{ type: "dropField", fields: ["amount", "missing"] }]);
    expect(dropped?.value).toEqual({ id: 7, status: "paid" });
    const renamed = run([{ type: "rename", renames: { id: "orderId", status: "state" } }]);
    expect(Object.keys(renamed?.value as object)).toEqual(["orderId", "amount", "state"]);
  });

  it("fail a non-object as Kafka's ReplaceField does without a schema, and pass a tombstone", () => {
    expect(() => run([{ type: "dropField", fields: ["a"] }], record({ value: [1, 2] }))).toThrow(
      TransformError,
    );
    expect(() => run([{ type: "rename", renames: { a: "b" }, target: "key" }], record({ key: "k" }))).toThrow(
      /the key must be an object, got a string/,
    );
    expect(run([{ type: "dropField", fields: ["a"] }], record({ value: null }))?.value).toBeNull();
  });

  it("need non-empty fields and renames", () => {
    const error = configErrorOf(() =>
      buildTransforms([
        { type: "dropField", fields: [] },
        { type: "rename", renames: { a: "" } },
      ]),
    );
    expect(error.errors.map((e) => e.key)).toEqual(["transforms.0.fields", "transforms.1.renames"]);
  });
});

describe("filter and predicates", () => {
  it("drops what its predicate holds for, everything without one", () => {
    expect(run([{ type: "filter", predicate: { type: "topicMatches", pattern: "ord.*" } }])).toBeNull();
    expect(run([{ type: "filter", predicate: { type: "topicMatches", pattern: "ord" } }])).not.toBeNull();
    expect(run([{ type: "filter", predicate: { type: "hasHeader", name: "trace" } }])).toBeNull();
    expect(run([{ type: "filter", predicate: { type: "hasHeader", name: "other" } }])).not.toBeNull();
    expect(run([{ type: "filter", predicate: { type: "isTombstone" } }], record({ value: null }))).toBeNull();
    expect(run([{ type: "filter" }])).toBeNull();
  });

  it("fieldEquals compares a field of the value or key; a string matches a number that prints as it", () => {
    const holds = (predicate: TransformSpec["predicate"]) => run([{ type: "filter", predicate }]) === null;
    expect(holds({ type: "fieldEquals", field: "status", value: "paid" })).toBe(true);
    expect(holds({ type: "fieldEquals", field: "amount", value: "12" })).toBe(true);
    expect(holds({ type: "fieldEquals", field: "amount", value: 12 })).toBe(true);
    expect(holds({ type: "fieldEquals", field: "amount", value: 13 })).toBe(false);
    expect(holds({ type: "fieldEquals", field: "id", value: 7, target: "key" })).toBe(true);
    expect(holds({ type: "fieldEquals", field: "missing", value: null })).toBe(false);
  });

  it("negate keeps only what the predicate holds for", () => {
    const keepOrders: TransformSpec = {
      type: "filter",
      predicate: { type: "topicMatches", pattern: "orders" },
      negate: true,
    };
    expect(run([keepOrders])).not.toBeNull();
    expect(run([keepOrders], record({ topic: "payments" }))).toBeNull();
  });

  it("makes any transform conditional, as Kafka's transforms.<name>.predicate", () => {
    const tagTombstones: TransformSpec = {
      type: "route",
      regex: "(.*)",
      replacement: "$1-deleted",
      predicate: { type: "isTombstone" },
    };
    expect(run([tagTombstones])?.topic).toBe("orders");
    expect(run([tagTombstones], record({ value: null }))?.topic).toBe("orders-deleted");
  });

  it("are checked when the chain is built", () => {
    const error = configErrorOf(() =>
      buildTransforms([
        { name: "f", type: "filter", predicate: { type: "topicMatches", pattern: "(" } },
        { name: "g", type: "filter", predicate: { type: "nope" } as unknown as TransformSpec["predicate"] },
        { name: "h", type: "filter", negate: true },
      ]),
    );
    expect(error.errors.map((e) => e.key)).toEqual([
      "transforms.f.predicate.pattern",
      "transforms.g.predicate.type",
      "transforms.h.negate",
    ]);
  });
});

describe("route", () => {
  it("replaces a topic its regex matches entirely, with $1 groups", () => {
    const route: TransformSpec = { type: "route", regex: "(.*)-live", replacement: "$1-archive" };
    expect(run([route], record({ topic: "orders-live" }))?.topic).toBe("orders-archive");
    expect(run([route], record({ topic: "orders-live-2" }))?.topic).toBe("orders-live-2");
  });

  it("never changes a topic it does not match (property)", () => {
    const chain = buildTransforms([{ type: "route", regex: "logs-(\\d+)", replacement: "archive-$1" }]);
    fc.assert(
      fc.property(fc.string(), (topic) => {
        fc.pre(!/^logs-\d+$/.test(topic));
        expect(applyTransforms(chain, record({ topic }))?.topic).toBe(topic);
      }),
    );
  });

  it("refuses a regex that does not compile", () => {
    const error = configErrorOf(() =>
      buildTransforms([{ name: "r", type: "route", regex: "[", replacement: "x" }]),
    );
    expect(error.errors[0].key).toBe("transforms.r.regex");
  });
});

describe("timestamp", () => {
  it("converts a field between unix ms and ISO 8601", () => {
    const asString = run(
      [{ type: "timestamp", field: "at", to: "string" }],
      record({ value: { at: 1_704_164_645_123 } }),
    );
    expect(asString?.value).toEqual({ at: "2024-01-02T03:04:05.123Z" });
    const toUnix = run(
      [{ type: "timestamp", field: "at", to: "unix" }],
      record({ value: { at: "2024-01-02T03:04:05.123Z" } }),
    );
    expect(toUnix?.value).toEqual({ at: 1_704_164_645_123 });
  });

  it("reads offsets and dates, and takes a time without an offset as UTC", () => {
    const unix = buildTransforms([{ type: "timestamp", to: "unix" }]);
    const at = (value: string) => applyTransforms(unix, record({ value }))?.value;
    expect(at("2024-01-02T04:04:05.123+01:00")).toBe(1_704_164_645_123);
    expect(at("2024-01-02T03:04:05.123")).toBe(1_704_164_645_123);
    expect(at("2024-01-02")).toBe(1_704_153_600_000);
  });

  it("converts the whole value without a field, at a unix precision", () => {
    const seconds = run(
      [{ type: "timestamp", to: "unix", unixPrecision: "seconds" }],
      record({ value: "2024-01-02T03:04:05.999Z" }),
    );
    expect(seconds?.value).toBe(1_704_164_645);
    const fromMicros = run(
      [{ type: "timestamp", to: "string", unixPrecision: "microseconds", target: "key" }],
      record({ key: 1_704_164_645_123_456 }),
    );
    expect(fromMicros?.key).toBe("2024-01-02T03:04:05.123Z");
  });

  it("round-trips ms through ISO 8601 (property)", () => {
    const chain = buildTransforms([
      { type: "timestamp", to: "string" },
      { type: "timestamp", to: "unix" },
    ]);
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => {
        expect(applyTransforms(chain, record({ value: ms }))?.value).toBe(ms);
      }),
    );
  });

  it("passes nulls and absent fields, fails what is not a timestamp", () => {
    expect(run([{ type: "timestamp", to: "string" }], record({ value: null }))?.value).toBeNull();
    expect(run([{ type: "timestamp", field: "at", to: "string" }])?.value).toEqual(record().value);
    expect(() => run([{ type: "timestamp", to: "unix" }], record({ value: "yesterday" }))).toThrow(
      /"yesterday" is not an ISO 8601 timestamp/,
    );
    expect(() => run([{ type: "timestamp", to: "unix" }], record({ value: { a: 1 } }))).toThrow(
      TransformError,
    );
  });

  it("accepts only ISO 8601 formats", () => {
    expect(
      buildTransforms([{ type: "timestamp", to: "string", format: "yyyy-MM-dd'T'HH:mm:ss.SSSX" }]),
    ).toHaveLength(1);
    const error = configErrorOf(() =>
      buildTransforms([{ type: "timestamp", to: "string", format: "dd/MM/yyyy" }]),
    );
    expect(error.errors[0].key).toBe("transforms.0.format");
  });
});

describe("transformsFromConfig", () => {
  it("reads the short form, lists and renames parsed", () => {
    const specs = transformsFromConfig({
      transforms: "addSource, drop,renameIt,toArchive",
      "transforms.addSource.type": "insertField",
      "transforms.addSource.field": "source",
      "transforms.addSource.value": "db1",
      "transforms.drop.type": "dropField",
      "transforms.drop.fields": "amount, status",
      "transforms.renameIt.type": "rename",
      "transforms.renameIt.renames": "id:orderId, x : y",
      "transforms.toArchive.type": "route",
      "transforms.toArchive.regex": "(.*)s",
      "transforms.toArchive.replacement": "$1-archive",
      "transforms.unlisted.type": "filter",
    });
    expect(specs).toEqual([
      { name: "addSource", type: "insertField", field: "source", value: "db1" },
      { name: "drop", type: "dropField", fields: ["amount", "status"] },
      { name: "renameIt", type: "rename", renames: { id: "orderId", x: "y" } },
      { name: "toArchive", type: "route", regex: "(.*)s", replacement: "$1-archive" },
    ]);
    const output = applyTransforms(buildTransforms(specs), record());
    expect(output).toMatchObject({ topic: "order-archive", value: { orderId: 7, source: "db1" } });
  });

  it("reads Kafka's class names and option names", () => {
    const specs = transformsFromConfig({
      transforms: "insert,replace,router,ts,drop",
      "transforms.insert.type": "org.apache.kafka.connect.transforms.InsertField$Value",
      "transforms.insert.static.field": "origin",
      "transforms.insert.static.value": "kafka",
      "transforms.insert.topic.field": "topic!",
      "transforms.replace.type": "org.apache.kafka.connect.transforms.ReplaceField$Key",
      "transforms.replace.exclude": "secret",
      "transforms.replace.renames": "id:key_id",
      "transforms.router.type": "org.apache.kafka.connect.transforms.RegexRouter",
      "transforms.router.regex": "orders",
      "transforms.router.replacement": "sales",
      "transforms.ts.type": "org.apache.kafka.connect.transforms.TimestampConverter$Value",
      "transforms.ts.field": "at",
      "transforms.ts.target.type": "string",
      "transforms.ts.format": "yyyy-MM-dd'T'HH:mm:ss.SSSX",
      "transforms.drop.type": "org.apache.kafka.connect.transforms.Filter",
      "transforms.drop.predicate": "isTest",
      predicates: "isTest",
      "predicates.isTest.type": "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
      "predicates.isTest.name": "test",
    });
    expect(specs.map((spec) => [spec.name, spec.type])).toEqual([
      ["insert", "insertField"],
      ["insert", "insertField"],
      ["replace", "dropField"],
      ["replace", "rename"],
      ["router", "route"],
      ["ts", "timestamp"],
      ["drop", "filter"],
    ]);
    const chain = buildTransforms(specs);
    const input = record({ key: { id: 1, secret: "s" }, value: { at: 0 } });
    expect(applyTransforms(chain, input)).toMatchObject({
      topic: "sales",
      key: { key_id: 1 },
      value: { origin: "kafka", topic: "orders", at: "1970-01-01T00:00:00.000Z" },
    });
    expect(applyTransforms(chain, record({ headers: { test: "1" } }))).toBeNull();
  });

  it("reads a filter's inline predicate and negate", () => {
    const specs = transformsFromConfig({
      transforms: "onlyOrders",
      "transforms.onlyOrders.type": "filter",
      "transforms.onlyOrders.predicate": "topicMatches",
      "transforms.onlyOrders.pattern": "orders",
      "transforms.onlyOrders.negate": "true",
    });
    expect(specs).toEqual([
      {
        name: "onlyOrders",
        type: "filter",
        predicate: { type: "topicMatches", pattern: "orders" },
        negate: true,
      },
    ]);
    const chain = buildTransforms(specs);
    expect(applyTransforms(chain, record())).not.toBeNull();
    expect(applyTransforms(chain, record({ topic: "other" }))).toBeNull();
  });

  it("names every key it cannot read", () => {
    const error = configErrorOf(() =>
      transformsFromConfig({
        transforms: "a,b,c,d,e,e",
        "transforms.b.type": "Flatten$Value",
        "transforms.c.type": "rename",
        "transforms.c.renames": "x:y,broken",
        "transforms.d.type": "route",
        "transforms.d.predicate": "nothing",
        "transforms.e.type": "filter",
        "transforms.e.negate": "perhaps",
      }),
    );
    expect(error.errors.map((e) => e.key)).toEqual([
      "transforms",
      "transforms.a.type",
      "transforms.b.type",
      "transforms.c.renames",
      "transforms.d.predicate",
      "transforms.e.negate",
    ]);
  });

  it("finds nothing without transforms", () => {
    expect(transformsFromConfig({ "connector.class": "file-source" })).toEqual([]);
  });
});
