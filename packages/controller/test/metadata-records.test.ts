// The metadata log's state machine on its own: its snapshots hold the image
// (format 2) and taking one drops the records it covers; restoring one
// replaces the state, and format 1 snapshots from older data dirs (every
// record from offset 0) are still read, as history.

import {
  applyRecords,
  encodeMetadataRecord,
  MetadataImage,
  type MetadataRecord,
  scramCredentialRecord,
} from "@brook/metadata";
import type { Entry } from "@brook/raft";
import { scramCredential } from "@brook/security";
import { describe, expect, it } from "vitest";
import { MetadataRecords } from "../src/raft-metadata-log.js";

const topic = (name: string): MetadataRecord => ({ type: "topic", name, topicId: `id-${name}` });
const history = [topic("a"), topic("b"), { type: "remove-topic", topicId: "id-a" } as const, topic("c")];
const imageOfRecords = (records: readonly MetadataRecord[]) => applyRecords(MetadataImage.empty, records, 0);

/** [count u32] then per record [length u32][JSON], as raft-metadata-log.ts lays a record list out. */
function recordList(records: readonly MetadataRecord[]): Buffer {
  const u32 = (value: number) => {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(value);
    return bytes;
  };
  const parts: Buffer[] = [u32(records.length)];
  for (const record of records) {
    const bytes = encodeMetadataRecord(record);
    parts.push(u32(bytes.length), bytes);
  }
  return Buffer.concat(parts);
}

/** An entry's bytes: [format 1][record list]. */
const entry = (index: number, records: readonly MetadataRecord[]): Entry => ({
  term: 1,
  index,
  type: "normal",
  data: Buffer.concat([Buffer.of(1), recordList(records)]),
});

/** A snapshot as written before snapshots held the image: [format 1][next offset u64][every record]. */
function historySnapshot(records: readonly MetadataRecord[]): Uint8Array {
  const header = Buffer.alloc(9);
  header.writeUInt8(1, 0);
  header.writeBigUInt64BE(BigInt(records.length), 1);
  return Buffer.concat([header, recordList(records)]);
}

describe("MetadataRecords", () => {
  it("a snapshot holds the image as of its offset and drops the records it covers from memory", () => {
    const state = new MetadataRecords();
    state.apply([entry(1, history.slice(0, 2)), entry(2, history.slice(2))]);
    expect(state.read(0, 100)).toEqual(history);

    const snapshot = state.snapshot();
    expect(snapshot[0]).toBe(2); // format 2: the image
    expect(state.snapshotImage()).toEqual(imageOfRecords(history));
    expect(() => state.read(0, 100)).toThrow(
      expect.objectContaining({ code: "OFFSET_OUT_OF_RANGE", message: expect.stringContaining("offset 4") }),
    );
    expect(state.read(4, 100)).toEqual([]);
    state.apply([entry(3, [topic("d")])]);
    expect(state.read(4, 100)).toEqual([topic("d")]);
    expect(state.nextOffset).toBe(5);

    // Another node restores it: the same image at the same offset, nothing to read before it.
    const restored = new MetadataRecords();
    restored.restore(snapshot);
    expect(restored.nextOffset).toBe(4);
    expect(restored.snapshotImage()).toEqual(imageOfRecords(history));
  });

  it("restoring tells snapshot listeners of the image when it goes past what was applied, and only then", () => {
    const source = new MetadataRecords();
    source.apply([entry(1, history)]);
    const snapshot = source.snapshot();

    const state = new MetadataRecords();
    state.apply([entry(1, history.slice(0, 1))]);
    const heard: MetadataImage[] = [];
    state.snapshotListeners.add((image) => heard.push(image));
    state.restore(snapshot);
    state.restore(snapshot); // nothing new
    expect(heard).toEqual([imageOfRecords(history)]);

    const ahead = new MetadataRecords();
    ahead.apply([entry(1, [...history, topic("e")])]);
    expect(() => ahead.restore(snapshot)).toThrow("a snapshot never takes back applied records");
  });

  it("reads a format 1 snapshot from an older data dir as history, and writes format 2 from then on", () => {
    const state = new MetadataRecords();
    state.restore(historySnapshot(history));
    expect(state.snapshotImage()).toBeUndefined();
    expect(state.read(0, 100)).toEqual(history);
    expect(state.nextOffset).toBe(4);

    const snapshot = state.snapshot();
    expect(snapshot[0]).toBe(2);
    expect(state.snapshotImage()).toEqual(imageOfRecords(history));
    expect(() => state.read(0, 100)).toThrow(expect.objectContaining({ code: "OFFSET_OUT_OF_RANGE" }));
  });

  it("a snapshot keeps users' credentials and the ACL bindings, and refuses an entry whose binding is invalid", () => {
    const acl = {
      principal: "User:alice",
      host: "*",
      resourceType: "topic",
      resourceName: "orders",
      patternType: "prefixed",
      operation: "write",
      permission: "deny",
    } as const;
    const credential = scramCredential("SCRAM-SHA-512", "pw", { iterations: 8192 });
    const state = new MetadataRecords();
    state.apply([entry(1, [scramCredentialRecord("alice", credential), { type: "acl", ...acl }])]);
    const restored = new MetadataRecords();
    restored.restore(state.snapshot());
    const image = restored.snapshotImage();
    expect(image?.users.get("alice")?.get("SCRAM-SHA-512")).toEqual(credential);
    expect([...(image?.acls ?? [])]).toEqual([acl]);

    const bad = new MetadataRecords();
    expect(() =>
      bad.apply([entry(1, [{ type: "acl", ...acl, operation: "fly" } as unknown as MetadataRecord])]),
    ).toThrow(/invalid acl metadata record: Invalid operation fly/);
  });

  it("refuses a snapshot in a format it does not know, or whose count and offset disagree", () => {
    const future = Buffer.from(historySnapshot(history));
    future.writeUInt8(3, 0);
    expect(() => new MetadataRecords().restore(future)).toThrow(
      expect.objectContaining({ code: "STORAGE_ERROR", message: expect.stringContaining("reads 1 or 2") }),
    );
    const short = Buffer.from(historySnapshot(history));
    short.writeBigUInt64BE(9n, 1);
    expect(() => new MetadataRecords().restore(short)).toThrow(
      expect.objectContaining({ code: "STORAGE_ERROR" }),
    );
  });
});
