// The streams chaos workload's pure parts: which fault a round applies and what the output must hold. The
// application counts input records by key exactly once, emitting every new count; so, read
// read_committed, each key's updates on the output topic must be exactly 1, 2, ..., n, where n is the
// number of input records with that key. A gap is a lost update, a repeat a doubled one.

import type { Random } from "@brook/testkit";

export type StreamsFaultKind =
  | "kill-instance"
  | "kill-group-coordinator"
  | "kill-input-leader"
  | "kill-output-leader"
  | "pause-group-coordinator";

const weights: readonly [StreamsFaultKind, number][] = [
  ["kill-instance", 0.35],
  ["kill-group-coordinator", 0.2],
  ["kill-input-leader", 0.15],
  ["kill-output-leader", 0.15],
  ["pause-group-coordinator", 0.15],
];

export interface StreamsFault {
  kind: StreamsFaultKind;
  /** Which instance, or which partition's leader. */
  index: number;
  pauseMs: number;
}

/** Every draw happens whatever is chosen, so a seed draws the same numbers in every replay. */
export function chooseStreamsFault(random: Random, instances: number, partitions: number): StreamsFault {
  const roll = random.next();
  const index = random.int(0, Math.max(instances, partitions) - 1);
  const pauseMs = random.int(300, 3_000);
  let sum = 0;
  for (const [kind, weight] of weights) {
    sum += weight;
    if (roll < sum)
      return { kind, index: kind === "kill-instance" ? index % instances : index % partitions, pauseMs };
  }
  return { kind: "kill-instance", index: index % instances, pauseMs };
}

export interface CountAudit {
  keys: number;
  inputs: number;
  updates: number;
  /** Updates missing from a key's 1..n. */
  lost: number;
  /** Updates beyond the first of a number. */
  duplicates: number;
  /** Updates out of order, above n, or for keys never in the input. */
  wrong: number;
  examples: string[];
}

/** Holds each key's updates to 1..n in order, n its input count. */
export function auditCounts(
  inputCounts: ReadonlyMap<string, number>,
  updates: ReadonlyMap<string, readonly number[]>,
): CountAudit {
  const audit: CountAudit = {
    keys: inputCounts.size,
    inputs: 0,
    updates: 0,
    lost: 0,
    duplicates: 0,
    wrong: 0,
    examples: [],
  };
  const note = (text: string) => {
    if (audit.examples.length < 5) audit.examples.push(text);
  };
  for (const [key, n] of inputCounts) {
    audit.inputs += n;
    const values = updates.get(key) ?? [];
    audit.updates += values.length;
    const seen = new Set<number>();
    let previous = 0;
    for (const value of values) {
      if (seen.has(value)) {
        audit.duplicates++;
        note(`${key}: ${value} twice`);
      } else if (value > n || value < previous) {
        audit.wrong++;
        note(`${key}: ${value} after ${previous}`);
      }
      seen.add(value);
      previous = Math.max(previous, value);
    }
    for (let count = 1; count <= n; count++) {
      if (!seen.has(count)) {
        audit.lost++;
        note(`${key}: no update ${count}`);
      }
    }
  }
  for (const [key, values] of updates) {
    if (!inputCounts.has(key)) {
      audit.wrong += values.length;
      note(`${key}: never in the input`);
    }
  }
  return audit;
}
