// The log cleaner's schedule (Kafka's LogCleanerManager): every intervalMs it picks the dirtiest
// compacted replica on this broker whose dirty share has reached its topic's min.cleanable.dirty.ratio,
// and cleans it for one bounded pass (PartitionLog.clean does the work; docs/compaction.md). One pass
// per tick, one replica at a time: the cleaner rewrites segments on the event loop, so its work is
// bounded by bytesPerPassMax rather than left to run until the log is clean. A replica whose pass made
// no progress (an open transaction holds its last stable offset inside its dirty segment, say) or failed
// is left alone for a while, doubling up to backoffMaxMs, so it cannot keep every other log from its turn.

import type { CleanResult } from "@brook/storage";
import type { Logger } from "pino";

export interface LogCleanerConfig {
  /** How often the cleaner looks for a dirty compacted replica. */
  readonly intervalMs: number;
  /** Keys one pass can remember (Kafka's log.cleaner.dedupe.buffer.size, counted in keys): bounds memory. */
  readonly offsetMapEntriesMax: number;
  /** Bytes of log one pass reads at most: bounds how long it holds the event loop. */
  readonly bytesPerPassMax: number;
}

/** How long a replica whose pass made no progress is skipped: the interval, doubling, up to this. */
export const backoffMaxMs = 10 * 60_000;

export const defaultLogCleanerConfig: LogCleanerConfig = {
  intervalMs: 15_000,
  offsetMapEntriesMax: 1_000_000,
  bytesPerPassMax: 64 * 1024 * 1024,
};

/** What the cleaner needs of a replica. */
export interface CleanableReplica {
  readonly topic: string;
  readonly partition: number;
  readonly cleanable: { dirtyRatio: number; minCleanableDirtyRatio: number } | undefined;
  clean(limits: { offsetMapEntriesMax: number; bytesMax: number }): Promise<CleanResult>;
}

/** The replica to clean next: the dirtiest compacted one at or past its threshold and not `skipped`. Pure. */
export function dirtiest<R extends CleanableReplica>(
  replicas: Iterable<R>,
  skipped: (replica: R) => boolean = () => false,
): R | undefined {
  let chosen: R | undefined;
  let chosenRatio = -1;
  for (const replica of replicas) {
    const state = replica.cleanable;
    if (skipped(replica)) continue;
    if (state === undefined || state.dirtyRatio <= 0 || state.dirtyRatio < state.minCleanableDirtyRatio)
      continue;
    if (state.dirtyRatio > chosenRatio) {
      chosen = replica;
      chosenRatio = state.dirtyRatio;
    }
  }
  return chosen;
}

export class LogCleaner {
  private timer: NodeJS.Timeout | undefined;
  /** The pass under way: one at a time, and close() waits for it. */
  private running: Promise<CleanResult | undefined> | undefined;
  /** Replicas left alone after a pass without progress: until when, and the delay to double next time. */
  private readonly backoff = new Map<string, { untilMs: number; delayMs: number }>();

  constructor(
    private readonly replicas: () => Iterable<CleanableReplica>,
    private readonly config: LogCleanerConfig,
    private readonly logger: Logger,
    private readonly clock: { nowMs(): number } = { nowMs: () => Date.now() },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running === undefined) void this.tick();
    }, this.config.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a pass under way (its swap is crash-safe either way). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over the dirtiest replica; resolves with what it did (undefined: nothing to do, or it failed). */
  tick(): Promise<CleanResult | undefined> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<CleanResult | undefined> {
    const nowMs = this.clock.nowMs();
    const replica = dirtiest(
      this.replicas(),
      (each) => (this.backoff.get(keyOf(each))?.untilMs ?? 0) > nowMs,
    );
    if (replica === undefined) return undefined;
    const where = { topic: replica.topic, partition: replica.partition };
    try {
      const result = await replica.clean({
        offsetMapEntriesMax: this.config.offsetMapEntriesMax,
        bytesMax: this.config.bytesPerPassMax,
      });
      if (result.segmentsCleaned > 0) {
        this.backoff.delete(keyOf(replica));
        this.logger.info({ ...where, ...result }, "log cleaner: compacted segments");
      } else {
        const delayMs = this.backOff(replica);
        this.logger.info(
          { ...where, delayMs },
          "log cleaner: no progress (an open transaction?); trying others first",
        );
      }
      return result;
    } catch (error) {
      const delayMs = this.backOff(replica);
      this.logger.error(
        { ...where, err: error, delayMs },
        "log cleaner: pass failed; it is tried again later",
      );
      return undefined;
    }
  }

  /** Skips the replica for the next delay (the interval, doubling up to backoffMaxMs); returns it. */
  private backOff(replica: CleanableReplica): number {
    const previous = this.backoff.get(keyOf(replica))?.delayMs ?? 0;
    const delayMs = Math.min(backoffMaxMs, Math.max(this.config.intervalMs, previous * 2));
    this.backoff.set(keyOf(replica), { untilMs: this.clock.nowMs() + delayMs, delayMs });
    // One entry per replica at most; entries of replicas this broker no longer has go.
    const present = new Set([...this.replicas()].map(keyOf));
    for (const key of this.backoff.keys()) if (!present.has(key)) this.backoff.delete(key);
    return delayMs;
  }
}

function keyOf({ topic, partition }: { topic: string; partition: number }): string {
  return `${topic}\u0000${partition}`;
}
