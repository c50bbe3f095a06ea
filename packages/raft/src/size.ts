// How the core sizes entries for its byte limits (messages, Ready batches, uncommitted proposals).

import { entryOverheadBytes } from "./limits.js";
import type { Entry } from "./types.js";

export function entryBytes(entry: Entry): number {
  return entry.data.byteLength + entryOverheadBytes;
}

/** The longest prefix of `entries` within `maxBytes`, but at least one entry. */
export function limitBytes<T extends Entry>(entries: T[], maxBytes: number): T[] {
  let bytes = 0;
  for (let i = 0; i < entries.length; i++) {
    bytes += entryBytes(entries[i]);
    if (i > 0 && bytes > maxBytes) return entries.slice(0, i);
  }
  return entries;
}
