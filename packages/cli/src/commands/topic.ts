// `brook topic create|list|describe|delete`.

import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { parseInteger, withAdmin } from "../connect.js";
import { printJson, printTable } from "../output.js";

function configEntry(value: string, previous: Array<{ name: string; value: string }> = []) {
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError(`expected key=value, got '${value}'`);
  return [...previous, { name: value.slice(0, at), value: value.slice(at + 1) }];
}

export function topicCommand(): Command {
  const topic = new Command("topic").description("create, list, describe and delete topics");

  topic
    .command("create")
    .description("create a topic")
    .argument("<name>")
    .option("-p, --partitions <n>", "number of partitions (default 1)", parseInteger("--partitions", 1))
    .option(
      "-r, --replication-factor <n>",
      "copies of each partition (default: min(3, brokers))",
      parseInteger("--replication-factor", 1),
    )
    .option("-c, --config <key=value>", "topic config, repeatable (e.g. retention.ms=3600000)", configEntry)
    .action(async (name, options, command) => {
      await withAdmin(command, async (admin) => {
        await admin.createTopics({
          topics: [
            {
              topic: name,
              numPartitions: options.partitions ?? -1,
              replicationFactor: options.replicationFactor ?? -1,
              configEntries: options.config ?? [],
            },
          ],
        });
        process.stdout.write(`created topic ${name}\n`);
      });
    });

  topic
    .command("list")
    .description("list topics")
    .option("--json", "print JSON")
    .action(async (options, command) => {
      await withAdmin(command, async (admin) => {
        const topics = await admin.listTopics();
        if (options.json) printJson(topics);
        else for (const name of topics) process.stdout.write(`${name}\n`);
      });
    });

  topic
    .command("describe")
    .description("show a topic's partitions: leader, epoch, replicas, ISR and offsets")
    .argument("<name>")
    .option("--json", "print JSON")
    .action(async (name, options, command) => {
      await withAdmin(command, async (admin) => {
        const [description] = await admin.describeTopics({ topics: [name] });
        const partitions = description.partitions.map((p) => ({
          partition: p.partition,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicas,
          isr: p.isr,
          highWatermark: p.highWatermark,
          logStartOffset: p.logStartOffset,
        }));
        if (options.json) {
          printJson({ name: description.name, partitions });
          return;
        }
        process.stdout.write(`topic ${description.name} (id ${description.topicId})\n`);
        if (description.configEntries.length > 0) {
          process.stdout.write(
            `configs: ${description.configEntries.map((c) => `${c.name}=${c.value}`).join(", ")}\n`,
          );
        }
        printTable(
          ["partition", "leader", "epoch", "replicas", "isr", "log start", "high watermark"],
          partitions.map((p) => [
            p.partition,
            p.leader,
            p.leaderEpoch,
            p.replicas.join(","),
            p.isr.join(","),
            p.logStartOffset,
            p.highWatermark,
          ]),
        );
      });
    });

  topic
    .command("delete")
    .description("delete a topic and all its records")
    .argument("<name>")
    .action(async (name, _options, command) => {
      await withAdmin(command, async (admin) => {
        await admin.deleteTopics({ topics: [name] });
        process.stdout.write(`deleted topic ${name}\n`);
      });
    });

  return topic as unknown as Command;
}
