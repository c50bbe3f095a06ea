// The pipeline's streams step, a Brook Streams application: it reads the score events the HTTP source
// sends to `score-events` (key: the event's id, value: a match as the API shows it), re-keys them by match
// (through a repartition topic, so each match's versions meet in one task), keeps each match's latest
// version (the store "latest-scores": a later matchday, then a higher version, wins, whatever order the
// events arrive in) and writes its summary (score, total goals, who leads) to `match-summaries`, keyed by
// the match's id. Exactly once. run.ts starts it with the rest of the pipeline.
import type { Brook } from "@brook/client";
import { KafkaStreams, Materialized, Serdes, StreamsBuilder } from "@brook/streams";
import { ensureTopics } from "../shared/brook.js";
import type { Match } from "./fake-scores-api.js";

/** Where the HTTP source sends each new version of a match. */
export const eventsTopic = "score-events";
/** Each match's latest summary, keyed by match id: what the Postgres sink writes to its table. */
export const summariesTopic = "match-summaries";
export const applicationId = "scores-standings";
const storeName = "latest-scores";

/** One row of the table: snake_case fields, which become the table's columns. */
export interface MatchSummary {
  id: string;
  home: string;
  away: string;
  home_goals: number;
  away_goals: number;
  total_goals: number;
  /** The leading (or, at full time, winning) team; "level" for a tie. */
  leader: string;
  status: string;
  version: number;
  updated_at: string;
}

export function ensureScoresTopics(brook: Brook): Promise<void> {
  return ensureTopics(brook, [
    { topic: eventsTopic, numPartitions: 3 },
    { topic: summariesTopic, numPartitions: 3 },
  ]);
}

/** Whether a is a later version of its match than b: a later matchday, or the same one and a higher version. */
function isLater(a: Match, b: Match): boolean {
  return a.kickoff === b.kickoff ? a.version > b.version : a.kickoff > b.kickoff;
}

export function summarize(match: Match): MatchSummary {
  const { homeGoals, awayGoals } = match;
  const leader = homeGoals > awayGoals ? match.home : awayGoals > homeGoals ? match.away : "level";
  return {
    id: match.id,
    home: match.home,
    away: match.away,
    home_goals: homeGoals,
    away_goals: awayGoals,
    total_goals: homeGoals + awayGoals,
    leader,
    status: match.status,
    version: match.version,
    updated_at: match.updatedAt,
  };
}

function topology() {
  const builder = new StreamsBuilder();
  builder
    .stream<string, Match>(eventsTopic, { keySerde: Serdes.String(), valueSerde: Serdes.Json<Match>() })
    .groupBy((_eventId, match) => match.id, { keySerde: Serdes.String(), valueSerde: Serdes.Json<Match>() })
    .reduce(
      (latest, match) => (isLater(match, latest) ? match : latest),
      Materialized.as<string, Match>(storeName)
        .withKeySerde(Serdes.String())
        .withValueSerde(Serdes.Json<Match>()),
    )
    .toStream()
    .mapValues(summarize)
    .to(summariesTopic, { keySerde: Serdes.String(), valueSerde: Serdes.Json<MatchSummary>() });
  return builder.build();
}

/** The application, not started yet (start() it; close() commits and leaves the group). */
export function standingsApp(brook: Brook): KafkaStreams {
  return new KafkaStreams(topology(), {
    applicationId,
    brook,
    processingGuarantee: "exactly_once",
  });
}
