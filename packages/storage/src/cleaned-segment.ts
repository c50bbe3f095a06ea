// A segment's cleaned copy, written beside it, and the renames that swap it in so that a crash at any point
// leaves either the old segment or the new one, never a mix:
//
//   1. write `<base>.log.cleaned`, `<base>.index.cleaned`, `<base>.timeindex.cleaned`, fsync them;
//   2. rename each to `.swap`, the log last, and fsync the directory: `<base>.log.swap` existing means the
//      three cleaned files are complete (the commit point);
//   3. rename each `.swap` over the segment's own file, the log last.
//
// On open (`recoverCleanerFiles`): `.cleaned` files go (step 1 or 2 did not finish; the old segment is
// intact); a `<base>.log.swap` is a complete cleaned segment, so step 3 is finished; an index `.swap` with
// no `<base>.log.swap` beside it is from an unfinished step 2, so it goes.

import path from "node:path";
import { readBatchHeader } from "@brook/protocol";
import type { FileSystem, LogFile } from "./file-system.js";
import {
  emptyIndexCursor,
  encodeOffsetEntries,
  encodeTimeEntries,
  finalTimeEntry,
  type IndexCursor,
  planIndexEntries,
} from "./indexes.js";
import { logSuffix, offsetIndexSuffix, segmentFileName, timeIndexSuffix } from "./segment.js";

export const cleanedSuffix = ".cleaned";
export const swapSuffix = ".swap";

/** The order of every rename: the log last, so its name marks the step as done. */
const suffixesLogLast = [offsetIndexSuffix, timeIndexSuffix, logSuffix];

/** Bytes of cleaned batches gathered before one write, so small batches do not cost a write each. */
const writeBufferBytes = 1024 * 1024;

export class CleanedSegmentWriter {
  private sizeBytes = 0;
  private offsetIndexBytes = 0;
  private timeIndexBytes = 0;
  private cursor: IndexCursor = emptyIndexCursor;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  private constructor(
    private readonly fileSystem: FileSystem,
    private readonly dir: string,
    readonly baseOffset: number,
    private readonly files: readonly LogFile[],
    private readonly indexIntervalBytes: number,
  ) {}

  /** Starts `<base>.{log,index,timeindex}.cleaned`, emptying any left by an earlier attempt. */
  static create(
    fileSystem: FileSystem,
    dir: string,
    baseOffset: number,
    indexIntervalBytes: number,
  ): CleanedSegmentWriter {
    const files: LogFile[] = [];
    try {
      for (const suffix of [logSuffix, offsetIndexSuffix, timeIndexSuffix]) {
        const file = fileSystem.open(cleanedPath(dir, baseOffset, suffix));
        files.push(file);
        file.truncate(0);
      }
    } catch (error) {
      for (const file of files) file.close();
      throw error;
    }
    return new CleanedSegmentWriter(fileSystem, dir, baseOffset, files, indexIntervalBytes);
  }

  get writtenBytes(): number {
    return this.sizeBytes + this.pendingBytes;
  }

  /** Adds one whole batch (its offsets are the ones it had in the old segment) and indexes it. */
  append(batch: Buffer): void {
    const header = readBatchHeader(batch);
    const plan = planIndexEntries(
      this.cursor,
      [
        {
          relativeOffset: header.baseOffset - this.baseOffset,
          position: this.writtenBytes,
          sizeBytes: batch.length,
          maxTimestampMs: header.maxTimestamp,
        },
      ],
      this.indexIntervalBytes,
    );
    this.cursor = plan.cursor;
    this.pending.push(batch);
    this.pendingBytes += batch.length;
    this.appendIndexes(encodeOffsetEntries(plan.offsetEntries), encodeTimeEntries(plan.timeEntries));
    if (this.pendingBytes >= writeBufferBytes) this.writePending();
  }

  /** Writes what is buffered and the final time entry, as sealing a segment does, then fsyncs the three files. */
  async finish(): Promise<void> {
    this.writePending();
    const final = finalTimeEntry(this.cursor);
    if (final) this.appendIndexes(Buffer.alloc(0), encodeTimeEntries([final]));
    await Promise.all(this.files.map((file) => file.sync()));
  }

  close(): void {
    for (const file of this.files) file.close();
  }

  /** Closes and removes the cleaned files: the clean is abandoned and the old segment stays. */
  discard(): void {
    this.close();
    for (const suffix of suffixesLogLast)
      this.fileSystem.remove(cleanedPath(this.dir, this.baseOffset, suffix));
  }

  private appendIndexes(offsetEntries: Buffer, timeEntries: Buffer): void {
    this.files[1].write(offsetEntries, this.offsetIndexBytes);
    this.offsetIndexBytes += offsetEntries.length;
    this.files[2].write(timeEntries, this.timeIndexBytes);
    this.timeIndexBytes += timeEntries.length;
  }

  private writePending(): void {
    if (this.pendingBytes === 0) return;
    this.files[0].write(Buffer.concat(this.pending, this.pendingBytes), this.sizeBytes);
    this.sizeBytes += this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/** Step 2: the cleaned files become `.swap`, the log last. Durable once the directory is fsynced. */
export function markCleanedForSwap(fileSystem: FileSystem, dir: string, baseOffset: number): void {
  const rename = renameOf(fileSystem);
  for (const suffix of suffixesLogLast) {
    rename(cleanedPath(dir, baseOffset, suffix), swapPath(dir, baseOffset, suffix));
  }
}

/** Step 3: each `.swap` file replaces the segment's own, the log last. */
export function replaceWithSwap(fileSystem: FileSystem, dir: string, baseOffset: number): void {
  const rename = renameOf(fileSystem);
  for (const suffix of suffixesLogLast) {
    rename(swapPath(dir, baseOffset, suffix), path.join(dir, segmentFileName(baseOffset, suffix)));
  }
}

/** Removes the `.swap` files of `baseOffset` (a clean abandoned after step 2). */
export function removeSwapFiles(fileSystem: FileSystem, dir: string, baseOffset: number): void {
  for (const suffix of suffixesLogLast) fileSystem.remove(swapPath(dir, baseOffset, suffix));
}

export interface CleanerFilesRecovery {
  /** Segments whose cleaned copy was complete and is now in place. */
  swappedIn: number[];
  /** Files of unfinished cleans that were removed. */
  removed: string[];
}

/** Finishes or discards what a crash left of a clean; see the rules at the top of this file. */
export function recoverCleanerFiles(fileSystem: FileSystem, dir: string): CleanerFilesRecovery {
  const names = fileSystem.list(dir);
  const removed = names.filter((name) => name.endsWith(cleanedSuffix));
  const swappedIn: number[] = [];
  for (const name of names.filter((candidate) => candidate.endsWith(swapSuffix))) {
    const match = /^(\d{20})\.(log|index|timeindex)\.swap$/.exec(name);
    if (match && match[2] === "log") swappedIn.push(Number(match[1]));
    else if (!match || !names.includes(`${match[1]}${logSuffix}${swapSuffix}`)) removed.push(name);
  }
  for (const name of removed) fileSystem.remove(path.join(dir, name));
  const rename = swappedIn.length > 0 ? renameOf(fileSystem) : undefined;
  for (const baseOffset of swappedIn) {
    // A crash in step 3 may have renamed the indexes already; the log's `.swap` is renamed last.
    for (const suffix of suffixesLogLast) {
      const swapName = segmentFileName(baseOffset, suffix) + swapSuffix;
      if (names.includes(swapName))
        rename?.(path.join(dir, swapName), path.join(dir, segmentFileName(baseOffset, suffix)));
    }
  }
  return { swappedIn, removed };
}

/** What step 3 of the swap needs; a file system without rename cannot compact. */
function renameOf(fileSystem: FileSystem): (from: string, to: string) => void {
  const { rename } = fileSystem;
  if (!rename)
    throw new Error("this file system cannot rename files, which swapping in a cleaned segment needs");
  return rename.bind(fileSystem);
}

function cleanedPath(dir: string, baseOffset: number, suffix: string): string {
  return path.join(dir, segmentFileName(baseOffset, suffix) + cleanedSuffix);
}

function swapPath(dir: string, baseOffset: number, suffix: string): string {
  return path.join(dir, segmentFileName(baseOffset, suffix) + swapSuffix);
}
