// `brook storage verify` on a data directory: every partition's directory is checked (or one topic's), a
// problem is one line naming the file, the offset and whether the partition is damaged, and a summary ends.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ATTRIBUTES_OFFSET, encodeRecordBatch, ManualClock } from "@brook/protocol";
import { PartitionLog } from "@brook/storage";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeReports, storageCommand, verifyDataDir } from "../src/commands/storage.js";

let dataDir: string;

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "brook-cli-storage-"));
  for (const name of ["orders-0", "orders-1", "payments-0"]) {
    const log = await PartitionLog.open(
      join(dataDir, name),
      { segmentBytes: 400 },
      { clock: new ManualClock() },
    );
    for (let i = 0; i < 6; i++) {
      log.append(
        encodeRecordBatch([{ value: Buffer.alloc(60, i) }, { value: Buffer.alloc(60, i) }], { nowMs: 1 }),
        0,
      );
    }
    await log.close();
  }
});

afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

function flipFirstSegmentOf(partition: string): string {
  const file = join(dataDir, partition, "00000000000000000000.log");
  const bytes = readFileSync(file);
  bytes[ATTRIBUTES_OFFSET + 40] ^= 0x01;
  writeFileSync(file, bytes);
  return file;
}

async function runVerify(args: string[]): Promise<{ out: string; exitCode: number | undefined }> {
  const writes: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => writes.push(chunk)) as typeof process.stdout.write;
  process.exitCode = undefined;
  try {
    await storageCommand().parseAsync(["verify", "--data-dir", dataDir, ...args], { from: "user" });
  } finally {
    process.stdout.write = write;
  }
  const exitCode = process.exitCode as number | undefined;
  process.exitCode = undefined;
  return { out: writes.join(""), exitCode };
}

describe("brook storage verify", () => {
  it("a healthy data directory: only the summary, exit code 0", async () => {
    const { out, exitCode } = await runVerify([]);
    expect(out).toMatch(
      /^verified 3 partitions: \d+ segments, 18 batches, \d+ bytes; 0 problems, 0 partitions damaged\n$/,
    );
    expect(exitCode).toBe(0);
  });

  it("a flipped bit: one DAMAGED line with the file and the offset, exit code 1", async () => {
    const file = flipFirstSegmentOf("orders-1");
    const { out, exitCode } = await runVerify([]);
    const lines = out.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      new RegExp(`^DAMAGED batch ${file} offset 0: a corrupt batch at byte 0: .*CRC32C`),
    );
    expect(lines[1]).toMatch(/1 problems, 1 partitions damaged$/);
    expect(exitCode).toBe(1);
  });

  it("--topic checks that topic's partitions only", async () => {
    flipFirstSegmentOf("payments-0");
    expect(verifyDataDir(dataDir, "orders").map((report) => report.dir)).toEqual([
      join(dataDir, "orders-0"),
      join(dataDir, "orders-1"),
    ]);
    expect((await runVerify(["--topic", "orders"])).exitCode).toBe(0);
    expect((await runVerify(["--topic", "payments"])).exitCode).toBe(1);
    expect(() => verifyDataDir(dataDir, "nope")).toThrow("no partition of topic nope");
  });

  it("a repairable finding is printed but does not fail the command", async () => {
    writeFileSync(join(dataDir, "orders-0", "high-watermark"), "garbage");
    const reports = verifyDataDir(dataDir);
    expect(describeReports(reports)[0]).toMatch(/^repairable checkpoint .*high-watermark: unreadable/);
    expect((await runVerify([])).exitCode).toBe(0);
  });
});
