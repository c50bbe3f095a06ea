// What a person sees of a CLI command besides its result: warnings as single lines, progress lines away
// from a terminal, statistics in order, member ids short enough for a table, and which process started
// this one. Each test names the rule.
import { describe, expect, it } from "vitest";
import { BenchStats, progressLineIntervalMs, progressLines } from "../src/bench-stats.js";
import { shortIds } from "../src/commands/group.js";
import { cliLogger, humanLogger } from "../src/logging.js";
import { launcherPid } from "../src/signals.js";

describe("warnings for people", () => {
  it("are one line, with the error's text and no JSON fields", () => {
    const lines: string[] = [];
    const logger = humanLogger(
      (line) => lines.push(line),
      () => 0,
    );
    logger.warn(
      { groupId: "g", attempt: 3, error: "BROKER_NOT_AVAILABLE: connection refused\n  (127.0.0.1:9092)" },
      "group heartbeat failed; retrying",
    );
    expect(lines).toEqual([
      "warning: group heartbeat failed; retrying: BROKER_NOT_AVAILABLE: connection refused (127.0.0.1:9092)",
    ]);
  });

  it("say a repeated warning once per interval, counting the ones held back", () => {
    const lines: string[] = [];
    let now = 0;
    const logger = humanLogger(
      (line) => lines.push(line),
      () => now,
    );
    for (let i = 0; i < 5; i++) logger.warn({}, "fetch failed; retrying");
    now = 10_000;
    logger.warn({}, "fetch failed; retrying");
    expect(lines).toEqual([
      "warning: fetch failed; retrying",
      "warning: fetch failed; retrying (4 more like it since)",
    ]);
  });

  it("leave debug and info out", () => {
    const lines: string[] = [];
    const logger = humanLogger(
      (line) => lines.push(line),
      () => 0,
    );
    logger.debug({}, "detail");
    logger.info({}, "routine");
    expect(lines).toEqual([]);
  });

  it("refuse a BROOK_LOG_LEVEL that is not a level, naming the ones that are", () => {
    expect(() => cliLogger({}, { BROOK_LOG_LEVEL: "loud" })).toThrow(
      /BROOK_LOG_LEVEL must be one of trace, debug/,
    );
  });
});

describe("bench progress away from a terminal", () => {
  it("is one line per interval, not one per update", () => {
    const lines: string[] = [];
    let now = 0;
    const progress = progressLines(
      1_000,
      "produce",
      (line) => lines.push(line),
      () => now,
    );
    for (let done = 100; done <= 1_000; done += 100) {
      now += progressLineIntervalMs / 4;
      progress.update(done);
    }
    expect(lines).toEqual([
      "produce: 400/1,000 records (40%), 80 records/s",
      "produce: 800/1,000 records (80%), 80 records/s",
    ]);
  });
});

describe("bench latency", () => {
  it("reports p50 ≤ p99 ≤ max for any samples", () => {
    for (const samples of [
      [1],
      [7, 7, 7],
      [1, 2_049, 2_050],
      Array.from({ length: 1_000 }, (_, i) => i * 37 + 1),
    ]) {
      const stats = new BenchStats();
      for (const us of samples) stats.recordLatencyUs(us);
      const { p50, p99, max } = stats.summary().latencyMs;
      expect(p50).toBeLessThanOrEqual(p99);
      expect(p99).toBeLessThanOrEqual(max);
    }
  });
});

describe("member ids in tables", () => {
  it("are cut to 8 characters, or as many as keep them apart", () => {
    const ids = ["3f2a9c41-0000-4000-8000-000000000001", "3f2a9c41-1111-4000-8000-000000000002", "77aa"];
    expect([...shortIds(ids).values()]).toEqual(["3f2a9c41-0…", "3f2a9c41-1…", "77aa"]);
  });
});

describe("the process that started this one", () => {
  // A fake /proc: pid → [stat, cmdline].
  const procOf =
    (table: Record<number, [string, string]>) =>
    (pid: number, file: "stat" | "cmdline"): string | undefined =>
      table[pid]?.[file === "stat" ? 0 : 1];

  it("is npm when started as npx brook (npm exec → sh -c → node)", () => {
    const read = procOf({
      300: ["300 (node) S 200 300", "node\0/repo/node_modules/.bin/brook\0consume\0"],
      200: ["200 (sh) S 100 200", "sh\0-c\0brook consume\0"],
      100: ["100 (npm exec brook) S 50 100", "npm exec brook consume t                   "],
      50: ["50 (bash) S 1 50", "bash\0"],
    });
    expect(launcherPid(300, read)).toBe(100);
  });

  it("is nobody when started by a shell, or when /proc cannot be read", () => {
    const read = procOf({
      300: ["300 (node) S 50 300", "node\0brook.js\0"],
      50: ["50 (bash) S 1 50", "bash\0"],
    });
    expect(launcherPid(300, read)).toBeUndefined();
    expect(launcherPid(300, () => undefined)).toBeUndefined();
  });
});
