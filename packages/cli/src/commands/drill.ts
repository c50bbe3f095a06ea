// `brook drill kill-leader`: a failover drill against the user's own running cluster. The drill logic is
// runDrill (drill/drill.ts); this file turns flags into the two things it needs, how to stop a broker and
// how to start it again: shell commands the user gives, or, for a `make up` cluster, the node's PID file
// and scripts/cluster.sh.

import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, Option } from "@commander-js/extra-typings";
import { bootstrapServers, type GlobalOptions, parseInteger, serverList } from "../connect.js";
import { type DrillReport, drillDefaults, runDrill } from "../drill/drill.js";
import { clientKinds } from "../drill/producer.js";
import { sleepMs } from "../drill/time.js";
import { printJson } from "../output.js";
import { isAlive } from "../process-table.js";

/** A stop or start command (or `make up`) that runs longer than this is killed and the drill fails. */
const commandTimeoutMs = 120_000;
/** How long a SIGKILLed node may take to disappear from the process table. */
const exitWaitMs = 5_000;

interface BrokerControl {
  stopBroker(id: number): Promise<void>;
  startBroker(id: number): Promise<void>;
}

export function drillCommand(): Command {
  const drill = new Command("drill").description("failure drills against a running cluster");
  drill
    .command("kill-leader")
    .description(
      "kill the leader of a partition under acks=all load, restart it, and report the time without a leader and any record lost",
    )
    .requiredOption("--topic <name>", "topic to drill (it must exist; use replication factor 3)")
    .option("--partition <n>", "partition whose leader is killed", parseInteger("--partition"), 0)
    .addOption(
      new Option("--records <n>", "send exactly this many records during the drill")
        .argParser(parseInteger("--records", 1))
        .conflicts("seconds"),
    )
    .addOption(
      new Option("--seconds <s>", `drive load for this long (default ${drillDefaults.seconds})`).argParser(
        parseInteger("--seconds", 2),
      ),
    )
    .option(
      "--rate <n>",
      "records per second during the drill",
      parseInteger("--rate", 1),
      drillDefaults.recordsPerSecond,
    )
    .option(
      "--stop-command <cmd>",
      "shell command that kills a broker; {id} and $BROOK_DRILL_BROKER_ID are its id (default: SIGKILL the PID in .brook/node-<id>/node.pid)",
    )
    .option(
      "--start-command <cmd>",
      "shell command that starts it again (default: scripts/cluster.sh up, as `make up` does)",
    )
    .addOption(
      new Option(
        "--client <kind>",
        "who produces the load: brook (Brook's SDK over gRPC) or kafka (kafkajs, an unmodified Kafka client, on the brokers' Kafka listeners); the read-back is Brook's SDK either way",
      )
        .choices(clientKinds)
        .default("brook" as const),
    )
    .option(
      "--kafka-bootstrap <servers>",
      "with --client kafka: comma-separated host:port list of Kafka listeners (default: the ones the brokers advertise, as `brook cluster status` lists them: 127.0.0.1:9094,9194,9294 for `make up`)",
      parseKafkaBootstrap,
    )
    .option("--json", "print the report as JSON")
    .action(async (options, command) => {
      const global = command.optsWithGlobals() as GlobalOptions;
      const control = brokerControl(options.stopCommand, options.startCommand);
      if (options.kafkaBootstrap !== undefined && options.client !== "kafka") {
        throw new Error("--kafka-bootstrap is for --client kafka");
      }
      const report = await runDrill({
        brokers: bootstrapServers(global),
        topic: options.topic,
        partition: options.partition,
        records: options.records,
        seconds: options.seconds,
        recordsPerSecond: options.rate,
        client: options.client,
        kafkaBrokers: options.kafkaBootstrap,
        ...control,
        progress: (line) => process.stderr.write(`drill: ${line}\n`),
      });
      if (options.json) printJson(report);
      else printReport(report);
      if (report.lost > 0) {
        process.stderr.write(`error: ${report.lost} acknowledged record(s) lost: acks=all must lose none\n`);
        process.exitCode = 1;
      }
    });
  return drill as unknown as Command;
}

const parseKafkaBootstrap = (value: string): string[] => serverList(value, "--kafka-bootstrap");

function brokerControl(stopCommand: string | undefined, startCommand: string | undefined): BrokerControl {
  if ((stopCommand === undefined) !== (startCommand === undefined)) {
    throw new Error(
      "give both --stop-command and --start-command, or neither (then the drill expects a `make up` cluster)",
    );
  }
  if (stopCommand !== undefined && startCommand !== undefined) {
    return {
      stopBroker: (id) => runShell(stopCommand, id),
      startBroker: (id) => runShell(startCommand, id),
    };
  }
  return makeUpControl(process.env.BROOK_HOME ?? process.cwd());
}

/** A `make up` cluster under `root`: each node's PID in .brook/node-<id>/node.pid, restarted by cluster.sh. */
function makeUpControl(root: string): BrokerControl {
  const brookDir = join(root, ".brook");
  return {
    async stopBroker(id) {
      const pidFile = join(brookDir, `node-${id}`, "node.pid");
      if (!existsSync(pidFile)) {
        throw new Error(
          `no ${pidFile}: not a \`make up\` cluster under ${root} (set BROOK_HOME to its repo root, or pass --stop-command and --start-command)`,
        );
      }
      const pid = Number(readFileSync(pidFile, "utf8").trim());
      if (!Number.isSafeInteger(pid) || pid <= 0 || !isAlive(pid)) {
        throw new Error(`node ${id} (PID file ${pidFile}) is not running`);
      }
      if (!isBrookServer(pid)) {
        throw new Error(`PID ${pid} in ${pidFile} is not a brook server (a stale PID file?); not killing it`);
      }
      process.kill(pid, "SIGKILL");
      // Bounded: a SIGKILLed process is gone within a scheduler tick or two.
      for (let waitedMs = 0; isAlive(pid) && waitedMs < exitWaitMs; waitedMs += 20) await sleepMs(20);
    },
    async startBroker() {
      const nodes = readdirSync(brookDir).filter((name) => /^node-\d+$/.test(name)).length;
      await run(join(root, "scripts", "cluster.sh"), ["up"], {
        cwd: root,
        env: { ...process.env, NODES: String(nodes) },
      });
    },
  };
}

/** Where the process table can be read (Linux), the PID must be a node running brook's bin. */
function isBrookServer(pid: number): boolean {
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync(cmdline)) return true;
  const args = readFileSync(cmdline, "utf8").split("\0");
  return args.some((arg) => arg.endsWith("brook.js")) && args.includes("server");
}

function runShell(template: string, id: number): Promise<void> {
  const command = template.replaceAll("{id}", String(id));
  return run("sh", ["-c", command], { env: { ...process.env, BROOK_DRILL_BROKER_ID: String(id) } });
}

/** Runs a command with its output on stderr (stdout is the report's); fails on a non-zero exit or timeout. */
function run(file: string, args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...options, stdio: ["ignore", process.stderr, process.stderr] });
    const timer = setTimeout(() => child.kill("SIGKILL"), commandTimeoutMs);
    const shown = [file, ...args].join(" ");
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${shown}: ${error.message}`));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${shown} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

function printReport(r: DrillReport): void {
  const failures = Object.entries(r.failures)
    .map(([code, n]) => `${code} ${n}`)
    .join(", ");
  const lines = [
    `drill kill-leader: ${r.topic}-${r.partition}, ${(r.durationMs / 1000).toFixed(1)} s`,
    `  producer:         ${r.client === "kafka" ? "kafkajs over the Kafka protocol" : "Brook's SDK"}, acks=all, idempotent (read back with Brook's SDK)`,
    `  leader:           broker ${r.stoppedBroker} (epoch ${r.leaderEpochBefore}) -> ${r.newLeader < 0 ? "none" : `broker ${r.newLeader} (epoch ${r.leaderEpochAfter})`}`,
    `  without a leader: ${r.leaderlessMs} ms: ${r.leaderlessAfterStopMs} ms after the stop, ${r.leaderlessAfterRestartMs} ms after the restart`,
    `  restarted:        broker ${r.stoppedBroker} ${r.backInServiceMs < 0 ? "not back in service" : `in service after ${r.backInServiceMs} ms`}, ${r.rejoinedIsr ? "back in the ISR" : "not back in the ISR"}`,
    `  records:          sent ${r.sent}, acknowledged ${r.acked}, failed ${r.failed}${failures ? ` (${failures})` : ""}, unanswered ${r.unsettled}`,
    `  read back:        ${r.readBack}; lost ${r.lost}, duplicates ${r.duplicates}, never sent ${r.phantoms}, out of order ${r.outOfOrder}, offset gaps ${r.gaps}`,
    `  consistency:      offsets that held two records ${r.conflicts}, high watermark went backwards ${r.highWatermarkRegressions}`,
    ...r.warnings.map((w) => `  warning: ${w}`),
    ...r.examples.map((e) => `  example: ${e}`),
    `drill: leaderless_ms=${r.leaderlessMs} acked=${r.acked} read_back=${r.readBack} lost=${r.lost} duplicates=${r.duplicates} client=${r.client}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
