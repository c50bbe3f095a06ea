// A fake sports scores API, the pipeline's outside world: a node:http server on 127.0.0.1 answering
// `GET /scores` with {"matches": [...]}, each match's current score and version. A timer plays a fixed
// matchday, one step every --tick-ms: goals, then full time, each change a new version of its match, so
// polls keep finding new versions until the final whistle (then the answer stays the same). Every start is
// a new matchday (its `kickoff`), so `eventId` (match, kickoff, version) never repeats across runs.
// run.ts starts it; alone: node --import tsx examples/scores-pipeline/fake-scores-api.ts [--port 8090] [--tick-ms 1000]
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** One match as the API shows it. */
export interface Match {
  id: string;
  /** Unique per version of a match and per matchday: the source's dedupe key. */
  eventId: string;
  home: string;
  away: string;
  homeGoals: number;
  awayGoals: number;
  status: "live" | "full time";
  /** When this matchday started (the API's start), ISO 8601. */
  kickoff: string;
  /** When this version appeared, ISO 8601. */
  updatedAt: string;
  /** 1 at kick-off, one more with each change. */
  version: number;
}

export const defaultApiPort = 8090;
export const defaultTickMs = 1000;

/** The fixtures: id, home team, away team. */
export const fixtures = [
  ["m1", "Rovers", "Athletic"],
  ["m2", "United", "City"],
  ["m3", "Wanderers", "Rangers"],
  ["m4", "Harriers", "Albion"],
] as const;

type Goal = readonly [id: string, side: "home" | "away"];

/** The goals of each step, in order; the step after the last one is full time for every match. */
export const goalsByStep: readonly (readonly Goal[])[] = [
  [
    ["m1", "home"],
    ["m4", "home"],
  ],
  [["m2", "away"]],
  [
    ["m1", "away"],
    ["m4", "away"],
  ],
  [["m4", "away"]],
  [
    ["m2", "away"],
    ["m1", "home"],
  ],
  [["m4", "home"]],
  [["m4", "home"]],
];

export interface ScoresApi {
  /** http://127.0.0.1:port/scores */
  readonly url: string;
  close(): Promise<void>;
}

/** The matches at kick-off: 0-0, version 1. */
function kickOff(kickoff: Date): Map<string, Match> {
  const matches = new Map<string, Match>();
  for (const [id, home, away] of fixtures) {
    const match = { id, home, away, homeGoals: 0, awayGoals: 0, status: "live" as const };
    matches.set(id, withVersion(match, 1, kickoff, kickoff));
  }
  return matches;
}

function withVersion(
  match: Omit<Match, "eventId" | "kickoff" | "updatedAt" | "version">,
  version: number,
  kickoff: Date,
  now: Date,
): Match {
  const eventId = `${match.id}@${kickoff.getTime()}/v${version}`;
  return {
    ...match,
    eventId,
    kickoff: kickoff.toISOString(),
    updatedAt: now.toISOString(),
    version,
  };
}

/** Plays step `step` (0-based) of the matchday on the matches; false once the matchday is over. */
function play(matches: Map<string, Match>, step: number, kickoff: Date): boolean {
  const now = new Date();
  if (step > goalsByStep.length) return false;
  if (step === goalsByStep.length) {
    for (const match of matches.values()) {
      matches.set(match.id, withVersion({ ...match, status: "full time" }, match.version + 1, kickoff, now));
    }
    return true;
  }
  for (const [id, side] of goalsByStep[step]) {
    const match = matches.get(id);
    if (match === undefined) continue;
    const scored =
      side === "home"
        ? { ...match, homeGoals: match.homeGoals + 1 }
        : { ...match, awayGoals: match.awayGoals + 1 };
    matches.set(id, withVersion(scored, match.version + 1, kickoff, now));
  }
  return true;
}

function answer(matches: Map<string, Match>, request: IncomingMessage, response: ServerResponse): void {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  if (request.method !== "GET" || path !== "/scores") {
    response.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
    return;
  }
  const body = JSON.stringify({ matches: [...matches.values()] });
  response.writeHead(200, { "content-type": "application/json" }).end(body);
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

/** Starts the API on 127.0.0.1:port (0: any free port); the matchday starts now. */
export async function startScoresApi(port: number, tickMs: number): Promise<ScoresApi> {
  const kickoff = new Date();
  const matches = kickOff(kickoff);
  const server = createServer((request, response) => answer(matches, request, response));
  const bound = await listen(server, port);
  let step = 0;
  const timer = setInterval(() => {
    if (!play(matches, step++, kickoff)) clearInterval(timer);
  }, tickMs);
  return {
    url: `http://127.0.0.1:${bound}/scores`,
    close: () =>
      new Promise((resolve) => {
        clearInterval(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Alone: serves until Ctrl-C. */
async function serveAlone(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: process.env.PORT ?? String(defaultApiPort) },
      "tick-ms": { type: "string", default: String(defaultTickMs) },
    },
  });
  const api = await startScoresApi(Number(values.port), Number(values["tick-ms"]));
  console.log(`fake scores API at ${api.url}`);
  const stop = () => void api.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  serveAlone().catch((error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
