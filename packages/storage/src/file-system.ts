// The narrow file API the partition log uses, so tests and the simulator can
// put a faulty or in-memory disk under it. `nodeFileSystem` is the one adapter
// that touches the real disk.
//
// Reads and writes are synchronous positional calls: against the page cache
// they take microseconds, and doing them in line keeps the order of appends,
// index updates and truncations trivially the order of the calls. Only the
// slow part, fsync, is asynchronous.

import fs from "node:fs";
import path from "node:path";

export interface LogFile {
  /** Current size in bytes. */
  size(): number;
  /** Reads up to `buffer.length` bytes at `position`; returns how many were read (fewer only at the end). */
  read(buffer: Buffer, position: number): number;
  /** Writes all of `buffer` at `position` or throws; a throw may leave part of it written. */
  write(buffer: Buffer, position: number): void;
  truncate(sizeBytes: number): void;
  /** fdatasync: resolves once everything written so far is on stable storage. */
  sync(): Promise<void>;
  /** Closes the file once any sync in flight has finished; safe to call twice. */
  close(): void;
  /**
   * When the file's contents last changed (mtime, ms), if the disk can tell: a sealed segment trusts its
   * verified ranges only while this stays the same. Without it, trust is bounded by time alone.
   */
  modifiedMs?(): number;
}

export interface FileSystem {
  mkdirp(dir: string): void;
  /** File names in `dir`, not paths. */
  list(dir: string): string[];
  /** Opens for reading and writing, creating the file if it is missing. */
  open(file: string): LogFile;
  /** The whole file, or undefined if it does not exist. */
  readFile(file: string): Buffer | undefined;
  /** Replaces `file` so a crash leaves either the old or the new content: write a temp file, fsync, rename, fsync the directory. */
  writeFileAtomic(file: string, data: string): void;
  /** Removes a file; a missing file is not an error. */
  remove(file: string): void;
  /** Removes a directory and everything in it. */
  removeDir(dir: string): void;
  /** fsync of the directory itself, so files created in it survive a power loss. */
  syncDir(dir: string): Promise<void>;
  /**
   * Renames `from` to `to` atomically, replacing `to` if it exists (rename(2)); durable once the directory
   * is fsynced. Only the log cleaner needs it: a file system without it cannot compact.
   */
  rename?(from: string, to: string): void;
  /**
   * Bytes the disk holding `dir` has free for new data (statfs: available blocks × block size). Without
   * it, the disk is taken to have room: a full one is known only by the writes it refuses.
   */
  freeBytes?(dir: string): number;
}

class NodeLogFile implements LogFile {
  private syncsInFlight = 0;
  private closeRequested = false;

  constructor(private readonly fd: number) {}

  size(): number {
    return fs.fstatSync(this.fd).size;
  }

  modifiedMs(): number {
    return fs.fstatSync(this.fd).mtimeMs;
  }

  read(buffer: Buffer, position: number): number {
    let done = 0;
    while (done < buffer.length) {
      const n = fs.readSync(this.fd, buffer, done, buffer.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  write(buffer: Buffer, position: number): void {
    let done = 0;
    while (done < buffer.length) {
      done += fs.writeSync(this.fd, buffer, done, buffer.length - done, position + done);
    }
  }

  truncate(sizeBytes: number): void {
    fs.ftruncateSync(this.fd, sizeBytes);
  }

  sync(): Promise<void> {
    this.syncsInFlight += 1;
    return new Promise((resolve, reject) => {
      fs.fdatasync(this.fd, (error) => {
        this.syncsInFlight -= 1;
        // Closing while fdatasync runs would let the fd number be reused by another file.
        if (this.closeRequested && this.syncsInFlight === 0) fs.closeSync(this.fd);
        if (error) reject(error);
        else resolve();
      });
    });
  }

  close(): void {
    if (this.closeRequested) return;
    this.closeRequested = true;
    if (this.syncsInFlight === 0) fs.closeSync(this.fd);
  }
}

export const nodeFileSystem: FileSystem = {
  mkdirp: (dir) => fs.mkdirSync(dir, { recursive: true }),
  list: (dir) => fs.readdirSync(dir),
  open: (file) => new NodeLogFile(fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644)),
  readFile(file) {
    try {
      return fs.readFileSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  },
  writeFileAtomic(file, data) {
    const temp = `${file}.tmp`;
    const fd = fs.openSync(temp, "w", 0o644);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
    fsyncDirectory(path.dirname(file));
  },
  remove: (file) => fs.rmSync(file, { force: true }),
  rename: (from, to) => fs.renameSync(from, to),
  freeBytes(dir) {
    const stats = fs.statfsSync(dir);
    return stats.bavail * stats.bsize;
  },
  removeDir: (dir) => fs.rmSync(dir, { recursive: true, force: true }),
  async syncDir(dir) {
    const handle = await fs.promises.open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/**
 * fsync of a directory, synchronously: makes the names created, renamed or removed in `dir` durable (a
 * rename in `writeFileAtomic`, a new data directory in its parent).
 */
export function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
