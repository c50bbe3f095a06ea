// One node's disk as the Raft log storage sees it (RaftDisk), with what a power
// loss does to it. The model is LevelDB's on a POSIX file system:
// - Every write batch is appended as one checksummed record to LevelDB's current
//   write-ahead log file. A power loss keeps a prefix of each log file: a record
//   torn at any byte fails its checksum, and recovery stops there.
// - A batch written with `sync` fsyncs the current log file: it and every record
//   before it in that file are durable.
// - When its memtable is full LevelDB switches to a new log file and closes the
//   old one without an fsync: until the memtable is flushed (here: at the next
//   switch) the unsynced tail of the closed file can be lost while synced
//   records of the new file survive. The simulator switches at random.
// - clear() is not atomic and not synced: each deleted key is such a write.
// - The store's directory is a new entry in its parent: until the parent is
//   fsynced, a power loss takes the whole store with it. LevelDB fsyncs what it
//   creates inside the directory itself (its manifest and CURRENT).
// A process crash (no power loss) keeps everything written.

import { dirname } from "node:path";
import type { Random } from "@brook/testkit";
import type { RaftDisk, RaftKv, WriteBatch } from "../../src/driver/level-storage.js";

/** One key's new value; `undefined` deletes it. */
interface Op {
  readonly key: string;
  readonly value: Uint8Array | undefined;
}

/** The records of one write-ahead log file not flushed into the store yet. */
interface LogFile {
  readonly writes: (readonly Op[])[];
  /** writes[0..synced) are durable. */
  synced: number;
}

/** A simulated log switch per this many writes, on average (LevelDB: every 4 MiB written). */
const writesPerLogFile = 32;

export class PowerLossKv implements RaftKv {
  /** What reads see: every write applied. */
  private readonly current = new Map<string, Uint8Array>();
  /** The store as of the last memtable flush: durable. */
  private base = new Map<string, Uint8Array>();
  /** The log file closed at the last switch (its memtable not flushed yet), then the current one. */
  private closed: LogFile = { writes: [], synced: 0 };
  private open: LogFile = { writes: [], synced: 0 };
  isOpen = false;

  constructor(private readonly random: Random) {}

  batch(): WriteBatch {
    const ops: Op[] = [];
    return {
      put: (key, value) => ops.push({ key, value }),
      del: (key) => ops.push({ key, value: undefined }),
      write: async ({ sync }) => this.write(ops, sync),
    };
  }

  async put(key: string, value: Uint8Array, options: { sync: boolean }): Promise<void> {
    this.write([{ key, value }], options.sync);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.checkOpen();
    return this.current.get(key);
  }

  async clear(range: { gt?: string; gte?: string; lte?: string }): Promise<void> {
    for (const key of [...this.current.keys()]) {
      if (inRange(key, range)) this.write([{ key, value: undefined }], false);
    }
  }

  async *iterator(range: { gt: string; lt: string }): AsyncIterable<[string, Uint8Array]> {
    this.checkOpen();
    const keys = [...this.current.keys()].filter((key) => key > range.gt && key < range.lt).sort();
    for (const key of keys) yield [key, this.current.get(key)!];
  }

  async close(): Promise<void> {
    this.isOpen = false;
  }

  /** The value of `key` that a power loss cannot take away (what synced records and the flushed store hold). */
  durable(key: string): Uint8Array | undefined {
    for (const file of [this.open, this.closed]) {
      for (let i = file.synced - 1; i >= 0; i--) {
        const op = file.writes[i].findLast((candidate) => candidate.key === key);
        if (op) return op.value;
      }
    }
    return this.base.get(key);
  }

  /** Power loss: each log file keeps its synced records and a random part of the rest. */
  losePower(random: Random): void {
    const kept = [...keptPrefix(this.closed, random), ...keptPrefix(this.open, random)];
    this.current.clear();
    for (const [key, value] of this.base) this.current.set(key, value);
    for (const ops of kept) applyTo(this.current, ops);
    this.base = new Map(this.current);
    this.closed = { writes: [], synced: 0 };
    this.open = { writes: [], synced: 0 };
    this.isOpen = false;
  }

  private write(ops: readonly Op[], sync: boolean): void {
    this.checkOpen();
    if (this.random.chance(1 / writesPerLogFile)) this.switchLogFile();
    applyTo(this.current, ops);
    this.open.writes.push(ops);
    if (sync) this.open.synced = this.open.writes.length;
  }

  /** The previous closed file's memtable is flushed by now (durable); the current file is closed unsynced. */
  private switchLogFile(): void {
    for (const ops of this.closed.writes) applyTo(this.base, ops);
    this.closed = this.open;
    this.open = { writes: [], synced: 0 };
  }

  private checkOpen(): void {
    if (!this.isOpen) throw new Error("the store is not open");
  }
}

function applyTo(state: Map<string, Uint8Array>, ops: readonly Op[]): void {
  for (const { key, value } of ops) {
    if (value === undefined) state.delete(key);
    else state.set(key, value);
  }
}

/** The records of `file` a power loss leaves: the synced ones, then the rest up to a random tear. */
function keptPrefix(file: LogFile, random: Random): (readonly Op[])[] {
  return file.writes.slice(0, random.int(file.synced, file.writes.length));
}

function inRange(key: string, range: { gt?: string; gte?: string; lte?: string }): boolean {
  if (range.gt !== undefined && key <= range.gt) return false;
  if (range.gte !== undefined && key < range.gte) return false;
  return range.lte === undefined || key <= range.lte;
}

/** A disk holding one store directory (its parent always exists and is durable). */
export class PowerLossDisk implements RaftDisk {
  private store: PowerLossKv | undefined;
  /** The store directory's entry in its parent survives a power loss. */
  private storeEntryDurable = false;

  constructor(
    readonly storeDir: string,
    private readonly random: Random,
  ) {}

  /** The value of `key` that a power loss cannot take away. */
  durable(key: string): Uint8Array | undefined {
    return this.storeEntryDurable ? this.store?.durable(key) : undefined;
  }

  async makeDirectories(dir: string): Promise<string[]> {
    this.checkDir(dir);
    if (this.store) return [];
    this.store = new PowerLossKv(this.random);
    this.storeEntryDurable = false;
    return [dir];
  }

  async syncDirectory(dir: string): Promise<void> {
    if (dir === dirname(this.storeDir) && this.store) this.storeEntryDurable = true;
  }

  async openStore(dir: string): Promise<RaftKv> {
    this.checkDir(dir);
    if (!this.store) throw new Error(`no directory ${dir}`);
    if (this.store.isOpen) throw new Error(`${dir} is locked by another open store`);
    this.store.isOpen = true;
    return this.store;
  }

  /** A process crash: its handle on the store is gone; everything written survives (in the page cache). */
  crashProcess(): void {
    if (this.store) this.store.isOpen = false;
  }

  losePower(): void {
    if (!this.store) return;
    if (!this.storeEntryDurable) this.store = undefined;
    else this.store.losePower(this.random);
  }

  private checkDir(dir: string): void {
    if (dir !== this.storeDir) throw new Error(`this disk holds only ${this.storeDir}, not ${dir}`);
  }
}
