// The durable log: what persist() and compact() write is what open() reads
// back, conflicting suffixes are truncated, compaction deletes what the
// snapshot covers.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Level } from "level";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LevelLogStorage, levelDisk, type RaftDisk } from "../../src/driver/level-storage.js";
import { CompactedError } from "../../src/log-storage.js";
import type { Entry } from "../../src/types.js";

const membership = { voters: [1, 2, 3], learners: [] };
const entry = (index: number, term: number, text = `e${index}`): Entry => ({
  index,
  term,
  type: "normal",
  data: new TextEncoder().encode(text),
});
const range = (first: number, last: number, term: number) =>
  Array.from({ length: last - first + 1 }, (_, i) => entry(first + i, term));
const texts = (entries: Entry[]) => entries.map((e) => new TextDecoder().decode(e.data));

let dir: string;
let storage: LevelLogStorage | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "brook-raft-level-"));
});
afterEach(async () => {
  await storage?.close();
  await rm(dir, { recursive: true, force: true });
});

async function reopen(): Promise<LevelLogStorage> {
  await storage?.close();
  storage = await LevelLogStorage.open(dir, { voters: [9], learners: [] });
  return storage;
}

describe("LevelLogStorage", () => {
  it("starts empty with the bootstrap membership, and keeps that membership across restarts", async () => {
    storage = await LevelLogStorage.open(dir, membership);
    expect(storage.initialState()).toEqual({ hardState: { term: 0, vote: 0, commit: 0 }, membership });
    expect([storage.firstIndex(), storage.lastIndex()]).toEqual([1, 0]);
    expect((await reopen()).initialState().membership).toEqual(membership);
  });

  it("reads back entries and hard state after a restart", async () => {
    storage = await LevelLogStorage.open(dir, membership);
    const hardState = { term: 2, vote: 1, commit: 3 };
    await storage.persist({ entries: range(1, 5, 2), hardState, mustSync: true });
    const reopened = await reopen();
    expect(reopened.initialState().hardState).toEqual(hardState);
    expect(reopened.lastIndex()).toBe(5);
    expect(reopened.term(4)).toBe(2);
    const entries = reopened.entries(1, 6, Number.POSITIVE_INFINITY);
    expect(entries.map(({ index, term, type }) => ({ index, term, type }))).toEqual(
      range(1, 5, 2).map(({ index, term, type }) => ({ index, term, type })),
    );
    expect(texts(entries)).toEqual(["e1", "e2", "e3", "e4", "e5"]);
  });

  it("truncates a conflicting suffix on disk, not only in memory", async () => {
    storage = await LevelLogStorage.open(dir, membership);
    await storage.persist({ entries: range(1, 10, 1), mustSync: true });
    await storage.persist({ entries: [entry(4, 2, "new4"), entry(5, 2, "new5")], mustSync: true });
    const reopened = await reopen();
    expect(reopened.lastIndex()).toBe(5);
    expect(texts(reopened.entries(3, 6, Number.POSITIVE_INFINITY))).toEqual(["e3", "new4", "new5"]);
  });

  it("compacts: the snapshot replaces the entries it covers, on disk and in the cache", async () => {
    storage = await LevelLogStorage.open(dir, membership);
    await storage.persist({
      entries: range(1, 10, 3),
      hardState: { term: 3, vote: 2, commit: 10 },
      mustSync: true,
    });
    const snapshot = await storage.compact(7, membership, new TextEncoder().encode("state@7"));
    expect(snapshot.metadata).toEqual({ index: 7, term: 3, membership });
    expect(storage.firstIndex()).toBe(8);
    expect(() => storage!.entries(7, 8, 100)).toThrow(CompactedError);

    const reopened = await reopen();
    expect(reopened.snapshot().metadata).toEqual(snapshot.metadata);
    expect(new TextDecoder().decode(reopened.snapshot().data)).toBe("state@7");
    expect([reopened.firstIndex(), reopened.lastIndex()]).toEqual([8, 10]);
    expect(reopened.term(7)).toBe(3);
    expect(reopened.initialState().membership).toEqual(membership);
  });

  it("replaces the whole log with a snapshot received from the leader, and appends after it", async () => {
    storage = await LevelLogStorage.open(dir, membership);
    await storage.persist({ entries: range(1, 5, 1), mustSync: true });
    const snapshot = { metadata: { index: 20, term: 4, membership }, data: new TextEncoder().encode("s") };
    await storage.persist({
      snapshot,
      entries: [entry(21, 4)],
      hardState: { term: 4, vote: 0, commit: 20 },
      mustSync: true,
    });
    const reopened = await reopen();
    expect([reopened.firstIndex(), reopened.lastIndex()]).toEqual([21, 21]);
    expect(reopened.snapshot().metadata.index).toBe(20);
    expect(texts(reopened.entries(21, 22, 100))).toEqual(["e21"]);
  });

  it("deletes on open the entries a crash left below the snapshot", async () => {
    storage = await LevelLogStorage.open(dir, membership);
    await storage.persist({ entries: range(1, 10, 1), mustSync: true });
    await storage.compact(6, membership, new Uint8Array([1]));
    await storage.close();
    storage = undefined;
    const raw = new Level<string, Uint8Array>(dir, { valueEncoding: "view" });
    await raw.put(`entry/${String(3).padStart(20, "0")}`, new Uint8Array(9)); // as if the range delete never ran
    await raw.close();

    const reopened = await reopen();
    expect([reopened.firstIndex(), reopened.lastIndex()]).toEqual([7, 10]);
    await reopened.close();
    storage = undefined;
    const check = new Level<string, Uint8Array>(dir, { valueEncoding: "view" });
    expect(await check.keys({ gte: "entry/", lt: "entry/~" }).all()).toHaveLength(4);
    await check.close();
  });
  it("fsyncs the parent of every directory it creates before it stores anything, and none on reopening", async () => {
    const events: string[] = [];
    const disk: RaftDisk = {
      makeDirectories: async (path) => {
        const created = await levelDisk.makeDirectories(path);
        events.push(...created.map((made) => `mkdir ${relative(dir, made)}`));
        return created;
      },
      syncDirectory: async (path) => {
        events.push(`fsync ${relative(dir, path) || "."}`);
        await levelDisk.syncDirectory(path);
      },
      openStore: async (path) => {
        events.push("open");
        const kv = await levelDisk.openStore(path);
        return {
          ...kv,
          put: (key, value, options) => {
            events.push(`put ${key}`);
            return kv.put(key, value, options);
          },
        };
      },
    };
    const logDir = join(dir, "data", "raft");
    storage = await LevelLogStorage.open(logDir, membership, disk);
    expect(events).toEqual([
      "mkdir data",
      "mkdir data/raft",
      "open",
      "fsync .",
      "fsync data",
      "put membership",
    ]);
    await storage.close();
    events.length = 0;
    storage = await LevelLogStorage.open(logDir, membership, disk);
    expect(events).toEqual(["open"]);
    expect(storage.initialState().membership).toEqual(membership);
  });
});
