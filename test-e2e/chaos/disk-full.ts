// The chaos suite's full disk: each node's data directory on a filesystem of its own (a loop-mounted ext4
// image, sparse, so it costs only what is written), its Raft metadata log outside it (a Raft storage
// failure ends the process by design; BROOK_METADATA_DIR). The fault fills the leader's disk with ballast
// for a while and frees it. On ext4 the writes then fail with ENOSPC (fsync does not: ext4 reserves the
// blocks at write time). Brook answers by resigning every in-sync replica on that disk that another
// in-sync replica can stand in for; they catch up and rejoin once space returns. Needs root (losetup, mount).
// A run killed before it unmounted leaves loop mounts under /tmp/brook-e2e-*: scripts/chaos-net-clean.sh
// removes them.

import { execFileSync } from "node:child_process";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statfsSync,
  statSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** Room for a 200-fault soak's records (sparse: an image takes only what was written). */
const diskMb = 1024;
/** What the preallocated ballast leaves free, for a second one written up to ENOSPC (ext4 needs some blocks to allocate). */
const ballastSlackBytes = 1024 * 1024;
/** Written in chunks this small, so what stays free is less than one. */
const ballastChunkBytes = 1024;
/** Write, fsync and write again at most this many times. */
const ballastPassesMax = 8;

function succeeds(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Why data disks cannot be mounted here (not root, no loop devices, ...), or undefined when they can. */
export function dataDisksUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "not root (loop mounts need it)";
  const root = mkdtempSync(join(tmpdir(), "brook-disk-probe-"));
  try {
    const disk = new DataDisks();
    try {
      disk.mount(join(root, "data"), 8);
    } catch (error) {
      return `loop mounts are not permitted here: ${(error as Error).message.split("\n")[0]}`;
    } finally {
      disk.unmountAll();
    }
    return succeeds("fallocate", ["--help"]) ? undefined : "no fallocate";
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Small ext4 filesystems loop-mounted on nodes' data directories, and the ballast that fills them. */
export class DataDisks {
  private readonly mounted: string[] = [];

  /**
   * For the launcher's prepareNode: the node's data directory on a disk of its own, its metadata log
   * beside it (off that disk); returns the node's extra environment.
   */
  prepareNode = ({ dataDir }: { dataDir: string }): Record<string, string> => {
    this.mount(dataDir, diskMb);
    const metadataDir = join(dirname(dataDir), "metadata");
    mkdirSync(metadataDir, { recursive: true });
    return { BROOK_METADATA_DIR: metadataDir };
  };

  /** Mounts a fresh ext4 image of `sizeMb` (beside `dir`) on `dir`. */
  mount(dir: string, sizeMb: number): void {
    mkdirSync(dir, { recursive: true });
    const image = `${dir}.img`;
    execFileSync("truncate", ["-s", `${sizeMb}M`, image]);
    // No blocks reserved for root (the nodes run as root): full means full. A big disk's journal kept to
    // 4 MB (mkfs writes it all; ext4's default for 1 GB is 32 MB).
    const journal = sizeMb >= 256 ? ["-J", "size=4"] : [];
    execFileSync("mkfs.ext4", ["-q", "-F", "-m", "0", ...journal, image]);
    execFileSync("mount", ["-o", "loop", image, dir], { stdio: "pipe" });
    this.mounted.push(dir);
    rmSync(join(dir, "lost+found"), { recursive: true, force: true });
  }

  /** Once every node is dead (a node holds its files open). A mount that will not go is left and named. */
  unmountAll = (): void => {
    for (const dir of this.mounted.splice(0)) {
      if (!succeeds("umount", [dir])) console.warn(`chaos: could not unmount ${dir}`);
    }
  };
}

/** The ballast of a filled disk (no name like a partition directory's, `<topic>-<n>`). */
const ballastFiles = (dir: string) => [join(dir, "ballast.preallocated"), join(dir, "ballast.written")];

/**
 * Fills the disk holding `dir`: one preallocated file takes all but ballastSlackBytes (fallocate: no data
 * is written, so it is instant whatever the size), a second is written up to ENOSPC, and again after an
 * fsync for as long as that frees room (ext4 reserves blocks for delayed writes, and gives some back once
 * they are written). freeDisk undoes it.
 */
export function fillDisk(dir: string): void {
  // Never the machine's own disk: only a filesystem mounted on `dir` itself.
  if (statSync(dir).dev === statSync(dirname(dir)).dev) {
    throw new Error(`${dir} is not a mount point (not a disk of its own): refusing to fill it`);
  }
  const [preallocated, written] = ballastFiles(dir);
  const stats = statfsSync(dir);
  const bytes = stats.bavail * stats.bsize - ballastSlackBytes;
  if (bytes > 0) execFileSync("fallocate", ["-l", String(bytes), preallocated]);
  const fd = openSync(written, "a");
  try {
    for (let pass = 0; pass < ballastPassesMax && writeUntilFull(fd) > 0; pass++) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Appends zeros to `fd` until ENOSPC (at most 4 × ballastSlackBytes); returns how many bytes went in. */
function writeUntilFull(fd: number): number {
  const chunk = Buffer.alloc(ballastChunkBytes);
  let bytesWritten = 0;
  try {
    while (bytesWritten < 4 * ballastSlackBytes) bytesWritten += writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  }
  return bytesWritten;
}

export function freeDisk(dir: string): void {
  for (const file of ballastFiles(dir)) rmSync(file, { force: true });
}

/** The fault: the disk under `dataDir` full for `holdMs`, then freed (even when filling it failed). */
export async function fillDiskFor(dataDir: string, holdMs: number): Promise<void> {
  try {
    fillDisk(dataDir);
    await new Promise((resolve) => setTimeout(resolve, holdMs));
  } finally {
    freeDisk(dataDir);
  }
}
