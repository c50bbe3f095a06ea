// `brook storage verify`: checks a node's partition logs on disk (every batch's CRC32C and offsets, the
// indexes, the checkpoints) and prints what it found. It reads files only, so it runs on a stopped node's
// data directory; on a running node's it may report a torn tail the node is still writing.

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { nodeFileSystem, type VerifyReport, verifyLogDir } from "@brook/storage";
import { Command } from "@commander-js/extra-typings";
import { printJson } from "../output.js";

/** A partition's directory in the data directory: `<topic>-<partition>` (as the broker names them). */
const partitionDirPattern = /^(.+)-(\d+)$/;

export function storageCommand(): Command {
  const storage = new Command("storage").description("inspect a node's logs on disk");
  storage
    .command("verify")
    .description(
      "check every partition log in a data directory (batches, indexes, checkpoints); one line per problem, then a summary; exits 1 when a partition is damaged",
    )
    .option("--data-dir <dir>", "the node's data directory [env BROOK_DATA_DIR, default ./data]")
    .option("--topic <name>", "only this topic's partitions")
    .option("--json", "print JSON")
    .action((options) => {
      const dataDir = options.dataDir ?? process.env.BROOK_DATA_DIR ?? "./data";
      const reports = verifyDataDir(dataDir, options.topic);
      if (options.json) printJson(reports);
      else
        process.stdout.write(
          describeReports(reports)
            .map((line) => `${line}\n`)
            .join(""),
        );
      process.exitCode = reports.some(isDamaged) ? 1 : 0;
    });
  return storage as unknown as Command;
}

/** Verifies each partition directory of `dataDir` (of `topic` only, when given), in name order. */
export function verifyDataDir(dataDir: string, topic?: string): VerifyReport[] {
  if (!existsSync(dataDir)) throw new Error(`--data-dir ${dataDir} does not exist`);
  const partitions = readdirSync(dataDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => ({ name: entry.name, match: partitionDirPattern.exec(entry.name) }))
    .filter(({ match }) => match && (topic === undefined || match[1] === topic))
    .map(({ name }) => name)
    .sort();
  if (topic !== undefined && partitions.length === 0) {
    throw new Error(`no partition of topic ${topic} in ${dataDir}`);
  }
  return partitions.map((name) => verifyLogDir(nodeFileSystem, join(dataDir, name)));
}

function isDamaged(report: VerifyReport): boolean {
  return report.findings.some((finding) => finding.damaged);
}

/** One line per finding (`DAMAGED` or `repairable`), then one summary line. */
export function describeReports(reports: readonly VerifyReport[]): string[] {
  const lines = reports.flatMap((report) =>
    report.findings.map((finding) => {
      const at = finding.offset === undefined ? "" : ` offset ${finding.offset}`;
      const verdict = finding.damaged ? "DAMAGED" : "repairable";
      return `${verdict} ${finding.kind} ${finding.file}${at}: ${finding.detail}`;
    }),
  );
  const sum = (count: (report: VerifyReport) => number) =>
    reports.reduce((total, report) => total + count(report), 0);
  const findings = sum((report) => report.findings.length);
  const damaged = reports.filter(isDamaged).length;
  lines.push(
    `verified ${reports.length} partitions: ${sum((report) => report.segments)} segments, ` +
      `${sum((report) => report.batches)} batches, ${sum((report) => report.bytes)} bytes; ` +
      `${findings} problems, ${damaged} partitions damaged`,
  );
  return lines;
}
