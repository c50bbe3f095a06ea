// The one timer of connectors and the runtime's retries: a sleep that ends at once when the task's signal aborts, so a source waiting
// between polls or a sink backing off never holds up a stopping task.

import { setTimeout as delay } from "node:timers/promises";

/** Waits `ms`, or less if `signal` aborts first; never rejects on abort (the caller checks the signal). */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}
