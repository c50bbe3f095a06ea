// Invariant checks for the core. The core imports nothing outside this package,
// so it carries its own one-line assert: a failed assert is a bug, never an
// operating condition (those are typed errors, see errors.ts).

export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new Error(`raft assertion failed: ${why}`);
}
