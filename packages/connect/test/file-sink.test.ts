// file-sink against a real file: each value one line (strings as they are, Buffers as UTF-8, other data
// as JSON), nothing on disk before flush unless the buffer passes its limit, and appends across restarts.

import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@brook/client";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SinkRecord } from "../src/api.js";
import { fileSink, fileSinkBufferBytesMax } from "../src/connectors/file/file-sink.js";

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "brook-file-sink-"));
  file = join(dir, "out.txt");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function startSink() {
  return fileSink.start({
    connector: "c",
    taskId: 0,
    taskCount: 1,
    config: { file },
    logger: silentLogger,
    signal: new AbortController().signal,
    brook: undefined as never,
    metrics: new Registry(),
  });
}

let nextOffset = 0;
function record(value: unknown): SinkRecord {
  return { topic: "t", partition: 0, offset: nextOffset++, key: null, value, headers: {}, timestamp: 0 };
}

const sizeOf = async (path: string) => (await stat(path)).size;

describe("file-sink", () => {
  it("appends each value as a line on flush: strings as-is, Buffers as UTF-8, other data as JSON", async () => {
    const task = await startSink();
    await fileSink.put(task, [record("plain"), record(Buffer.from("bytes ✓")), record({ a: [1, "b"] })]);
    await fileSink.put(task, [record(42), record(null), record("日本語")]);
    expect(await sizeOf(file)).toBe(0);
    await fileSink.flush(task, []);
    expect(await readFile(file, "utf8")).toBe('plain\nbytes ✓\n{"a":[1,"b"]}\n42\nnull\n日本語\n');
    await fileSink.stop(task);
  });

  it("keeps what was flushed across a restart and appends after it; unflushed records are dropped on stop", async () => {
    const first = await startSink();
    await fileSink.put(first, [record("one"), record("two")]);
    await fileSink.flush(first, []);
    await fileSink.put(first, [record("never flushed")]);
    await fileSink.stop(first);

    const second = await startSink();
    await fileSink.put(second, [record("three")]);
    await fileSink.flush(second, []);
    await fileSink.flush(second, []);
    await fileSink.stop(second);
    expect(await readFile(file, "utf8")).toBe("one\ntwo\nthree\n");
  });

  it("writes before flush once the buffer passes its limit", async () => {
    const task = await startSink();
    const line = "x".repeat(64 * 1024);
    const count = Math.ceil(fileSinkBufferBytesMax / line.length) + 1;
    await fileSink.put(
      task,
      Array.from({ length: count }, () => record(line)),
    );
    expect(await sizeOf(file)).toBeGreaterThanOrEqual(fileSinkBufferBytesMax);
    await fileSink.flush(task, []);
    expect(await sizeOf(file)).toBe(count * (line.length + 1));
    await fileSink.stop(task);
  });
});
