// A single-node MetadataLog on `level`, kept for the controller's unit tests:
// the simplest durable log that satisfies the interface (always active, one
// synced batch per append). The server runs on RaftMetadataLog, a one-voter
// quorum when it is alone.

import { decodeMetadataRecord, encodeMetadataRecord, type MetadataRecord } from "@brook/metadata";
import { Level } from "level";
import { type CommitListener, type MetadataLog, notifyCommit } from "../../src/metadata-log.js";

const recordPrefix = "record/";
const offsetKey = (offset: number) => `${recordPrefix}${String(offset).padStart(20, "0")}`;

export class LevelMetadataLog implements MetadataLog {
  private lastOffset: number;
  private appending: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<CommitListener>();

  private constructor(
    private readonly db: Level<string, Uint8Array>,
    lastOffset: number,
  ) {
    this.lastOffset = lastOffset;
  }

  static async open(dir: string): Promise<LevelMetadataLog> {
    const db = new Level<string, Uint8Array>(dir, { valueEncoding: "view" });
    await db.open();
    let lastOffset = -1;
    for await (const key of db.keys({ gte: recordPrefix, lt: `${recordPrefix}~`, reverse: true, limit: 1 })) {
      lastOffset = Number(key.slice(recordPrefix.length));
    }
    return new LevelMetadataLog(db, lastOffset);
  }

  get committedOffset(): number {
    return this.lastOffset;
  }

  append(records: readonly MetadataRecord[]): Promise<number> {
    // Appends are chained so offsets are assigned in call order even when a
    // caller does not wait for the previous append.
    const result = this.appending.then(async () => {
      const first = this.lastOffset + 1;
      await this.db.batch(
        records.map((record, i) => ({
          type: "put" as const,
          key: offsetKey(first + i),
          value: encodeMetadataRecord(record),
        })),
        { sync: true },
      );
      this.lastOffset = first + records.length - 1;
      notifyCommit(this.listeners, records, first);
      return first;
    });
    this.appending = result.catch(() => undefined);
    return result;
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async read(fromOffset: number, maxRecords: number): Promise<MetadataRecord[]> {
    const records: MetadataRecord[] = [];
    const range = {
      gte: offsetKey(Math.max(0, fromOffset)),
      lte: offsetKey(this.lastOffset),
      limit: maxRecords,
    };
    if (fromOffset > this.lastOffset) return records;
    for await (const value of this.db.values(range)) records.push(decodeMetadataRecord(value));
    return records;
  }

  async close(): Promise<void> {
    await this.appending;
    await this.db.close();
  }
}
