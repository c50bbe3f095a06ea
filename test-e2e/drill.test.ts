// `brook drill kill-leader` on three real nodes: through runDrill with the testkit's own kill and start,
// and through the CLI with --stop-command/--start-command, as a user of a compose cluster would run it;
// with Brook's SDK producing, and with kafkajs producing on the Kafka listeners (--client kafka).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type DrillReport, runDrill } from "@brook/cli";
import { Brook, silentLogger } from "@brook/client";
import { type Cluster, type NodeHandle, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./wait.js";

const brookBin = fileURLToPath(new URL("../packages/cli/bin/brook.js", import.meta.url));
/** A broker session (1.5 s) plus a controller's reaction, with room for a loaded machine. */
const failoverMsMax = 8_000;
let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
  const admin = new Brook({ brokers: cluster.bootstrap.split(","), logger: silentLogger }).admin();
  await admin.createTopics({
    topics: [
      {
        topic: "drill",
        numPartitions: 3,
        replicationFactor: 3,
        configEntries: [{ name: "min.insync.replicas", value: "2" }],
      },
    ],
  });
  await admin.close();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

const node = (id: number) => cluster.nodes.find((n) => n.id === id) as NodeHandle;

function brook(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [brookBin, ...args],
      { env: { ...process.env, BROOK_BOOTSTRAP: cluster.bootstrap, ...env }, timeout: 90_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error.code as number) ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * Runs the CLI drill and, while it runs, restarts the node whose `asked(id)` file appears (the drill's
 * start command made it: only the testkit can start its processes). Resolves with the CLI's result and
 * the id of the node restarted, if any.
 */
async function drillWithRestarts(
  args: string[],
  asked: (id: number) => string,
  env: Record<string, string> = {},
) {
  let exited = false;
  const running = brook(args, env).finally(() => {
    exited = true;
  });
  const restarted = waitFor("the drill to ask for a restart, or to end", 90_000, async () => {
    const node = cluster.nodes.find((n) => existsSync(asked(n.id)));
    if (node !== undefined) {
      await node.start();
      return node.id;
    }
    return exited ? -1 : undefined;
  });
  const [result, restartedId] = await Promise.all([running, restarted]);
  return { result, restartedId };
}

/** What every drill must show: a new leader from the others, a bounded outage, and nothing lost. */
function expectHealthyDrill(report: DrillReport): void {
  expect(report.newLeader).toBeGreaterThan(0);
  expect(report.newLeader).not.toBe(report.stoppedBroker);
  expect(report.leaderEpochAfter).toBeGreaterThan(report.leaderEpochBefore);
  expect(report.leaderlessMs).toBeGreaterThan(0);
  expect(report.leaderlessMs).toBeLessThan(failoverMsMax);
  // The kill caused an outage; the two parts add up to (at most) the whole.
  expect(report.leaderlessAfterStopMs).toBeGreaterThan(0);
  expect(report.leaderlessAfterStopMs + report.leaderlessAfterRestartMs).toBeLessThanOrEqual(
    report.leaderlessMs,
  );
  expect(report.backInServiceMs).toBeGreaterThanOrEqual(0);
  expect(report.acked).toBeGreaterThan(0);
  expect(report.readBack).toBeGreaterThanOrEqual(report.acked);
  expect(report.lost).toBe(0);
  // The SDK's producer is idempotent by default: a retried batch is written once.
  expect.soft(report.duplicates, "duplicates (idempotent producer)").toBe(0);
}

describe("brook drill kill-leader", () => {
  it("runDrill kills the leader under load, restarts it, and accounts for every acknowledged record", async () => {
    const report = await runDrill({
      brokers: cluster.bootstrap.split(","),
      topic: "drill",
      partition: 1,
      seconds: 5,
      recordsPerSecond: 300,
      stopBroker: (id) => node(id).kill(),
      startBroker: (id) => node(id).start(),
    });
    console.log(`drill (runDrill): ${JSON.stringify({ ...report, examples: report.examples.slice(0, 5) })}`);
    expectHealthyDrill(report);
    expect(report.partition).toBe(1);
    expect(node(report.stoppedBroker).running).toBe(true);
  }, 90_000);

  it("the CLI runs the user's stop and start commands with the broker id, and prints a JSON report", async () => {
    // The stop command kills by PID as `docker kill` would; the start command asks the test to restart
    // the node (only the testkit can start its processes), which it does when the file appears.
    for (const each of cluster.nodes)
      writeFileSync(join(cluster.rootDir, `drill-node-${each.id}.pid`), String(each.pid));
    const asked = (id: number) => join(cluster.rootDir, `drill-restart-${id}`);
    const { result, restartedId } = await drillWithRestarts(
      [
        "drill",
        "kill-leader",
        "--topic",
        "drill",
        "--partition",
        "2",
        "--records",
        "1500",
        "--rate",
        "300",
        "--stop-command",
        `kill -9 "$(cat ${join(cluster.rootDir, "drill-node-{id}.pid")})"`,
        "--start-command",
        `touch ${join(cluster.rootDir, "drill-restart-")}$BROOK_DRILL_BROKER_ID`,
        "--json",
      ],
      asked,
    );
    expect(result.stderr).not.toContain("error:");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as DrillReport;
    expectHealthyDrill(report);
    expect(report.stoppedBroker).toBe(restartedId);
    expect(report.sent).toBe(1500);
    expect(report.client).toBe("brook");
    expect(result.stderr).toContain(`drill: stopping broker ${restartedId}`);
  }, 90_000);

  it("--client kafka: kafkajs produces on the Kafka listeners the brokers advertise, and follows the new leader", async () => {
    for (const each of cluster.nodes)
      writeFileSync(join(cluster.rootDir, `drill-node-${each.id}.pid`), String(each.pid));
    const asked = (id: number) => join(cluster.rootDir, `drill-kafka-restart-${id}`);
    const { result, restartedId } = await drillWithRestarts(
      [
        "drill",
        "kill-leader",
        "--topic",
        "drill",
        "--partition",
        "1",
        "--seconds",
        "5",
        "--rate",
        "300",
        "--client",
        "kafka",
        "--stop-command",
        `kill -9 "$(cat ${join(cluster.rootDir, "drill-node-{id}.pid")})"`,
        "--start-command",
        `touch ${join(cluster.rootDir, "drill-kafka-restart-")}$BROOK_DRILL_BROKER_ID`,
        "--json",
      ],
      asked,
    );
    expect(result.stderr).not.toContain("error:");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as DrillReport;
    console.log(
      `drill (--client kafka): ${JSON.stringify({ ...report, examples: report.examples.slice(0, 5) })}`,
    );
    expectHealthyDrill(report);
    expect(report.client).toBe("kafka");
    expect(report.stoppedBroker).toBe(restartedId);
    expect(result.stderr).toContain("from kafkajs on the Kafka listeners");
  }, 90_000);

  it("with no commands, a `make up` cluster's leader is SIGKILLed by its PID file and restarted by scripts/cluster.sh up", async () => {
    // A stand-in for the repo root of a `make up` cluster: the nodes' PID files, and a cluster.sh that
    // records how it was called and asks the test to restart the node.
    const home = join(cluster.rootDir, "make-up-home");
    for (const each of cluster.nodes) {
      mkdirSync(join(home, ".brook", `node-${each.id}`), { recursive: true });
      writeFileSync(join(home, ".brook", `node-${each.id}`, "node.pid"), String(each.pid));
    }
    mkdirSync(join(home, "scripts"), { recursive: true });
    writeFileSync(
      join(home, "scripts", "cluster.sh"),
      '#!/bin/sh\necho "$1 NODES=$NODES" > "$PWD/.brook/cluster-sh-called"\nfor d in .brook/node-*; do kill -0 "$(cat "$d/node.pid")" 2>/dev/null || touch "$d/restart"; done\n',
      { mode: 0o755 },
    );
    const asked = (id: number) => join(home, ".brook", `node-${id}`, "restart");
    const { result, restartedId } = await drillWithRestarts(
      ["drill", "kill-leader", "--topic", "drill", "--partition", "0", "--seconds", "3", "--rate", "300"],
      asked,
      { BROOK_HOME: home },
    );
    expect(result.stderr).not.toContain("error:");
    expect(result.code).toBe(0);
    expect(readFileSync(join(home, ".brook", "cluster-sh-called"), "utf8").trim()).toBe("up NODES=3");
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toBe(`drill kill-leader: drill-0, ${lines[0].split(", ")[1]}`);
    expect(lines.at(-1)).toMatch(
      /^drill: leaderless_ms=\d+ acked=\d+ read_back=\d+ lost=0 duplicates=\d+ client=brook$/,
    );
    expect(result.stdout).toContain(`leader:           broker ${restartedId} (epoch`);
  }, 90_000);

  it("refuses --kafka-bootstrap without --client kafka, a malformed one, and an unknown client", async () => {
    const commands = ["--stop-command", "true", "--start-command", "true"];
    const stray = await brook([
      "drill",
      "kill-leader",
      "--topic",
      "drill",
      "--kafka-bootstrap",
      "127.0.0.1:9094",
      ...commands,
    ]);
    expect(stray.code).toBe(1);
    expect(stray.stderr).toContain("--kafka-bootstrap is for --client kafka");
    const malformed = await brook([
      "drill",
      "kill-leader",
      "--topic",
      "drill",
      "--client",
      "kafka",
      "--kafka-bootstrap",
      "127.0.0.1",
      ...commands,
    ]);
    expect(malformed.code).not.toBe(0);
    expect(malformed.stderr).toContain("--kafka-bootstrap: '127.0.0.1' is not a broker address");
    const unknown = await brook(["drill", "kill-leader", "--topic", "drill", "--client", "rdkafka"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/--client.*rdkafka.*brook, kafka/s);
  });

  it("refuses a stop command without a start command, before touching the cluster", async () => {
    const result = await brook(["drill", "kill-leader", "--topic", "drill", "--stop-command", "true"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("give both --stop-command and --start-command, or neither");
  });

  it("names an unknown topic", async () => {
    const result = await brook([
      "drill",
      "kill-leader",
      "--topic",
      "nope",
      "--stop-command",
      "true",
      "--start-command",
      "true",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: .*nope/);
  });
});
