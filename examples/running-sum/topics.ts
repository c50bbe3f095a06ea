// The running sum's contract, shared by its three programs: the topics, the application's id and store,
// and the events' text.
import type { Brook } from "@brook/client";
import { ensureTopics } from "../shared/brook.js";

/** Events "attendees at gate B: 3", keyed by the venue: one venue's events are one partition's, in order. */
export const inputTopic = "attendees";
/** The venue's running total after each event (key: the venue, value: an int64). */
export const outputTopic = "attendees-total";
/** Names the consumer group, the transactional ids and the store's changelog topic. */
export const applicationId = "running-sum";
/** The accumulator: one entry per venue, its total so far, nothing else. */
export const storeName = "attendance";

export function ensureRunningSumTopics(brook: Brook): Promise<void> {
  return ensureTopics(brook, [
    { topic: inputTopic, numPartitions: 3 },
    { topic: outputTopic, numPartitions: 3 },
  ]);
}

export function eventText(gate: string, count: number): string {
  return `attendees at gate ${gate}: ${count}`;
}

/** The count of an event's text; undefined for anything else (the app skips it). */
export function parseCount(text: string): number | undefined {
  const match = /^attendees at gate \S+: (\d{1,6})$/.exec(text);
  return match ? Number(match[1]) : undefined;
}
