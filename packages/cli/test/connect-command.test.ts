// `brook connect run`'s connectors.yaml: the list of { name, config } it takes, values made strings as
// Kafka Connect configs are, and errors that say what is wrong and where.
import { describe, expect, it } from "vitest";
import { parseConnectorsFile } from "../src/commands/connect.js";

describe("parseConnectorsFile", () => {
  it("reads connectors with their configs as strings", () => {
    const text = [
      "connectors:",
      "  - name: lines-in",
      "    config:",
      "      connector.class: file-source",
      "      tasks.max: 1",
      "      file: /tmp/in.txt",
      "      errors.log.enable: true",
    ].join("\n");
    expect(parseConnectorsFile(text, "c.yaml")).toEqual([
      {
        name: "lines-in",
        config: {
          "connector.class": "file-source",
          "tasks.max": "1",
          file: "/tmp/in.txt",
          "errors.log.enable": "true",
        },
      },
    ]);
  });

  it("names the file and the entry that is wrong", () => {
    expect(() => parseConnectorsFile("", "c.yaml")).toThrow(/c.yaml: expected "connectors:"/);
    expect(() => parseConnectorsFile("connectors: []", "c.yaml")).toThrow(/expected "connectors:"/);
    expect(() => parseConnectorsFile("connectors:\n  - name: x\n", "c.yaml")).toThrow(
      /connectors\[0\] needs a name and a config map/,
    );
    expect(() => parseConnectorsFile("connectors:\n  - config: {}\n", "c.yaml")).toThrow(/connectors\[0\]/);
  });
});
