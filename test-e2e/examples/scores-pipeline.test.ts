// examples/scores-pipeline on a one-node cluster and a real PostgreSQL, run as its README shows: run.ts
// (the fake scores API, the streams step, the http-source and postgres-sink) fills match_summaries with
// each match's latest score; once the API says every match is over, the table holds exactly its final
// versions (score, total, leader, status), run.ts has printed the README's full-time lines, and
// score-events holds no event twice. Then a SIGTERM stops it cleanly. Skipped without PostgreSQL, unless
// REQUIRE_POSTGRES is set (then it fails).
import { readFileSync } from "node:fs";
import { Brook, silentLogger } from "@brook/client";
import { type Cluster, type Postgres, postgresAvailable, startCluster, startPostgres } from "@brook/testkit";
import getPort from "get-port";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../wait.js";
import { readmeSteps, type Started, start, step } from "./run.js";

/** A match as the fake API answers it (only what the test checks). */
interface ApiMatch {
  id: string;
  home: string;
  away: string;
  homeGoals: number;
  awayGoals: number;
  status: string;
  version: number;
}

interface Row {
  id: string;
  home: string;
  away: string;
  home_goals: string;
  away_goals: string;
  total_goals: string;
  leader: string;
  status: string;
  version: string;
}

let cluster: Cluster;
let postgres: Postgres;
let client: pg.Client;
let env: Record<string, string>;
let apiUrl: string;
const running: Started[] = [];

/** The README's sample output: its first `text` block. */
function readmeOutput(): string[] {
  const readme = readFileSync(new URL("../../examples/scores-pipeline/README.md", import.meta.url), "utf8");
  return (/```text\n([\s\S]*?)\n```/.exec(readme)?.[1] ?? "").split("\n");
}

async function apiMatches(): Promise<ApiMatch[]> {
  const response = await fetch(apiUrl);
  return ((await response.json()) as { matches: ApiMatch[] }).matches;
}

async function tableRows(): Promise<Row[]> {
  const exists = await client.query("SELECT to_regclass('match_summaries') AS t");
  if (exists.rows[0].t === null) return [];
  return (await client.query<Row>("SELECT * FROM match_summaries ORDER BY id")).rows;
}

/** The row a match's final version should leave, worked out here from the API's answer. */
function expectedRow(match: ApiMatch): Partial<Row> {
  const { homeGoals: home, awayGoals: away } = match;
  return {
    id: match.id,
    home: match.home,
    away: match.away,
    home_goals: String(home),
    away_goals: String(away),
    total_goals: String(home + away),
    leader: home > away ? match.home : away > home ? match.away : "level",
    status: match.status,
    version: String(match.version),
  };
}

async function eventsSent(): Promise<number> {
  const brook = new Brook({ brokers: cluster.bootstrap.split(","), logger: silentLogger });
  const admin = brook.admin();
  const offsets = await admin.fetchTopicOffsets("score-events");
  await admin.close();
  return offsets.reduce((sum, { high, low }) => sum + high - low, 0);
}

describe.skipIf(!postgresAvailable())("examples/scores-pipeline", () => {
  beforeAll(async () => {
    [cluster, postgres] = await Promise.all([startCluster({ nodes: 1 }), startPostgres()]);
    client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    const port = await getPort({ host: "127.0.0.1" });
    apiUrl = `http://127.0.0.1:${port}/scores`;
    env = { BROOK_BOOTSTRAP: cluster.bootstrap, PG_URL: postgres.url, SCORES_API_PORT: String(port) };
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(running.map((process) => process.stop()));
    await client?.end();
    await Promise.allSettled([cluster?.stop(), postgres?.stop()]);
  }, 60_000);

  it("fills match_summaries with each match's latest score, then stops on SIGTERM", async () => {
    expect(readmeSteps("scores-pipeline").map(({ command }) => command)).toContain("make up");
    const pipeline = start(step("scores-pipeline", "run.ts").command, env);
    running.push(pipeline);
    await pipeline.waitFor(/scores-pipeline \d+ is running/, 30_000);

    // The matchday lasts 8 steps of a second; then the API's answer is final.
    const final = await waitFor("the API's full time", 20_000, async () => {
      const matches = await apiMatches();
      return matches.every((match) => match.status === "full time") ? matches : undefined;
    });
    expect(final).toHaveLength(4);
    const expected = final.map(expectedRow);
    await waitFor(
      "match_summaries to hold every match's final version",
      20_000,
      async () => {
        const rows = await tableRows();
        const matching = rows.length === expected.length && rows.every((row, i) => isLike(row, expected[i]));
        return matching ? rows : undefined;
      },
      250,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await tableRows())}`);
    });

    const shown = readmeOutput().filter((line) => /full time/.test(line) && !/^ /.test(line));
    expect(shown).toHaveLength(5);
    for (const line of shown) await pipeline.waitFor(new RegExp(escapeRegExp(line)), 5_000);
    const versions = final.reduce((sum, match) => sum + match.version, 0);
    const sent = await eventsSent();
    expect(sent).toBeGreaterThanOrEqual(final.length);
    expect(sent, "no match version sent twice").toBeLessThanOrEqual(versions);

    expect(await pipeline.stop()).toBe(0);
    running.splice(running.indexOf(pipeline), 1);
  }, 90_000);
});

function isLike(row: Row, expected: Partial<Row>): boolean {
  return Object.entries(expected).every(([key, value]) => row[key as keyof Row] === value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
