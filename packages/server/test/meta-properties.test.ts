// meta.properties pins a data dir to one node and one cluster: a configured
// cluster id stamps a new dir and must match an existing one.
import fs, { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
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

describe("meta.properties durability", () => {
  afterEach(() => vi.restoreAllMocks());

  it("is written to a temp file that is fsynced, renamed into place, and then its directory is fsynced", () => {
    const root = mkdtempSync(join(tmpdir(), "brook-meta-"));
    const dir = join(root, "data");
    const paths = new Map<number, string>();
    const steps: string[] = [];
    const open = fs.openSync;
    vi.spyOn(fs, "openSync").mockImplementation(((file: fs.PathLike, ...rest: never[]) => {
      const fd = (open as (...args: unknown[]) => number)(file, ...rest);
      paths.set(fd, String(file));
      return fd;
    }) as typeof fs.openSync);
    const fsync = fs.fsyncSync;
    vi.spyOn(fs, "fsyncSync").mockImplementation((fd) => {
      steps.push(`fsync ${paths.get(fd as number)}`);
      fsync(fd);
    });
    const rename = fs.renameSync;
    vi.spyOn(fs, "renameSync").mockImplementation((from, to) => {
      steps.push(`rename ${from} ${to}`);
      rename(from, to);
    });
    loadOrCreateMetaProperties(dir, 1, "cluster-a");
    const file = join(dir, "meta.properties");
    expect(steps).toEqual([
      `fsync ${root}`,
      `fsync ${file}.tmp`,
      `rename ${file}.tmp ${file}`,
      `fsync ${dir}`,
    ]);
  });
});
