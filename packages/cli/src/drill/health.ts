// What a client can see of a partition's health, kept from polls: how long it went without a leader
// that answers, and whether the high watermark ever went backwards. Pure: the caller polls and passes
// what it saw and when, so the rules are tested without a cluster.

/** A stretch of time in which no leader of the partition answered; `toMs` is undefined while it lasts. */
export interface LeaderlessPeriod {
  partition: number;
  fromMs: number;
  toMs: number | undefined;
}

export class LeaderlessTimer {
  private readonly since = new Map<number, number>();
  readonly periods: LeaderlessPeriod[] = [];

  /** One poll's finding for a partition: whether a leader answered for it at `atMs`. */
  observe(partition: number, served: boolean, atMs: number): void {
    const since = this.since.get(partition);
    if (!served && since === undefined) this.since.set(partition, atMs);
    if (served && since !== undefined) {
      this.since.delete(partition);
      this.periods.push({ partition, fromMs: since, toMs: atMs });
    }
  }

  /** Periods that ended, and those still going (ending now). */
  allPeriods(nowMs: number): LeaderlessPeriod[] {
    const open = [...this.since].map(([partition, fromMs]) => ({ partition, fromMs, toMs: nowMs }));
    return [...this.periods, ...open];
  }

  /** Milliseconds without a leader between `fromMs` and `toMs`, summed over the partition's periods. */
  leaderlessMs(partition: number, fromMs: number, toMs: number): number {
    return this.allPeriods(toMs)
      .filter((period) => period.partition === partition)
      .reduce(
        (sum, period) =>
          sum + Math.max(0, Math.min(toMs, period.toMs ?? toMs) - Math.max(fromMs, period.fromMs)),
        0,
      );
  }
}

/** A high watermark lower than one the same observer saw before for the same partition. */
export interface HighWatermarkRegression {
  partition: number;
  highest: number;
  seen: number;
  /** Who saw both: "list-offsets" (the watch's probe) or "consumer" (a consumer's fetch responses). */
  source: string;
  /** Leader epochs when known: of the highest and of the lower one. Equal means no leader change explains it. */
  highestLeaderEpoch: number | undefined;
  leaderEpoch: number | undefined;
  atMs: number;
}

export const regressionExamplesMax = 20;

/**
 * The rule: the high watermark a client sees for a partition never goes backwards. Checked per
 * observer (`source`), because only one observer's sightings are ordered: its requests for a partition
 * go one after another, while a sighting of another observer may have been answered earlier and
 * arrived later. One regression is counted per episode, from the first sighting below the highest
 * until one at or above it again, so a new leader that sits below the old high watermark for a while
 * counts once, not once per poll.
 */
export class HighWatermarkCheck {
  private readonly highest = new Map<string, { offset: number; leaderEpoch: number | undefined }>();
  private readonly below = new Set<string>();
  readonly examples: HighWatermarkRegression[] = [];
  regressions = 0;

  observe(
    partition: number,
    highWatermark: number,
    source: string,
    atMs: number,
    leaderEpoch?: number,
  ): void {
    const key = `${source}\u0000${partition}`;
    const highest = this.highest.get(key);
    if (highest === undefined || highWatermark >= highest.offset) {
      if (highest === undefined || highWatermark > highest.offset) {
        this.highest.set(key, { offset: highWatermark, leaderEpoch });
      }
      this.below.delete(key);
      return;
    }
    if (this.below.has(key)) return;
    this.below.add(key);
    this.regressions++;
    if (this.examples.length < regressionExamplesMax) {
      this.examples.push({
        partition,
        highest: highest.offset,
        seen: highWatermark,
        source,
        highestLeaderEpoch: highest.leaderEpoch,
        leaderEpoch,
        atMs,
      });
    }
  }
}

/** The p-th percentile (nearest rank) of values sorted ascending; 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
