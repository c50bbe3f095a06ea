// A simulated disk for tests: the real file system, with writes that can be
// made to fail part way (ENOSPC, EIO) and fsyncs that can be made to fail,
// plus counts of reads and fsyncs. Storage and broker tests share it.

import { type FileSystem, type LogFile, nodeFileSystem } from "@brook/storage";

/** The real file system, with writes that can be made to fail part way and counts of reads and fsyncs. */
export class FaultyFileSystem implements FileSystem {
  fileSyncs = 0;
  fileReads = 0;
  /**
   * When set, a write puts only `writtenBytes` on disk and then fails with `code`: the first write to a file
   * ending in `suffix` (any file when absent) after `skipWrites` such writes went through.
   */
  failNextWrite: { writtenBytes: number; code: string; suffix?: string; skipWrites?: number } | undefined;
  /** When set, every fsync fails with this code. */
  failSyncs: string | undefined;
  /** When set, every checkpoint write (writeFileAtomic) fails with this code, leaving the old file. */
  failCheckpoints: string | undefined;
  /** When set, what freeBytes says whatever the real disk has (0: a disk still full). */
  reportedFreeBytes: number | undefined;

  mkdirp = nodeFileSystem.mkdirp;
  list = nodeFileSystem.list;
  readFile = nodeFileSystem.readFile;
  writeFileAtomic(file: string, data: string): void {
    if (this.failCheckpoints)
      throw Object.assign(new Error(`${this.failCheckpoints}: simulated`), { code: this.failCheckpoints });
    nodeFileSystem.writeFileAtomic(file, data);
  }
  remove = nodeFileSystem.remove;
  rename = nodeFileSystem.rename;
  removeDir = nodeFileSystem.removeDir;
  syncDir = nodeFileSystem.syncDir;

  freeBytes(dir: string): number {
    return this.reportedFreeBytes ?? nodeFileSystem.freeBytes?.(dir) ?? Number.POSITIVE_INFINITY;
  }

  open(file: string): LogFile {
    const real = nodeFileSystem.open(file);
    return {
      size: () => real.size(),
      modifiedMs: () => real.modifiedMs?.() ?? 0,
      read: (buffer, position) => {
        this.fileReads += 1;
        return real.read(buffer, position);
      },
      write: (buffer, position) => {
        const failure = this.failNextWrite;
        if (failure && file.endsWith(failure.suffix ?? "")) {
          if (failure.skipWrites) {
            failure.skipWrites -= 1;
            real.write(buffer, position);
            return;
          }
          this.failNextWrite = undefined;
          real.write(buffer.subarray(0, failure.writtenBytes), position);
          throw Object.assign(new Error(`${failure.code}: simulated`), { code: failure.code });
        }
        real.write(buffer, position);
      },
      truncate: (sizeBytes) => real.truncate(sizeBytes),
      sync: async () => {
        this.fileSyncs += 1;
        if (this.failSyncs)
          throw Object.assign(new Error(`${this.failSyncs}: simulated`), { code: this.failSyncs });
        await real.sync();
      },
      close: () => real.close(),
    };
  }
}
