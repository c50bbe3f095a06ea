// Brook Connect on three real nodes, with workers as separate `brook connect worker` processes (issue:
// Kafka Connect for Brook). It proves that:
// - a postgres-sink connector with three tasks, on three workers, leaves exactly one row per key holding
//   exactly the last value produced for it, none missing, although a worker and the broker leading one of
//   the topic's partitions are SIGKILLed while records flow; and that the dead worker's task moves to the
//   two survivors within the workers' session timeout (10 s) plus slack;
// - a file-source on exactly-once workers writes each line of the file exactly once and in order (read
//   with read_committed), although the worker running its task is SIGKILLed mid-file and another takes over;
// - the REST API and the `brook connect` CLI do what Kafka Connect users expect: plugins, create, status
//   (table and JSON), pause, resume, restart with tasks, 400 naming a bad key, 404 with {error_code,
//   message}, delete, and per-task series on GET /metrics.
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Brook, silentLogger } from "@brook/client";
import { type Cluster, type Postgres, postgresAvailable, startCluster, startPostgres } from "@brook/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  brookCli,
  type ConnectorStatus,
  deleteAllConnectors,
  rest,
  startWorker,
  status,
  type WorkerProcess,
  waitForTasks,
} from "./connect/workers.js";
import { waitFor, waitUntil } from "./wait.js";

/** Kafka Connect's worker session timeout, as Brook's workers have it. */
const sessionTimeoutMs = 10_000;
/** What a slow, shared machine adds to it before the survivors run a dead worker's tasks. */
const takeoverSlackMs = 30_000;

let cluster: Cluster;
let brook: Brook;
let tempDir: string;
const workers = new Set<WorkerProcess>();

beforeAll(async () => {
  tempDir = await mkdtemp(join(tmpdir(), "brook-connect-e2e-"));
  cluster = await startCluster({ nodes: 3 });
  brook = new Brook({ brokers: cluster.bootstrap.split(","), logger: silentLogger });
}, 90_000);

afterAll(async () => {
  await Promise.all([...workers].map((worker) => worker.kill()));
  await cluster?.stop();
  if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
});

async function startWorkers(count: number, group: string, exactlyOnceSource = false) {
  const started = await Promise.all(
    Array.from({ length: count }, () =>
      startWorker({ bootstrap: cluster.bootstrap, group, logDir: tempDir, exactlyOnceSource }),
    ),
  );
  for (const worker of started) workers.add(worker);
  return started;
}

/** Deletes the group's connectors (the internal topics are shared by every group) and stops its workers. */
async function stopGroup(group: WorkerProcess[]): Promise<void> {
  const live = group.filter((worker) => worker.running);
  if (live[0] !== undefined) await deleteAllConnectors(live[0].url).catch(() => undefined);
  await Promise.all(live.map((worker) => worker.stop()));
  for (const worker of group) workers.delete(worker);
}

async function restartStoppedNodes(): Promise<void> {
  for (const node of cluster.nodes) if (!node.running) await node.start();
}

/** Creates a connector through POST /connectors and checks the answer. */
async function createConnector(url: string, name: string, config: Record<string, string>): Promise<void> {
  const created = await rest<{ name: string }>(url, "POST", "/connectors", { name, config });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(created.body.name).toBe(name);
}

function workerOf(group: readonly WorkerProcess[], id: string): WorkerProcess {
  const worker = group.find((each) => each.id === id);
  if (worker === undefined) throw new Error(`no worker process of this test is ${id}`);
  return worker;
}

describe.skipIf(!postgresAvailable())("postgres-sink under failure", () => {
  let postgres: Postgres | undefined;
  let client: pg.Client | undefined;

  beforeAll(async () => {
    postgres = await startPostgres();
    client = new pg.Client(postgres.url);
    await client.connect();
  }, 60_000);
  afterAll(async () => {
    await client?.end();
    await postgres?.stop();
  });

  it("keeps exactly the latest value of every key while a worker and a partition leader are SIGKILLed", async () => {
    const admin = brook.admin();
    const topic = "scores-in";
    const name = "scores-sink";
    await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 3 }] });
    const group = await startWorkers(3, "pg-workers");
    try {
      const [first] = group;
      await createConnector(first!.url, name, {
        "connector.class": "postgres-sink",
        "tasks.max": "3",
        topics: topic,
        "connection.url": postgres!.url,
        table: "scores",
        "pk.mode": "record_key",
        "pk.fields": "id",
        "key.converter": "string",
        "value.converter": "json",
        "offset.flush.interval.ms": "1000",
      });
      const started = await waitForTasks(first!.url, name, { tasks: 3, state: "RUNNING" });

      const keys = 200;
      const rounds = 40;
      const perRound = 100;
      const latest = new Map<string, number>();
      const producer = brook.producer();
      let takeover: Promise<ConnectorStatus> | undefined;
      let victim: WorkerProcess | undefined;
      for (let round = 0; round < rounds; round++) {
        const messages = Array.from({ length: perRound }, (_, i) => {
          const key = `k${(round * perRound + i) % keys}`;
          const n = (latest.get(key) ?? 0) + 1;
          latest.set(key, n);
          return { key, value: JSON.stringify({ n, round }) };
        });
        await producer.send({ topic, messages });
        if (round === 12) {
          // The worker running task 0 dies; the other two must take its task over.
          victim = workerOf(group, started.tasks[0]!.worker_id);
          await victim.kill();
          const survivors = group.filter((worker) => worker !== victim);
          takeover = waitForTasks(survivors[0]!.url, name, {
            tasks: 3,
            state: "RUNNING",
            workers: survivors.map((worker) => worker.id),
            timeoutMs: sessionTimeoutMs + takeoverSlackMs,
          });
          takeover.catch(() => undefined); // awaited below
        }
        if (round === 20) {
          const [described] = await admin.describeTopics({ topics: [topic] });
          const leader = described!.partitions[0]!.leader;
          await cluster.nodes.find((node) => node.id === leader)!.kill();
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await producer.close();
      const afterKill = await takeover!;
      expect(new Set(afterKill.tasks.map((task) => task.worker_id)).has(victim!.id)).toBe(false);
      await restartStoppedNodes();

      const rows = await waitFor(
        "the table to hold every key's latest value",
        90_000,
        async () => {
          const result = await client!.query<{ id: string; n: string }>("SELECT id, n FROM scores");
          const done =
            result.rows.length === keys && result.rows.every((row) => Number(row.n) === latest.get(row.id));
          return done ? result.rows : undefined;
        },
        500,
      ).catch(async (error: unknown) => {
        const result = await client!.query<{ id: string; n: string }>("SELECT id, n FROM scores");
        const wrong = result.rows.filter((row) => Number(row.n) !== latest.get(row.id)).slice(0, 5);
        throw new Error(
          `${(error as Error).message}: ${result.rows.length} rows, e.g. wrong ${JSON.stringify(wrong)}`,
        );
      });
      const ids = rows.map((row) => row.id);
      expect(new Set(ids).size).toBe(ids.length); // one row per key
      expect(new Set(ids)).toEqual(new Set(latest.keys())); // none missing, none extra
      for (const row of rows) expect(Number(row.n), `n of ${row.id}`).toBe(latest.get(row.id));
      const counted = await client!.query<{ count: string }>("SELECT count(*) AS count FROM scores");
      expect(Number(counted.rows[0]!.count)).toBe(keys);
    } finally {
      await restartStoppedNodes();
      await stopGroup(group);
      await admin.close();
    }
  }, 180_000);
});

describe("file-source and the REST API on exactly-once workers", () => {
  let group: WorkerProcess[] = [];

  beforeAll(async () => {
    group = await startWorkers(2, "eos-workers", true);
  }, 90_000);
  afterAll(async () => {
    await stopGroup(group);
  }, 60_000);

  it("writes each line of a file exactly once, in order, while the worker running it is SIGKILLed", async () => {
    const admin = brook.admin();
    const topic = "eos-lines";
    const name = "lines-source";
    const file = join(tempDir, "lines.txt");
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
    await writeFile(file, "");
    const [first] = group;
    await createConnector(first!.url, name, {
      "connector.class": "file-source",
      file,
      topic,
      "value.converter": "string",
      "poll.interval.ms": "50",
      "batch.size": "50",
    });
    const started = await waitForTasks(first!.url, name, { tasks: 1, state: "RUNNING" });

    const lines = 3_000;
    const chunks = 30;
    const perChunk = lines / chunks;
    let takeover: Promise<ConnectorStatus> | undefined;
    for (let chunk = 0; chunk < chunks; chunk++) {
      const text = Array.from({ length: perChunk }, (_, i) => `line-${chunk * perChunk + i + 1}\n`).join("");
      await appendFile(file, text);
      if (chunk === chunks / 2) {
        // Mid-file, with a transaction likely open: the worker running the task dies.
        const victim = workerOf(group, started.tasks[0]!.worker_id);
        await victim.kill();
        const survivor = group.find((worker) => worker !== victim)!;
        takeover = waitForTasks(survivor.url, name, {
          tasks: 1,
          state: "RUNNING",
          workers: [survivor.id],
          timeoutMs: sessionTimeoutMs + takeoverSlackMs,
        });
        takeover.catch(() => undefined); // awaited below
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await takeover;

    const values = await readCommitted(topic, lines);
    const expected = Array.from({ length: lines }, (_, i) => `line-${i + 1}`);
    const firstWrong = values.findIndex((value, i) => value !== expected[i]);
    expect(firstWrong, `first wrong at ${firstWrong}: ${values[firstWrong]}`).toBe(-1);
    expect(values.length).toBe(lines);
    await admin.close();
  }, 120_000);

  it("answers the REST API and the CLI as Kafka Connect's", async () => {
    const live = group.filter((worker) => worker.running);
    if (live.length === 0) live.push(...(await startWorkers(1, "eos-workers", true)));
    group.push(...live.filter((worker) => !group.includes(worker)));
    const { url } = live[0]!;
    const name = "cli-file";
    const file = join(tempDir, "cli.txt");
    await writeFile(file, "one\ntwo\nthree\n");

    const plugins = await brookCli(["connect", "plugins", "--url", url]);
    expect(plugins.code, plugins.stderr).toBe(0);
    for (const plugin of [
      "file-source",
      "file-sink",
      "http-source",
      "http-sink",
      "postgres-source",
      "postgres-sink",
      "brook-mirror",
    ]) {
      expect(plugins.stdout).toContain(plugin);
    }

    const created = await brookCli([
      "connect",
      "create",
      name,
      "--url",
      url,
      "--config",
      "connector.class=file-source",
      "--config",
      `file=${file}`,
      "--config",
      "topic=cli-lines",
      "--config",
      "value.converter=string",
      "--config",
      "poll.interval.ms=100",
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`created connector ${name} with 1 task(s)`);
    const running = await waitForTasks(url, name, { tasks: 1, state: "RUNNING" });
    const config = await rest<Record<string, string>>(url, "GET", `/connectors/${name}/config`);
    expect(config.body).toMatchObject({ "connector.class": "file-source", file, topic: "cli-lines" });

    const table = await brookCli(["connect", "status", name, "--url", url]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain(`${name} (source): RUNNING`);
    expect(table.stdout).toMatch(/\b0\b[\s│|]+RUNNING[\s│|]+127\.0\.0\.1:\d+/);
    const json = await brookCli(["connect", "status", name, "--url", url, "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as ConnectorStatus;
    expect(parsed).toMatchObject({ name, type: "source", tasks: [{ id: 0, state: "RUNNING" }] });

    // The task's series on the worker that runs it, once the three lines are polled.
    const runner = workerOf(group, running.tasks[0]!.worker_id);
    const polled =
      /^brook_connect_source_records_polled_total\{(?=[^}]*connector="cli-file")(?=[^}]*task="0")[^}]*\} (\d+)/m;
    await waitUntil(
      "the polled counter of cli-file task 0 to reach 3",
      30_000,
      async () => {
        const metrics = await fetch(`${runner.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
        return Number(polled.exec(await metrics.text())?.[1] ?? 0) >= 3;
      },
      250,
    );

    const paused = await brookCli(["connect", "pause", name, "--url", url]);
    expect(paused.code, paused.stderr).toBe(0);
    await waitForTasks(url, name, { tasks: 1, state: "PAUSED", timeoutMs: 30_000 });
    expect((await status(url, name))?.connector.state).toBe("PAUSED");
    const resumed = await brookCli(["connect", "resume", name, "--url", url]);
    expect(resumed.code, resumed.stderr).toBe(0);
    await waitForTasks(url, name, { tasks: 1, state: "RUNNING", timeoutMs: 30_000 });

    const startsOf = () =>
      group
        .flatMap((worker) => worker.logs)
        .filter((line) => line.msg === "source task started" && line.connector === name).length;
    const startsBefore = startsOf();
    const restarted = await brookCli(["connect", "restart", name, "--url", url, "--include-tasks"]);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(restarted.stdout).toContain(`restarting connector ${name}`);
    await waitUntil("the task to start again", 30_000, () => startsOf() > startsBefore, 100);
    await waitForTasks(url, name, { tasks: 1, state: "RUNNING", timeoutMs: 30_000 });

    // A file-source without `file`: 400, naming the key.
    const invalid = await rest<{ error_code: number; message: string }>(url, "POST", "/connectors", {
      name: "no-file",
      config: { "connector.class": "file-source", topic: "x" },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error_code).toBe(400);
    expect(invalid.body.message).toMatch(/\bfile\b/);
    const invalidCli = await brookCli([
      "connect",
      "create",
      "no-file",
      "--url",
      url,
      "--config",
      "connector.class=file-source",
      "--config",
      "topic=x",
    ]);
    expect(invalidCli.code).not.toBe(0);
    expect(invalidCli.stderr).toMatch(/400.*\n?.*\bfile\b/);

    // An unknown connector: 404 with Kafka Connect's error body.
    const unknown = await rest<{ error_code: number; message: string }>(
      url,
      "GET",
      "/connectors/no-such-connector/status",
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error_code: 404, message: expect.stringContaining("no-such-connector") });
    const unknownCli = await brookCli(["connect", "status", "no-such-connector", "--url", url]);
    expect(unknownCli.code).not.toBe(0);
    expect(unknownCli.stderr).toContain("404");

    const deleted = await brookCli(["connect", "delete", name, "--url", url]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect((await rest<string[]>(url, "GET", "/connectors")).body).not.toContain(name);
    expect((await rest(url, "GET", `/connectors/${name}`)).status).toBe(404);
    await waitUntil(
      "the deleted connector's task to stop",
      30_000,
      async () => {
        const metrics = await fetch(`${runner.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
        return !polled.test(await metrics.text());
      },
      250,
    );
  }, 120_000);
});

/**
 * The values of the first `expected` committed records of a one-partition topic, then any more that arrive
 * within 3 s (a doubled record would).
 */
async function readCommitted(topic: string, expected: number): Promise<string[]> {
  const consumer = brook.consumer({ isolationLevel: "read_committed", maxWaitMs: 100 });
  await consumer.assign([{ topic, fromBeginning: true }]);
  const values: string[] = [];
  const deadline = setTimeout(() => void consumer.stop(), 60_000);
  let grace: NodeJS.Timeout | undefined;
  try {
    for await (const message of consumer) {
      values.push(message.value?.toString("utf8") ?? "<null>");
      if (values.length >= expected && grace === undefined) {
        grace = setTimeout(() => void consumer.stop(), 3_000);
      }
    }
  } finally {
    clearTimeout(deadline);
    clearTimeout(grace);
    await consumer.close();
  }
  return values;
}
