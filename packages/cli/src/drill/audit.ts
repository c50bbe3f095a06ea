// The checks on what was read back at the end of a drill or chaos run, against what was sent and
// acknowledged. Pure: the rules of the issue, one counter each, with a few examples to look at.
//
//   lost        an acknowledged record that is not in the log
//   duplicates  a copy of a record beyond the first (a retried batch written twice)
//   phantoms    a record with this run's prefix that no producer of the run ever handed to send()
//   outOfOrder  a record of a producer after a later record of the same producer, in one partition
//   gaps        offsets missing between the start offset and the end (or going backwards)

import { type Placement, parseRecordValue } from "./records.js";

export interface ReadRecord {
  offset: number;
  value: string;
}

/** One partition read from `startOffset` up to `endOffset` (the high watermark when reading began). */
export interface PartitionRead {
  partition: number;
  startOffset: number;
  endOffset: number;
  /** False when the read gave up (deadline) before reaching endOffset. */
  complete: boolean;
  records: readonly ReadRecord[];
}

export interface AuditInput {
  valuePrefix: string;
  /** Per producer: how many sequence numbers (0, 1, ...) were handed to send(). */
  sentPerProducer: ReadonlyMap<number, number>;
  acked: ReadonlyMap<string, Placement>;
  reads: readonly PartitionRead[];
}

export interface Audit {
  acked: number;
  /** This run's records found, copies included. */
  readBack: number;
  lost: number;
  duplicates: number;
  phantoms: number;
  outOfOrder: number;
  gaps: number;
  /** Partitions whose read did not reach the end in time: lost may be overstated there. */
  incompletePartitions: number[];
  /** A few instances of each violation, to start an investigation from. */
  examples: Record<Violation, string[]>;
}

export type Violation = "lost" | "duplicates" | "phantoms" | "outOfOrder" | "gaps";

/** Examples kept per kind of violation. */
export const auditExamplesMax = 5;

export function audit({ valuePrefix, sentPerProducer, acked, reads }: AuditInput): Audit {
  const result: Audit = {
    acked: acked.size,
    readBack: 0,
    lost: 0,
    duplicates: 0,
    phantoms: 0,
    outOfOrder: 0,
    gaps: 0,
    incompletePartitions: [],
    examples: { lost: [], duplicates: [], phantoms: [], outOfOrder: [], gaps: [] },
  };
  const example = (kind: Violation, text: string) => {
    if (result.examples[kind].length < auditExamplesMax) result.examples[kind].push(text);
  };
  const copies = new Map<string, number>();
  for (const read of reads) {
    if (!read.complete) result.incompletePartitions.push(read.partition);
    const lastSeq = new Map<number, number>();
    let nextOffset = read.startOffset;
    for (const { offset, value } of read.records) {
      if (offset !== nextOffset) {
        result.gaps += Math.max(1, offset - nextOffset);
        example("gaps", `partition ${read.partition}: expected offset ${nextOffset}, read ${offset}`);
      }
      nextOffset = offset + 1;
      const id = parseRecordValue(valuePrefix, value);
      if (id === undefined) continue; // another writer's record
      if (id === null || id.seq >= (sentPerProducer.get(id.producer) ?? 0)) {
        result.phantoms++;
        example("phantoms", `partition ${read.partition} offset ${offset}: "${value}" was never sent`);
        continue;
      }
      result.readBack++;
      const count = (copies.get(value) ?? 0) + 1;
      copies.set(value, count);
      if (count > 1) {
        result.duplicates++;
        example(
          "duplicates",
          `partition ${read.partition} offset ${offset}: "${value}" again (copy ${count})`,
        );
        continue;
      }
      const last = lastSeq.get(id.producer) ?? -1;
      if (id.seq < last) {
        result.outOfOrder++;
        example(
          "outOfOrder",
          `partition ${read.partition} offset ${offset}: "${value}" after seq ${last} of its producer`,
        );
      }
      lastSeq.set(id.producer, Math.max(last, id.seq));
    }
    if (read.complete && nextOffset < read.endOffset) {
      result.gaps += read.endOffset - nextOffset;
      example(
        "gaps",
        `partition ${read.partition}: offsets ${nextOffset}..${read.endOffset - 1} missing at the end`,
      );
    }
  }
  for (const [value, { partition, offset }] of acked) {
    if (copies.has(value)) continue;
    result.lost++;
    example("lost", `"${value}" acknowledged at partition ${partition} offset ${offset} is missing`);
  }
  return result;
}
