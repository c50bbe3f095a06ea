// meta.properties pins a data dir to one node and one cluster: a configured
// cluster id stamps a new dir and must match an existing one.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadOrCreateMetaProperties } from "../src/meta-properties.js";

describe("meta.properties", () => {
  it("a new data dir takes the configured cluster id, and keeps it on every later start", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "brook-meta-")), "data");
    expect(loadOrCreateMetaProperties(dir, 2, "cluster-a")).toEqual({ nodeId: 2, clusterId: "cluster-a" });
    expect(loadOrCreateMetaProperties(dir, 2)).toEqual({ nodeId: 2, clusterId: "cluster-a" });
    expect(loadOrCreateMetaProperties(dir, 2, "cluster-a").clusterId).toBe("cluster-a");
  });

  it("refuses a data dir of another cluster or another node, saying whose it is", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "brook-meta-")), "data");
    loadOrCreateMetaProperties(dir, 1, "cluster-a");
    expect(() => loadOrCreateMetaProperties(dir, 1, "cluster-b")).toThrow(
      /belongs to cluster cluster-a, not cluster-b/,
    );
    expect(() => loadOrCreateMetaProperties(dir, 3, "cluster-a")).toThrow(/belongs to node 1, not node 3/);
  });
});
