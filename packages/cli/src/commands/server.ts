// `brook server`: runs a node in the foreground until SIGINT/SIGTERM.

import { isAssertionError } from "@brook/protocol";
import { CONFIG_SCHEMA, resolveConfig, startNode } from "@brook/server";
import { Command } from "@commander-js/extra-typings";

export function serverCommand(): Command {
  const command = new Command("server")
    .description("run a Brook node (flags override BROOK_* environment variables, which override --config)")
    .option("--config <file>", "JSON config file");
  for (const [field, key] of Object.entries(CONFIG_SCHEMA)) {
    const placeholder = field === "roles" ? "<roles>" : "<value>";
    command.option(`${key.flag} ${placeholder}`, `${key.doc} [env ${key.env}]`);
  }
  return command.action(async (options) => {
    const { config: configFile, ...raw } = options as Record<string, string | undefined>;
    const node = await startNode(resolveConfig(raw, process.env, configFile));
    const stop = (signal: string) => {
      node.logger.info({ signal }, "shutting down");
      node.close().then(
        () => process.exit(0),
        (error: unknown) => {
          node.logger.error({ err: error }, "unclean shutdown");
          process.exit(1);
        },
      );
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    // A bug that escapes every handler still stops the node (its state may be
    // inconsistent), but as one structured log line a log pipeline can find. A
    // failed assertion (which request handlers never answer) names itself.
    const fatal = (kind: string) => (error: unknown) => {
      const what = isAssertionError(error) ? error.message : kind;
      node.logger.fatal({ err: error }, `${what}: the node stops`);
      process.exit(1);
    };
    process.on("uncaughtException", fatal("uncaught exception"));
    process.on("unhandledRejection", fatal("unhandled promise rejection"));
  }) as unknown as Command;
}
