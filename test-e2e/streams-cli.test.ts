// `brook streams describe` (issue 18) on three real nodes: two instances of a real word count (a groupBy,
// so two sub-topologies: 0_p reads the input, 1_p the repartition topic and keeps the counts) run in this
// process; the built CLI names both instances, every task with the partitions it reads, the counts store
// with its entries, and the lag. An unknown application fails as `brook group describe` does for an
// unknown group, and a plain consumer's group is shown with "-" where an instance would say what it runs.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Brook, type Consumer, silentLogger } from "@brook/client";
import { KafkaStreams, Materialized, Serdes, StreamsBuilder } from "@brook/streams";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./wait.js";

const brookBin = fileURLToPath(new URL("../packages/cli/bin/brook.js", import.meta.url));
const applicationId = "wc-cli";
const input = "wc-lines";
const output = "wc-counts";
const repartition = `${applicationId}-counts-repartition`;
const partitions = 4;

let cluster: Cluster;
let brook: Brook;
const apps: KafkaStreams[] = [];
let plain: Consumer | undefined;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [brookBin, ...args, "--bootstrap", cluster.bootstrap],
      { timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error.code as number) ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function ok(args: string[]): Promise<string> {
  const result = await cli(args);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return result.stdout;
}

function wordCount(endpoint: string): KafkaStreams {
  const builder = new StreamsBuilder();
  builder
    .stream<string, string>(input, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
    .groupBy((_key, word) => word, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
    .count(Materialized.as("counts"))
    .toStream()
    .to(output, { keySerde: Serdes.String(), valueSerde: Serdes.Int64() });
  return new KafkaStreams(builder.build(), {
    applicationId,
    brook,
    commitIntervalMs: 200,
    applicationServer: endpoint,
    logger: silentLogger,
  });
}

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
  brook = new Brook({ brokers: cluster.bootstrap.split(","), logger: silentLogger });
  await brook.admin().createTopics({
    topics: [
      { topic: input, numPartitions: partitions, replicationFactor: 3 },
      { topic: output, numPartitions: partitions, replicationFactor: 3 },
    ],
  });
  for (const endpoint of ["127.0.0.1:7071", "127.0.0.1:7072"]) {
    const app = wordCount(endpoint);
    apps.push(app);
    await app.start();
  }
  await Promise.all(apps.map((app) => app.waitUntilRunning(30_000)));
  const producer = brook.producer();
  const words = ["apple", "banana", "cherry", "date", "elder", "fig", "grape", "honeydew"];
  await producer.send({
    topic: input,
    messages: Array.from({ length: 200 }, (_, i) => ({ key: `line-${i}`, value: words[i % words.length] })),
  });
  await producer.close();
}, 90_000);

afterAll(async () => {
  await plain?.close().catch(() => undefined);
  await Promise.all(apps.map((app) => app.close().catch(() => undefined)));
  await cluster?.stop();
});

interface Described {
  applicationId: string;
  state: string;
  assignor: string | null;
  instances: { memberId: string; endpoint: string | null; active: string[] | null; hasMetadata: boolean }[];
  tasks: {
    task: string | null;
    standby: boolean;
    memberId: string;
    partitions: { topic: string; partition: number; lag: number | null }[];
    stores: { store: string; entries: number }[];
    lag: number | null;
  }[];
  totalLag: number;
}

const allTasks = [0, 1].flatMap((sub) => Array.from({ length: partitions }, (_, p) => `${sub}_${p}`));

describe("brook streams describe", () => {
  it("names the instances, every task with the partitions it reads, the stores and the lag", async () => {
    // The instances publish their metadata every few seconds; wait until both say what they run and the
    // counts have caught up (every record counted, so the stores hold the 8 words).
    const described = await waitFor(
      "both instances to publish their tasks, and no lag",
      45_000,
      async () => {
        const view = JSON.parse(await ok(["streams", "describe", applicationId, "--json"])) as Described;
        const active = view.instances.flatMap((each) => each.active ?? []).sort();
        const entries = view.tasks.flatMap((each) => each.stores).reduce((sum, s) => sum + s.entries, 0);
        // A rebalance still settling (a member acknowledging its target) shows as "reconciling".
        return view.state === "stable" &&
          view.instances.length === 2 &&
          JSON.stringify(active) === JSON.stringify([...allTasks].sort()) &&
          view.totalLag === 0 &&
          entries === 8
          ? view
          : undefined;
      },
      500,
    );
    expect(described).toMatchObject({ applicationId, state: "stable" });
    expect(described.instances.map((each) => each.endpoint).sort()).toEqual([
      "127.0.0.1:7071",
      "127.0.0.1:7072",
    ]);
    for (const task of described.tasks) {
      expect(task.task).not.toBeNull();
      const [sub, p] = task.task!.split("_").map(Number);
      const names = task.partitions.map(({ topic, partition }) => `${topic}-${partition}`);
      // Task s_p reads partition p of its sub-topology's topic, which the instance's metadata names.
      expect(names).toEqual([sub === 0 ? `${input}-${p}` : `${repartition}-${p}`]);
      // null: the group never committed on these partitions (no word hashed to that repartition partition).
      expect(task.lag === null || task.lag === 0).toBe(true);
      if (sub === 1) expect(task.stores.map((s) => s.store)).toEqual(["counts"]);
    }

    const table = await ok(["streams", "describe", applicationId]);
    expect(table).toMatch(
      new RegExp(`^application ${applicationId}: stable, 2 instance\\(s\\), assignor \\S+`),
    );
    expect(table).toContain("instances");
    expect(table).toContain("127.0.0.1:7071");
    expect(table).toContain("tasks");
    for (const task of allTasks) expect(table).toMatch(new RegExp(`│ ${task} +│`));
    for (let p = 0; p < partitions; p++) {
      expect(table).toContain(`${input}-${p}`);
      expect(table).toContain(`${repartition}-${p}`);
    }
    expect(table).toMatch(/counts=\d+/);
    expect(table).toContain("total lag: 0");
  }, 60_000);

  it("fails on an unknown application as group describe fails on an unknown group", async () => {
    const [streams, group] = await Promise.all([
      cli(["streams", "describe", "no-such-app"]),
      cli(["group", "describe", "no-such-app"]),
    ]);
    expect(streams.code).toBe(1);
    expect(streams.stdout).toBe("");
    expect(streams.stderr).toMatch(/^error: .*GROUP_ID_NOT_FOUND.*no-such-app/);
    expect(streams.stderr.trim().split("\n")).toHaveLength(1);
    expect(streams.stderr).toBe(group.stderr);
  });

  it("shows a plain consumer's group with '-' where an instance says what it runs", async () => {
    plain = brook.consumer({ groupId: "not-streams", maxWaitMs: 100 });
    await plain.subscribe({ topics: [output] });
    void plain.run({ eachBatch: async () => {} }).catch(() => undefined);
    const view = await waitFor(
      "the plain consumer to hold its partitions",
      30_000,
      async () => {
        const described = JSON.parse(await ok(["streams", "describe", "not-streams", "--json"])) as Described;
        return described.tasks.length === partitions ? described : undefined;
      },
      500,
    );
    expect(view.instances).toHaveLength(1);
    expect(view.instances[0]).toMatchObject({ hasMetadata: false, active: null, endpoint: null });
    expect(view.tasks.every((each) => each.task === null)).toBe(true);
    const table = await ok(["streams", "describe", "not-streams"]);
    expect(table).toContain("not-streams");
    expect(table).toContain(`${output}-0`);
  }, 45_000);
});
