// Config validation turns raw strings into typed values as Kafka's ConfigDef does, names every bad key, and
// describes a config in the shape of Kafka Connect's PUT /connector-plugins/{plugin}/config/validate body.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ConfigSchema } from "../src/config/config-def.js";
import { parseList } from "../src/config/parse-value.js";
import { ConfigError, describeConfig, parseConfig, validateConfig } from "../src/config/validate.js";

const schema = {
  topic: { type: "string", doc: "Where records go." },
  "batch.size": { type: "int", default: 100, min: 1, doc: "Records per batch." },
  ratio: { type: "double", default: 0.5, min: 0, max: 1, doc: "A share." },
  "delete.enabled": { type: "boolean", default: false, doc: "Delete on tombstones." },
  columns: { type: "list", default: ["id"], doc: "Columns to copy." },
  mode: { type: "string", default: "insert", choices: ["insert", "upsert"], doc: "How rows are written." },
  password: { type: "password", optional: true, importance: "high", doc: "The database password." },
  "poll.ms": { type: "int", default: "250", doc: "A default given as a string." },
} as const satisfies ConfigSchema;

describe("parseConfig", () => {
  it("types every value and applies defaults for absent keys", () => {
    const config = parseConfig(schema, { topic: "orders" });
    expect(config).toEqual({
      topic: "orders",
      "batch.size": 100,
      ratio: 0.5,
      "delete.enabled": false,
      columns: ["id"],
      mode: "insert",
      password: undefined,
      "poll.ms": 250,
    });
  });

  it("parses each type from its string", () => {
    const config = parseConfig(schema, {
      topic: " orders ",
      "batch.size": "+42",
      ratio: "1e-1",
      "delete.enabled": "TRUE",
      columns: " id, name ,, email ,",
      mode: "upsert",
      password: "s3cret",
    });
    expect(config.topic).toBe("orders");
    expect(config["batch.size"]).toBe(42);
    expect(config.ratio).toBe(0.1);
    expect(config["delete.enabled"]).toBe(true);
    expect(config.columns).toEqual(["id", "name", "email"]);
    expect(config.mode).toBe("upsert");
    expect(config.password).toBe("s3cret");
  });

  it("ignores keys the schema does not know (connectors get the runtime's keys too)", () => {
    expect(parseConfig(schema, { topic: "t", "tasks.max": "3", "transforms.x.type": "route" }).topic).toBe(
      "t",
    );
  });

  it("throws a ConfigError whose message names every bad key", () => {
    const raw = { "batch.size": "x", ratio: "2", "delete.enabled": "yes", mode: "merge" };
    const error = (() => {
      try {
        parseConfig(schema, raw);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.errors.map((e) => e.key).sort()).toEqual(
      ["batch.size", "delete.enabled", "mode", "ratio", "topic"].sort(),
    );
    expect(configError.message).toContain('config "batch.size": must be an integer ≥ 1, got "x"');
    expect(configError.message).toContain('config "ratio": must be a number between 0 and 1, got "2"');
    expect(configError.message).toContain('config "delete.enabled": must be true or false, got "yes"');
    expect(configError.message).toContain('config "mode": must be one of "insert", "upsert", got "merge"');
    expect(configError.message).toContain('config "topic": is required');
  });
});

describe("validateConfig", () => {
  it("returns the good values beside the errors", () => {
    const { values, errors } = validateConfig(schema, { topic: "t", "batch.size": "0" });
    expect(values.topic).toBe("t");
    expect("batch.size" in values).toBe(false);
    expect(errors).toEqual([{ key: "batch.size", message: 'must be an integer ≥ 1, got "0"' }]);
  });

  it("refuses what is not an integer or a number", () => {
    const ints = ["1.5", "", " ", "0x10", "1e3", "9007199254740993", "one"];
    for (const text of ints) {
      expect(validateConfig(schema, { topic: "t", "batch.size": text }).errors).toHaveLength(1);
    }
    for (const text of ["", "abc", "Infinity", "NaN", "1..2", "0x1"]) {
      expect(validateConfig(schema, { topic: "t", ratio: text }).errors).toHaveLength(1);
    }
    expect(validateConfig(schema, { topic: "t", ratio: ".5" }).values.ratio).toBe(0.5);
  });

  it("enforces bounds inclusively and choices on every item of a list", () => {
    const bounded = { n: { type: "int", min: -1, max: 3, doc: "" } } as const satisfies ConfigSchema;
    expect(validateConfig(bounded, { n: "-1" }).errors).toEqual([]);
    expect(validateConfig(bounded, { n: "3" }).errors).toEqual([]);
    expect(validateConfig(bounded, { n: "4" }).errors[0].message).toBe(
      'must be an integer between -1 and 3, got "4"',
    );
    const listed = { l: { type: "list", choices: ["a", "b"], doc: "" } } as const satisfies ConfigSchema;
    expect(validateConfig(listed, { l: "a,b" }).values.l).toEqual(["a", "b"]);
    expect(validateConfig(listed, { l: "a,c" }).errors[0].message).toContain("a comma-separated list of");
  });

  it("never echoes a password", () => {
    const secret = { p: { type: "password", choices: ["open"], doc: "" } } as const satisfies ConfigSchema;
    const { errors } = validateConfig(secret, { p: "hunter2" });
    expect(errors[0].message).not.toContain("hunter2");
    expect(errors[0].message).toContain("[hidden]");
  });

  it("reports a default that does not parse as the schema's fault", () => {
    const broken = { n: { type: "int", default: "lots", doc: "" } } as const satisfies ConfigSchema;
    expect(validateConfig(broken, {}).errors[0].message).toMatch(/^has an invalid default/);
  });

  it("parses lists as comma-separated, trimmed, without empty items (property)", () => {
    const item = fc.string().filter((text) => !text.includes(",") && text.trim() === text && text.length > 0);
    fc.assert(
      fc.property(fc.array(item), fc.array(fc.constantFrom("", " ", "  ")), (items, pads) => {
        const text = items.map((text, index) => `${pads[index % (pads.length || 1)] ?? ""}${text}`).join(",");
        expect(parseList(`${text},,`)).toEqual(items);
      }),
    );
  });

  it("parses every safe integer it is given as text (property)", () => {
    const ints = { n: { type: "int", doc: "" } } as const satisfies ConfigSchema;
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(validateConfig(ints, { n: String(n) }).values.n).toBe(n);
      }),
    );
  });
});

describe("describeConfig", () => {
  it("writes Kafka Connect's ConfigInfos", () => {
    const infos = describeConfig(schema, {
      "connector.class": "postgres-sink",
      topic: "orders",
      "batch.size": "x",
      password: "s3cret",
    });
    expect(infos.name).toBe("postgres-sink");
    expect(infos.error_count).toBe(1);
    expect(infos.groups).toEqual([]);
    expect(infos.configs.map((config) => config.definition.name)).toEqual(Object.keys(schema));
    const byName = new Map(infos.configs.map((config) => [config.definition.name, config]));
    expect(byName.get("topic")).toEqual({
      definition: {
        name: "topic",
        type: "STRING",
        required: true,
        default_value: null,
        importance: "MEDIUM",
        documentation: "Where records go.",
        group: null,
        width: "NONE",
        display_name: "topic",
        dependents: [],
        order: 1,
      },
      value: { name: "topic", value: "orders", recommended_values: [], errors: [], visible: true },
    });
    expect(byName.get("batch.size")?.value).toMatchObject({
      value: "x",
      errors: ['must be an integer ≥ 1, got "x"'],
    });
    expect(byName.get("batch.size")?.definition).toMatchObject({
      type: "INT",
      required: false,
      default_value: "100",
    });
    expect(byName.get("columns")?.value.value).toBe("id");
    expect(byName.get("mode")?.value.recommended_values).toEqual(["insert", "upsert"]);
    expect(byName.get("password")?.value.value).toBe("[hidden]");
    expect(byName.get("password")?.definition).toMatchObject({
      type: "PASSWORD",
      importance: "HIGH",
      required: false,
    });
  });

  it("counts the keys in error, a missing required key among them; the name can be given", () => {
    const infos = describeConfig(schema, { ratio: "-1" }, "my-plugin");
    expect(infos.name).toBe("my-plugin");
    expect(infos.error_count).toBe(2);
    expect(infos.configs.find((config) => config.definition.name === "topic")?.value).toMatchObject({
      value: null,
      errors: ["is required"],
    });
  });
});
