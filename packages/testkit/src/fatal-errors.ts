// What reaches a process's fatal handlers (uncaughtException, unhandledRejection) while a test acts:
// how a test checks that a failed assertion stops the process instead of being answered or logged.

/**
 * Runs `act` with the process's fatal handlers replaced by a recorder (vitest's own would fail the run),
 * waits `settleMs` for what it schedules, and returns what reached them (and what `act` threw).
 */
export async function fatalErrorsOf(act: () => unknown, settleMs = 20): Promise<unknown[]> {
  const events = ["uncaughtException", "unhandledRejection"] as const;
  const saved = events.map((event) => process.listeners(event));
  const reached: unknown[] = [];
  const record = (error: unknown) => reached.push(error);
  for (const event of events) {
    process.removeAllListeners(event);
    process.on(event, record);
  }
  try {
    try {
      await act();
    } catch (error) {
      reached.push(error);
    }
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  } finally {
    events.forEach((event, i) => {
      process.removeAllListeners(event);
      for (const listener of saved[i]) process.on(event, listener as (...args: unknown[]) => void);
    });
  }
  return reached;
}
