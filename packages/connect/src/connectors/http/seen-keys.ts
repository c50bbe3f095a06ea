// The HTTP source's memory of what it already sent: a bounded LRU of dedupe keys, plus the most recent of
// them as a snapshot small enough to ride in every source offset, so a restart still skips them. Keys are
// kept as short hashes (96 bits of SHA-256), which bounds memory and offsets whatever the keys' length.
// Pure but for hashing: no I/O.

import { createHash } from "node:crypto";

/** How many of the most recent keys each source offset carries. */
export const seenKeysSnapshotMax = 1000;

export class SeenKeys {
  /** Key hash → nothing, in least- to most-recently seen order (a Map keeps insertion order). */
  private readonly lru = new Map<string, true>();
  /** The hashes of the keys most recently sent, oldest first, at most snapshotMax: the offset's content. */
  private recent: string[] = [];

  constructor(
    private readonly capacity: number,
    private readonly snapshotMax = Math.min(capacity, seenKeysSnapshotMax),
  ) {}

  /** Remembers the keys of a committed snapshot, as if they had just been sent. */
  restore(snapshot: string | undefined): void {
    for (const hash of parseSnapshot(snapshot)) this.remember(hash);
  }

  /** Whether key was seen (and refreshes it); otherwise remembers it and answers false. */
  seen(key: string): boolean {
    const hash = hashKey(key);
    if (this.lru.has(hash)) {
      this.lru.delete(hash);
      this.lru.set(hash, true);
      return true;
    }
    this.remember(hash);
    return false;
  }

  /** The most recent keys, as JSON text (a source offset holds strings, not arrays). */
  snapshot(): string {
    return JSON.stringify(this.recent.slice(-this.snapshotMax));
  }

  private remember(hash: string): void {
    this.lru.set(hash, true);
    if (this.lru.size > this.capacity) this.lru.delete(this.lru.keys().next().value as string);
    this.recent.push(hash);
    if (this.recent.length > this.snapshotMax * 2) this.recent = this.recent.slice(-this.snapshotMax);
  }
}

function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("base64url").slice(0, 16);
}

/** The hashes in a committed snapshot; anything unreadable is nothing remembered. */
function parseSnapshot(snapshot: string | undefined): string[] {
  if (snapshot === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(snapshot);
    return Array.isArray(parsed) ? parsed.filter((hash): hash is string => typeof hash === "string") : [];
  } catch {
    return [];
  }
}
