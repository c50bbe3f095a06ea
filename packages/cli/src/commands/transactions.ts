// `brook transactions list|describe`: the transactional ids the coordinators know, and one id's state,
// producer id and epoch, partitions and groups, and how long its open transaction has been open: what an
// operator needs to find a hung transaction (docs/transactions.md).

import { type TransactionDescription, transactionStates } from "@brook/client";
import { Command, Option } from "@commander-js/extra-typings";
import { withAdmin } from "../connect.js";
import { printJson, printTable } from "../output.js";

export function transactionsCommand(): Command {
  const transactions = new Command("transactions").description(
    "list and describe transactions (transactional producers) as their coordinators have them",
  );
  addList(transactions);
  addDescribe(transactions);
  return transactions as unknown as Command;
}

function addList(transactions: Command): void {
  transactions
    .command("list")
    .description("list every transactional id (asking every broker): producer id, state and coordinator")
    .addOption(
      new Option("--state <state>", "only transactional ids in this state").choices(transactionStates),
    )
    .option("--json", "print JSON")
    .action(async (options, command) => {
      await withAdmin(command, async (admin) => {
        const listed = await admin.listTransactions(options.state === undefined ? [] : [options.state]);
        if (options.json) {
          printJson(listed);
          return;
        }
        printTable(
          ["transactional id", "producer id", "state", "coordinator"],
          listed.map((t) => [t.transactionalId, t.producerId, t.state, t.coordinator]),
        );
      });
    });
}

function addDescribe(transactions: Command): void {
  transactions
    .command("describe")
    .description(
      "show a transactional id as its coordinator has it: state, producer id and epoch, timeout, the partitions " +
        "and groups in the open transaction, and how long it has been open",
    )
    .argument("<transactional-id>")
    .option("--json", "print JSON")
    .action(async (transactionalId, options, command) => {
      await withAdmin(command, async (admin) => {
        const described = await admin.describeTransaction(transactionalId);
        if (options.json) printJson({ ...described, ageMs: ageMs(described, Date.now()) });
        else printTransaction(described, Date.now());
      });
    });
}

/** How long the open transaction has been open; null when none is. */
export function ageMs(described: TransactionDescription, nowMs: number): number | null {
  return described.startTimeMs === null ? null : Math.max(0, nowMs - described.startTimeMs);
}

/** The description as lines for people; an open transaction past its timeout is pointed out. */
export function describeLines(described: TransactionDescription, nowMs: number): string[] {
  const age = ageMs(described, nowMs);
  const partitions = described.partitions.flatMap(({ topic, partitions }) =>
    partitions.map((partition) => `${topic}-${partition}`),
  );
  const overdue =
    age !== null && age > described.timeoutMs
      ? ` (past its timeout: the coordinator aborts it; if it stays, check broker ${described.coordinator}'s log)`
      : "";
  return [
    `transactional id ${described.transactionalId}: ${described.state}, coordinator broker ${described.coordinator}`,
    `producer id ${described.producerId}, epoch ${described.producerEpoch}`,
    `timeout ${seconds(described.timeoutMs)}`,
    `open for ${age === null ? "- (no transaction open)" : seconds(age)}${overdue}`,
    `partitions ${partitions.length === 0 ? "-" : partitions.join(",")}`,
    `groups ${described.groups.length === 0 ? "-" : described.groups.join(",")}`,
  ];
}

function printTransaction(described: TransactionDescription, nowMs: number): void {
  process.stdout.write(`${describeLines(described, nowMs).join("\n")}\n`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
