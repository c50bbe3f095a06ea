// The scores pipeline in one command: the fake scores API (fake-scores-api.ts), the streams step
// (standings.ts) and a standalone Connect worker running connectors.yaml: an http-source polling the API
// into `score-events`, and a postgres-sink writing `match-summaries` into the table match_summaries. Every
// second it reads that table and prints each match whose row changed; Ctrl-C (or SIGTERM) stops it all.
// Usage: node --import tsx examples/scores-pipeline/run.ts [--postgres-url <url>] [--api-port 8090] [--tick-ms 1000]
// (--postgres-url defaults to PG_URL; --api-port to SCORES_API_PORT.)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type RawConfig, type RunningWorker, startStandaloneWorker } from "@brook/connect";
import type { KafkaStreams } from "@brook/streams";
import pg from "pg";
import pino from "pino";
import { parse as parseYaml } from "yaml";
import { connect, defaultBootstrap, main, onStop } from "../shared/brook.js";
import {
  defaultApiPort,
  defaultTickMs,
  fixtures,
  type ScoresApi,
  startScoresApi,
} from "./fake-scores-api.js";
import { ensureScoresTopics, eventsTopic, standingsApp, summariesTopic } from "./standings.js";

const table = "match_summaries";
const connectorsFile = new URL("connectors.yaml", import.meta.url);
const showEveryMs = 1000;

const { values } = parseArgs({
  options: {
    "postgres-url": { type: "string", default: process.env.PG_URL ?? "" },
    "api-port": { type: "string", default: process.env.SCORES_API_PORT ?? String(defaultApiPort) },
    "tick-ms": { type: "string", default: String(defaultTickMs) },
  },
});
const postgresUrl = values["postgres-url"];
const apiPort = Number(values["api-port"]);
const tickMs = Number(values["tick-ms"]);
if (postgresUrl === "" || !(Number.isSafeInteger(apiPort) && apiPort >= 0) || !(tickMs > 0)) {
  console.error(
    "usage: run.ts --postgres-url postgres://user@host:port/database [--api-port 8090] [--tick-ms 1000]\n" +
      "(or set PG_URL; examples/scores-pipeline/README.md says how to get a PostgreSQL)",
  );
  process.exit(2);
}

/** A row of the table, as the sink wrote it (bigint columns come back as strings). */
interface SummaryRow {
  id: string;
  home: string;
  away: string;
  home_goals: string;
  away_goals: string;
  leader: string;
  status: string;
  version: string;
}

/** The connectors of connectors.yaml, pointed at the API just started and at the PostgreSQL given. */
function connectorConfigs(apiUrl: string): { name: string; config: RawConfig }[] {
  const document = parseYaml(readFileSync(connectorsFile, "utf8")) as {
    connectors: { name: string; config: Record<string, unknown> }[];
  };
  return document.connectors.map(({ name, config }) => {
    const raw: RawConfig = Object.fromEntries(
      Object.entries(config).map(([key, value]) => [key, String(value)]),
    );
    if (raw["connector.class"] === "http-source") raw["http.url"] = apiUrl;
    if (raw["connector.class"] === "postgres-sink") raw["connection.url"] = postgresUrl;
    return { name, config: raw };
  });
}

function brokers(): string[] {
  return (process.env.BROOK_BOOTSTRAP || defaultBootstrap)
    .split(",")
    .map((address) => address.trim())
    .filter((address) => address !== "");
}

/** "m1 Rovers 2-1 Athletic: Rovers lead", "... full time, Rovers won", "... level", "... full time, a draw". */
function describeRow(row: SummaryRow): string {
  const score = `${row.id} ${row.home} ${row.home_goals}-${row.away_goals} ${row.away}`;
  if (row.status === "full time")
    return `${score}: full time, ${row.leader === "level" ? "a draw" : `${row.leader} won`}`;
  return `${score}: ${row.leader === "level" ? "level" : `${row.leader} lead`}`;
}

/** The table's rows, or none while the sink has not created it yet. */
async function readRows(client: pg.Client): Promise<SummaryRow[]> {
  try {
    const result = await client.query<SummaryRow>(
      `SELECT id, home, away, home_goals, away_goals, leader, status, version FROM ${table} ORDER BY id`,
    );
    return result.rows;
  } catch (error) {
    if ((error as { code?: string }).code === "42P01") return []; // undefined_table
    throw error;
  }
}

/** Prints each row whose version is new since the last look, and once, when every match is over. */
function progressPrinter(client: pg.Client): () => Promise<void> {
  const shown = new Map<string, string>();
  let finished = false;
  return async () => {
    const rows = await readRows(client);
    for (const row of rows) {
      if (shown.get(row.id) === row.version) continue;
      shown.set(row.id, row.version);
      console.log(describeRow(row));
    }
    const over = rows.filter((row) => row.status === "full time").length;
    if (!finished && over === fixtures.length) {
      finished = true;
      console.log(`all ${over} matches at full time in ${table}; Ctrl-C stops the pipeline`);
    }
  };
}

/** Runs show every interval, one at a time; a failure is printed and tried again next time. */
function every(intervalMs: number, show: () => Promise<void>): () => Promise<void> {
  let stopped = false;
  let current = Promise.resolve();
  const timer = setInterval(() => {
    current = current.then(() =>
      stopped
        ? undefined
        : show().catch((error: Error) => console.error(`reading ${table}: ${error.message}`)),
    );
  }, intervalMs);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await current;
  };
}

main(async () => {
  const brook = connect("scores-pipeline");
  await ensureScoresTopics(brook);
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect().catch((error: Error) => {
    throw new Error(`cannot connect to PostgreSQL at ${postgresUrl}: ${error.message}`);
  });
  // The source's offsets (the event ids it sent) only matter within one matchday, which is one run.
  const offsetsDir = mkdtempSync(join(tmpdir(), "brook-scores-pipeline-"));
  let api: ScoresApi | undefined;
  let app: KafkaStreams | undefined;
  let worker: RunningWorker | undefined;
  let stopShowing: (() => Promise<void>) | undefined;
  onStop(async () => {
    await stopShowing?.();
    await worker?.stop(); // the sink writes what it has and commits
    await app?.close(); // commits and leaves the group
    await api?.close();
    await client.end();
    rmSync(offsetsDir, { recursive: true, force: true });
  });

  api = await startScoresApi(apiPort, tickMs);
  app = standingsApp(brook);
  app.onStateChange((state) => {
    if (state === "error") {
      console.error("error: the streams step stopped (see above)");
      process.exit(1);
    }
  });
  await app.start();
  worker = await startStandaloneWorker({
    brokers: brokers(),
    connectors: connectorConfigs(api.url),
    offsetsFile: join(offsetsDir, "connect.offsets.json"),
    restPort: 0,
    logger: pino({ level: "warn" }, pino.destination(2)),
  });
  console.log(
    `scores-pipeline ${process.pid} is running: ${api.url} → ${eventsTopic} → standings → ` +
      `${summariesTopic} → PostgreSQL table ${table}`,
  );
  stopShowing = every(showEveryMs, progressPrinter(client));
});
