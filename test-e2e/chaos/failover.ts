// Failover as a producer sees it: per fault and per partition, the time from the fault until a record sent
// after the fault is acknowledged (acks=all) on that partition. A send counts as "after" when its sequence
// number is past what its producer had handed out at the fault, so an answer to a send that was already in
// flight (the old leader committing it just before it died) does not make a partition look served. Pure:
// the caller gives the times and the acknowledgements.

import { OffsetLedger, parseRecordValue, percentile } from "@brook/cli";
import type { FaultKind } from "./faults.js";

type LedgerSource = Parameters<OffsetLedger["note"]>[3];

interface OpenFault {
  kind: FaultKind;
  /** Which fault of the run (from 1), for the report's slowest sample. */
  round: number;
  atMs: number;
  /** Per producer: sequence numbers handed out before the fault. */
  sentBefore: ReadonlyMap<number, number>;
  /** Per partition: when the first record sent after the fault was acknowledged, minus atMs. */
  failoverMs: Map<number, number>;
}

export interface FailoverStats {
  kind: FaultKind;
  /** Partition samples: one per partition per fault of this kind that came back within the bound. */
  samples: number;
  /** Partitions that did not come back within the bound (counted at the bound in the percentiles). */
  timedOut: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Where maxMs was measured. */
  slowest: { round: number; partition: number } | undefined;
}

export class FailoverClock {
  private open: OpenFault | undefined;
  private readonly samples = new Map<FaultKind, number[]>();
  private readonly timeouts = new Map<FaultKind, number>();
  private readonly slowest = new Map<FaultKind, { ms: number; round: number; partition: number }>();
  private rounds = 0;

  constructor(
    readonly partitions: readonly number[],
    /** A partition not served again within this long counts as this long, and as timed out. */
    readonly boundMs: number,
  ) {}

  /** A fault begins; the one before (if any) is closed first. */
  start(kind: FaultKind, atMs: number, sentPerProducer: ReadonlyMap<number, number>): void {
    this.finish();
    this.open = {
      kind,
      round: ++this.rounds,
      atMs,
      sentBefore: new Map(sentPerProducer),
      failoverMs: new Map(),
    };
  }

  /** An acknowledgement of `value` on `partition` at `nowMs`. */
  noteAck(partition: number, value: string, nowMs: number): void {
    const open = this.open;
    if (open === undefined || open.failoverMs.has(partition)) return;
    const id = parseRecordValue("", value);
    if (id === undefined || id === null) return;
    if (id.seq < (open.sentBefore.get(id.producer) ?? 0)) return;
    open.failoverMs.set(partition, nowMs - open.atMs);
  }

  /** Every partition has had a post-fault send acknowledged. */
  get allServed(): boolean {
    return this.open !== undefined && this.partitions.every((p) => this.open?.failoverMs.has(p));
  }

  /** The open fault's samples, with every partition not served yet counted as timed out. */
  finish(): void {
    const open = this.open;
    if (open === undefined) return;
    this.open = undefined;
    const samples = this.samples.get(open.kind) ?? [];
    this.samples.set(open.kind, samples);
    for (const partition of this.partitions) {
      const ms = open.failoverMs.get(partition);
      if (ms === undefined || ms > this.boundMs) {
        this.timeouts.set(open.kind, (this.timeouts.get(open.kind) ?? 0) + 1);
      }
      const sample = Math.min(ms ?? this.boundMs, this.boundMs);
      samples.push(sample);
      if (sample > (this.slowest.get(open.kind)?.ms ?? -1)) {
        this.slowest.set(open.kind, { ms: sample, round: open.round, partition });
      }
    }
  }

  private slowestOf(kind: FaultKind): FailoverStats["slowest"] {
    const slowest = this.slowest.get(kind);
    return slowest && { round: slowest.round, partition: slowest.partition };
  }

  stats(): FailoverStats[] {
    return [...this.samples].map(([kind, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const timedOut = this.timeouts.get(kind) ?? 0;
      return {
        kind,
        samples: sorted.length - timedOut,
        timedOut,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        maxMs: sorted.at(-1) ?? 0,
        slowest: this.slowestOf(kind),
      };
    });
  }
}

/** An OffsetLedger that also tells a FailoverClock of every acknowledgement, as it arrives. */
export class TimedLedger extends OffsetLedger {
  constructor(
    private readonly clock: FailoverClock,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  override note(partition: number, offset: number, value: string, source: LedgerSource): void {
    super.note(partition, offset, value, source);
    if (source === "ack") this.clock.noteAck(partition, value, this.now());
  }
}
