// `brook consume`: print records from a topic, one per line.

import type { ConsumedMessage } from "@brook/client";
import { Command, Option } from "@commander-js/extra-typings";
import { connect, parseInteger } from "../connect.js";

const endCheckIntervalMs = 50;

export function consumeCommand(): Command {
  return new Command("consume")
    .description("print records from a topic (every partition unless --partition)")
    .argument("<topic>")
    .option("--from-beginning", "start at the earliest offset instead of the end")
    .option("--partition <n>", "read only this partition", parseInteger("--partition"))
    .option("--offset <n>", "start at this offset (needs --partition)", parseInteger("--offset"))
    .option("--max-messages <n>", "exit after this many records", parseInteger("--max-messages", 1))
    .option("--exit-at-end", "exit once every partition is read up to its end as of start-up")
    .addOption(
      new Option("--format <format>", "text: the value; kv: key<TAB>value; json: one object per line")
        .choices(["text", "kv", "json"] as const)
        .default("text" as const),
    )
    .action(async (topic, options, command) => {
      if (options.offset !== undefined && options.partition === undefined) {
        throw new Error("--offset needs --partition: offsets are per partition");
      }
      const consumer = connect(command).consumer({ fromBeginning: options.fromBeginning ?? false });
      const stopOnSignal = () => void consumer.stop();
      process.once("SIGINT", stopOnSignal);
      try {
        await consumer.assign([
          {
            topic,
            partition: options.partition,
            offset: options.offset,
            fromBeginning: options.fromBeginning ?? false,
          },
        ]);
        const ends = options.exitAtEnd ? await consumer.endOffsets() : undefined;
        const atEnd = () => ends?.every((end) => (consumer.position(end) ?? -1) >= end.offset);
        // Also checked on a timer: a reader that starts at the end never gets a message to check after.
        const endWatch = ends && setInterval(() => atEnd() && void consumer.stop(), endCheckIntervalMs);
        let count = 0;
        try {
          for await (const message of consumer) {
            process.stdout.write(`${format(message, options.format)}\n`);
            count++;
            if (count === options.maxMessages || atEnd()) break;
          }
        } finally {
          clearInterval(endWatch);
        }
        process.stderr.write(`consumed ${count} record(s)\n`);
      } finally {
        process.off("SIGINT", stopOnSignal);
        await consumer.close();
      }
    }) as unknown as Command;
}

function format(message: ConsumedMessage, style: "text" | "kv" | "json"): string {
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
