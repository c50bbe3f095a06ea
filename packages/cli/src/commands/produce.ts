// `brook produce`: one record per line of standard input.

import { createInterface } from "node:readline";
import type { Acks, Message, RecordMetadata } from "@brook/client";
import { Compression, type CompressionName } from "@brook/protocol";
import { Command, Option } from "@commander-js/extra-typings";
import { connect, parseInteger } from "../connect.js";
import { onStopRequest } from "../signals.js";

/** Lines per send() call: large enough to batch well, small enough to keep memory flat. */
const linesPerSend = 1_000;
/** send() calls in flight before reading more input. */
const sendsInFlightMax = 16;

/** Every codec Kafka clients use; the broker stores batches as they come, whatever the codec. */
export const compressionNames = Object.keys(Compression) as CompressionName[];

export const acksOption = () =>
  new Option("--acks <acks>", "all (every in-sync replica), 1 (leader) or 0 (no answer)")
    .choices(["all", "1", "0", "-1"] as const)
    .default("all" as const);

export function toAcks(value: string): Acks {
  return value === "all" || value === "-1" ? -1 : value === "1" ? 1 : 0;
}

export function produceCommand(): Command {
  return new Command("produce")
    .description(
      "send each line of standard input as a record, until end of input or Ctrl-C; stops with an error when no broker answers for --timeout",
    )
    .argument("<topic>")
    .option("--key-separator <sep>", "split each line into key and value at the first <sep>")
    .option("--partition <n>", "send every record to this partition", parseInteger("--partition"))
    .addOption(acksOption())
    .addOption(
      new Option("--compression <codec>", "batch compression")
        .choices(compressionNames)
        .default("none" as const),
    )
    .option("--linger-ms <ms>", "wait up to this long to fill a batch", parseInteger("--linger-ms"))
    .action(async (topic, options, command) => {
      const producer = connect(command).producer({
        acks: toAcks(options.acks),
        compression: options.compression,
        lingerMs: options.lingerMs,
      });
      let produced = 0;
      const pending: Array<Promise<RecordMetadata[]>> = [];
      const send = (messages: Message[]) => {
        pending.push(producer.send({ topic, messages }));
        produced += messages.length;
      };
      const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
      // Ctrl-C or SIGTERM: stop reading; what was read is still sent before the process exits.
      const removeHandlers = onStopRequest(() => lines.close());
      try {
        let chunk: Message[] = [];
        for await (const line of lines) {
          chunk.push(toMessage(line, options.keySeparator, options.partition));
          if (chunk.length >= linesPerSend) {
            send(chunk);
            chunk = [];
            if (pending.length >= sendsInFlightMax) await pending.shift();
          }
        }
        if (chunk.length > 0) send(chunk);
        await Promise.all(pending);
        await producer.flush();
      } finally {
        removeHandlers();
        await producer.close();
      }
      process.stderr.write(`produced ${produced} record(s) to ${topic}\n`);
    }) as unknown as Command;
}

function toMessage(line: string, separator: string | undefined, partition: number | undefined): Message {
  if (separator !== undefined) {
    const at = line.indexOf(separator);
    if (at >= 0) return { key: line.slice(0, at), value: line.slice(at + separator.length), partition };
  }
  return { value: line, partition };
}
