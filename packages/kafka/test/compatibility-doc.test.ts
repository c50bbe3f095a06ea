// docs/kafka-compatibility.md promises exactly the APIs and versions ApiVersions advertises; this keeps
// its table from drifting when a schema changes.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ApiKey, supportedApiVersions } from "../src/index.js";

const doc = readFileSync(new URL("../../../docs/kafka-compatibility.md", import.meta.url), "utf8");

describe("docs/kafka-compatibility.md", () => {
  it("lists every api and version range the listener advertises, and nothing else", () => {
    const table = doc.slice(doc.indexOf("<!-- api-table"), doc.indexOf("<!-- /api-table -->"));
    const rows = [...table.matchAll(/^\| (\w+) \| (\d+) \| (\d+)–(\d+) \|$/gm)].map(
      ([, name, key, min, max]) => ({
        name,
        apiKey: Number(key),
        minVersion: Number(min),
        maxVersion: Number(max),
      }),
    );
    const names = new Map(Object.entries(ApiKey).map(([name, key]) => [key as number, name]));
    const advertised = supportedApiVersions().map((api) => ({ name: names.get(api.apiKey), ...api }));
    expect(rows).toEqual(advertised);
  });
});
