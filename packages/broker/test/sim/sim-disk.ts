// A broker machine's disk in the replication simulator: the real file system
// under the real PartitionLog, with durability simulated. An fsync (of a file
// or a directory) completes when the simulator's event queue says so, never
// when the kernel does, so a seed replays the same interleaving of appends and
// flushes. A process crash fails every fsync in flight and every later call of
// that process; the files stay as written (the page cache survives it).
//
// A power loss keeps only what the model says is on stable storage, as POSIX
// promises it and no more:
// - a file's bytes are durable up to its last completed fsync (what was
//   written before that fsync began); unsynced writes and truncations may be
//   lost, kept, or torn at any byte (a prefix of the new bytes over the old);
// - a directory entry (a new file, a rename, a removal) is durable only once
//   that directory's fsync completes: before that, a new file vanishes, a
//   renamed file is back under its old name, a removed one is back;
// - writeFileAtomic is what the real adapter does: temp file, fsync, rename,
//   fsync of the directory, so it is durable when it returns (and makes every
//   earlier entry change in that directory durable too).
// Directories themselves (mkdirp) are taken as durable: the simulator creates
// each partition directory once, before anything is written in it.

import fs from "node:fs";
import path from "node:path";
import { type FileSystem, type LogFile, nodeFileSystem } from "@brook/storage";
import type { Random } from "@brook/testkit";

/** One file's data, whatever names it has. */
interface Inode {
  /** What survives a power loss: the content as of the start of its last completed fsync. */
  durable: Buffer;
}

export class SimDisk implements FileSystem {
  /** Bumped by every change to a file, so the checker re-reads a log only when it may have changed. */
  version = 0;
  /** What power losses did, for the run's report: files whose unsynced bytes were lost or torn, entries undone. */
  readonly lossCounts = { lostBytes: 0, tornFiles: 0, lostEntries: 0 };
  private crashed = false;
  private readonly syncsInFlight = new Set<(error?: Error) => void>();
  /** Path → file, as the running system sees the directories. */
  private live = new Map<string, Inode>();
  /** Path → file, as the directories are on stable storage. */
  private durable = new Map<string, Inode>();

  /** `scheduleSync(complete)`: the simulator calls `complete` when this fsync finishes. */
  constructor(private readonly scheduleSync: (complete: () => void) => void) {}

  mkdirp = nodeFileSystem.mkdirp;
  list = nodeFileSystem.list;
  readFile = nodeFileSystem.readFile;

  writeFileAtomic(file: string, data: string): void {
    this.change();
    const temp = `${file}.tmp`;
    fs.writeFileSync(temp, data);
    fs.renameSync(temp, file);
    this.live.set(file, { durable: Buffer.from(data) });
    this.persistEntries(path.dirname(file), this.entriesIn(path.dirname(file)));
  }

  remove(file: string): void {
    this.change();
    this.live.delete(file);
    nodeFileSystem.remove(file);
  }

  rename(from: string, to: string): void {
    this.change();
    const inode = this.live.get(from);
    fs.renameSync(from, to);
    this.live.delete(from);
    if (inode) this.live.set(to, inode);
  }

  removeDir(dir: string): void {
    this.change();
    for (const file of [...this.live.keys()]) {
      if (file.startsWith(`${dir}${path.sep}`)) this.live.delete(file);
    }
    nodeFileSystem.removeDir(dir);
  }

  /** The entries are those at the start of the fsync; they are durable once it completes. */
  async syncDir(dir: string): Promise<void> {
    const entries = this.entriesIn(dir);
    await this.sync();
    this.persistEntries(dir, entries);
  }

  open(file: string): LogFile {
    this.change();
    let inode = this.live.get(file);
    if (!inode) {
      inode = { durable: Buffer.alloc(0) };
      this.live.set(file, inode);
    }
    const real = nodeFileSystem.open(file);
    const created = inode;
    return {
      size: () => real.size(),
      read: (buffer, position) => real.read(buffer, position),
      write: (buffer, position) => {
        this.change();
        real.write(buffer, position);
      },
      truncate: (sizeBytes) => {
        this.change();
        real.truncate(sizeBytes);
      },
      sync: async () => {
        const content = this.crashed ? Buffer.alloc(0) : readAll(real);
        await this.sync();
        created.durable = content;
      },
      close: () => real.close(),
      modifiedMs: () => real.modifiedMs?.() ?? 0,
    };
  }

  /** The process died: fsyncs in flight fail, and nothing it does later reaches the disk. */
  crash(): void {
    this.crashed = true;
    const error = new Error("simulated crash");
    for (const fail of [...this.syncsInFlight]) fail(error);
  }

  /** A new process uses the disk (after a crash, and after a power loss). */
  restart(): void {
    this.crashed = false;
  }

  /**
   * The machine loses power (its process has crashed first): every directory
   * goes back to its durable entries, and each durable file to its durable
   * bytes, its newest bytes, or the old ones torn by a prefix of the new.
   * Returns what happened, for the trace.
   */
  powerLoss(random: Random): string {
    const currentPathOf = new Map<Inode, string>();
    for (const [file, inode] of this.live) currentPathOf.set(inode, file);
    const survivors = new Map<string, Buffer>();
    const outcomes: string[] = [];
    for (const [file, inode] of [...this.durable].sort(([a], [b]) => a.localeCompare(b))) {
      const livePath = currentPathOf.get(inode);
      const current = livePath === undefined ? inode.durable : fs.readFileSync(livePath);
      const { content, outcome } = afterPowerLoss(random, inode.durable, current);
      survivors.set(file, content);
      if (outcome) outcomes.push(`${path.basename(file)} ${outcome.description}`);
      if (outcome?.kind === "lost") this.lossCounts.lostBytes++;
      if (outcome?.kind === "torn") this.lossCounts.tornFiles++;
    }
    const lost = [...this.live.keys()].filter((file) => !this.durable.has(file));
    this.lossCounts.lostEntries += lost.length;
    for (const dir of new Set([...this.live.keys(), ...this.durable.keys()].map((f) => path.dirname(f)))) {
      for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) fs.rmSync(path.join(dir, name));
    }
    this.live = new Map();
    this.durable = new Map();
    for (const [file, content] of survivors) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
      const inode = { durable: content };
      this.live.set(file, inode);
      this.durable.set(file, inode);
    }
    this.version++;
    if (lost.length > 0)
      outcomes.push(`lost (entry not synced): ${lost.map((f) => path.basename(f)).join(", ")}`);
    return outcomes.join("; ") || "nothing unsynced";
  }

  private entriesIn(dir: string): Map<string, Inode> {
    return new Map([...this.live].filter(([file]) => path.dirname(file) === dir));
  }

  private persistEntries(dir: string, entries: ReadonlyMap<string, Inode>): void {
    for (const file of [...this.durable.keys()]) if (path.dirname(file) === dir) this.durable.delete(file);
    for (const [file, inode] of entries) this.durable.set(file, inode);
  }

  private change(): void {
    if (this.crashed) throw new Error("simulated crash: the process is gone");
    this.version++;
  }

  private sync(): Promise<void> {
    if (this.crashed) return Promise.reject(new Error("simulated crash"));
    return new Promise((resolve, reject) => {
      const settle = (error?: Error) => {
        if (!this.syncsInFlight.delete(settle)) return;
        if (error) reject(error);
        else resolve();
      };
      this.syncsInFlight.add(settle);
      this.scheduleSync(() => settle());
    });
  }
}

function readAll(file: LogFile): Buffer {
  const buffer = Buffer.alloc(file.size());
  const read = file.read(buffer, 0);
  return buffer.subarray(0, read);
}

/** A file's bytes after a power loss; the outcome is undefined when nothing was unsynced. */
function afterPowerLoss(
  random: Random,
  durable: Buffer,
  current: Buffer,
): { content: Buffer; outcome: { kind: LossKind; description: string } | undefined } {
  if (durable.equals(current)) return { content: durable, outcome: undefined };
  const kind = random.pick(["kept", "lost", "torn"] as const);
  switch (kind) {
    case "kept":
      return {
        content: current,
        outcome: { kind, description: `unsynced bytes kept (${durable.length} -> ${current.length})` },
      };
    case "lost":
      return {
        content: durable,
        outcome: { kind, description: `unsynced bytes lost (${current.length} -> ${durable.length})` },
      };
    case "torn": {
      const at = random.int(0, current.length);
      const content = Buffer.concat([current.subarray(0, at), durable.subarray(at)]);
      const description = `torn at byte ${at} (durable ${durable.length}, written ${current.length})`;
      return { content, outcome: { kind, description } };
    }
  }
}

type LossKind = "kept" | "lost" | "torn";
