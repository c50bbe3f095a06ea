// The `brook` command: one sub-command per file in commands/.
import { Command, Option } from "@commander-js/extra-typings";
import { aclCommand } from "./commands/acl.js";
import { benchCommand } from "./commands/bench.js";
import { clusterCommand } from "./commands/cluster.js";
import { connectCommand } from "./commands/connect.js";
import { consumeCommand } from "./commands/consume.js";
import { drillCommand } from "./commands/drill.js";
import { groupCommand } from "./commands/group.js";
import { produceCommand } from "./commands/produce.js";
import { serverCommand } from "./commands/server.js";
import { storageCommand } from "./commands/storage.js";
import { streamsCommand } from "./commands/streams.js";
import { topicCommand } from "./commands/topic.js";
import { transactionsCommand } from "./commands/transactions.js";
import { userCommand } from "./commands/user.js";
import { parseInteger, timeoutDefaults } from "./connect.js";
import { fail } from "./output.js";
import { followLauncher } from "./signals.js";

followLauncher();
// `brook … | head` closes the pipe early: that ends the command quietly, as it does for any Unix tool.
quietIpServerNameWarning();

process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

const program = new Command("brook")
  .description("Brook: a Kafka-style distributed event log")
  .version("0.1.0")
  .option(
    "--bootstrap <servers>",
    "comma-separated host:port list [env BROOK_BOOTSTRAP, default 127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292]",
  )
  .addOption(
    new Option(
      "--timeout <ms>",
      `topic, group, transactions, streams and cluster commands fail when not done within this (default ${timeoutDefaults.adminMs}); ` +
        `consume, produce, bench and drill stop when no broker answered for this long (default ${timeoutDefaults.unreachableMs})`,
    ).argParser(parseInteger("--timeout", 1)),
  )
  .option("--verbose", "show the client's structured logs on stderr (or set BROOK_LOG_LEVEL=debug|info|warn)")
  .option("--tls-ca-file <file>", "connect over TLS, trusting this CA (PEM) [env BROOK_TLS_CA_FILE]")
  .option("--tls-cert-file <file>", "a client certificate for TLS (PEM) [env BROOK_TLS_CERT_FILE]")
  .option("--tls-key-file <file>", "the client certificate's key (PEM) [env BROOK_TLS_KEY_FILE]")
  .option("--sasl-user <name>", "log in as this user (SASL/SCRAM) [env BROOK_USER]")
  .option("--sasl-password-file <file>", "that user's password [env BROOK_PASSWORD_FILE, or BROOK_PASSWORD]")
  .option(
    "--sasl-mechanism <name>",
    "scram-sha-256 or scram-sha-512 [env BROOK_SASL_MECHANISM, default scram-sha-256]",
  )
  .option(
    "--cluster-secret-file <file>",
    "act as the cluster's operator, allowed everything (to make the first users and ACLs) [env BROOK_CLUSTER_SECRET_FILE]",
  )
  .addCommand(serverCommand())
  .addCommand(topicCommand())
  .addCommand(produceCommand())
  .addCommand(consumeCommand())
  .addCommand(clusterCommand())
  .addCommand(groupCommand())
  .addCommand(transactionsCommand())
  .addCommand(userCommand())
  .addCommand(aclCommand())
  .addCommand(streamsCommand())
  .addCommand(connectCommand())
  .addCommand(storageCommand())
  .addCommand(benchCommand())
  .addCommand(drillCommand());

program.parseAsync(process.argv).catch(fail);

/**
 * grpc-js sends the host of a target such as 127.0.0.1:9092 as the TLS server name, which Node deprecates
 * (DEP0123) with a warning on stderr every time a command dials an IP address over TLS. The certificate
 * is still checked against the address (its IP SANs); only the warning is dropped.
 */
function quietIpServerNameWarning(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    const first = rest[0];
    const code = typeof first === "object" && first !== null ? (first as { code?: string }).code : rest[1];
    if (code !== "DEP0123") emit(warning, ...rest);
  }) as typeof process.emitWarning;
}
