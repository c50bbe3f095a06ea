// `brook connect run connectors.yaml`, the standalone worker: a file source's offsets live in a local file,
// so a worker stopped with SIGTERM and started again goes on at the next line, neither repeating nor
// skipping one; a SIGKILLed one repeats at most the lines since its last offset commit and loses none.
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Brook, silentLogger } from "@brook/client";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAll } from "./read-all.js";
import { waitUntil } from "./wait.js";

const brookBin = fileURLToPath(new URL("../packages/cli/bin/brook.js", import.meta.url));
let cluster: Cluster;
let brook: Brook;
let dir: string;
const workers = new Set<ChildProcess>();

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
  brook = new Brook({ brokers: cluster.bootstrap.split(","), logger: silentLogger });
  dir = mkdtempSync(join(tmpdir(), "connect-standalone-"));
}, 60_000);
afterAll(async () => {
  for (const worker of workers) worker.kill("SIGKILL");
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function startWorker(): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      brookBin,
      "connect",
      "run",
      join(dir, "connectors.yaml"),
      "--rest-port",
      "0",
      "--offsets-file",
      join(dir, "offsets.json"),
    ],
    { env: { ...process.env, BROOK_BOOTSTRAP: cluster.bootstrap }, stdio: "ignore" },
  );
  workers.add(child);
  child.on("exit", () => workers.delete(child));
  return child;
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}

/** Waits until the topic holds at least `count` records, then reads them all. */
async function lines(count: number): Promise<string[]> {
  const admin = brook.admin();
  let end = 0;
  await waitUntil(
    `${count} records in lines`,
    30_000,
    async () => {
      const offsets = await admin.fetchTopicOffsets("lines").catch(() => []);
      end = offsets.reduce((sum, { high }) => sum + high, 0);
      return end >= count;
    },
    200,
  );
  await admin.close();
  const messages = await readAll(brook, "lines", end, 30_000);
  return messages.map(({ value }) => value?.toString("utf8") ?? "");
}

describe("brook connect run", () => {
  it("resumes at the next line after a stop, and loses none after a kill", async () => {
    const input = join(dir, "in.txt");
    writeFileSync(input, "");
    writeFileSync(
      join(dir, "connectors.yaml"),
      [
        "connectors:",
        "  - name: lines-in",
        "    config:",
        "      connector.class: file-source",
        `      file: ${input}`,
        "      topic: lines",
        "      value.converter: string",
        "      offset.flush.interval.ms: 200",
      ].join("\n"),
    );
    const numbers = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
    appendFileSync(input, `${numbers(1, 100).join("\n")}\n`);
    let worker = startWorker();
    expect(await lines(100)).toEqual(numbers(1, 100));
    await stop(worker, "SIGTERM");
    appendFileSync(input, `${numbers(101, 200).join("\n")}\n`);
    worker = startWorker();
    await waitUntil("line 200", 30_000, async () => (await lines(200)).includes("200"), 200);
    expect(await lines(200)).toEqual(numbers(1, 200));
    await stop(worker, "SIGKILL");
    appendFileSync(input, `${numbers(201, 300).join("\n")}\n`);
    worker = startWorker();
    await waitUntil("line 300", 30_000, async () => (await lines(300)).includes("300"), 200);
    expect(new Set(await lines(300))).toEqual(new Set(numbers(1, 300)));
    await stop(worker, "SIGTERM");
  }, 120_000);
});
