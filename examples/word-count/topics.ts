// The word count's contract, shared by its programs: topics, application id, store, windows, and the
// JSON of a count on the output.
import type { Brook } from "@brook/client";
import { ensureTopics } from "../shared/brook.js";

/** Lines of text, without keys. */
export const linesTopic = "word-count-lines";
/** A word's count in a window, after every change: key the word, value a WindowCount as JSON. */
export const countsTopic = "word-counts";
export const applicationId = "word-count";
/** The windowed counts; its changelog and the repartition topic that brings each word to one task are named after it. */
export const storeName = "word-counts";
export const windowMs = 60_000;
/** A line stamped up to 10 s after its minute ended is still counted in it. */
export const graceMs = 10_000;

export interface WindowCount {
  /** ISO 8601, UTC. */
  start: string;
  end: string;
  count: number;
}

export function ensureWordCountTopics(brook: Brook): Promise<void> {
  return ensureTopics(brook, [
    { topic: linesTopic, numPartitions: 3 },
    { topic: countsTopic, numPartitions: 3 },
  ]);
}

/** A line's words: lower case, letters and digits (with inner apostrophes: "don't"). */
export function wordsOf(line: string): string[] {
  return line.toLowerCase().match(/[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu) ?? [];
}
