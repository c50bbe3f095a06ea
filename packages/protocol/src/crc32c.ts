// RecordBatch v2 is checksummed with CRC32C (Castagnoli); this is the one place that picks the native,
// SIMD-accelerated implementation, so the codec and its tests agree on it.

import { crc32c as nativeCrc32c } from "@node-rs/crc32";

/** CRC32C of `bytes` as an unsigned 32-bit number, the form Kafka stores in a batch header. */
export function crc32c(bytes: Uint8Array): number {
  return nativeCrc32c(bytes) >>> 0;
}
