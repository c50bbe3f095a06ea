// Converters write the bytes Kafka Connect's JsonConverter, StringConverter and ByteArrayConverter write,
// pass Buffers and nulls through untouched, and name the converter and topic when they cannot convert.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/config/validate.js";
import { ConversionError, converterFor, converterFromConfig, converterNames } from "../src/converters.js";

describe("every converter", () => {
  it("passes a Buffer through fromData unchanged, and null or undefined as null", () => {
    const bytes = Buffer.from([0, 1, 255]);
    for (const name of converterNames) {
      const converter = converterFor(name);
      expect(converter.fromData(bytes)).toBe(bytes);
      expect(converter.fromData(null)).toBeNull();
      expect(converter.fromData(undefined)).toBeNull();
      expect(converter.toData(null)).toBeNull();
    }
  });
});

describe("json", () => {
  const json = converterFor("json");

  it("writes JSON.stringify and reads JSON.parse", () => {
    expect(json.fromData({ id: 1, tags: ["a"] })?.toString()).toBe('{"id":1,"tags":["a"]}');
    expect(json.fromData("text")?.toString()).toBe('"text"');
    expect(json.toData(Buffer.from('{"id":1}'))).toEqual({ id: 1 });
  });

  it("round-trips JSON values (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const normalized = JSON.parse(JSON.stringify(value));
        expect(json.toData(json.fromData(value))).toEqual(normalized);
      }),
    );
  });

  it("unwraps Kafka's schema envelope only with schemas.enable", () => {
    const enveloped = Buffer.from('{"schema":{"type":"string"},"payload":"hello"}');
    expect(json.toData(enveloped)).toEqual({ schema: { type: "string" }, payload: "hello" });
    for (const setting of [true, "true", "TRUE"]) {
      const withSchemas = converterFor("json", { "schemas.enable": setting });
      expect(withSchemas.toData(enveloped)).toBe("hello");
      expect(withSchemas.toData(Buffer.from('{"schema":null,"payload":{"a":1}}'))).toEqual({ a: 1 });
      expect(withSchemas.toData(Buffer.from('{"schema":1,"payload":2,"x":3}'))).toEqual({
        schema: 1,
        payload: 2,
        x: 3,
      });
      expect(withSchemas.fromData({ a: 1 })?.toString()).toBe('{"a":1}');
    }
  });

  it("refuses a bad schemas.enable as a ConfigError", () => {
    expect(() => converterFor("json", { "schemas.enable": "yes" })).toThrow(ConfigError);
  });

  it("names the converter and topic when bytes are not JSON or data cannot be written", () => {
    expect(() => json.toData(Buffer.from("{nope"), "orders")).toThrow(ConversionError);
    expect(() => json.toData(Buffer.from("{nope"), "orders")).toThrow(
      /^json converter \(topic "orders"\): cannot read/,
    );
    expect(() => json.fromData(10n)).toThrow(/^json converter: cannot write a bigint/);
    expect(() => json.fromData(() => 1)).toThrow(ConversionError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const error = (() => {
      try {
        json.fromData(cyclic, "t");
      } catch (caught) {
        return caught as ConversionError;
      }
    })();
    expect(error).toMatchObject({ name: "ConversionError", converter: "json", topic: "t" });
  });
});

describe("string", () => {
  const string = converterFor("string");

  it("is UTF-8 both ways; numbers and booleans as their string, objects as JSON", () => {
    expect(string.fromData("héllo")).toEqual(Buffer.from("héllo", "utf8"));
    expect(string.fromData(42)?.toString()).toBe("42");
    expect(string.fromData(true)?.toString()).toBe("true");
    expect(string.fromData({ a: [1] })?.toString()).toBe('{"a":[1]}');
    expect(string.toData(Buffer.from("héllo", "utf8"))).toBe("héllo");
  });

  it("round-trips strings (property)", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(string.toData(string.fromData(text))).toBe(text);
      }),
    );
  });
});

describe("bytes", () => {
  const bytes = converterFor("bytes");

  it("takes Buffers, Uint8Arrays and UTF-8 strings, and hands bytes back as they are", () => {
    expect(bytes.fromData("abc")).toEqual(Buffer.from("abc"));
    expect(bytes.fromData(new Uint8Array([1, 2]))).toEqual(Buffer.from([1, 2]));
    const raw = Buffer.from([9]);
    expect(bytes.toData(raw)).toBe(raw);
  });

  it("refuses anything else with a clear message", () => {
    expect(() => bytes.fromData({ a: 1 }, "t")).toThrow(
      'bytes converter (topic "t"): needs a Buffer or a string, got an object',
    );
    expect(() => bytes.fromData(5)).toThrow(ConversionError);
  });
});

describe("converterFromConfig", () => {
  it("reads short names and Kafka's class names with schemas.enable", () => {
    const converter = converterFromConfig(
      {
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",
      },
      "value",
    );
    expect(converter.toData(Buffer.from('{"schema":null,"payload":3}'))).toBe(3);
    expect(
      converterFromConfig(
        { "key.converter": "org.apache.kafka.connect.storage.StringConverter" },
        "key",
      ).toData(Buffer.from("k")),
    ).toBe("k");
    expect(converterFromConfig({}, "key", "bytes").fromData("x")).toEqual(Buffer.from("x"));
  });

  it("names the bad key", () => {
    expect(() => converterFromConfig({ "key.converter": "avro" }, "key")).toThrow(
      /config "key.converter": must be one of/,
    );
    expect(() =>
      converterFromConfig({ "value.converter": "json", "value.converter.schemas.enable": "maybe" }, "value"),
    ).toThrow('config "value.converter.schemas.enable": must be true or false, got "maybe"');
  });
});
