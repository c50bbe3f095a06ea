// Rule: schema files are checked when they are compiled (a mistake names the file and the field), the
// committed generated code matches them, and they describe the apis and versions issue 15 asks for.

import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseApiSchema, SchemaError } from "../src/codec/schema.js";
import { supportedApiVersions } from "../src/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");

function check(yaml: string) {
  return () => parseApiSchema(parse(yaml), "test.yaml");
}

const HEAD = "api: Test\nkey: 1000\nversions: 0-3\nflexible: 2+\n";

describe("schema files", () => {
  it("the generated code is up to date with the schemas (make build regenerates it)", () => {
    expect(() =>
      execFileSync(process.execPath, ["--import", "tsx", "scripts/gen-kafka.mjs", "--check"], {
        cwd: root,
        stdio: "pipe",
      }),
    ).not.toThrow();
  }, 20_000);

  it("describe every api and version issues 15, 17 and 20 list", () => {
    expect(supportedApiVersions()).toEqual(
      [
        [0, 3, 9],
        [1, 4, 12],
        [2, 1, 7],
        [3, 0, 12],
        [8, 2, 8],
        [9, 1, 8],
        [10, 0, 4],
        [11, 0, 9],
        [12, 0, 4],
        [13, 0, 5],
        [14, 0, 5],
        [15, 0, 5],
        [16, 0, 4],
        [17, 0, 1],
        [18, 0, 3],
        [19, 2, 7],
        [20, 0, 6],
        [22, 0, 4],
        [23, 0, 4],
        [24, 0, 3],
        [25, 0, 3],
        [26, 0, 3],
        [28, 0, 3],
        [29, 0, 3],
        [30, 0, 3],
        [31, 0, 3],
        [32, 0, 4],
        [36, 0, 2],
        [37, 0, 3],
        [42, 0, 2],
        [50, 0, 0],
        [51, 0, 0],
        [60, 0, 1],
      ].map(([apiKey, minVersion, maxVersion]) => ({ apiKey, minVersion, maxVersion })),
    );
  });

  it("normalises a valid file: open ranges, fields outside the described versions left out", () => {
    const schema = parseApiSchema(
      parse(
        `${HEAD}request:\n  - old: {type: int32, versions: 0-0}\n  - gone: {type: int32, versions: 7+}\n  - tagged: {type: string, versions: 2+, tag: 0, nullable: true}\nresponse: []\n`,
      ),
      "test.yaml",
    );
    expect(schema.flexibleVersions).toEqual({ min: 2, max: 0x7fff });
    expect(schema.request.map((field) => field.name)).toEqual(["old", "tagged"]);
    expect(schema.request[1]).toMatchObject({
      versions: { min: 2, max: 3 },
      nullableVersions: { min: 2, max: 3 },
      tag: 0,
    });
  });

  it.each([
    ["an unknown type", "  - a: int33\n", /unknown type "int33"/],
    ["a tag outside the flexible versions", "  - a: {type: int32, tag: 0}\n", /only in flexible versions/],
    [
      "a tag used twice",
      "  - a: {type: int32, versions: 2+, tag: 0}\n  - b: {type: int32, versions: 2+, tag: 0}\n",
      /tag 0 appears twice/,
    ],
    ["a field named twice", "  - a: int32\n  - a: int16\n", /field a appears twice/],
    ["a nullable int", "  - a: {type: int32, nullable: true}\n", /a int32 cannot be null/],
    ["a struct without fields", "  - a: Thing[]\n", /struct type Thing needs fields/],
    ["an unknown key", "  - a: {type: int32, nulable: true}\n", /unknown key "nulable"/],
    ["a bad range", "  - a: {type: int32, versions: 3-1}\n", /empty or too wide/],
    ["a name that is not camelCase", "  - Name: int32\n", /not camelCase/],
    [
      "the name unknown tags are kept under",
      "  - unknownTaggedFields: int32\n",
      /where decoding keeps unknown tags/,
    ],
    [
      "a struct name used twice",
      "  - a:\n      type: T[]\n      fields: [{x: int8}]\n  - b:\n      type: T[]\n      fields: [{y: int8}]\n",
      /struct T is named twice/,
    ],
  ])("refuses %s", (_, fields, message) => {
    const run = check(`${HEAD}request:\n${fields}`);
    expect(run).toThrow(SchemaError);
    expect(run).toThrow(message);
  });
});
