// The chaos suite's disk fault: a bit that rots in a sealed segment of one replica, under a running node
// (its page cache sees the flip at once, as it would a disk's silent corruption on the next read). Brook
// answers with the CRC32C every read checks: the corrupt batch is never served; a leader holding it resigns
// to an in-sync replica with a good copy, and the bad replica truncates to it and fetches again.

import { closeSync, openSync, readdirSync, readSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type NodeHandle, Random } from "@brook/testkit";

/** Where a bit was flipped, or why none was (no sealed segment yet). */
export type BitFlip = { file: string; byte: number; bit: number } | { skipped: string };

/**
 * Flips one bit of one sealed segment (`<base>.log`, not the newest, which is still being written) of
 * `topic`-`partition` on `node`, chosen by a PRNG seeded with `seed` (a replay flips the same places as far
 * as the files are the same).
 */
export function flipBitInSealedSegment(
  node: NodeHandle,
  topic: string,
  partition: number,
  seed: number,
): BitFlip {
  const dir = join(node.dataDir, `${topic}-${partition}`);
  let segments: string[];
  try {
    segments = readdirSync(dir)
      .filter((name) => name.endsWith(".log"))
      .sort();
  } catch (error) {
    return { skipped: `no log directory ${dir}: ${(error as Error).message}` };
  }
  const sealed = segments.slice(0, -1);
  if (sealed.length === 0) return { skipped: `no sealed segment yet in ${dir}` };
  const random = new Random(seed);
  const file = join(dir, sealed[random.int(0, sealed.length - 1)]);
  const size = statSync(file).size;
  if (size === 0) return { skipped: `${file} is empty` };
  const byte = random.int(0, size - 1);
  const bit = random.int(0, 7);
  const fd = openSync(file, "r+");
  try {
    const buffer = Buffer.alloc(1);
    readSync(fd, buffer, 0, 1, byte);
    buffer[0] ^= 1 << bit;
    writeSync(fd, buffer, 0, 1, byte);
  } finally {
    closeSync(fd);
  }
  return { file, byte, bit };
}
