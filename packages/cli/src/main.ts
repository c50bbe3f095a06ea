// The `brook` command: one sub-command per file in commands/.
import { Command } from "@commander-js/extra-typings";
import { benchCommand } from "./commands/bench.js";
import { clusterCommand } from "./commands/cluster.js";
import { consumeCommand } from "./commands/consume.js";
import { drillCommand } from "./commands/drill.js";
import { groupCommand } from "./commands/group.js";
import { produceCommand } from "./commands/produce.js";
import { serverCommand } from "./commands/server.js";
import { topicCommand } from "./commands/topic.js";
import { fail } from "./output.js";

const program = new Command("brook")
  .description("Brook: a Kafka-style distributed event log")
  .version("0.1.0")
  .option(
    "--bootstrap <servers>",
    "comma-separated host:port list [env BROOK_BOOTSTRAP, default 127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292]",
  )
  .addCommand(serverCommand())
  .addCommand(topicCommand())
  .addCommand(produceCommand())
  .addCommand(consumeCommand())
  .addCommand(clusterCommand())
  .addCommand(groupCommand())
  .addCommand(benchCommand())
  .addCommand(drillCommand());

program.parseAsync(process.argv).catch(fail);
