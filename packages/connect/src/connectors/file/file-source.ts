// file-source: Kafka's FileStreamSource for Brook. Tails one file and sends each complete UTF-8 line as a
// record (key null, value the line); the source offset is the byte just after the line's newline, so a
// restart seeks to exactly the first line not yet committed. A last line without its newline waits for it.

import type { FileHandle } from "node:fs/promises";
import { open, stat } from "node:fs/promises";
import {
  defineSource,
  type SourceOffset,
  type SourcePartition,
  type SourceRecord,
  type SourceTaskContext,
} from "../../api.js";
import type { ConfigValues } from "../../config/config-def.js";
import { sleep } from "../../sleep.js";
import { type Line, LineSplitter } from "./line-splitter.js";

/** Bytes asked of the file per read. */
export const fileReadChunkBytes = 64 * 1024;
/** The longest line held while its newline has not arrived; a longer one fails the task. */
export const fileLineBytesMax = 1024 * 1024;

const configSchema = {
  file: { type: "string", doc: "The file to read.", importance: "high" },
  topic: { type: "string", doc: "The topic the lines are sent to.", importance: "high" },
  "batch.size": { type: "int", default: 2000, min: 1, doc: "The most lines read before they are handed on." },
  "poll.interval.ms": {
    type: "int",
    default: 1000,
    min: 1,
    doc: "How long to wait at the end of the file (or for a missing file) before looking again.",
  },
} as const;

type FileSourceConfig = ConfigValues<typeof configSchema>;

interface FileSourceTask {
  context: SourceTaskContext<FileSourceConfig>;
  partition: SourcePartition;
  /** Where the next opening of the file starts: the committed position, then 0 for a replaced file. */
  openPosition: number;
  /** The open file, its inode (to notice a file replaced under the same name) and its reader. */
  open?: { handle: FileHandle; inode: number; splitter: LineSplitter };
  /** A missing file is logged once per absence, not every poll. */
  missingLogged: boolean;
  chunk: Buffer;
}

export const fileSource = defineSource({
  name: "file-source",
  description: "Tails a file and sends each line as a record (Kafka's FileStreamSource).",
  configSchema,
  canSeek: true,
  maxTasks: () => 1,
  async start(context): Promise<FileSourceTask> {
    const partition = { filename: context.config.file };
    return {
      context,
      partition,
      openPosition: committedPosition(context, await context.offset(partition)),
      missingLogged: false,
      chunk: Buffer.alloc(fileReadChunkBytes),
    };
  },
  poll: pollFile,
  async stop(task) {
    await closeFile(task);
  },
});

/** The committed byte position, or 0 when none was committed (or it is not a position). */
function committedPosition(
  context: SourceTaskContext<FileSourceConfig>,
  offset: SourceOffset | undefined,
): number {
  if (offset === undefined) return 0;
  const position = offset.position;
  if (typeof position === "number" && Number.isSafeInteger(position) && position >= 0) return position;
  context.logger.warn(
    { file: context.config.file, offset },
    "committed offset has no byte position; reading from 0",
  );
  return 0;
}

/** Sends lines until the task's signal aborts, waiting poll.interval.ms whenever there is nothing new. */
async function* pollFile(task: FileSourceTask): AsyncGenerator<SourceRecord> {
  const { signal, config } = task.context;
  try {
    while (!signal.aborted) {
      const lines = await readLines(task);
      for (const line of lines) yield toRecord(task, line);
      if (lines.length === 0) await sleep(config["poll.interval.ms"], signal);
    }
  } finally {
    await closeFile(task);
  }
}

function toRecord(task: FileSourceTask, line: Line): SourceRecord {
  return {
    sourcePartition: task.partition,
    sourceOffset: { position: line.end },
    topic: task.context.config.topic,
    key: null,
    value: line.text,
  };
}

/** A line grew past fileLineBytesMax without a newline: a binary file or a runaway writer. */
export class LineTooLongError extends Error {
  override readonly name = "LineTooLongError";
}

/**
 * Up to about batch.size complete lines; none at the end of the file or while it is missing. The lines
 * before a line too long are sent first; the next read then fails.
 */
async function readLines(task: FileSourceTask): Promise<Line[]> {
  const open = task.open ?? (await openFile(task));
  if (open === undefined) return [];
  const lines: Line[] = [];
  while (lines.length < task.context.config["batch.size"]) {
    if (open.splitter.pendingBytes > fileLineBytesMax) {
      if (lines.length > 0) break;
      const at = open.splitter.linePosition;
      const file = task.context.config.file;
      throw new LineTooLongError(`${file}: the line at byte ${at} is longer than ${fileLineBytesMax} bytes`);
    }
    const { bytesRead } = await open.handle.read(
      task.chunk,
      0,
      task.chunk.length,
      open.splitter.readPosition,
    );
    if (bytesRead === 0) break;
    for (const line of open.splitter.push(task.chunk.subarray(0, bytesRead))) lines.push(line);
  }
  if (lines.length === 0) await checkFileAtEnd(task, open);
  return lines;
}

/** Opens the file at openPosition (0 if the file is now shorter than that), or undefined while missing. */
async function openFile(task: FileSourceTask): Promise<FileSourceTask["open"]> {
  const { file } = task.context.config;
  const { logger } = task.context;
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    if (!isMissing(error)) throw error;
    if (!task.missingLogged) logger.info({ file }, "file does not exist yet; waiting for it");
    task.missingLogged = true;
    return undefined;
  }
  task.missingLogged = false;
  const { size, ino } = await handle.stat();
  let position = task.openPosition;
  if (position > size) {
    logger.warn(
      { file, position, size },
      "file is shorter than the committed position (truncated); reading from 0",
    );
    position = 0;
  }
  task.open = { handle, inode: ino, splitter: new LineSplitter(position) };
  return task.open;
}

/**
 * At the end of the file: notices a file truncated below what was read (start again from 0), and one
 * removed or replaced under the same name (close it; the next poll opens the new file from 0).
 */
async function checkFileAtEnd(
  task: FileSourceTask,
  open: NonNullable<FileSourceTask["open"]>,
): Promise<void> {
  const { file } = task.context.config;
  const current = await stat(file).catch((error: unknown) => {
    if (isMissing(error)) return undefined;
    throw error;
  });
  if (current === undefined || current.ino !== open.inode) {
    task.context.logger.info({ file }, "file was removed or replaced; reading the new one from 0");
    task.openPosition = 0;
    await closeFile(task);
    return;
  }
  const readPosition = open.splitter.readPosition;
  if (current.size < readPosition) {
    task.context.logger.warn(
      { file, position: readPosition, size: current.size },
      "file truncated; reading from 0",
    );
    open.splitter = new LineSplitter(0);
  }
}

async function closeFile(task: FileSourceTask): Promise<void> {
  const open = task.open;
  task.open = undefined;
  await open?.handle.close();
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === "ENOENT";
}
