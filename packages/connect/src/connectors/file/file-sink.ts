// file-sink: Kafka's FileStreamSink for Brook. Appends each record's value to a file as one line; put
// buffers in memory (bounded), flush writes and fsyncs, so the runtime commits only what is on disk.

import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { defineSink, type SinkRecord } from "../../api.js";

/** Buffered bytes past which put writes to the file without waiting for flush (still no fsync). */
export const fileSinkBufferBytesMax = 1024 * 1024;

const configSchema = {
  file: {
    type: "string",
    doc: "The file the lines are appended to (created if missing).",
    importance: "high",
  },
} as const;

interface FileSinkTask {
  file: string;
  handle: FileHandle;
  /** Lines (each with its newline) put but not yet written. */
  buffered: string[];
  bufferedBytes: number;
}

export const fileSink = defineSink({
  name: "file-sink",
  description: "Appends each record's value to a file as a line (Kafka's FileStreamSink).",
  configSchema,
  async start(context): Promise<FileSinkTask> {
    const file = context.config.file;
    return { file, handle: await open(file, "a"), buffered: [], bufferedBytes: 0 };
  },
  async put(task, records) {
    for (const record of records) {
      buffer(task, lineOf(record));
      if (task.bufferedBytes >= fileSinkBufferBytesMax) await writeBuffered(task);
    }
  },
  async flush(task) {
    await writeBuffered(task);
    await task.handle.sync();
  },
  async stop(task) {
    // What was put but not flushed is dropped: its offsets were not committed, so it is delivered again.
    task.buffered = [];
    task.bufferedBytes = 0;
    await task.handle.close();
  },
});

/** A value as a line: a string as it is, a Buffer as UTF-8, anything else (null too) as JSON. */
export function lineOf(record: SinkRecord): string {
  const { value } = record;
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  return JSON.stringify(value) ?? "null";
}

function buffer(task: FileSinkTask, line: string): void {
  const text = `${line}\n`;
  task.buffered.push(text);
  task.bufferedBytes += Buffer.byteLength(text);
}

/** Appends everything buffered; on failure the lines stay buffered for the retried flush. */
async function writeBuffered(task: FileSinkTask): Promise<void> {
  if (task.buffered.length === 0) return;
  await task.handle.appendFile(task.buffered.join(""));
  task.buffered = [];
  task.bufferedBytes = 0;
}
