// A broker's disk in the replication simulator: the real file system under the
// real PartitionLog, except that durability is simulated. An fsync (of a file
// or a directory) completes when the simulator's event queue says so, never
// when the kernel does, so a seed replays the same interleaving of appends and
// flushes; a crash fails every fsync in flight and every later write of that
// process. What a power loss takes away is decided by the simulator (see
// Simulation.crash): the log is cut back between its flushed offset and its end.

import fs from "node:fs";
import { type FileSystem, type LogFile, nodeFileSystem } from "@brook/storage";

export class SimDisk implements FileSystem {
  /** Bumped by every change to a file, so the checker re-reads a log only when it may have changed. */
  version = 0;
  private crashed = false;
  private readonly syncsInFlight = new Set<(error?: Error) => void>();

  /** `scheduleSync(complete)`: the simulator calls `complete` when this fsync finishes. */
  constructor(private readonly scheduleSync: (complete: () => void) => void) {}

  mkdirp = nodeFileSystem.mkdirp;
  list = nodeFileSystem.list;
  readFile = nodeFileSystem.readFile;

  /** Durable at once, as with the real adapter, which fsyncs the file and its directory before returning. */
  writeFileAtomic(file: string, data: string): void {
    this.change();
    const temp = `${file}.tmp`;
    fs.writeFileSync(temp, data);
    fs.renameSync(temp, file);
  }

  remove(file: string): void {
    this.change();
    nodeFileSystem.remove(file);
  }

  removeDir(dir: string): void {
    this.change();
    nodeFileSystem.removeDir(dir);
  }

  syncDir(): Promise<void> {
    return this.sync();
  }

  open(file: string): LogFile {
    this.change();
    const real = nodeFileSystem.open(file);
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
      sync: () => this.sync(),
      close: () => real.close(),
    };
  }

  /** The process died: fsyncs in flight fail, and nothing it does later reaches the disk. */
  crash(): void {
    this.crashed = true;
    const error = new Error("simulated crash");
    for (const fail of [...this.syncsInFlight]) fail(error);
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
