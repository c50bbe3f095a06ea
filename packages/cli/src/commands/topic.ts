// `brook topic create|list|describe|alter|delete`.

import type { BrokerEndpoint, TopicDescription } from "@brook/client";
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { parseInteger, withAdmin } from "../connect.js";
import { printJson, printTable } from "../output.js";

function configEntry(value: string, previous: Array<{ name: string; value: string }> = []) {
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError(`expected key=value, got '${value}'`);
  return [...previous, { name: value.slice(0, at), value: value.slice(at + 1) }];
}

export function topicCommand(): Command {
  const topic = new Command("topic").description("create, list, describe, alter and delete topics");
  addCreate(topic);
  addList(topic);
  addDescribe(topic);
  addAlter(topic);
  addDelete(topic);
  return topic as unknown as Command;
}

function addCreate(topic: Command): void {
  topic
    .command("create")
    .description("create a topic")
    .argument("<name>")
    .option(
      "-p, --partitions <n>",
      "number of partitions (default: the cluster's, BROOK_NUM_PARTITIONS, 1 unless set)",
      parseInteger("--partitions", 1),
    )
    .option(
      "-r, --replication-factor <n>",
      "copies of each partition (default: the cluster's, min(3, brokers) unless set)",
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
}

function addList(topic: Command): void {
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
}

function addDescribe(topic: Command): void {
  topic
    .command("describe")
    .description(
      "show a topic's partitions: leader, epoch, replicas, ISR and offsets; a compacted topic's dirty ratio",
    )
    .argument("<name>")
    .option("--json", "print JSON")
    .action(async (name, options, command) => {
      await withAdmin(command, async (admin) => {
        const [description] = await admin.describeTopics({ topics: [name] });
        if (options.json) printJson(describedAsJson(description));
        else printDescription(description);
      });
    });
}

/** The topic's cleanup.policy: what it overrides, else Kafka's default. */
function cleanupPolicyOf(description: TopicDescription): string {
  return description.configEntries.find((c) => c.name === "cleanup.policy")?.value ?? "delete";
}

/** `topic describe --json`: partitions and brokers; a compacted topic adds its policy and dirty ratios. */
function describedAsJson(description: TopicDescription) {
  const compacted = cleanupPolicyOf(description) !== "delete";
  const partitions = description.partitions.map((p) => ({
    partition: p.partition,
    leader: p.leader,
    leaderEpoch: p.leaderEpoch,
    replicas: p.replicas,
    isr: p.isr,
    highWatermark: p.highWatermark,
    logStartOffset: p.logStartOffset,
    ...(compacted ? { dirtyRatio: p.dirtyRatio } : {}),
  }));
  // The brokers holding its replicas, with their Kafka listeners (null: none).
  const brokers = description.brokers.map((b) => ({
    id: b.id,
    host: b.host,
    port: b.port,
    kafkaHost: b.kafkaHost ?? null,
    kafkaPort: b.kafkaPort ?? null,
  }));
  return compacted
    ? { name: description.name, cleanupPolicy: cleanupPolicyOf(description), partitions, brokers }
    : { name: description.name, partitions, brokers };
}

function printDescription(description: TopicDescription): void {
  const policy = cleanupPolicyOf(description);
  process.stdout.write(`topic ${description.name} (id ${description.topicId})\n`);
  if (description.configEntries.length > 0) {
    process.stdout.write(
      `configs: ${description.configEntries.map((c) => `${c.name}=${c.value}`).join(", ")}\n`,
    );
  }
  process.stdout.write(`brokers: ${description.brokers.map(describeBroker).join(", ")}\n`);
  const compacted = policy !== "delete";
  printTable(
    [
      "partition",
      "leader",
      "epoch",
      "replicas",
      "isr",
      "log start",
      "high watermark",
      ...(compacted ? ["dirty"] : []),
    ],
    description.partitions.map((p) => [
      p.partition,
      p.leader,
      p.leaderEpoch,
      p.replicas.join(","),
      p.isr.join(","),
      p.logStartOffset,
      p.highWatermark,
      // As the answering broker's own replica has it; "-" where it holds none.
      ...(compacted ? [p.dirtyRatio < 0 ? "-" : `${Math.round(p.dirtyRatio * 100)}%`] : []),
    ]),
  );
}

function addAlter(topic: Command): void {
  topic
    .command("alter")
    .description(
      "add partitions to a topic (kafka-topics.sh --alter --partitions). Keys map to partitions by murmur2 " +
        "over the partition count, so records of a key written after the change may go to another partition " +
        "than its earlier ones: per-key order holds on each side of the change, not across it",
    )
    .argument("<name>")
    .requiredOption(
      "-p, --partitions <n>",
      "the new partition count, more than the topic has (partitions are never removed)",
      parseInteger("--partitions", 1),
    )
    .option("--validate-only", "check the change without making it")
    .action(async (name, options, command) => {
      await withAdmin(command, async (admin) => {
        const [before] = await admin.describeTopics({ topics: [name] });
        const count = options.partitions;
        const validateOnly = options.validateOnly ?? false;
        await admin.createPartitions({ topicPartitions: [{ topic: name, count }], validateOnly });
        const from = before.partitions.length;
        if (validateOnly) {
          process.stdout.write(
            `topic ${name} can grow from ${from} to ${count} partitions (nothing changed)\n`,
          );
          return;
        }
        const [after] = await admin.describeTopics({ topics: [name] });
        process.stdout.write(`topic ${name}: ${from} -> ${after.partitions.length} partitions\n`);
        printTable(
          ["partition", "leader", "replicas"],
          after.partitions
            .filter((p) => p.partition >= from)
            .map((p) => [p.partition, p.leader, p.replicas.join(",")]),
        );
        process.stdout.write(
          "keys now map to partitions over the new count: a key's new records may go to another partition than its old ones\n",
        );
      });
    });
}

function addDelete(topic: Command): void {
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
}

/** `1 at host:9092 (Kafka host:9094)`, or `(no Kafka listener)`. */
function describeBroker(broker: BrokerEndpoint): string {
  const kafka =
    broker.kafkaPort === undefined ? "no Kafka listener" : `Kafka ${broker.kafkaHost}:${broker.kafkaPort}`;
  return `${broker.id} at ${broker.host}:${broker.port} (${kafka})`;
}
