// Retry policy as data, exponential backoff with jitter, and the one retry loop; whether an error is worth
// retrying comes only from the error table (BrookError.retriable).

import { BrookError, type RandomSource } from "@brook/protocol";
import { sleep } from "../runtime.js";

export interface RetryPolicy {
  /** Attempts after the first; 0 disables retrying. */
  retries: number;
  /** Backoff before the first retry. */
  initialRetryTimeMs: number;
  /** No backoff is longer than this. */
  maxRetryTimeMs: number;
  /** Each backoff is this many times the one before. */
  multiplier: number;
  /** The backoff moves at random by up to this fraction either way. */
  jitterFactor: number;
}

/** Backoff before retry number `attempt` (0 for the first retry). */
export function backoffMs(policy: RetryPolicy, attempt: number, random: RandomSource): number {
  const exponential = policy.initialRetryTimeMs * policy.multiplier ** attempt;
  const base = Math.min(policy.maxRetryTimeMs, exponential);
  const jitter = base * policy.jitterFactor * (random() * 2 - 1);
  return Math.round(Math.min(policy.maxRetryTimeMs, Math.max(0, base + jitter)));
}

export function isRetriable(error: unknown): error is BrookError {
  return error instanceof BrookError && error.retriable;
}

export interface RetryHooks {
  random: RandomSource;
  /** Runs before each backoff, e.g. to mark metadata stale. */
  onRetry?(error: BrookError, attempt: number, delayMs: number): void;
  signal?: AbortSignal;
}

/** Runs `task` until it succeeds, fails with a non-retriable error, or runs out of retries. */
export async function withRetry<T>(
  policy: RetryPolicy,
  hooks: RetryHooks,
  task: (attempt: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await task(attempt);
    } catch (error) {
      if (!isRetriable(error) || attempt >= policy.retries || hooks.signal?.aborted) throw error;
      const delayMs = backoffMs(policy, attempt, hooks.random);
      hooks.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, hooks.signal);
    }
  }
}
