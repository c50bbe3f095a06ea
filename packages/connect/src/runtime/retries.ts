// Retrying a connector's retriable failures (errors.retry.timeout, errors.retry.delay.max.ms): waits
// double from 100 ms up to the max, the task's stop ends the wait at once, and after the timeout the last
// error is thrown. Anything that is not a RetriableError (or a retriable BrookError) is thrown at once.

import { BrookError, type Logger } from "@brook/client";
import { RetriableError } from "../api.js";
import { sleep } from "../sleep.js";

export interface RetryLimits {
  /** -1: for ever; 0: no retry. */
  timeoutMs: number;
  delayMaxMs: number;
}

const firstDelayMs = 100;

export function isRetriable(error: unknown): boolean {
  return error instanceof RetriableError || (error instanceof BrookError && error.retriable);
}

export async function withRetries<T>(
  what: string,
  limits: RetryLimits,
  signal: AbortSignal,
  logger: Logger,
  attempt: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  let delay = firstDelayMs;
  for (let tries = 1; ; tries += 1) {
    try {
      return await attempt();
    } catch (error) {
      const elapsed = Date.now() - started;
      const outOfTime = limits.timeoutMs >= 0 && elapsed + delay > limits.timeoutMs;
      if (!isRetriable(error) || outOfTime || signal.aborted) throw error;
      const level = tries >= 5 ? "warn" : "info";
      logger[level]({ error: String(error), tries, retryInMs: delay }, `${what} failed; retrying`);
      await sleep(delay, signal);
      delay = Math.min(delay * 2, limits.delayMaxMs);
    }
  }
}
