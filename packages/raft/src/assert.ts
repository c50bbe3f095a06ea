// Invariant checks for the core. The core imports nothing outside this package,
// so it carries its own one-line assert: a failed assert is a bug, never an
// operating condition (those are typed errors, see errors.ts).

export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new RaftAssertionError(why);
}

/** Named AssertionError, as @brook/protocol's and node:assert's are: request handlers never answer one. */
class RaftAssertionError extends Error {
  constructor(why: string) {
    super(`raft assertion failed: ${why}`);
    this.name = "AssertionError";
  }
}
