// A read-only check of one partition's log directory: every batch of every segment (length, CRC32C,
// offsets in sequence), each segment's offset and time index against those batches, the segments'
// offsets against each other, and the checkpoints against the log. It changes nothing, so it runs on a
// stopped node's data directory (`brook storage verify`) as well as on an open log (`PartitionLog.verify`).

import path from "node:path";
import type { BatchHeader } from "@brook/protocol";
import { type ScanEnd, verifiedBatches } from "./batch-scan.js";
import {
  cleanerOffsetFile,
  highWatermarkFile,
  leaderEpochFile,
  logStartOffsetFile,
  parseEpochs,
  parseOffset,
  readCheckpoint,
  recoveryPointFile,
} from "./checkpoints.js";
import type { FileSystem } from "./file-system.js";
import {
  decodeOffsetEntry,
  decodeTimeEntry,
  offsetEntryBytes,
  offsetIndexProblem,
  timeEntryBytes,
  timeIndexProblem,
} from "./indexes.js";
import type { EpochEntries } from "./leader-epoch-cache.js";
import {
  logSuffix,
  offsetIndexSuffix,
  parseSegmentFileName,
  segmentFileName,
  timeIndexSuffix,
} from "./segment.js";

export type VerifyFindingKind = "batch" | "gap" | "offset-index" | "time-index" | "checkpoint";

export interface VerifyFinding {
  kind: VerifyFindingKind;
  /** The file the problem is in. */
  file: string;
  /** The first offset the problem concerns, when it concerns records. */
  offset?: number;
  detail: string;
  /**
   * True when this copy cannot serve records it holds, or would answer wrongly, until it is repaired
   * (truncated to `offset` and fetched again from a good replica). False when opening or reading the log
   * rebuilds, cuts or ignores it safely: an index, a torn tail a crash left, a checkpoint the log clamps.
   */
  damaged: boolean;
}

export interface VerifyReport {
  dir: string;
  segments: number;
  batches: number;
  bytes: number;
  /** One past the last offset that verified. */
  logEndOffset: number;
  findings: VerifyFinding[];
}

interface SegmentCheck {
  baseOffset: number;
  sizeBytes: number;
  batches: number;
  end: ScanEnd;
  findings: VerifyFinding[];
}

/** Verifies the log in `dir`; see the file comment. Throws only when the disk cannot be read. */
export function verifyLogDir(fileSystem: FileSystem, dir: string): VerifyReport {
  const bases = fileSystem
    .list(dir)
    .map(parseSegmentFileName)
    .filter((parsed) => parsed?.suffix === logSuffix)
    .map((parsed) => parsed?.baseOffset ?? 0)
    .sort((a, b) => a - b);
  const logStartOffset = readChecked(fileSystem, dir, logStartOffsetFile, parseOffset).value ?? bases[0] ?? 0;
  const epochs = readChecked(fileSystem, dir, leaderEpochFile, parseEpochs).value ?? [];
  const epochCheck = new EpochCheck(epochs, logStartOffset);
  const checks = bases.map((baseOffset) => checkSegment(fileSystem, dir, baseOffset, epochCheck));
  const findings = checks.flatMap((check, i) => [
    ...continuityFindings(checks, i, dir),
    ...batchFindings(checks, i, dir),
    ...check.findings,
  ]);
  const logEndOffset = checks.at(-1)?.end.nextOffset ?? logStartOffset;
  findings.push(...epochCheck.findings(path.join(dir, leaderEpochFile)));
  // With a bad batch the log's end is not known from what verified, so the high watermark is not judged.
  const knownEnd = checks.some((check) => check.end.problem) ? undefined : logEndOffset;
  findings.push(...checkpointFindings(fileSystem, dir, bases, knownEnd));
  return {
    dir,
    segments: checks.length,
    batches: checks.reduce((sum, check) => sum + check.batches, 0),
    bytes: checks.reduce((sum, check) => sum + check.sizeBytes, 0),
    logEndOffset,
    findings,
  };
}

/** Scans one segment's batches and checks its two indexes against them as it goes. */
function checkSegment(
  fileSystem: FileSystem,
  dir: string,
  baseOffset: number,
  epochs: EpochCheck,
): SegmentCheck {
  const file = (suffix: string) => path.join(dir, segmentFileName(baseOffset, suffix));
  const log = fileSystem.open(file(logSuffix));
  try {
    const sizeBytes = log.size();
    const offsetIndex = new OffsetIndexCheck(
      fileSystem.readFile(file(offsetIndexSuffix)),
      baseOffset,
      sizeBytes,
    );
    const timeIndex = new TimeIndexCheck(fileSystem.readFile(file(timeIndexSuffix)), baseOffset);
    const chunks = verifiedBatches(log, 0, sizeBytes, baseOffset);
    let batches = 0;
    // Each step takes one chunk of batches; the generator ends by the end of the file.
    for (let next = chunks.next(); ; next = chunks.next()) {
      if (next.done) {
        const findings = [
          ...offsetIndex.finish(next.value, file(offsetIndexSuffix)),
          ...timeIndex.finish(next.value, file(timeIndexSuffix)),
        ];
        return { baseOffset, sizeBytes, batches, end: next.value, findings };
      }
      for (const header of next.value.batches) {
        const position = next.value.position + header.position;
        offsetIndex.visit(position, header);
        timeIndex.visit(header);
        epochs.visit(header);
        batches += 1;
      }
    }
  } finally {
    log.close();
  }
}

/** A segment whose base offset does not continue the verified end of the one before it. */
function continuityFindings(checks: readonly SegmentCheck[], i: number, dir: string): VerifyFinding[] {
  const previous = checks[i - 1];
  const check = checks[i];
  if (!previous || previous.end.problem || previous.end.nextOffset === check.baseOffset) return [];
  return [
    {
      kind: "gap",
      file: path.join(dir, segmentFileName(check.baseOffset, logSuffix)),
      offset: previous.end.nextOffset,
      detail: `offsets jump from ${previous.end.nextOffset} to ${check.baseOffset}: opening the log drops this segment and every later one`,
      damaged: true,
    },
  ];
}

/**
 * A batch that failed verification. Only a torn (or zeroed) tail with nothing after it is what a crash
 * leaves of writes that never reached the disk; recovery cuts it, as it always did.
 */
function batchFindings(checks: readonly SegmentCheck[], i: number, dir: string): VerifyFinding[] {
  const { end, baseOffset } = checks[i];
  if (!end.problem) return [];
  const crashTail = end.tornTail && checks.slice(i + 1).every((later) => later.sizeBytes === 0);
  return [
    {
      kind: "batch",
      file: path.join(dir, segmentFileName(baseOffset, logSuffix)),
      offset: end.nextOffset,
      detail: crashTail
        ? `a torn tail at byte ${end.endPosition} (${end.problem}); opening the log cuts it`
        : `a corrupt batch at byte ${end.endPosition}: ${end.problem}`,
      damaged: !crashTail,
    },
  ];
}

/** Offset index entries must each point at the start of a verified batch and name its offset. */
class OffsetIndexCheck {
  private next = 0;
  private problem: string | undefined;

  constructor(
    private readonly bytes: Buffer | undefined,
    private readonly baseOffset: number,
    logSizeBytes: number,
  ) {
    this.problem = bytes === undefined ? "is missing" : offsetIndexProblem(bytes, logSizeBytes);
  }

  visit(position: number, header: BatchHeader): void {
    if (this.problem || !this.bytes) return;
    // Entries are strictly increasing (offsetIndexProblem), so each is passed by exactly one batch.
    while (this.next < this.bytes.length) {
      const entry = decodeOffsetEntry(this.bytes, this.next);
      if (entry.position > position) return;
      if (entry.position < position) {
        this.problem = `entry at byte ${this.next} points inside a batch (byte ${entry.position})`;
      } else if (this.baseOffset + entry.relativeOffset !== header.baseOffset) {
        this.problem = `entry at byte ${this.next} names offset ${this.baseOffset + entry.relativeOffset} for the batch at ${header.baseOffset}`;
      }
      if (this.problem) return;
      this.next += offsetEntryBytes;
    }
  }

  /** Entries past a bad batch are expected (they were written before it went bad), so only a clean end checks. */
  finish(end: ScanEnd, file: string): VerifyFinding[] {
    if (!this.problem && !end.problem && this.bytes && this.next < this.bytes.length) {
      this.problem = `entry at byte ${this.next} points past the last verified batch (byte ${end.endPosition})`;
    }
    return indexFinding("offset-index", file, this.problem);
  }
}

/**
 * Time index entries must each name a verified batch's offset with a timestamp no older than every batch
 * up to it (else a search by time would skip records).
 */
class TimeIndexCheck {
  private next = 0;
  private maxTimestampMs = -1;
  private problem: string | undefined;

  constructor(
    private readonly bytes: Buffer | undefined,
    private readonly baseOffset: number,
  ) {
    this.problem = bytes === undefined ? "is missing" : undefined;
  }

  visit(header: BatchHeader): void {
    if (this.problem || !this.bytes) return;
    this.maxTimestampMs = Math.max(this.maxTimestampMs, header.maxTimestamp);
    while (this.next < this.bytes.length) {
      const entry = decodeTimeEntry(this.bytes, this.next);
      const offset = this.baseOffset + entry.relativeOffset;
      if (offset > header.baseOffset) return;
      if (offset < header.baseOffset) {
        this.problem = `entry at byte ${this.next} names offset ${offset}, where no batch starts`;
      } else if (entry.timestampMs < this.maxTimestampMs) {
        this.problem = `entry at byte ${this.next} says ${entry.timestampMs}, older than the batches it covers (${this.maxTimestampMs})`;
      }
      if (this.problem) return;
      this.next += timeEntryBytes;
    }
  }

  finish(end: ScanEnd, file: string): VerifyFinding[] {
    if (!this.problem && !end.problem && this.bytes) {
      this.problem =
        timeIndexProblem(this.bytes, end.nextOffset - this.baseOffset) ??
        (this.next < this.bytes.length
          ? `entry at byte ${this.next} points past the last verified batch`
          : undefined);
    }
    return indexFinding("time-index", file, this.problem);
  }
}

function indexFinding(kind: VerifyFindingKind, file: string, problem: string | undefined): VerifyFinding[] {
  if (!problem) return [];
  return [{ kind, file, detail: `${problem}; opening or reading the segment rebuilds it`, damaged: false }];
}

/**
 * Each batch's partition leader epoch must be the epoch the leader-epoch checkpoint gives its offset: the
 * epoch lies outside the CRC, and followers truncate by the checkpoint, so either one being wrong matters.
 */
class EpochCheck {
  private next = 0;
  private mismatch: { offset: number; detail: string } | undefined;

  constructor(
    private readonly entries: EpochEntries,
    private readonly logStartOffset: number,
  ) {}

  visit(header: BatchHeader): void {
    if (this.mismatch || this.entries.length === 0 || header.baseOffset < this.logStartOffset) return;
    while (
      this.next + 1 < this.entries.length &&
      this.entries[this.next + 1].startOffset <= header.baseOffset
    ) {
      this.next += 1;
    }
    const expected = this.entries[this.next];
    if (expected.startOffset <= header.baseOffset && expected.epoch === header.partitionLeaderEpoch) return;
    this.mismatch = {
      offset: header.baseOffset,
      detail: `the batch at offset ${header.baseOffset} has leader epoch ${header.partitionLeaderEpoch}, the checkpoint says ${expected.startOffset <= header.baseOffset ? expected.epoch : "none"}`,
    };
  }

  findings(file: string): VerifyFinding[] {
    if (!this.mismatch) return [];
    return [{ kind: "checkpoint", file, ...this.mismatch, damaged: true }];
  }
}

/** A checkpoint's value (undefined when missing), or why it could not be parsed. */
function readChecked<T>(
  fileSystem: FileSystem,
  dir: string,
  name: string,
  parse: (text: string) => T,
): { value?: T; problem?: string } {
  let problem: string | undefined;
  const value = readCheckpoint(fileSystem, dir, name, parse, (error) => {
    problem = error instanceof Error ? error.message : String(error);
    return undefined;
  });
  return { value, problem };
}

/** The offset checkpoints: readable, and within the log the segments hold. */
function checkpointFindings(
  fileSystem: FileSystem,
  dir: string,
  bases: readonly number[],
  logEndOffset: number | undefined,
): VerifyFinding[] {
  const findings: VerifyFinding[] = [];
  for (const name of [logStartOffsetFile, highWatermarkFile, cleanerOffsetFile, recoveryPointFile]) {
    const { value: offset, problem } = readChecked(fileSystem, dir, name, parseOffset);
    const file = path.join(dir, name);
    if (problem)
      findings.push({
        kind: "checkpoint",
        file,
        detail: `unreadable (${problem}); opening the log ignores it`,
        damaged: false,
      });
    if (offset === undefined) continue;
    if (name === logStartOffsetFile && bases.length > 0 && !bases.includes(offset)) {
      findings.push({
        kind: "checkpoint",
        file,
        offset,
        detail: `says the log starts at ${offset}, where no segment starts (segments start at ${bases.join(", ")}); opening the log ignores it`,
        damaged: false,
      });
    }
    if (name === highWatermarkFile && logEndOffset !== undefined && offset > logEndOffset) {
      findings.push({
        kind: "checkpoint",
        file,
        offset,
        detail: `says ${offset}, beyond the log end ${logEndOffset}; opening the log lowers it to the log end`,
        damaged: false,
      });
    }
  }
  const epochs = readChecked(fileSystem, dir, leaderEpochFile, parseEpochs);
  if (epochs.problem) {
    findings.push({
      kind: "checkpoint",
      file: path.join(dir, leaderEpochFile),
      detail: `unreadable (${epochs.problem}); opening the log forgets the leader epochs`,
      damaged: false,
    });
  }
  return findings;
}
