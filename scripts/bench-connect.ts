import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Brook, type Consumer, silentLogger } from "@brook/client";
import { type ConnectWorker, startConnectWorker, startPostgres } from "@brook/testkit";
import pg from "pg";

const bootstrap = process.env.BROOK_BOOTSTRAP ?? "127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292";
const brokers = bootstrap.split(",");
const records = Number(process.env.RECORDS ?? 200_000);
const profileDir = process.env.PROFILE_DIR;
const partitions = 6;
const keys = 10_000;
const recordBytes = 100;
const flushIntervalMs = 1_000;
/** The sink's batch.size (rows per statement and transaction); unset: the connector's default. */
const sinkBatchSize = process.env.SINK_BATCH_SIZE;
const run = Date.now().toString(36);
const workDir = mkdtempSync(join(tmpdir(), `bench-connect-${run}-`));
const brook = new Brook({ brokers, clientId: "bench-connect", logger: silentLogger });
const admin = brook.admin();

const createdTopics: string[] = [];
const createdGroups: string[] = [];
const workers: WorkerProcess[] = [];

interface Figure {
  scenario: string;
  workers: number;
  guarantee: string;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  /** CPU seconds of the process(es) doing the work (the workers; the bench process for the SDK runs). */
  cpuSeconds: number | undefined;
  /** CPU seconds of the local brokers (make up's .brook/node-*), when they are found. */
  brokerCpuSeconds: number | undefined;
  note: string;
}
const figures: Figure[] = [];

function say(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function report(figure: Omit<Figure, "recordsPerSecond">): void {
  const full = { ...figure, recordsPerSecond: Math.round(figure.records / figure.seconds) };
  figures.push(full);
  const round = (value: number | undefined) => (value === undefined ? undefined : Number(value.toFixed(2)));
  say({
    ...full,
    seconds: round(full.seconds),
    cpuSeconds: round(full.cpuSeconds),
    brokerCpuSeconds: round(full.brokerCpuSeconds),
  });
}

// ---- CPU accounting (Linux /proc; undefined elsewhere) ----

/** USER_HZ: the unit of /proc/<pid>/stat's times. */
const clockTicksPerSecond = 100;

/** /proc/<pid>/stat's fields from the 3rd (state) on: ppid at [1], utime [11], stime [12], cutime [13]. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** A process's CPU seconds; with `reaped`, also those of the children it has waited for. */
function processCpuSeconds(pid: number, reaped = false): number | undefined {
  const fields = procStat(pid);
  if (fields === undefined) return undefined;
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  return (utime + stime + (reaped ? cutime + cstime : 0)) / clockTicksPerSecond;
}

const processes = () =>
  readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);

/** The PostgreSQL postmaster serving `port` (its command line has -p <port>), if it is local. */
function postmasterOf(port: number): number | undefined {
  if (!existsSync("/proc")) return undefined;
  return processes().find((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      return (
        argv[0].endsWith("postgres") && argv.some((arg, i) => arg === "-p" && argv[i + 1] === String(port))
      );
    } catch {
      return false;
    }
  });
}

/** A postmaster's CPU seconds with its backends': the live ones and those it has reaped. */
function postgresCpuSeconds(postmaster: number): number | undefined {
  const own = processCpuSeconds(postmaster, true);
  if (own === undefined) return undefined;
  const children = processes().filter((pid) => procStat(pid)?.[1] === String(postmaster));
  return children.reduce((sum, pid) => sum + (processCpuSeconds(pid, true) ?? 0), own);
}

/** The local cluster's broker PIDs (.brook/node-<id>/node.pid), when it is the make up one and running. */
function brokerPids(): number[] {
  const dir = join(import.meta.dirname, "..", ".brook");
  if (process.env.BROOK_BOOTSTRAP !== undefined || !existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((node) => node.startsWith("node-"))
    .map((node) => {
      try {
        return Number(readFileSync(join(dir, node, "node.pid"), "utf8").trim());
      } catch {
        return Number.NaN;
      }
    })
    .filter((pid) => Number.isInteger(pid) && processCpuSeconds(pid) !== undefined);
}
const localBrokerPids = brokerPids();

/** CPU seconds used by `pids` since the call, read by the function it returns. */
function cpuMeter(pids: number[]): () => number | undefined {
  const start = pids.map((pid) => processCpuSeconds(pid));
  return () => {
    if (pids.length === 0 || start.some((each) => each === undefined)) return undefined;
    return pids.reduce((sum, pid, i) => sum + ((processCpuSeconds(pid) ?? 0) - (start[i] ?? 0)), 0);
  };
}

function postgresCpuMeter(postmaster: number | undefined): () => number | undefined {
  const start = postmaster === undefined ? undefined : postgresCpuSeconds(postmaster);
  return () => {
    if (postmaster === undefined || start === undefined) return undefined;
    const now = postgresCpuSeconds(postmaster);
    return now === undefined ? undefined : now - start;
  };
}

/** The bench process's own CPU seconds since the call. */
function selfCpuMeter(): () => number {
  const start = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1e6;
  };
}

const workerPids = (group: WorkerProcess[]) => group.flatMap(({ pid }) => pid ?? []);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  everyMs = 50,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function createTopic(topic: string): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 3 }] });
  createdTopics.push(topic);
}

// ---- worker processes ----

interface WorkerProcess extends ConnectWorker {
  label: string;
}

/** Starts `brook connect worker` on a free REST port (with --cpu-prof when profiling this run). */
async function startWorker(label: string, group: string, exactlyOnce: boolean, profile: boolean) {
  const profiling =
    profile && profileDir !== undefined
      ? ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `${label}.cpuprofile`]
      : [];
  const started = await startConnectWorker({
    bootstrap,
    group,
    logFile: join(workDir, `${label}.log`),
    exactlyOnceSource: exactlyOnce,
    nodeArgs: [...profiling, "--single-threaded-gc"],
  });
  const worker: WorkerProcess = Object.assign(started, { label });
  workers.push(worker);
  return worker;
}

/** SIGTERM, then SIGKILL; waits for the exit (which writes a --cpu-prof profile). */
async function stopWorker(worker: WorkerProcess): Promise<void> {
  const index = workers.indexOf(worker);
  if (index >= 0) workers.splice(index, 1);
  await worker.stop();
}

async function startGroup(prefix: string, count: number, exactlyOnce: boolean, profile: boolean) {
  const group = `bench-connect-${prefix}-${run}`;
  createdGroups.push(group);
  const started = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startWorker(`${prefix}-${i}`, group, exactlyOnce, profile && i === 0),
    ),
  );
  await until(`${count} members in ${group}`, 60_000, async () => {
    const description = await admin.describeGroup(group).catch(() => undefined);
    return description !== undefined && description.members.length >= count ? true : undefined;
  });
  return started;
}

// ---- the REST API ----

async function rest(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text === "" ? null : (JSON.parse(text) as unknown);
}

interface ConnectorStatus {
  connector: { state: string; worker_id: string };
  tasks: { id: number; state: string; worker_id: string; trace?: string }[];
}

const createConnector = (base: string, name: string, config: Record<string, string>) =>
  rest(base, "POST", "/connectors", { name, config: { ...config, name } });

async function taskWorkers(base: string, name: string): Promise<string[]> {
  const status = (await rest(
    base,
    "GET",
    `/connectors/${encodeURIComponent(name)}/status`,
  )) as ConnectorStatus;
  const failed = status.tasks.find((task) => task.state === "FAILED");
  if (failed !== undefined) throw new Error(`${name} task ${failed.id} failed: ${failed.trace}`);
  return status.tasks.map((task) => task.worker_id.replace(/^.*:/, ":") || "(unassigned)");
}

async function deleteConnector(base: string, name: string): Promise<void> {
  await rest(base, "DELETE", `/connectors/${encodeURIComponent(name)}`).catch((error: unknown) =>
    say({ warning: `could not delete connector ${name}: ${String(error)}` }),
  );
}

/**
 * Where a run's task time went, from the workers' brook_connect_batch_duration_seconds (a sink's put and
 * flush, a source's commit) summed over the connectors' tasks: "commit 40× 2.10 s".
 */
async function stepTimes(group: WorkerProcess[], connectors: string[]): Promise<string> {
  const steps = new Map<string, { count: number; sum: number }>();
  const line = /^brook_connect_batch_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$/;
  for (const { url } of group) {
    const text = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })
      .then((response) => response.text())
      .catch(() => "");
    for (const each of text.split("\n")) {
      const match = line.exec(each);
      if (match === null) continue;
      const labels = new Map(
        [...match[2].matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]),
      );
      if (!connectors.includes(labels.get("connector") ?? "")) continue;
      const step = labels.get("step") ?? "?";
      const entry = steps.get(step) ?? { count: 0, sum: 0 };
      if (match[1] === "sum") entry.sum += Number(match[3]);
      else entry.count += Number(match[3]);
      steps.set(step, entry);
    }
  }
  const times = [...steps].map(([step, { count, sum }]) => `${step} ${count}× ${sum.toFixed(2)} s`);
  return times.length === 0 ? "no commit yet" : times.join(", ");
}

// ---- progress probes ----

async function topicRecords(topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, { high, low }) => sum + high - low, 0);
}

/** Resolves when group `groupId` has committed the end of every partition of `topic`. */
async function committedToEnd(groupId: string, topic: string, timeoutMs: number): Promise<number> {
  const ends = await admin.fetchTopicOffsets(topic);
  return until(`${groupId} to commit the end of ${topic}`, timeoutMs, async () => {
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] }).catch(() => []);
    const done = ends.every(
      (end) => (committed.find((c) => c.partition === end.partition)?.offset ?? -1) >= end.high,
    );
    return done ? performance.now() : undefined;
  });
}

/** Source offsets committed (read_committed) to __connect-offsets since the watcher started, by connector. */
class OffsetWatcher {
  readonly positions = new Map<string, number>();
  private consumer: Consumer | undefined;
  private running: Promise<void> | undefined;

  async start(): Promise<void> {
    const consumer = brook.consumer({ isolationLevel: "read_committed" });
    this.consumer = consumer;
    await consumer.assign([{ topic: "__connect-offsets", fromBeginning: false }]);
    this.running = consumer.run({
      eachMessage: async ({ message }) => {
        if (message.key === null || message.value === null) return;
        const [connector] = JSON.parse(message.key.toString()) as [string, unknown];
        const { position } = JSON.parse(message.value.toString()) as { position?: unknown };
        if (typeof position === "number") this.positions.set(connector, position);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.close();
    await this.running?.catch(() => undefined);
  }
}
const offsetWatcher = new OffsetWatcher();

// ---- file source ----

/** A file of `count` lines of exactly recordBytes bytes each (the newline not counted). */
function writeLines(path: string, count: number): number {
  const filler = "x".repeat(recordBytes);
  const lines: string[] = [];
  for (let i = 0; i < count; i++)
    lines.push(`${String(i).padStart(10, "0")} ${filler}`.slice(0, recordBytes));
  const text = `${lines.join("\n")}\n`;
  writeFileSync(path, text);
  return Buffer.byteLength(text);
}

async function fileSourceRun(group: WorkerProcess[], exactlyOnce: boolean): Promise<void> {
  const label = `file-${exactlyOnce ? "eos" : "alo"}-${group.length}w`;
  const topic = `bench-connect-${label}-${run}`;
  await createTopic(topic);
  // RECORDS lines in all, shared among the files.
  const connectors = group.map((_, i) => {
    const file = join(workDir, `${label}-${i}.txt`);
    const lines = Math.floor(records / group.length) + (i < records % group.length ? 1 : 0);
    return { name: `bench-${label}-${i}-${run}`, file, size: writeLines(file, lines) };
  });
  const total = records;
  const base = group[0].url;
  const workerCpu = cpuMeter(workerPids(group));
  const brokerCpu = cpuMeter(localBrokerPids);
  const startedMs = performance.now();
  await Promise.all(
    connectors.map(({ name, file }) =>
      createConnector(base, name, {
        "connector.class": "file-source",
        file,
        topic,
        "value.converter": "string",
        "offset.flush.interval.ms": String(flushIntervalMs),
      }),
    ),
  );
  const doneMs = await until(`${label} to write ${total} records`, 180_000, async () => {
    if (exactlyOnce) {
      const all = connectors.every(({ name, size }) => offsetWatcher.positions.get(name) === size);
      return all ? performance.now() : undefined;
    }
    return (await topicRecords(topic)) >= total ? performance.now() : undefined;
  });
  const [cpuSeconds, brokerCpuSeconds] = [workerCpu(), brokerCpu()];
  const placement = await Promise.all(connectors.map(({ name }) => taskWorkers(base, name)));
  const steps = await stepTimes(
    group,
    connectors.map(({ name }) => name),
  );
  const inTopic = await topicRecords(topic);
  await Promise.all(connectors.map(({ name }) => deleteConnector(base, name)));
  for (const { file } of connectors) rmSync(file, { force: true });
  report({
    scenario: "file-source",
    workers: group.length,
    guarantee: exactlyOnce ? "exactly_once" : "at_least_once",
    records: total,
    seconds: (doneMs - startedMs) / 1000,
    cpuSeconds,
    brokerCpuSeconds,
    note: `${connectors.length} connector(s), tasks on ${placement.flat().join(" ")}; ${steps}; topic holds ${inTopic} entries${exactlyOnce ? " (with txn markers)" : ""}`,
  });
}

// ---- postgres sink ----

/** The sink's input: `records` JSON values of recordBytes bytes over `keys` keys, n = the record's index. */
async function fillSinkInput(topic: string): Promise<void> {
  await createTopic(topic);
  const producer = brook.producer({ lingerMs: 5, batchBytes: 256 * 1024 });
  const chunk = 5_000;
  const [selfCpu, brokerCpu] = [selfCpuMeter(), cpuMeter(localBrokerPids)];
  const startedMs = performance.now();
  for (let start = 0; start < records; start += chunk) {
    const messages = Array.from({ length: Math.min(chunk, records - start) }, (_, j) => {
      const n = start + j;
      const head = `{"n":${n},"pad":"`;
      return { key: `key-${n % keys}`, value: `${head}${"y".repeat(recordBytes - head.length - 2)}"}` };
    });
    await producer.send({ topic, messages });
  }
  await producer.close();
  report({
    scenario: "sdk-produce (fill)",
    workers: 0,
    guarantee: "idempotent",
    records,
    seconds: (performance.now() - startedMs) / 1000,
    cpuSeconds: selfCpu(),
    brokerCpuSeconds: brokerCpu(),
    note: "the sink input, 5,000 per send, in the bench process",
  });
}

/** Rows of `table` holding their key's last value (n in the last `keys` indexes); 0 before it exists. */
async function rowsWithLastValue(db: pg.Client, table: string): Promise<number> {
  try {
    const result = await db.query(`SELECT count(*)::int AS c FROM "${table}" WHERE n >= $1`, [
      records - keys,
    ]);
    return (result.rows[0] as { c: number }).c;
  } catch {
    return 0;
  }
}

interface Database {
  url: string;
  client: pg.Client;
  /** The local postmaster's PID, for its CPU time. */
  postmaster: number | undefined;
}

async function sinkRun(group: WorkerProcess[], input: string, database: Database): Promise<void> {
  const db = database.client;
  const tasks = group.length;
  const name = `bench-pg-${tasks}w-${run}`;
  const table = `bench_${run}_${tasks}w`;
  createdGroups.push(`connect-${name}`);
  const base = group[0].url;
  const [workerCpu, brokerCpu] = [cpuMeter(workerPids(group)), cpuMeter(localBrokerPids)];
  const postgresCpu = postgresCpuMeter(database.postmaster);
  const startedMs = performance.now();
  await createConnector(base, name, {
    "connector.class": "postgres-sink",
    topics: input,
    "tasks.max": String(tasks),
    "connection.url": database.url,
    table,
    "pk.mode": "record_key",
    "offset.flush.interval.ms": String(flushIntervalMs),
    ...(sinkBatchSize === undefined ? {} : { "batch.size": sinkBatchSize }),
  });
  let tableMs: number | undefined;
  const watchTable = until(
    `${table} to hold every last value`,
    180_000,
    async () => ((await rowsWithLastValue(db, table)) >= keys ? performance.now() : undefined),
    200,
  ).then((ms) => {
    tableMs = ms;
  });
  const doneMs = await committedToEnd(`connect-${name}`, input, 180_000);
  const [cpuSeconds, brokerCpuSeconds, postgresSeconds] = [workerCpu(), brokerCpu(), postgresCpu()];
  await watchTable;
  const placement = await taskWorkers(base, name);
  const steps = await stepTimes(group, [name]);
  const rows = ((await db.query(`SELECT count(*)::int AS c FROM "${table}"`)).rows[0] as { c: number }).c;
  await deleteConnector(base, name);
  await db.query(`DROP TABLE IF EXISTS "${table}"`);
  report({
    scenario: "postgres-sink",
    workers: tasks,
    guarantee: "at_least_once (upsert)",
    records,
    seconds: (doneMs - startedMs) / 1000,
    cpuSeconds,
    brokerCpuSeconds,
    note: `tasks.max=${tasks} on ${placement.join(" ")}; ${steps}; postgres cpu ${postgresSeconds?.toFixed(2) ?? "-"} s; table right after ${(((tableMs ?? doneMs) - startedMs) / 1000).toFixed(2)} s; ${rows} rows`,
  });
}

// ---- baseline ----

async function plainLoop(input: string): Promise<void> {
  const output = `bench-connect-plain-out-${run}`;
  await createTopic(output);
  const groupId = `bench-connect-plain-${run}`;
  createdGroups.push(groupId);
  const producer = brook.producer();
  const consumer = brook.consumer({ groupId, fromBeginning: true, autoCommitIntervalMs: flushIntervalMs });
  const [selfCpu, brokerCpu] = [selfCpuMeter(), cpuMeter(localBrokerPids)];
  const startedMs = performance.now();
  await consumer.subscribe({ topics: [input] });
  const running = consumer.run({
    eachBatch: async ({ batch }) => {
      await producer.send({
        topic: output,
        messages: batch.messages.map((m) => ({ key: m.key, value: m.value })),
      });
    },
  });
  const doneMs = await committedToEnd(groupId, input, 180_000);
  const [cpuSeconds, brokerCpuSeconds] = [selfCpu(), brokerCpu()];
  await consumer.close();
  await running;
  await producer.close();
  report({
    scenario: "plain copy loop",
    workers: 1,
    guarantee: "at_least_once",
    records,
    seconds: (doneMs - startedMs) / 1000,
    cpuSeconds,
    brokerCpuSeconds,
    note: "SDK consumer (group) → idempotent producer, topic → topic, in the bench process",
  });
}

// ---- the run ----

function printTable(): void {
  const header = ["scenario", "workers", "guarantee", "records", "seconds", "records/s"];
  header.push("cpu s", "µs/rec", "broker cpu s", "note");
  const rows = figures.map((f) => [
    f.scenario,
    String(f.workers),
    f.guarantee,
    String(f.records),
    f.seconds.toFixed(2),
    String(f.recordsPerSecond),
    f.cpuSeconds?.toFixed(2) ?? "-",
    f.cpuSeconds === undefined ? "-" : ((f.cpuSeconds * 1e6) / f.records).toFixed(1),
    f.brokerCpuSeconds?.toFixed(2) ?? "-",
    f.note,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  process.stdout.write(`\n${line(header)}\n${line(widths.map((w) => "-".repeat(w)))}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

async function cleanUp(postgres: { stop(): Promise<void> } | undefined, db: pg.Client | undefined) {
  await Promise.all([...workers].map(stopWorker));
  await offsetWatcher.stop();
  await db?.end().catch(() => undefined);
  await postgres?.stop().catch(() => undefined);
  if (createdTopics.length > 0) {
    await admin.deleteTopics({ topics: createdTopics }).catch((error: unknown) => {
      say({ warning: `could not delete topics: ${String(error)}` });
    });
  }
  for (const group of createdGroups) await admin.deleteGroups([group]).catch(() => undefined);
  await admin.close();
  rmSync(workDir, { recursive: true, force: true });
}

const benchStartedMs = performance.now();
const postgres = await startPostgres();
const db = new pg.Client({ connectionString: postgres.url });
try {
  await db.connect();
  const database = { url: postgres.url, client: db, postmaster: postmasterOf(postgres.port) };
  const sinkInput = `bench-connect-sink-in-${run}`;
  await fillSinkInput(sinkInput);
  await plainLoop(sinkInput);

  // At least once: one worker per scenario (profiled with PROFILE_DIR), then three.
  const [fileWorker] = await startGroup("file-alo-1w", 1, false, true);
  await offsetWatcher.start();
  await fileSourceRun([fileWorker], false);
  await stopWorker(fileWorker);
  const [sinkWorker] = await startGroup("sink-1w", 1, false, true);
  await sinkRun([sinkWorker], sinkInput, database);
  await stopWorker(sinkWorker);
  const three = await startGroup("alo-3w", 3, false, false);
  await fileSourceRun(three, false);
  await sinkRun(three, sinkInput, database);
  await Promise.all(three.map(stopWorker));

  // Exactly once (--exactly-once-source workers): one, then three.
  const [eosWorker] = await startGroup("file-eos-1w", 1, true, true);
  await fileSourceRun([eosWorker], true);
  await stopWorker(eosWorker);
  const threeEos = await startGroup("eos-3w", 3, true, false);
  await fileSourceRun(threeEos, true);
  await Promise.all(threeEos.map(stopWorker));
} finally {
  await cleanUp(postgres, db);
}
printTable();
say({ totalSeconds: Number(((performance.now() - benchStartedMs) / 1000).toFixed(1)), profiles: profileDir });
