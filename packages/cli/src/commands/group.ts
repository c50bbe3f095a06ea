// `brook group list|describe|reset-offsets|delete`: consumer groups, how far behind they are, and moving
// their committed offsets.

import type { GroupLag, ResetTarget } from "@brook/client";
import { unreachable } from "@brook/protocol";
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { parseInteger, withAdmin } from "../connect.js";
import { printJson, printTable } from "../output.js";

/** ISO-8601 date, date-time or date-time with zone: 2026-11-23, 2026-11-23T10:00, 2026-11-23T10:00:00.5Z. */
const isoDateTime =
  /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * --to-datetime's value as ms since the epoch. Without a zone the time is local (a bare date is local
 * midnight), as in Kafka's tool; days that do not exist (2026-02-30) are refused, not rolled over.
 */
export function parseDateTime(value: string): number {
  const match = isoDateTime.exec(value);
  const ms = match === null ? Number.NaN : Date.parse(value.includes("T") ? value : `${value}T00:00`);
  if (match === null || Number.isNaN(ms) || !isCalendarDay(+match[1], +match[2], +match[3])) {
    throw new InvalidArgumentError(
      `expected an ISO-8601 date-time such as 2026-11-23T10:00:00Z, got '${value}'`,
    );
  }
  return ms;
}

function isCalendarDay(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function parsePartitions(value: string): number[] {
  return value.split(",").map((each) => parseInteger("--partitions")(each.trim()));
}

export interface ResetFlags {
  toEarliest?: true;
  toLatest?: true;
  toOffset?: number;
  toDatetime?: number;
}

/** The one --to-* flag given, as the SDK's reset target; none or several is an error. */
export function resetTarget(flags: ResetFlags): ResetTarget {
  const targets: ResetTarget[] = [];
  if (flags.toEarliest) targets.push("earliest");
  if (flags.toLatest) targets.push("latest");
  if (flags.toOffset !== undefined) targets.push({ offset: flags.toOffset });
  if (flags.toDatetime !== undefined) targets.push({ timestamp: flags.toDatetime });
  if (targets.length !== 1) {
    throw new Error(
      `give exactly one of --to-earliest, --to-latest, --to-offset <n>, --to-datetime <iso> (got ${targets.length})`,
    );
  }
  return targets[0];
}

export function groupCommand(): Command {
  const group = new Command("group").description("list, describe, reset and delete consumer groups");
  addList(group);
  addDescribe(group);
  addResetOffsets(group);
  addDelete(group);
  return group as unknown as Command;
}

function addList(group: Command): void {
  group
    .command("list")
    .description("list consumer groups: state, members and coordinator")
    .option("--json", "print JSON")
    .action(async (options, command) => {
      await withAdmin(command, async (admin) => {
        const groups = await admin.listGroups();
        if (options.json) {
          printJson(groups);
          return;
        }
        printTable(
          ["group", "type", "state", "members", "coordinator"],
          groups.map((g) => [g.groupId, g.type, g.state, g.members, g.coordinator]),
        );
      });
    });
}

function addDescribe(group: Command): void {
  group
    .command("describe")
    .description(
      "show a group's members and, per partition, its committed offset, end offset and lag; the end is the " +
        "last stable offset (the high watermark where no transaction is open), so lag is exact for read_committed " +
        "consumers and is the committed backlog for read_uncommitted ones",
    )
    .argument("<group>")
    .option("--json", "print JSON")
    .action(async (groupId, options, command) => {
      await withAdmin(command, async (admin) => {
        const lag = await admin.groupLag(groupId);
        if (options.json) printJson(lag);
        else printGroupLag(lag);
      });
    });
}

function addResetOffsets(group: Command): void {
  group
    .command("reset-offsets")
    .description("move a group's committed offsets on a topic (the group must have no members)")
    .argument("<group>")
    .requiredOption("--topic <name>", "the topic whose offsets move")
    .option("--to-earliest", "to the log start")
    .option("--to-latest", "to the high watermark (skip everything there is)")
    .option(
      "--to-offset <n>",
      "to this offset, clamped into [log start, high watermark]",
      parseInteger("--to-offset"),
    )
    .option(
      "--to-datetime <iso>",
      "to the first record at or after this time, e.g. 2026-11-23T10:00:00Z (local time without a zone)",
      parseDateTime,
    )
    .option("--partitions <list>", "comma-separated partitions, e.g. 0,1 (default: all)", parsePartitions)
    .option("--dry-run", "print the new offsets without committing them")
    .option("--json", "print JSON")
    .action(async (groupId, options, command) => {
      const to = resetTarget(options);
      await withAdmin(command, async (admin) => {
        const dryRun = options.dryRun ?? false;
        const offsets = await admin.resetOffsets({
          groupId,
          topic: options.topic,
          to,
          partitions: options.partitions,
          dryRun,
        });
        if (options.json) {
          printJson({ group: groupId, dryRun, offsets });
          return;
        }
        process.stdout.write(
          dryRun
            ? `group ${groupId} would move to (dry run, nothing committed):\n`
            : `group ${groupId} moved to:\n`,
        );
        printTable(
          ["topic", "partition", "new offset"],
          offsets.map((o) => [o.topic, o.partition, o.offset]),
        );
      });
    });
}

function addDelete(group: Command): void {
  group
    .command("delete")
    .description("delete a consumer group and its committed offsets (the group must have no members)")
    .argument("<group>")
    .option("--json", "print JSON")
    .action(async (groupId, options, command) => {
      await withAdmin(command, async (admin) => {
        await admin.deleteGroups([groupId]);
        if (options.json) printJson({ group: groupId, deleted: true });
        else process.stdout.write(`deleted group ${groupId}\n`);
      });
    });
}

/** Member ids cut to this many characters in tables, or more where two would look the same (--json has them whole). */
const memberIdCharsMin = 8;

/** Each id's shortest prefix (at least memberIdCharsMin long) that no other id shares. */
export function shortIds(ids: readonly string[]): Map<string, string> {
  const longest = Math.max(0, ...ids.map((id) => id.length));
  for (let length = memberIdCharsMin; ; length++) {
    const prefixes = new Set(ids.map((id) => id.slice(0, length)));
    if (prefixes.size === new Set(ids).size || length >= longest) {
      return new Map(ids.map((id) => [id, id.length > length ? `${id.slice(0, length)}…` : id]));
    }
  }
}

/**
 * Who assigns the group's partitions: a classic group's Kafka clients, with the assignor they chose (range,
 * cooperative-sticky, ...); a Brook group's coordinator, with the server-side assignor its members asked
 * for (uniform, range).
 */
export function groupKind(lag: Pick<GroupLag, "type" | "assignor">): string {
  switch (lag.type) {
    case "classic":
      return ` (Kafka clients, ${lag.assignor || "no assignor yet"})`;
    case "consumer":
      return ` (assignor ${lag.assignor ?? "uniform"})`;
    case null:
      return "";
    default:
      return unreachable(lag.type, "group type");
  }
}

function printGroupLag(lag: GroupLag): void {
  const unknown = (value: number | null) => (value === null || value < 0 ? "-" : value);
  const short = shortIds(lag.members.map((m) => m.memberId));
  process.stdout.write(
    `group ${lag.group}${groupKind(lag)}: ${lag.state}, ${lag.members.length} member(s)\n`,
  );
  if (lag.members.length > 0) {
    process.stdout.write("\nmembers\n");
    printTable(
      ["member", "instance", "client", "host", "partitions"],
      lag.members.map((m) => [
        short.get(m.memberId) ?? m.memberId,
        m.instanceId ?? "",
        m.clientId,
        m.host,
        m.partitions.map(({ topic, partition }) => `${topic}-${partition}`).join(","),
      ]),
    );
  }
  const owners = new Map(
    lag.members.flatMap((m) =>
      m.partitions.map(({ topic, partition }) => [
        `${topic}-${partition}`,
        short.get(m.memberId) ?? m.memberId,
      ]),
    ),
  );
  process.stdout.write("\npartitions\n");
  printTable(
    ["topic", "partition", "committed offset", "end offset (LSO)", "lag", "owner"],
    lag.partitions.map((p) => [
      p.topic,
      p.partition,
      unknown(p.committedOffset),
      unknown(p.logEndOffset),
      unknown(p.lag),
      owners.get(`${p.topic}-${p.partition}`) ?? "-",
    ]),
  );
  process.stdout.write(`\ntotal lag: ${lag.totalLag}\n`);
}
