// The small files beside a partition's segments, in Kafka's checkpoint format
// (a version line, an entry count, then one entry a line), each replaced
// atomically so a crash leaves the old or the new value, never half of one.

import path from "node:path";
import type { FileSystem } from "./file-system.js";
import type { EpochEntries } from "./leader-epoch-cache.js";

export const highWatermarkFile = "high-watermark";
export const logStartOffsetFile = "log-start-offset";
export const leaderEpochFile = "leader-epoch-checkpoint";
/**
 * Kafka's recovery point: every offset below it was fsynced (segments and directory) when it was written.
 * It lags the flushes (it is written with the high watermark) and is lowered at once by a truncation
 * below it; recovery trusts the log below it and re-checks everything from it on.
 */
export const recoveryPointFile = "recovery-point";
/** The log cleaner's first dirty offset: everything below it has been compacted. */
export const cleanerOffsetFile = "cleaner-offset-checkpoint";

const checkpointVersion = 0;

export function formatCheckpoint(lines: readonly string[]): string {
  return [String(checkpointVersion), String(lines.length), ...lines].join("\n") + "\n";
}

/** The entry lines of a checkpoint, each split on spaces into whole numbers; throws on anything malformed. */
export function parseCheckpoint(text: string): number[][] {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const [version, count, ...entries] = lines;
  if (Number(version) !== checkpointVersion) throw new Error(`unknown checkpoint version ${version}`);
  if (Number(count) !== entries.length)
    throw new Error(`checkpoint says ${count} entries but has ${entries.length}`);
  return entries.map((line) => {
    const fields = line.trim().split(/\s+/).map(Number);
    if (!fields.every(Number.isSafeInteger))
      throw new Error(`checkpoint line "${line}" is not whole numbers`);
    return fields;
  });
}

export function formatOffset(offset: number): string {
  return formatCheckpoint([String(offset)]);
}

export function parseOffset(text: string): number {
  const [entry, ...rest] = parseCheckpoint(text);
  if (entry?.length !== 1 || rest.length > 0) throw new Error("expected exactly one offset");
  return entry[0];
}

export function formatEpochs(entries: EpochEntries): string {
  return formatCheckpoint(entries.map((entry) => `${entry.epoch} ${entry.startOffset}`));
}

export function parseEpochs(text: string): EpochEntries {
  return parseCheckpoint(text).map((fields) => {
    if (fields.length !== 2) throw new Error("expected 'epoch startOffset' lines");
    return { epoch: fields[0], startOffset: fields[1] };
  });
}

/** Reads one checkpoint of `dir`; undefined when missing, and `onError` decides what a malformed one means. */
export function readCheckpoint<T>(
  fileSystem: FileSystem,
  dir: string,
  name: string,
  parse: (text: string) => T,
  onError: (error: unknown) => T | undefined,
): T | undefined {
  const bytes = fileSystem.readFile(path.join(dir, name));
  if (bytes === undefined) return undefined;
  try {
    return parse(bytes.toString("utf8"));
  } catch (error) {
    return onError(error);
  }
}
