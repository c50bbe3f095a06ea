// The `brook` command: one sub-command per file in commands/.
import { Command } from "@commander-js/extra-typings";
import { serverCommand } from "./commands/server.js";
import { fail } from "./output.js";

const program = new Command("brook")
  .description("Brook: a Kafka-style distributed event log")
  .version("0.1.0")
  .addCommand(serverCommand());

program.parseAsync(process.argv).catch(fail);
