// The drill's few timing helpers, each bounded: a drill never waits without a deadline.

/** Polls `done` every `pollMs`; rejects after `timeoutMs` naming `what`. */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  done: () => boolean,
  pollMs = 20,
): Promise<void> {
  const deadlineMs = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= deadlineMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleepMs(pollMs);
  }
}

export function sleepMs(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

export function sleepUntil(atMs: number): Promise<void> {
  return sleepMs(atMs - Date.now());
}

/** `promise`, or undefined once `timeoutMs` has passed without it settling. */
export function withinMs<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
