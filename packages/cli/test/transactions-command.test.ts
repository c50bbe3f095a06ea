// `brook transactions describe` shows what an operator needs to find a hung transaction, and the
// transaction flags of `brook transactions list` and `brook consume` refuse values they do not know
// before connecting to anything. Each test names the rule.
import type { TransactionDescription } from "@brook/client";
import type { Command } from "@commander-js/extra-typings";
import { describe, expect, it } from "vitest";
import { consumeCommand } from "../src/commands/consume.js";
import { ageMs, describeLines, transactionsCommand } from "../src/commands/transactions.js";

/** Parses `args` as typed after the command, with commander's exits turned into throws. */
function run(command: Command, args: string[]): Promise<unknown> {
  for (const each of [command, ...command.commands]) {
    each.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  }
  return command.parseAsync(args, { from: "user" });
}

const open: TransactionDescription = {
  transactionalId: "sum-app",
  state: "Ongoing",
  producerId: 7000,
  producerEpoch: 3,
  timeoutMs: 60_000,
  startTimeMs: 1_000,
  partitions: [{ topic: "out", partitions: [0, 1] }],
  groups: ["sum"],
  coordinator: 2,
};

describe("transactions describe", () => {
  it("shows state, producer id and epoch, timeout, age, partitions and groups", () => {
    expect(describeLines(open, 31_000)).toEqual([
      "transactional id sum-app: Ongoing, coordinator broker 2",
      "producer id 7000, epoch 3",
      "timeout 60.0 s",
      "open for 30.0 s",
      "partitions out-0,out-1",
      "groups sum",
    ]);
    expect(ageMs(open, 31_000)).toBe(30_000);
  });

  it("points out an open transaction past its timeout", () => {
    expect(describeLines(open, 100_000)[3]).toMatch(/open for 99.0 s \(past its timeout.*broker 2/);
  });

  it("has no age when no transaction is open", () => {
    const idle = { ...open, state: "CompleteCommit", startTimeMs: null, partitions: [], groups: [] };
    expect(ageMs(idle, 5)).toBeNull();
    expect(describeLines(idle, 5).slice(3)).toEqual([
      "open for - (no transaction open)",
      "partitions -",
      "groups -",
    ]);
  });
});

describe("transaction flags", () => {
  it("list --state takes only the coordinator's states", async () => {
    await expect(run(transactionsCommand(), ["list", "--state", "Hung"])).rejects.toThrow(
      /Allowed choices are Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort/,
    );
  });

  it("consume --isolation takes read_committed or read_uncommitted", async () => {
    await expect(run(consumeCommand(), ["t", "--isolation", "committed"])).rejects.toThrow(
      /Allowed choices are read_uncommitted, read_committed/,
    );
  });
});
