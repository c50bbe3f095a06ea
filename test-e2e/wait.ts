// Bounded polling for end-to-end tests: never a bare sleep, always a deadline
// and a message that says what never happened.

/** Polls `check` every `pollMs` until it returns a value; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  pollMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Polls a yes-or-no `condition` every `pollMs` until it holds; fails after `timeoutMs`. */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  condition: () => boolean | Promise<boolean>,
  pollMs = 25,
): Promise<void> {
  await waitFor(what, timeoutMs, async () => ((await condition()) ? true : undefined), pollMs);
}
