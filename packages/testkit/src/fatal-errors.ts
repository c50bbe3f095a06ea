// What reaches a process's fatal handlers (uncaughtException, unhandledRejection) while a test acts:
// how a test checks that a failed assertion stops the process instead of being answered or logged.

type FatalListener = (error: unknown) => void;

/**
 * Runs `act` with the process's fatal handlers replaced by a recorder (vitest's own would fail the run),
 * waits `settleMs` for what it schedules, and returns what reached them (and what `act` threw).
 */
export async function fatalErrorsOf(act: () => unknown, settleMs = 20): Promise<unknown[]> {
  const savedUncaught = process.listeners("uncaughtException");
  const savedRejection = process.listeners("unhandledRejection");
  const reached: unknown[] = [];
  const record: FatalListener = (error) => reached.push(error);
  process.removeAllListeners("uncaughtException").on("uncaughtException", record);
  process.removeAllListeners("unhandledRejection").on("unhandledRejection", record);
  try {
    try {
      await act();
    } catch (error) {
      reached.push(error);
    }
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  } finally {
    process.removeAllListeners("uncaughtException");
    process.removeAllListeners("unhandledRejection");
    for (const listener of savedUncaught) process.on("uncaughtException", listener);
    for (const listener of savedRejection) process.on("unhandledRejection", listener);
  }
  return reached;
}
