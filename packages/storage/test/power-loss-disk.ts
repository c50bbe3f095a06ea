// An in-memory file system for tests that lose power, durable only as POSIX promises (the broker's
// simulator has a fuller one over the real disk; storage tests may not import it): a file's bytes are
// durable as of the start of its last completed fsync, a directory entry once that directory is fsynced
// (writeFileAtomic fsyncs both at once). `powerLoss` lets the test say what each file became.

import path from "node:path";
import type { FileSystem, LogFile } from "../src/index.js";

interface Inode {
  live: Buffer;
  /** What an fsync made durable; a power loss keeps this, the live bytes, or anything the test picks. */
  durable: Buffer;
}

/**
 * What a file is after a power loss, given its durable and live bytes (durable undefined: its directory
 * entry was never synced; live undefined: it was removed but the removal was not synced). Undefined: gone.
 */
export type PowerLossOutcome = (
  file: string,
  durable: Buffer | undefined,
  live: Buffer | undefined,
) => Buffer | undefined;

/** Everything unsynced is lost. */
export const loseUnsynced: PowerLossOutcome = (_file, durable) => durable;

export class PowerLossDisk implements FileSystem {
  /** Path → file as the running process sees the directories. */
  private live = new Map<string, Inode>();
  /** Path → file as the directories are on stable storage. */
  private durable = new Map<string, Inode>();

  mkdirp(): void {}

  list(dir: string): string[] {
    return [...this.live.keys()]
      .filter((file) => path.dirname(file) === dir)
      .map((file) => path.basename(file));
  }

  open(file: string): LogFile {
    let inode = this.live.get(file);
    if (!inode) {
      inode = { live: Buffer.alloc(0), durable: Buffer.alloc(0) };
      this.live.set(file, inode);
    }
    const node = inode;
    return {
      size: () => node.live.length,
      read: (buffer, position) => node.live.copy(buffer, 0, position, position + buffer.length),
      write: (buffer, position) => {
        const grown = Buffer.alloc(Math.max(node.live.length, position + buffer.length));
        node.live.copy(grown);
        buffer.copy(grown, position);
        node.live = grown;
      },
      truncate: (sizeBytes) => {
        const cut = Buffer.alloc(sizeBytes);
        node.live.copy(cut, 0, 0, sizeBytes);
        node.live = cut;
      },
      sync: async () => {
        const content = Buffer.from(node.live);
        await Promise.resolve();
        node.durable = content;
      },
      close: () => {},
    };
  }

  readFile(file: string): Buffer | undefined {
    const inode = this.live.get(file);
    return inode && Buffer.from(inode.live);
  }

  writeFileAtomic(file: string, data: string): void {
    const bytes = Buffer.from(data);
    this.live.set(file, { live: bytes, durable: bytes });
    this.persistEntries(path.dirname(file));
  }

  remove(file: string): void {
    this.live.delete(file);
  }

  removeDir(dir: string): void {
    for (const file of [...this.live.keys()])
      if (file.startsWith(`${dir}${path.sep}`)) this.live.delete(file);
  }

  async syncDir(dir: string): Promise<void> {
    const entries = new Map([...this.live].filter(([file]) => path.dirname(file) === dir));
    await Promise.resolve();
    this.persistEntries(dir, entries);
  }

  /** The machine loses power: each file becomes what `outcome` says (see PowerLossOutcome). */
  powerLoss(outcome: PowerLossOutcome): void {
    const files = new Set([...this.live.keys(), ...this.durable.keys()]);
    const after = new Map<string, Inode>();
    for (const file of [...files].sort()) {
      const content = outcome(file, this.durable.get(file)?.durable, this.live.get(file)?.live);
      if (content) after.set(file, { live: Buffer.from(content), durable: Buffer.from(content) });
    }
    this.live = after;
    this.durable = new Map(after);
  }

  private persistEntries(
    dir: string,
    entries = new Map([...this.live].filter(([f]) => path.dirname(f) === dir)),
  ) {
    for (const file of [...this.durable.keys()]) if (path.dirname(file) === dir) this.durable.delete(file);
    for (const [file, inode] of entries) this.durable.set(file, inode);
  }
}
