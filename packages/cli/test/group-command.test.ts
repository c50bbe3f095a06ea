// `brook group reset-offsets` and `brook consume` (with or without --group) refuse contradicting flags
// before they connect to anything: each test names the rule and the command line that breaks it.
import type { Command } from "@commander-js/extra-typings";
import { describe, expect, it } from "vitest";
import { consumeCommand } from "../src/commands/consume.js";
import { groupCommand, groupKind, parseDateTime, resetTarget } from "../src/commands/group.js";

/** Parses `args` as typed after `brook group` or `brook consume`, with commander's exits turned into throws. */
function run(command: Command, args: string[]): Promise<unknown> {
  for (const each of [command, ...command.commands]) {
    each.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  }
  return command.parseAsync(args, { from: "user" });
}

describe("reset-offsets target", () => {
  it("takes exactly one --to-* flag", () => {
    expect(resetTarget({ toEarliest: true })).toBe("earliest");
    expect(resetTarget({ toLatest: true })).toBe("latest");
    expect(resetTarget({ toOffset: 0 })).toEqual({ offset: 0 });
    expect(resetTarget({ toDatetime: 5 })).toEqual({ timestamp: 5 });
    expect(() => resetTarget({})).toThrow(/exactly one of --to-earliest.*\(got 0\)/);
    expect(() => resetTarget({ toEarliest: true, toOffset: 3 })).toThrow(/exactly one.*\(got 2\)/);
  });

  it("refuses a command line with no --to-* before connecting", async () => {
    await expect(run(groupCommand(), ["reset-offsets", "g", "--topic", "t"])).rejects.toThrow(/exactly one/);
    await expect(
      run(groupCommand(), ["reset-offsets", "g", "--topic", "t", "--to-earliest", "--to-latest"]),
    ).rejects.toThrow(/exactly one/);
  });
});

describe("--to-datetime", () => {
  it("parses ISO-8601 with a zone, with a local time, or a bare date (local midnight)", () => {
    expect(parseDateTime("2026-11-23T10:00:00Z")).toBe(Date.UTC(2026, 10, 23, 10));
    expect(parseDateTime("2026-11-23T10:00:00.250+02:00")).toBe(Date.UTC(2026, 10, 23, 8, 0, 0, 250));
    expect(parseDateTime("2026-11-23T10:00")).toBe(new Date(2026, 10, 23, 10).getTime());
    expect(parseDateTime("2026-11-23")).toBe(new Date(2026, 10, 23).getTime());
  });

  it("refuses what is not an ISO-8601 date-time, or a day that does not exist", () => {
    for (const bad of [
      "yesterday",
      "2026-11-23 10:00",
      "23/11/2026",
      "2026-02-30T00:00:00Z",
      "2026-11-23T25:00Z",
    ]) {
      expect(() => parseDateTime(bad), bad).toThrow(/ISO-8601/);
    }
  });

  it("fails the command line with the reason", async () => {
    await expect(
      run(groupCommand(), ["reset-offsets", "g", "--topic", "t", "--to-datetime", "2026-02-30"]),
    ).rejects.toThrow(/ISO-8601.*2026-02-30/);
  });
});

describe("consume --group", () => {
  it("refuses --partition, --offset and --exit-at-end: the group assigns and starts at its commits", async () => {
    await expect(run(consumeCommand(), ["t", "--group", "g", "--partition", "0"])).rejects.toThrow(
      /--partition cannot be used with --group/,
    );
    await expect(run(consumeCommand(), ["t", "--group", "g", "--exit-at-end"])).rejects.toThrow(
      /--exit-at-end cannot be used with --group/,
    );
  });

  it("refuses group settings without --group", async () => {
    await expect(
      run(consumeCommand(), ["t", "--instance-id", "a", "--commit-interval-ms", "100"]),
    ).rejects.toThrow(/--instance-id, --commit-interval-ms need --group/);
  });
});

describe("consume flags", () => {
  it("refuses contradicting or unknown flags before connecting", async () => {
    await expect(run(consumeCommand(), ["t", "--json", "--format", "kv"])).rejects.toThrow(
      /--json is --format json; it cannot be used with --format kv/,
    );
    await expect(run(consumeCommand(), ["t", "--offset", "3"])).rejects.toThrow(/--offset needs --partition/);
    await expect(run(consumeCommand(), ["t", "--isolation", "committed"])).rejects.toThrow(
      /Allowed choices are read_uncommitted, read_committed/,
    );
  });
});

describe("group describe's first line", () => {
  it("names who assigns: a Brook group's server-side assignor, a classic group's Kafka clients and theirs", () => {
    expect(groupKind({ type: "consumer", assignor: "range" })).toBe(" (assignor range)");
    expect(groupKind({ type: "consumer", assignor: "uniform" })).toBe(" (assignor uniform)");
    expect(groupKind({ type: "classic", assignor: "cooperative-sticky" })).toBe(
      " (Kafka clients, cooperative-sticky)",
    );
    expect(groupKind({ type: "classic", assignor: "" })).toBe(" (Kafka clients, no assignor yet)");
    expect(groupKind({ type: null, assignor: null })).toBe("");
  });
});
