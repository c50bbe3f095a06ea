// Which byte ranges of a sealed segment a read verified (CRC32C) recently, so another read of them need not
// compute the CRC again. Trust ends `verifiedTrustMs` after a range was started (and whenever the file
// changes, which the segment checks), so rot that appears on disk later, and reaches a read once the page
// cache lets the page go, is caught within that time. Pure: the segment owns the list.

/** How long a verification is trusted; the bound on how long rot can hide behind the cache. */
export const verifiedTrustMs = 60_000;

/** Ranges kept per segment: a few readers at different places in it. */
export const verifiedRangesMax = 4;

export interface VerifiedRange {
  readonly start: number;
  readonly end: number;
  /** When the oldest verification in the range happened. */
  readonly sinceMs: number;
}

export type VerifiedRanges = readonly VerifiedRange[];

/** The end of the range still trusted at `nowMs` that holds byte `position`, or undefined. */
export function trustedRangeEnd(ranges: VerifiedRanges, position: number, nowMs: number): number | undefined {
  return ranges.find(
    (range) => nowMs - range.sinceMs < verifiedTrustMs && range.start <= position && position < range.end,
  )?.end;
}

/**
 * The ranges once `[start, end)` was verified at `nowMs`: a trusted range it touches grows over it
 * (keeping that range's age), otherwise it is a new range, replacing the oldest when the list is full.
 * Expired ranges go.
 */
export function addVerified(
  ranges: VerifiedRanges,
  start: number,
  end: number,
  nowMs: number,
): VerifiedRanges {
  if (end <= start) return ranges;
  const trusted = ranges.filter((range) => nowMs - range.sinceMs < verifiedTrustMs);
  const touching = trusted.findIndex((range) => range.start <= end && start <= range.end);
  if (touching >= 0) {
    const range = trusted[touching];
    const grown = {
      start: Math.min(range.start, start),
      end: Math.max(range.end, end),
      sinceMs: range.sinceMs,
    };
    return trusted.map((candidate, i) => (i === touching ? grown : candidate));
  }
  const kept = [...trusted].sort((a, b) => b.sinceMs - a.sinceMs).slice(0, verifiedRangesMax - 1);
  return [...kept, { start, end, sinceMs: nowMs }];
}
