// file-source against real files: every line once, in order, at its exact byte position, across restarts
// (multi-byte text, a last line completed later), while tailing, and when the file is truncated.

import { appendFile, mkdtemp, rename, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, silentLogger } from "@brook/client";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SourceOffset, SourceRecord } from "../src/api.js";
import { fileSource } from "../src/connectors/file/file-source.js";
import { take } from "./helpers/take.js";

const pollIntervalMs = 10;
let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "brook-file-source-"));
  file = join(dir, "input.txt");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface RunningSource {
  records: AsyncIterator<SourceRecord>;
  warnings: string[];
  infos: string[];
  stop(): Promise<void>;
}

/** Starts a task as the runtime would, with `committed` as the partition's committed offset. */
async function startSource(committed?: SourceOffset, batchSize = 2000): Promise<RunningSource> {
  const controller = new AbortController();
  const warnings: string[] = [];
  const infos: string[] = [];
  const logger: Logger = {
    ...silentLogger,
    info: (_fields, message) => infos.push(message),
    warn: (_fields, message) => warnings.push(message),
  };
  const task = await fileSource.start({
    connector: "c",
    taskId: 0,
    taskCount: 1,
    config: { file, topic: "lines", "batch.size": batchSize, "poll.interval.ms": pollIntervalMs },
    logger,
    signal: controller.signal,
    brook: undefined as never,
    metrics: new Registry(),
    offset: async () => committed,
  });
  const records = fileSource.poll(task)[Symbol.asyncIterator]();
  return {
    records,
    warnings,
    infos,
    async stop() {
      controller.abort();
      await records.return?.();
      await fileSource.stop(task);
    },
  };
}

/** Whether a pending next() stays pending for a few polls (nothing complete to send). */
async function staysPending(next: Promise<unknown>): Promise<boolean> {
  const wait = new Promise((resolve) => setTimeout(() => resolve("pending"), pollIntervalMs * 5));
  return (await Promise.race([next, wait])) === "pending";
}

const values = (records: SourceRecord[]) => records.map((record) => record.value);
const positionOf = (record: SourceRecord) => record.sourceOffset.position;

describe("file-source", () => {
  it("sends each line (key null) with the byte position just after its newline, multi-byte text included", async () => {
    const lines = ["plain", "héllo wörld", "日本語のテキスト", "emoji 🚀🎉", "", "last"];
    await writeFile(file, lines.map((line) => `${line}\n`).join(""));
    const source = await startSource();
    const records = await take(source.records, lines.length);
    await source.stop();
    expect(values(records)).toEqual(lines);
    let end = 0;
    for (const [i, record] of records.entries()) {
      end += Buffer.byteLength(`${lines[i]}\n`);
      expect(record).toMatchObject({ sourcePartition: { filename: file }, topic: "lines", key: null });
      expect(positionOf(record)).toBe(end);
    }
  });

  it("holds a last line without its newline until the newline arrives", async () => {
    await writeFile(file, "one\ntwo\nhalf a li");
    const source = await startSource();
    expect(values(await take(source.records, 2))).toEqual(["one", "two"]);
    const next = source.records.next();
    expect(await staysPending(next)).toBe(true);
    await appendFile(file, "ne ✓\n");
    const completed = (await next).value as SourceRecord;
    await source.stop();
    expect(completed.value).toBe("half a line ✓");
    expect(positionOf(completed)).toBe(Buffer.byteLength("one\ntwo\nhalf a line ✓\n"));
  });

  it("resumes at exactly the committed byte after a restart: no line lost or doubled", async () => {
    const lines = ["α", "ββ", "γγγ", "déjà vu", "終わり", "🙂"];
    await writeFile(file, lines.map((line) => `${line}\n`).join(""));
    const first = await startSource(undefined, 2);
    const sent = await take(first.records, 3);
    await first.stop();

    const second = await startSource(sent[2].sourceOffset, 2);
    const resumed = await take(second.records, 3);
    await appendFile(file, "after restart\n");
    const appended = await take(second.records, 1);
    await second.stop();
    expect(values([...sent, ...resumed, ...appended])).toEqual([...lines, "after restart"]);
  });

  it("resumes before a partial last line and sends it whole once completed while stopped", async () => {
    await writeFile(file, "complete\nparti");
    const first = await startSource();
    const [complete] = await take(first.records, 1);
    await first.stop();
    await appendFile(file, "al — ok\nnext\n");

    const second = await startSource(complete.sourceOffset);
    const records = await take(second.records, 2);
    await second.stop();
    expect(values(records)).toEqual(["partial — ok", "next"]);
    expect(positionOf(records[1])).toBe(Buffer.byteLength("complete\npartial — ok\nnext\n"));
  });

  it("tails the file: lines appended later are picked up", async () => {
    await writeFile(file, "a\n");
    const source = await startSource();
    expect(values(await take(source.records, 1))).toEqual(["a"]);
    await appendFile(file, "b\r\n");
    expect(values(await take(source.records, 1))).toEqual(["b"]);
    await appendFile(file, "c\nd\n");
    expect(values(await take(source.records, 2))).toEqual(["c", "d"]);
    await source.stop();
  });

  it("waits for a file that does not exist yet, logging it once", async () => {
    const source = await startSource();
    const next = source.records.next();
    expect(await staysPending(next)).toBe(true);
    await writeFile(file, "finally\n");
    expect(((await next).value as SourceRecord).value).toBe("finally");
    await source.stop();
    expect(source.infos.filter((message) => message.includes("does not exist"))).toHaveLength(1);
  });

  it("starts again from 0 with a warning when the file is shorter than the committed position", async () => {
    await writeFile(file, "new\n");
    const source = await startSource({ position: 1000 });
    expect(values(await take(source.records, 1))).toEqual(["new"]);
    await source.stop();
    expect(source.warnings.some((message) => message.includes("truncated"))).toBe(true);
  });

  it("starts again from 0 with a warning when the file is truncated while tailed", async () => {
    await writeFile(file, "old line one\nold line two\n");
    const source = await startSource();
    await take(source.records, 2);
    const next = source.records.next();
    expect(await staysPending(next)).toBe(true);
    await truncate(file, 0);
    await appendFile(file, "fresh\n");
    const record = (await next).value as SourceRecord;
    await source.stop();
    expect(record.value).toBe("fresh");
    expect(positionOf(record)).toBe(6);
    expect(source.warnings.some((message) => message.includes("truncated"))).toBe(true);
  });

  it("reads a file replaced under the same name (rotated) from its start", async () => {
    await writeFile(file, "before rotation\n");
    const source = await startSource();
    await take(source.records, 1);
    const next = source.records.next();
    expect(await staysPending(next)).toBe(true);
    await rename(file, `${file}.1`);
    await writeFile(file, "after rotation\n");
    const record = (await next).value as SourceRecord;
    await source.stop();
    expect(record.value).toBe("after rotation");
    expect(positionOf(record)).toBe(Buffer.byteLength("after rotation\n"));
  });

  it("fails on a line longer than the limit, naming the file and the byte offset", async () => {
    await writeFile(file, `short\n${"x".repeat(1024 * 1024 + 10)}`);
    const source = await startSource();
    await take(source.records, 1);
    await expect(source.records.next()).rejects.toThrow(`${file}: the line at byte 6 is longer than`);
    await source.stop();
  });

  it("ends a poll waiting at the end of the file as soon as the task stops", async () => {
    await writeFile(file, "");
    const source = await startSource();
    const next = source.records.next();
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs * 2));
    const started = performance.now();
    await source.stop();
    expect((await next).done).toBe(true);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
