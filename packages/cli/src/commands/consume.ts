// `brook consume`: print records from a topic, one per line; alone (assigned partitions) or as a member of
// a consumer group (--group: the coordinator shares the partitions, offsets are committed).

import type { ConsumedMessage, Consumer, IsolationLevel } from "@brook/client";
import { BrookError } from "@brook/protocol";
import { Command, Option } from "@commander-js/extra-typings";
import { type AnyCommand, connect, parseInteger, withAdmin } from "../connect.js";
import { onStopRequest } from "../signals.js";

const endCheckIntervalMs = 50;

export function consumeCommand(): Command {
  return new Command("consume")
    .description(
      "print records from a topic, one per line (every partition unless --partition); without --exit-at-end or " +
        "--max-messages it waits for new records until Ctrl-C, and stops with an error when no broker answers for --timeout",
    )
    .argument("<topic>")
    .option("--from-beginning", "start at the earliest offset instead of the end")
    .option("--partition <n>", "read only this partition", parseInteger("--partition"))
    .option(
      "--offset <n>",
      "start at this offset (needs --partition); outside the partition's offsets it is an error unless --reset",
      parseInteger("--offset"),
    )
    .addOption(
      new Option(
        "--reset <where>",
        "where to start when the start offset (--offset, or a group's committed offset) is not in the log",
      ).choices(["earliest", "latest"] as const),
    )
    .option("--max-messages <n>", "exit after this many records", parseInteger("--max-messages", 1))
    .option("--exit-at-end", "exit once every partition is read up to its end as of start-up")
    .option(
      "--group <id>",
      "consume as a member of this consumer group: it starts at the group's committed offsets and commits",
    )
    .option(
      "--instance-id <id>",
      "static membership (needs --group): a restart with the same id gets its partitions back",
    )
    .option(
      "--session-timeout-ms <ms>",
      "how long the group waits for a silent member before moving its partitions (needs --group)",
      parseInteger("--session-timeout-ms", 1),
    )
    .option(
      "--commit-interval-ms <ms>",
      "how often offsets are committed (needs --group; default 5000)",
      parseInteger("--commit-interval-ms", 1),
    )
    .addOption(
      new Option(
        "--isolation <level>",
        "read_uncommitted (default): every record up to the high watermark; read_committed: only committed " +
          "transactions' records (and non-transactional ones), up to the last stable offset. Transaction markers are never printed",
      ).choices(["read_uncommitted", "read_committed"] as const),
    )
    .addOption(
      new Option("--format <format>", "text: the value; kv: key<TAB>value; json: one object per line")
        .choices(["text", "kv", "json"] as const)
        .default("text" as const),
    )
    .option("--json", "one JSON object per record (the same as --format json)")
    .action((topic, options, command) => consume(topic, options, command)) as unknown as Command;
}

/** Reads `topic` as the flags say, alone or as a group member, and prints what it reads. */
async function consume(topic: string, options: ConsumeOptions, command: AnyCommand): Promise<void> {
  checkOptions(options);
  const format = options.json ? "json" : options.format;
  if (options.offset !== undefined && options.reset === undefined) {
    await checkInRange(command, topic, options.partition!, options.offset);
  }
  const fromBeginning = options.fromBeginning ?? false;
  const consumer = connect(command).consumer({
    fromBeginning,
    groupId: options.group,
    groupInstanceId: options.instanceId,
    sessionTimeoutMs: options.sessionTimeoutMs,
    autoCommitIntervalMs: options.commitIntervalMs,
    // A start offset the user named is never silently replaced by another.
    autoOffsetReset: options.reset ?? (options.offset !== undefined ? "none" : undefined),
    isolationLevel: options.isolation,
  });
  // Stopping ends the loop below; close() then commits and leaves the group before the process exits.
  const removeHandlers = onStopRequest(() => void consumer.stop());
  try {
    if (options.group !== undefined) {
      await consumer.subscribe({ topics: [topic], fromBeginning });
    } else {
      await consumer.assign([{ topic, partition: options.partition, offset: options.offset, fromBeginning }]);
    }
    const count = await printRecords(consumer, format, options.exitAtEnd ?? false, options.maxMessages);
    process.stderr.write(`consumed ${count} record(s)\n`);
  } finally {
    removeHandlers();
    await consumer.close();
  }
}

/** Prints records until `maxMessages`, the end as of start-up (`exitAtEnd`), or a stop; returns how many. */
async function printRecords(
  consumer: Consumer,
  format: "text" | "kv" | "json",
  exitAtEnd: boolean,
  maxMessages: number | undefined,
): Promise<number> {
  const ends = exitAtEnd ? await consumer.endOffsets() : undefined;
  const atEnd = () => ends?.every((end) => (consumer.position(end) ?? -1) >= end.offset);
  // Also checked on a timer: a reader that starts at the end never gets a message to check after.
  const endWatch = ends && setInterval(() => atEnd() && void consumer.stop(), endCheckIntervalMs);
  let count = 0;
  try {
    for await (const message of consumer) {
      process.stdout.write(`${formatRecord(message, format)}\n`);
      count++;
      if (count === maxMessages || atEnd()) break;
    }
  } finally {
    clearInterval(endWatch);
  }
  return count;
}

/**
 * An explicit start offset outside the partition's log is refused with its range, before anything is
 * read: a Kafka consumer would silently move to the end instead.
 */
async function checkInRange(command: AnyCommand, topic: string, partition: number, offset: number) {
  const offsets = await withAdmin(command, (admin) => admin.fetchTopicOffsets(topic));
  const range = offsets.find((each) => each.partition === partition);
  if (range === undefined) {
    throw new BrookError(
      "UNKNOWN_PARTITION",
      `topic ${topic} has partitions 0 to ${offsets.length - 1}; there is no partition ${partition}`,
    );
  }
  if (offset >= range.low && offset <= range.high) return;
  const held = range.high > range.low ? `offsets ${range.low} to ${range.high - 1}` : "no records";
  throw new BrookError(
    "OFFSET_OUT_OF_RANGE",
    `${topic}-${partition} holds ${held} (next offset ${range.high}); offset ${offset} is ` +
      `${offset > range.high ? "past its end" : "before its start"}. --reset earliest or --reset latest starts there instead`,
  );
}

/** The flags checkOptions() looks at. */
interface ConsumeFlags {
  partition?: number;
  offset?: number;
  exitAtEnd?: true;
  group?: string;
  instanceId?: string;
  sessionTimeoutMs?: number;
  commitIntervalMs?: number;
  json?: true;
  format: string;
}

/** Every flag of `brook consume`, as commander parses them. */
interface ConsumeOptions extends ConsumeFlags {
  fromBeginning?: true;
  reset?: "earliest" | "latest";
  maxMessages?: number;
  isolation?: IsolationLevel;
  format: "text" | "kv" | "json";
}

/** Refuses flags that contradict each other: a group assigns partitions itself and starts where it left off. */
function checkOptions(flags: ConsumeFlags): void {
  if (flags.json && flags.format !== "text") {
    throw new Error(`--json is --format json; it cannot be used with --format ${flags.format}`);
  }
  if (flags.offset !== undefined && flags.partition === undefined) {
    throw new Error("--offset needs --partition: offsets are per partition");
  }
  const given = (named: Record<string, unknown>) =>
    Object.entries(named)
      .filter(([, value]) => value !== undefined)
      .map(([name]) => name);
  if (flags.group !== undefined) {
    const fixed = given({
      "--partition": flags.partition,
      "--offset": flags.offset,
      "--exit-at-end": flags.exitAtEnd,
    });
    if (fixed.length > 0) {
      throw new Error(
        `${fixed.join(", ")} cannot be used with --group: the group's coordinator assigns the partitions and ` +
          "each starts at the group's committed offset (use --max-messages to stop, brook group reset-offsets to move)",
      );
    }
    return;
  }
  const groupOnly = given({
    "--instance-id": flags.instanceId,
    "--session-timeout-ms": flags.sessionTimeoutMs,
    "--commit-interval-ms": flags.commitIntervalMs,
  });
  if (groupOnly.length > 0) {
    throw new Error(`${groupOnly.join(", ")} ${groupOnly.length === 1 ? "needs" : "need"} --group`);
  }
}

function formatRecord(message: ConsumedMessage, style: "text" | "kv" | "json"): string {
  const value = message.value?.toString("utf8") ?? "";
  if (style === "text") return value;
  const key = message.key?.toString("utf8") ?? "";
  if (style === "kv") return `${key}\t${value}`;
  return JSON.stringify({
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    timestamp: message.timestamp,
    key: message.key?.toString("utf8") ?? null,
    value: message.value?.toString("utf8") ?? null,
    headers: Object.fromEntries(
      Object.entries(message.headers).map(([k, v]) => [
        k,
        Array.isArray(v) ? v.map((x) => x?.toString()) : v?.toString(),
      ]),
    ),
  });
}
