// `brook connect`: run Connect workers (`worker` for a distributed group, `run` for one standalone
// process), and manage connectors through a worker's REST API (list, status, create, delete, pause,
// resume, restart, plugins), as Kafka Connect users do with curl.

import { readFile } from "node:fs/promises";
import {
  defaultTopicNames,
  type RawConfig,
  startDistributedWorker,
  startStandaloneWorker,
  workerDefaults,
} from "@brook/connect";
import { Command, Option } from "@commander-js/extra-typings";
import pino from "pino";
import { parse as parseYaml } from "yaml";
import { bootstrapServers, globalOptions, parseInteger } from "../connect.js";
import { printJson, printTable } from "../output.js";
import { onStopRequest } from "../signals.js";

export const defaultConnectUrl = `http://${workerDefaults.restHost}:${workerDefaults.restPort}`;

export function connectCommand(): Command {
  const connect = new Command("connect").description(
    "Brook Connect: run workers that copy data between Brook and other systems, and manage their connectors",
  );
  addWorker(connect);
  addRun(connect);
  addReadCommands(connect);
  addChangeCommands(connect);
  return connect as unknown as Command;
}

function addWorker(connect: Command): void {
  connect
    .command("worker")
    .description(
      "run a distributed worker: workers with the same --group share the connectors' tasks, and keep configs, " +
        "source offsets and statuses in __connect-configs, __connect-offsets and __connect-status",
    )
    .requiredOption("--group <id>", "the worker group (a Brook consumer group)")
    .addOption(restPortOption())
    .option(
      "--rest-host <host>",
      "address the REST API listens on (and the worker's id)",
      workerDefaults.restHost,
    )
    .option("--configs-topic <name>", "where connector configs are kept", defaultTopicNames.configs)
    .option("--offsets-topic <name>", "where source offsets are kept", defaultTopicNames.offsets)
    .option("--status-topic <name>", "where statuses are kept", defaultTopicNames.status)
    .option(
      "--exactly-once-source",
      "exactly.once.source.support=enabled: sources that can seek write records and offsets in one transaction",
    )
    .action(async (options, command) => {
      const worker = await startDistributedWorker({
        brokers: bootstrapServers(globalOptions(command)),
        group: options.group,
        restHost: options.restHost,
        restPort: options.restPort,
        exactlyOnceSource: options.exactlyOnceSource === true,
        topics: { configs: options.configsTopic, offsets: options.offsetsTopic, status: options.statusTopic },
        logger: workerLogger(),
      });
      await untilStopped(worker.stop);
    });
}

function addRun(connect: Command): void {
  connect
    .command("run")
    .description(
      "run a standalone worker with the connectors a YAML file lists (connectors: [{name, config}]); " +
        "source offsets are kept in --offsets-file",
    )
    .argument("<connectors.yaml>")
    .addOption(restPortOption())
    .option("--offsets-file <path>", "where source offsets are kept", "connect.offsets.json")
    .action(async (file, options, command) => {
      const connectors = parseConnectorsFile(await readFile(file, "utf8"), file);
      const worker = await startStandaloneWorker({
        brokers: bootstrapServers(globalOptions(command)),
        connectors,
        offsetsFile: options.offsetsFile,
        restPort: options.restPort,
        logger: workerLogger(),
      });
      await untilStopped(worker.stop);
    });
}

/** connectors.yaml: `connectors: [{ name, config: { connector.class: ..., ... } }]`. */
export function parseConnectorsFile(text: string, file: string): { name: string; config: RawConfig }[] {
  const document = parseYaml(text) as { connectors?: unknown } | null;
  const list = document?.connectors;
  if (!Array.isArray(list) || list.length === 0) {
    throw new Error(`${file}: expected "connectors:" with a list of { name, config }`);
  }
  return list.map((entry: unknown, index) => {
    const { name, config } = (entry ?? {}) as { name?: unknown; config?: unknown };
    if (typeof name !== "string" || config === null || typeof config !== "object") {
      throw new Error(`${file}: connectors[${index}] needs a name and a config map`);
    }
    const raw = Object.fromEntries(Object.entries(config).map(([key, value]) => [key, String(value)]));
    return { name, config: raw };
  });
}

const url = () =>
  new Option("--url <url>", `a worker's REST API [env BROOK_CONNECT_URL, default ${defaultConnectUrl}]`);

/** list, status, plugins: what a worker group runs. */
function addReadCommands(connect: Command): void {
  connect
    .command("list")
    .description("the connectors, with their state and tasks")
    .addOption(url())
    .option("--json", "print JSON")
    .action(async (options) => {
      const all = (await rest(options.url, "GET", "/connectors?expand=status")) as Record<
        string,
        { status: ConnectorStatus }
      >;
      if (options.json) return printJson(Object.values(all).map(({ status }) => status));
      printTable(
        ["connector", "type", "state", "tasks running", "worker"],
        Object.values(all).map(({ status }) => [
          status.name,
          status.type,
          status.connector.state,
          `${status.tasks.filter((task) => task.state === "RUNNING").length}/${status.tasks.length}`,
          status.connector.worker_id,
        ]),
      );
    });
  connect
    .command("status")
    .description("a connector's state and each task's (with the error of a FAILED one)")
    .argument("<name>")
    .addOption(url())
    .option("--json", "print JSON")
    .action(async (name, options) => {
      const status = (await rest(
        options.url,
        "GET",
        `/connectors/${encodeURIComponent(name)}/status`,
      )) as ConnectorStatus;
      if (options.json) return printJson(status);
      process.stdout.write(
        `${status.name} (${status.type}): ${status.connector.state} on ${status.connector.worker_id || "-"}\n`,
      );
      printTable(
        ["task", "state", "worker"],
        status.tasks.map((task) => [task.id, task.state, task.worker_id || "-"]),
      );
      for (const task of status.tasks) {
        if (task.trace !== undefined) process.stdout.write(`\ntask ${task.id} failed:\n${task.trace}\n`);
      }
    });
  connect
    .command("plugins")
    .description("the connector classes a worker offers")
    .addOption(url())
    .option("--json", "print JSON")
    .action(async (options) => {
      const plugins = (await rest(options.url, "GET", "/connector-plugins")) as {
        class: string;
        type: string;
        description: string;
      }[];
      if (options.json) return printJson(plugins);
      printTable(
        ["class", "type", "description"],
        plugins.map((plugin) => [plugin.class, plugin.type, plugin.description]),
      );
    });
}

/** create, delete, pause, resume, restart: changes to a connector, through any worker of its group. */
function addChangeCommands(connect: Command): void {
  connect
    .command("create")
    .description(
      "create a connector from --config key=value pairs or a Kafka Connect JSON file ({name, config})",
    )
    .argument("[name]", "the connector's name (else the file's)")
    .addOption(url())
    .option("--config <key=value...>", "a config entry, e.g. connector.class=file-source")
    .option("--file <path>", 'a JSON file: {"name": ..., "config": {...}}')
    .action(async (name, options) => {
      const body = await createBody(name, options.config ?? [], options.file);
      const info = (await rest(options.url, "POST", "/connectors", body)) as {
        name: string;
        tasks: unknown[];
      };
      process.stdout.write(`created connector ${info.name} with ${info.tasks.length} task(s)\n`);
    });
  for (const [verb, method, path, done] of [
    ["delete", "DELETE", "", "deleted"],
    ["pause", "PUT", "/pause", "pausing"],
    ["resume", "PUT", "/resume", "resuming"],
  ] as const) {
    connect
      .command(verb)
      .description(`${verb} a connector`)
      .argument("<name>")
      .addOption(url())
      .action(async (name, options) => {
        await rest(options.url, method, `/connectors/${encodeURIComponent(name)}${path}`);
        process.stdout.write(`${done} connector ${name}\n`);
      });
  }
  connect
    .command("restart")
    .description(
      "restart a connector (and its tasks with --include-tasks; only failed ones with --only-failed)",
    )
    .argument("<name>")
    .addOption(url())
    .option("--include-tasks", "restart its tasks too")
    .option("--only-failed", "only what has FAILED")
    .action(async (name, options) => {
      const query = `includeTasks=${options.includeTasks === true}&onlyFailed=${options.onlyFailed === true}`;
      await rest(options.url, "POST", `/connectors/${encodeURIComponent(name)}/restart?${query}`);
      process.stdout.write(`restarting connector ${name}\n`);
    });
}

interface ConnectorStatus {
  name: string;
  type: string;
  connector: { state: string; worker_id: string };
  tasks: { id: number; state: string; worker_id: string; trace?: string }[];
}

async function createBody(name: string | undefined, pairs: string[], file: string | undefined) {
  const fromFile =
    file === undefined
      ? {}
      : (JSON.parse(await readFile(file, "utf8")) as { name?: string; config?: RawConfig });
  const config: RawConfig = { ...fromFile.config };
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`--config takes key=value, got '${pair}'`);
    config[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const connectorName = name ?? fromFile.name;
  if (connectorName === undefined) throw new Error("name the connector (an argument, or name in --file)");
  return { name: connectorName, config };
}

/** Calls a worker's REST API; a Kafka Connect error body ({error_code, message}) becomes the error. */
async function rest(
  base: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const url = `${base ?? process.env.BROOK_CONNECT_URL ?? defaultConnectUrl}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new Error(
      `no Connect worker answers at ${url} (${(error as Error).message}); start one with 'brook connect worker'`,
    );
  }
  const text = await response.text();
  const parsed = text === "" ? null : (JSON.parse(text) as unknown);
  if (!response.ok) {
    const message = (parsed as { message?: string } | null)?.message ?? text;
    throw new Error(`${method} ${path}: ${response.status}: ${message}`);
  }
  return parsed;
}

function restPortOption() {
  return new Option("--rest-port <port>", `the REST API's port (0: any free one)`)
    .default(workerDefaults.restPort)
    .argParser(parseInteger("--rest-port", 0));
}

/** A worker logs JSON lines to stdout at BROOK_LOG_LEVEL (default info), each naming its connector and task. */
function workerLogger(): pino.Logger {
  return pino({ level: process.env.BROOK_LOG_LEVEL ?? "info" });
}

/** Resolves after SIGINT/SIGTERM has stopped the worker (its tasks commit what they did). */
function untilStopped(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    onStopRequest(() => {
      stop().then(resolve, reject);
    });
  });
}
