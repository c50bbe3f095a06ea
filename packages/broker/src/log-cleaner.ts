// The log cleaner's schedule (Kafka's LogCleanerManager): every intervalMs it picks the dirtiest
// compacted replica on this broker whose dirty share has reached its topic's min.cleanable.dirty.ratio,
// and cleans it for one bounded pass (PartitionLog.clean does the work; docs/compaction.md). One pass
// per tick, one replica at a time: the cleaner rewrites segments on the event loop, so its work is
// bounded by bytesPerPassMax rather than left to run until the log is clean.

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

/** The replica to clean next: the dirtiest compacted one at or past its threshold, if any. Pure. */
export function dirtiest<R extends CleanableReplica>(replicas: Iterable<R>): R | undefined {
  let chosen: R | undefined;
  let chosenRatio = -1;
  for (const replica of replicas) {
    const state = replica.cleanable;
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

  constructor(
    private readonly replicas: () => Iterable<CleanableReplica>,
    private readonly config: LogCleanerConfig,
    private readonly logger: Logger,
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
    const replica = dirtiest(this.replicas());
    if (replica === undefined) return undefined;
    const where = { topic: replica.topic, partition: replica.partition };
    try {
      const result = await replica.clean({
        offsetMapEntriesMax: this.config.offsetMapEntriesMax,
        bytesMax: this.config.bytesPerPassMax,
      });
      this.logger.info({ ...where, ...result }, "log cleaner: compacted segments");
      return result;
    } catch (error) {
      this.logger.error({ ...where, err: error }, "log cleaner: pass failed; the next one tries again");
      return undefined;
    }
  }
}
